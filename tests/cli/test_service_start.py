"""A service starts with the cyclic garbage collector off (its start is mostly imports) and
collects again once it serves: a long-running worker or API must not grow without bound."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from typing import TYPE_CHECKING, cast

import pytest

from billpay.cli import runtime

if TYPE_CHECKING:
    from billpay.state import AppState


@pytest.fixture
def collector_restored() -> Iterator[None]:
    yield
    gc.unfreeze()
    gc.enable()


async def test_a_service_collects_garbage_again_once_its_work_waits(
    collector_restored: None,
) -> None:
    enabled: list[bool] = []

    async def work(_: AppState, stop: asyncio.Event) -> None:
        enabled.append(gc.isenabled())  # still starting: imports, the API's app
        await asyncio.sleep(0)
        enabled.append(gc.isenabled())  # serving

    runtime.defer_garbage_collection()
    await runtime.serve_until_stopped(cast("AppState", None), work)

    assert enabled == [False, True]
    assert gc.get_freeze_count() > 0  # what start-up built is out of the collector's sight

"""`billpay catalog sync` does not empty the catalog by accident: with no provider configured
it refuses; when the providers it reaches would deactivate half the catalog or more, it
changes nothing without --force. Under a running `billpay up` it uses up's simulators."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from cli_helpers import billpay_async, one_line_error, provider_env

from billpay.catalog.service import sync
from billpay.cli import runtime
from billpay.config import Settings
from billpay.sandbox.server import ThreadedServer
from billpay.state import AppState
from flows import query


async def _active(state: AppState) -> int:
    rows = await query(state, "SELECT count(*) AS n FROM biller_plans WHERE active")
    return int(rows[0]["n"])


@pytest.fixture
async def catalog_restored(state: AppState) -> AsyncIterator[None]:
    """The session's catalog is shared: put every plan back, whatever the test did."""
    yield
    async with state.unit_of_work() as session:
        await sync(session, state.providers)


async def test_sync_with_no_provider_configured_changes_nothing(
    state: AppState, database_url: str, tmp_path: Path, catalog_restored: None
) -> None:
    before = await _active(state)

    result = await billpay_async(tmp_path, "catalog", "sync", DATABASE_URL=database_url)

    assert result.returncode == 1
    assert "no provider is configured" in one_line_error(result)
    assert await _active(state) == before > 0


async def test_sync_that_would_deactivate_most_plans_needs_force(
    state: AppState,
    database_url: str,
    sandbox: ThreadedServer,
    tmp_path: Path,
    catalog_restored: None,
) -> None:
    before = await _active(state)
    only_flutterwave = provider_env(sandbox.url, "flutterwave")

    refused = await billpay_async(
        tmp_path, "catalog", "sync", DATABASE_URL=database_url, **only_flutterwave
    )

    assert refused.returncode == 1
    line = one_line_error(refused)
    assert "refusing to deactivate" in line and "--force" in line
    assert await _active(state) == before

    forced = await billpay_async(
        tmp_path, "catalog", "sync", "--force", DATABASE_URL=database_url, **only_flutterwave
    )

    assert forced.returncode == 0, forced.stderr
    assert 0 < await _active(state) < before


async def test_sync_uses_the_simulators_of_a_running_up(
    state: AppState,
    database_url: str,
    sandbox: ThreadedServer,
    tmp_path: Path,
    catalog_restored: None,
) -> None:
    before = await _active(state)
    # What `billpay up` leaves in its data folder while it runs (this process plays `up`).
    data = tmp_path / "data"
    data.mkdir()
    runtime.write_up_note(Settings(_env_file=None, data_dir=data), sandbox.url)  # type: ignore[call-arg]

    result = await billpay_async(tmp_path, "catalog", "sync", DATABASE_URL=database_url)

    assert result.returncode == 0, result.stderr
    assert "deactivated 0" in result.stdout
    assert await _active(state) == before

"""The reversal watch (issue #11): paid payments of providers that document reversals (VTpass)
are requeried on a schedule within a window, so a reversal whose webhook never arrived is still
found, and refunded exactly once."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from billpay.ledger.service import available_balance
from billpay.payments.jobs import watch_reversals
from billpay.sandbox.vtpass.state import VTpassSandboxState
from billpay.state import AppState
from billpay.worker.runner import Worker
from flows import airtime, ledger_ok, pay, query, routed_only_to, wait_for_status

START_BALANCE = 100_000_000


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {
        **routed_only_to("vtpass"),
        "reversal_watch_interval_seconds": 0.3,
        "periodic_interval_seconds": 0.2,
    }


async def reference_of(state: AppState, payment_id: str) -> str:
    [row] = await query(
        state,
        "SELECT provider_reference FROM payment_attempts WHERE payment_id = :id",
        id=payment_id,
    )
    reference: str = row["provider_reference"]
    return reference


async def refund_events(state: AppState, payment_id: str) -> int:
    [row] = await query(
        state,
        "SELECT count(*) AS n FROM payment_events WHERE payment_id = :id "
        "AND to_status = 'refunding'",
        id=payment_id,
    )
    return int(row["n"])


async def watch_checks(state: AppState, payment_id: str) -> int:
    [row] = await query(
        state,
        "SELECT count(*) AS n FROM provider_calls WHERE payment_id = :id "
        "AND kind = 'reversal_check'",
        id=payment_id,
    )
    return int(row["n"])


async def test_a_reversal_without_a_webhook_is_found_and_refunded_once(
    api: httpx.AsyncClient,
    state: AppState,
    worker: Worker,
    vtpass: VTpassSandboxState,
    merchant: tuple[uuid.UUID, str],
) -> None:
    payment = await pay(api, airtime("08030001301"))
    assert payment["status"] == "paid"
    # Reversed on VTpass's side; its webhook is never sent.
    assert vtpass.reverse(await reference_of(state, payment["id"])) is not None
    refunded = await wait_for_status(api, payment["id"], {"refunded", "needs_review"}, 30)
    assert refunded["status"] == "refunded"
    assert await refund_events(state, payment["id"]) == 1
    assert await watch_checks(state, payment["id"]) >= 1
    async with state.unit_of_work() as session:
        assert await available_balance(session, merchant[0]) == START_BALANCE
    await ledger_ok(state)
    # Looked at again later, it is refunded still, once.
    assert await watch_reversals(state) == 0  # no longer paid: not watched
    assert await refund_events(state, payment["id"]) == 1


class TestWindow:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        # Long enough that the old delivery is moved out of the window before it falls due.
        return {
            **routed_only_to("vtpass"),
            "reversal_watch_interval_seconds": 2.0,
            "periodic_interval_seconds": 0.2,
        }

    async def test_deliveries_outside_the_window_are_left_alone(
        self, api: httpx.AsyncClient, state: AppState, worker: Worker, vtpass: VTpassSandboxState
    ) -> None:
        old = await pay(api, airtime("08030001302"))
        async with state.unit_of_work() as session:
            await session.execute(
                text("UPDATE payments SET completed_at = now() - interval '3 days' WHERE id = :id"),
                {"id": old["id"]},
            )
        recent = await pay(api, airtime("08030001303"))
        for payment in (old, recent):
            vtpass.reverse(await reference_of(state, payment["id"]))
        await wait_for_status(api, recent["id"], {"refunded"}, 30)
        assert (await api.get(f"/v1/payments/{old['id']}")).json()["status"] == "paid"
        assert await watch_checks(state, old["id"]) == 0


class TestSchedule:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return {
            **routed_only_to("vtpass"),
            "reversal_watch_interval_seconds": 3600.0,
            "reversal_watch_batch": 1,
        }

    async def test_each_delivery_is_asked_about_once_per_interval_a_batch_at_a_time(
        self, api: httpx.AsyncClient, state: AppState, worker: Worker
    ) -> None:
        first = await pay(api, airtime("08030001304"))
        second = await pay(api, airtime("08030001305"))
        # The delivering call is the first look: nothing is due within the interval.
        assert await watch_reversals(state) == 0
        eager = _with_interval(state, 0.001)
        assert await watch_reversals(eager) == 1  # one per beat: the batch
        assert await watch_reversals(eager) == 1
        assert await watch_reversals(state) == 0  # both were just looked at
        for payment in (first, second):
            assert await watch_checks(state, payment["id"]) == 1
            assert (await api.get(f"/v1/payments/{payment['id']}")).json()["status"] == "paid"


def _with_interval(state: AppState, seconds: float) -> Any:
    """The process's context, with another watch interval."""
    settings = state.settings.model_copy(update={"reversal_watch_interval_seconds": seconds})
    return SimpleNamespace(
        settings=settings,
        providers=state.providers,
        plans=state.plans,
        unit_of_work=state.unit_of_work,
    )

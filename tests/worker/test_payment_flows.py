"""A payment from API to provider and back: the worker against the VTpass simulator over HTTP."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
import structlog
from sqlalchemy import text

from billpay.ledger.service import available_balance, reserved_balance
from billpay.payments.jobs import recheck_delivery
from billpay.providers.base import ProviderName
from billpay.sandbox.vtpass.faults import FaultKind, FaultRule, Faults
from billpay.sandbox.vtpass.state import VTpassSandboxState
from billpay.state import AppState
from billpay.worker.runner import Worker
from flows import airtime, electricity, ledger_ok, pay

START_BALANCE = 100_000_000


def only_vtpass(providers: set[str]) -> None:
    assert providers <= {"vtpass"}, "these flows exercise the VTpass simulator"


async def attempts(state: AppState, payment_id: str) -> list[dict[str, Any]]:
    async with state.unit_of_work() as session:
        rows = await session.execute(
            text(
                "SELECT provider, provider_reference, outcome, sends, requeries "
                "FROM payment_attempts WHERE payment_id = :id ORDER BY number"
            ),
            {"id": payment_id},
        )
        return [dict(row._mapping) for row in rows]


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # One provider keeps these flows about the lifecycle, not about routing.
    return {"flutterwave_base_url": None, "interswitch_base_url": None}


async def test_airtime_is_delivered_once_and_settled(
    api: httpx.AsyncClient,
    state: AppState,
    worker: Worker,
    vtpass: VTpassSandboxState,
    merchant: tuple[uuid.UUID, str],
) -> None:
    payment = await pay(api, airtime())
    assert payment["status"] == "paid"
    assert payment["provider"] == "vtpass"
    [attempt] = await attempts(state, payment["id"])
    assert vtpass.vend_count(attempt["provider_reference"]) == 1
    assert attempt["provider_reference"][:12].isdigit()  # the Lagos YYYYMMDDHHmm prefix
    async with state.unit_of_work() as session:
        assert await reserved_balance(session, merchant[0]) == 0
        assert await available_balance(session, merchant[0]) == START_BALANCE - 50_000
    events = [e["to_status"] for e in payment["events"]]
    assert events == ["pending", "processing", "paid"]
    await ledger_ok(state)


async def test_a_reference_another_attempt_holds_is_drawn_again(
    api: httpx.AsyncClient,
    state: AppState,
    worker: Worker,
    vtpass: VTpassSandboxState,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = await pay(api, airtime("08031234501"))
    [taken] = await attempts(state, first["id"])
    # Short references collide by chance (Interswitch: a prefix and 8 random digits); here the
    # next draw is made to be the one already taken.
    provider = state.providers[ProviderName.VTPASS]
    draws = iter([taken["provider_reference"]])
    fresh = provider.new_reference
    monkeypatch.setattr(provider, "new_reference", lambda now: next(draws, None) or fresh(now))
    with structlog.testing.capture_logs() as events:
        second = await pay(api, airtime("08031234502"))
    assert second["status"] == "paid"
    [attempt] = await attempts(state, second["id"])
    assert attempt["provider_reference"] != taken["provider_reference"]
    assert vtpass.vend_count(taken["provider_reference"]) == 1
    assert vtpass.vend_count(attempt["provider_reference"]) == 1
    logged = [event["event"] for event in events]
    assert "provider_reference_taken" in logged
    assert "payment_step_failed" not in logged  # drawn again in the same step, not retried later


async def test_electricity_token_and_units_reach_the_owner(
    api: httpx.AsyncClient, worker: Worker, state: AppState
) -> None:
    payment = await pay(api, electricity())
    assert payment["status"] == "paid"
    assert payment["token"] is not None
    assert len(payment["token"].replace("-", "").replace(" ", "")) == 20
    assert payment["units"]
    assert payment["total_kobo"] == 503_000
    await ledger_ok(state)


async def test_vend_then_timeout_is_resolved_by_requery_with_one_vend(
    api: httpx.AsyncClient, state: AppState, worker: Worker, vtpass: VTpassSandboxState
) -> None:
    phone = "08030000001"
    vtpass.set_faults(
        Faults(
            timeout_seconds=3.0,
            rules=[FaultRule(kind=FaultKind.VEND_THEN_TIMEOUT, target=phone, times=1)],
        )
    )
    payment = await pay(api, airtime(phone))
    assert payment["status"] == "paid"
    [attempt] = await attempts(state, payment["id"])
    assert attempt["sends"] == 1
    assert attempt["requeries"] >= 1
    assert vtpass.vend_count(attempt["provider_reference"]) == 1
    assert len(vtpass.vends()) == 1


async def test_pending_then_delivered_is_paid_after_requeries(
    api: httpx.AsyncClient, state: AppState, worker: Worker, vtpass: VTpassSandboxState
) -> None:
    phone = "08030000002"
    vtpass.set_faults(
        Faults(
            rules=[
                FaultRule(kind=FaultKind.PENDING_THEN_DELIVERED, target=phone, pending_requeries=3)
            ]
        )
    )
    payment = await pay(api, airtime(phone))
    assert payment["status"] == "paid"
    [attempt] = await attempts(state, payment["id"])
    assert attempt["requeries"] >= 3
    assert len(vtpass.vends()) == 1


@pytest.mark.parametrize(
    "settings_overrides",
    [{"payment_deadline_seconds": 1.0, "flutterwave_base_url": None, "interswitch_base_url": None}],
)
async def test_never_resolving_goes_to_review_with_money_still_reserved(
    api: httpx.AsyncClient,
    state: AppState,
    worker: Worker,
    vtpass: VTpassSandboxState,
    merchant: tuple[uuid.UUID, str],
    settings_overrides: dict[str, Any],
) -> None:
    phone = "08030000003"
    vtpass.set_faults(Faults(rules=[FaultRule(kind=FaultKind.PENDING_FOREVER, target=phone)]))
    payment = await pay(api, airtime(phone))
    assert payment["status"] == "needs_review"
    assert "unknown" in payment["failure_reason"]
    async with state.unit_of_work() as session:
        assert await reserved_balance(session, merchant[0]) == 50_000  # held, not refunded
        refunds = await session.scalar(
            text("SELECT count(*) FROM ledger_entries WHERE kind = 'refund'")
        )
    assert refunds == 0
    await ledger_ok(state)


async def test_definite_failure_refunds_the_balance_exactly_once(
    api: httpx.AsyncClient,
    state: AppState,
    worker: Worker,
    vtpass: VTpassSandboxState,
    merchant: tuple[uuid.UUID, str],
) -> None:
    vtpass.options.strict_magic_numbers = True  # VTpass's own rule: other numbers fail
    payment = await pay(api, airtime("08031112222"))
    assert payment["status"] == "refunded"
    # Written for the payer; VTpass's own words stay in the event and the call record.
    assert payment["failure_reason"] == "The provider could not complete this purchase"
    assert [e["to_status"] for e in payment["events"]] == [
        "pending",
        "processing",
        "refunding",
        "refunded",
    ]
    async with state.unit_of_work() as session:
        assert await available_balance(session, merchant[0]) == START_BALANCE
        assert await reserved_balance(session, merchant[0]) == 0
        refunds = await session.scalar(
            text("SELECT count(*) FROM ledger_entries WHERE kind = 'refund'")
        )
        detail = await session.scalar(
            text("SELECT data FROM payment_events WHERE to_status = 'refunding'")
        )
    assert refunds == 1
    assert (detail["provider"], detail["provider_status"]) == ("vtpass", "016/failed")
    assert vtpass.vends() == []
    await ledger_ok(state)


async def test_reversal_after_delivery_is_confirmed_then_refunded(
    api: httpx.AsyncClient,
    state: AppState,
    worker: Worker,
    vtpass: VTpassSandboxState,
    merchant: tuple[uuid.UUID, str],
) -> None:
    phone = "08030000004"
    vtpass.set_faults(
        Faults(rules=[FaultRule(kind=FaultKind.REVERSE_AFTER_DELIVERY, target=phone)])
    )
    payment = await pay(api, airtime(phone))
    assert payment["status"] == "paid"
    status = await recheck_delivery(state, uuid.UUID(payment["id"]), actor="test")
    assert status == "refunded"
    async with state.unit_of_work() as session:
        assert await available_balance(session, merchant[0]) == START_BALANCE
    await ledger_ok(state)

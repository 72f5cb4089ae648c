"""The worker's batches (``Processor.run_batch``): a claimed batch's attempts are committed
together before any request leaves, its deliveries are applied together, and one payment the
batch cannot carry — moved meanwhile by someone else, or a step that raises — changes nothing
for the others and is itself neither lost nor vended twice."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from billpay.payments import repository as payments_repo
from billpay.payments import settlement
from billpay.payments.status import Status
from billpay.providers.base import ProviderName, VendRequest, VendResult
from billpay.sandbox.vtpass.state import VTpassSandboxState
from billpay.state import AppState
from billpay.worker import processor as processor_module
from billpay.worker.runner import Worker
from flows import FINAL, airtime, create, ledger_ok, query, running_worker, wait_for_status

BATCH = 30


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # One provider, and the whole queue in one claim.
    return {
        "flutterwave_base_url": None,
        "interswitch_base_url": None,
        "batch_size": BATCH,
        "worker_concurrency": BATCH,
    }


@pytest.fixture
async def queued(api: httpx.AsyncClient) -> list[str]:
    """A batch's worth of payments waiting for a worker (none runs yet)."""
    return [await create(api, airtime(phone_of(index))) for index in range(BATCH)]


def phone_of(index: int) -> str:
    return f"0803{index:07d}"


@pytest.fixture
async def worker_started(state: AppState) -> AsyncIterator[Worker]:
    async with running_worker(state) as worker:
        yield worker


async def all_final(api: httpx.AsyncClient, ids: list[str]) -> list[dict[str, Any]]:
    return [await wait_for_status(api, payment_id, FINAL, timeout=60) for payment_id in ids]


async def vends_of(state: AppState, vtpass: VTpassSandboxState, payment_id: str) -> int:
    [attempt] = await query(
        state,
        "SELECT provider_reference FROM payment_attempts WHERE payment_id = :id",
        id=payment_id,
    )
    return vtpass.vend_count(attempt["provider_reference"])


async def test_a_batch_is_delivered_once_each_with_its_events_and_books(
    api: httpx.AsyncClient,
    state: AppState,
    vtpass: VTpassSandboxState,
    queued: list[str],
    worker_started: Worker,
) -> None:
    payments = await all_final(api, queued)
    assert {payment["status"] for payment in payments} == {"paid"}
    for payment in payments:
        assert [e["to_status"] for e in payment["events"]] == ["pending", "processing", "paid"]
        assert await vends_of(state, vtpass, payment["id"]) == 1
    calls = await query(
        state,
        "SELECT count(*) AS calls, count(DISTINCT payment_id) AS payments FROM provider_calls "
        "WHERE payment_id = ANY(CAST(:ids AS uuid[]))",
        ids=queued,
    )
    assert calls == [{"calls": BATCH, "payments": BATCH}]
    attempts = await query(
        state,
        "SELECT outcome, sends, response IS NOT NULL AS answered FROM payment_attempts "
        "WHERE payment_id = ANY(CAST(:ids AS uuid[]))",
        ids=queued,
    )
    assert {(a["outcome"], a["sends"], a["answered"]) for a in attempts} == {("succeeded", 1, True)}
    leased = await query(
        state,
        "SELECT count(*) AS n FROM payments WHERE lease_owner IS NOT NULL "
        "AND id = ANY(CAST(:ids AS uuid[]))",
        ids=queued,
    )
    assert leased == [{"n": 0}]
    await ledger_ok(state)


async def test_a_payment_settled_meanwhile_keeps_its_settlement_and_gets_the_evidence(
    api: httpx.AsyncClient,
    state: AppState,
    vtpass: VTpassSandboxState,
    queued: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A webhook settles one payment of the batch while its purchase is out: the batch finds
    it moved, books nothing for it again, and still records the answer on its attempt."""
    settled_meanwhile = uuid.UUID(queued[7])
    provider = state.providers[ProviderName.VTPASS]
    real_pay = provider.pay

    async def pay_then_webhook(request: VendRequest) -> VendResult:
        result = await real_pay(request)
        if request.customer_id == phone_of(7):
            async with state.unit_of_work() as session:
                payment = await payments_repo.snapshot(session, settled_meanwhile)
                assert payment is not None
                await settlement.mark_paid(
                    session,
                    payment,
                    from_status=Status.PROCESSING,
                    provider="vtpass",
                    provider_transaction_id="from-the-webhook",
                    token=None,
                    units=None,
                    reason="vtpass webhook: delivered",
                    actor="webhook",
                )
        return result

    monkeypatch.setattr(provider, "pay", pay_then_webhook)
    async with running_worker(state):
        payments = await all_final(api, queued)
    assert {payment["status"] for payment in payments} == {"paid"}
    moved = next(p for p in payments if p["id"] == str(settled_meanwhile))
    # One move to paid, the webhook's: the batch did not move it again.
    assert [(e["to_status"], e["actor"]) for e in moved["events"]][1:] == [
        ("processing", "worker"),
        ("paid", "webhook"),
    ]
    [attempt] = await query(
        state,
        "SELECT outcome, response IS NOT NULL AS answered FROM payment_attempts "
        "WHERE payment_id = :id",
        id=str(settled_meanwhile),
    )
    assert attempt == {"outcome": "succeeded", "answered": True}
    assert await vends_of(state, vtpass, str(settled_meanwhile)) == 1
    await ledger_ok(state)  # booked once: a second settlement would leave the holding negative


async def test_a_shared_step_that_fails_is_done_one_payment_at_a_time(
    api: httpx.AsyncClient,
    state: AppState,
    vtpass: VTpassSandboxState,
    queued: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The batch's deliveries cannot be applied together: each is applied on its own, with
    the same outcome, and nothing is sent twice."""
    shared_tries = 0

    async def refuse(*_: Any, **__: Any) -> set[uuid.UUID]:
        nonlocal shared_tries
        shared_tries += 1
        raise RuntimeError("the shared statement failed")

    monkeypatch.setattr(processor_module.settlement, "mark_paid_many", refuse)
    async with running_worker(state):
        payments = await all_final(api, queued)
    assert shared_tries >= 1
    assert {payment["status"] for payment in payments} == {"paid"}
    for payment in payments:
        assert [e["to_status"] for e in payment["events"]] == ["pending", "processing", "paid"]
        assert await vends_of(state, vtpass, payment["id"]) == 1
    await ledger_ok(state)

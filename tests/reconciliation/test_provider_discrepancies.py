"""The provider side: billpay's outcome of each decided attempt against VTpass's own answer for
its reference (the simulator over HTTP, or ``httpx.MockTransport`` at the edge), read-only."""

from __future__ import annotations

import json

import httpx
from books_flows import kinds, of_kind, run
from sqlalchemy import text

from billpay.providers.base import ProviderName
from billpay.providers.vtpass.connector import VTpassConnector
from billpay.reconciliation.providers_side import NO_LIST_NOTE
from billpay.reconciliation.schemas import Side
from billpay.sandbox.vtpass.state import VTpassSandboxState
from billpay.state import AppState
from billpay.worker.runner import Worker
from flows import airtime, pay, query

PROVIDERS_ONLY = {Side.PROVIDERS}


async def paid_airtime(state: AppState, api: httpx.AsyncClient) -> tuple[str, str]:
    """A payment VTpass delivered: (payment id, its attempt's reference)."""
    payment = await pay(api, airtime("08011111111"))
    assert payment["status"] == "paid"
    [attempt] = await query(
        state,
        "SELECT provider_reference FROM payment_attempts WHERE payment_id = :p",
        p=payment["id"],
    )
    return payment["id"], attempt["provider_reference"]


async def test_delivered_payments_the_provider_agrees_with_report_nothing_and_change_nothing(
    state: AppState, api: httpx.AsyncClient, worker: Worker, vtpass: VTpassSandboxState
) -> None:
    _, reference = await paid_airtime(state, api)
    before = await query(state, "SELECT * FROM payments")
    report = await run(state, PROVIDERS_ONLY)
    [side] = [s for s in report.sides if s.side is Side.PROVIDERS]
    assert report.ok, report.discrepancies
    assert side.checked == 1
    assert NO_LIST_NOTE in side.notes
    assert await query(state, "SELECT * FROM payments") == before
    assert vtpass.vend_count(reference) == 1


async def test_a_paid_payment_the_provider_reversed_is_found(
    state: AppState, api: httpx.AsyncClient, worker: Worker, vtpass: VTpassSandboxState
) -> None:
    payment_id, reference = await paid_airtime(state, api)
    assert vtpass.reverse(reference) is not None
    report = await run(state, PROVIDERS_ONLY)
    [found] = of_kind(report, "paid_but_provider_reversed")
    assert found.evidence["payment_id"] == payment_id
    assert found.evidence["reference"] == reference
    assert found.evidence["provider_status"].startswith("040")
    [row] = await query(state, "SELECT status FROM payments WHERE id = :p", p=payment_id)
    assert row["status"] == "paid"  # reported, never acted on


async def test_a_paid_payment_the_provider_reports_failed_is_found(
    state: AppState, api: httpx.AsyncClient, worker: Worker
) -> None:
    payment_id, reference = await paid_airtime(state, api)
    asked: list[dict[str, str]] = []

    def vtpass_says_failed(request: httpx.Request) -> httpx.Response:
        asked.append(json.loads(request.content))
        return httpx.Response(
            200,
            json={
                "code": "016",
                "response_description": "TRANSACTION FAILED",
                "content": {"transactions": {"status": "failed", "transactionId": "T1"}},
                "requestId": reference,
            },
        )

    client = httpx.AsyncClient(transport=httpx.MockTransport(vtpass_says_failed))
    simulator = state.providers[ProviderName.VTPASS]
    state.providers[ProviderName.VTPASS] = VTpassConnector(state.settings, client)
    await simulator.aclose()
    report = await run(state, PROVIDERS_ONLY)
    assert asked == [{"request_id": reference}]
    [found] = of_kind(report, "paid_but_provider_failed")
    assert found.evidence["payment_id"] == payment_id
    assert found.evidence["amount_kobo"] == 50_000
    assert kinds(report) == {"paid_but_provider_failed"}


async def test_a_refunded_payment_the_provider_delivered_is_a_double_spend(
    state: AppState, api: httpx.AsyncClient, worker: Worker, vtpass: VTpassSandboxState
) -> None:
    payment_id, reference = await paid_airtime(state, api)
    async with state.unit_of_work() as session:  # billpay believed it failed and refunded
        await session.execute(
            text("UPDATE payment_attempts SET outcome = 'failed' WHERE payment_id = :p"),
            {"p": payment_id},
        )
        await session.execute(
            text("UPDATE payments SET status = 'refunded' WHERE id = :p"), {"p": payment_id}
        )
    report = await run(state, PROVIDERS_ONLY)
    [found] = of_kind(report, "double_spend")
    assert found.evidence["payment_status"] == "refunded"
    assert found.evidence["billpay_attempt_outcome"] == "failed"
    assert found.evidence["reference"] == reference
    assert vtpass.vend_count(reference) == 1


async def test_a_reference_the_provider_notified_that_billpay_never_stored_is_found(
    state: AppState,
) -> None:
    async with state.unit_of_work() as session:
        await session.execute(
            text(
                "INSERT INTO webhook_inbox (provider, event_id, kind, reference, "
                "claimed_status, payload) VALUES ('vtpass', 'evt-1', 'transaction-update', "
                "'202612021200STRANGER', 'delivered', '{}')"
            )
        )
    report = await run(state, PROVIDERS_ONLY)
    [found] = of_kind(report, "unknown_reference")
    assert found.evidence["reference"] == "202612021200STRANGER"
    assert found.evidence["claimed_status"] == "delivered"

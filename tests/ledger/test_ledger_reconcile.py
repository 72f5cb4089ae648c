"""``billpay reconcile`` on books broken on purpose: each kind of discrepancy is reported, named
in its lines, and a clean ledger says ``ledger OK``."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from billpay.clients.service import create_client
from billpay.ledger import accounts
from billpay.ledger import service as ledger
from billpay.ledger.reconcile import ReconcileReport, reconcile
from billpay.ledger.repository import Posting
from billpay.payments.status import Status
from billpay.state import AppState
from flows import insert_payment


async def report_of(state: AppState) -> ReconcileReport:
    async with state.unit_of_work() as session:
        return await reconcile(session)


async def merchant_with(state: AppState, balance_kobo: int) -> uuid.UUID:
    async with state.unit_of_work() as session:
        client, _ = await create_client(session, "reconciled merchant")
        await ledger.top_up(session, client.id, balance_kobo, "seed")
    return client.id


async def test_a_clean_ledger_is_ok(state: AppState) -> None:
    client_id = await merchant_with(state, 100_000)
    payment_id = await insert_payment(state, Status.PAID, client_id, total_kobo=50_000)
    reserved = accounts.client_reserved(client_id)
    async with state.unit_of_work() as session:
        await ledger.reserve(session, client_id, payment_id, 50_000)
        await ledger.settle_paid(session, reserved, payment_id, "vtpass", 50_000, 0)
    report = await report_of(state)
    assert report.ok
    assert report.lines() == ["ledger OK"]


async def test_a_negative_merchant_balance_is_reported(state: AppState) -> None:
    client_id = await merchant_with(state, 1_000)
    available = accounts.client_available(client_id)
    async with state.unit_of_work() as session:  # an unconditional debit, as a correction
        await ledger.post(session, [Posting(available, accounts.EXTERNAL_DEPOSITS, 1_500, "fix")])
    report = await report_of(state)
    assert report.negative == [(available, -500)]
    assert not report.ok
    assert f"merchant balance {available} is negative: -500 kobo" in report.lines()


async def test_a_stored_balance_out_of_step_with_its_entries_is_reported(
    state: AppState,
) -> None:
    client_id = await merchant_with(state, 1_000)
    available = accounts.client_available(client_id)
    async with state.unit_of_work() as session:
        await session.execute(
            text("UPDATE ledger_accounts SET balance_kobo = 1200 WHERE code = :code"),
            {"code": available},
        )
    report = await report_of(state)
    assert report.out_of_step == [(available, 1_200, 1_000)]
    assert report.lines()[-1] == "ledger has discrepancies"


async def test_a_reservation_no_payment_holds_is_a_non_zero_clearing_account(
    state: AppState,
) -> None:
    client_id = await merchant_with(state, 100_000)
    async with state.unit_of_work() as session:
        await ledger.reserve(session, client_id, uuid.uuid4(), 30_000)
    report = await report_of(state)
    assert report.reserved_mismatch == [(str(client_id), 30_000, 0)]
    assert report.undrained == []
    assert not report.ok


async def test_a_finished_payment_whose_reservation_was_not_drained_is_reported(
    state: AppState,
) -> None:
    client_id = await merchant_with(state, 100_000)
    payment_id = await insert_payment(state, Status.REFUNDED, client_id, total_kobo=50_000)
    async with state.unit_of_work() as session:
        await ledger.reserve(session, client_id, payment_id, 50_000)  # never released
    report = await report_of(state)
    assert report.undrained == [(str(payment_id), 50_000)]
    assert report.reserved_mismatch == [(str(client_id), 50_000, 0)]
    reserved = accounts.client_reserved(client_id)
    assert f"payment {payment_id} (refunded): {reserved} not drained (50000 kobo)" in report.lines()


async def test_a_payment_still_holding_money_keeps_its_reservation(state: AppState) -> None:
    client_id = await merchant_with(state, 100_000)
    payment_id = await insert_payment(state, Status.NEEDS_REVIEW, client_id, total_kobo=20_000)
    async with state.unit_of_work() as session:
        await ledger.reserve(session, client_id, payment_id, 20_000)
    assert (await report_of(state)).ok

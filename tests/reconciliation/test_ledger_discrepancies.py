"""The ledger side: each kind of discrepancy planted in real books is found, named, with its
evidence; an operator's adjusting entry closes a clearing discrepancy on the books."""

from __future__ import annotations

import uuid

import pytest
from books_flows import (
    LEDGER_ONLY,
    insert_stellar_payment,
    kinds,
    of_kind,
    paid_over_stellar,
    run,
)
from sqlalchemy import text

from billpay.clients.service import create_client
from billpay.errors import InvalidAdjustment, UnknownAccount
from billpay.ledger import accounts
from billpay.ledger import service as ledger
from billpay.ledger.repository import Posting
from billpay.reconciliation import service
from billpay.reconciliation.schemas import AdjustmentIn
from billpay.state import AppState
from flows import query


async def a_client(state: AppState) -> uuid.UUID:
    async with state.unit_of_work() as session:
        client, _ = await create_client(session, "books merchant")
        await ledger.top_up(session, client.id, 1_000_000, "seed")
    return client.id


async def test_books_that_reconcile_report_nothing(state: AppState) -> None:
    client_id = await a_client(state)
    await paid_over_stellar(state, client_id)
    report = await run(state, LEDGER_ONLY)
    assert report.ok, report.discrepancies
    assert report.payments_checked == 1
    [row] = await query(state, "SELECT ok, discrepancy_count, trigger FROM reconciliation_runs")
    assert row == {"ok": True, "discrepancy_count": 0, "trigger": "test"}


async def test_a_vend_posting_deleted_from_a_stellar_payment_is_found(state: AppState) -> None:
    client_id = await a_client(state)
    payment_id = await paid_over_stellar(state, client_id)
    async with state.unit_of_work() as session:
        await session.execute(
            text("DELETE FROM ledger_entries WHERE payment_id = :p AND kind = 'vend'"),
            {"p": payment_id},
        )
    report = await run(state, LEDGER_ONLY)
    [missing] = of_kind(report, "missing_vend_posting")
    assert missing.evidence["payment_id"] == str(payment_id)
    assert missing.evidence["funding_method"] == "stellar"
    [undrained] = of_kind(report, "clearing_not_drained")
    assert undrained.evidence == {
        "payment_id": str(payment_id),
        "status": "paid",
        "account": "funding:stellar:held",
        "net_kobo": 50_000,
        "expected_kobo": 0,
    }
    assert not report.ok


async def test_a_deposit_never_credited_is_found(state: AppState, settings_overrides: dict) -> None:
    client_id = await a_client(state)
    payment_id = await insert_stellar_payment(state, client_id, "pending")
    async with state.unit_of_work() as session:  # recorded as funding it, never booked
        await session.execute(
            text(
                "INSERT INTO stellar_deposits (account, operation_id, tx_hash, asset_code, "
                "asset_issuer, amount, amount_kobo, memo_type, payment_id, funded_payment, "
                "state, reason) VALUES ('GSYSTEM', '12345', 'abc', 'cNGN', :issuer, "
                "'500.0000000', 50000, 'text', :p, true, 'funded', 'exact')"
            ),
            {"issuer": settings_overrides["cngn_asset_issuer"], "p": payment_id},
        )
    report = await run(state, LEDGER_ONLY)
    [uncredited] = of_kind(report, "deposit_not_credited")
    assert uncredited.evidence["operation_id"] == "12345"
    assert uncredited.evidence["payment_id"] == str(payment_id)
    [short] = of_kind(report, "holding_mismatch")
    assert (short.evidence["net_kobo"], short.evidence["expected_kobo"]) == (0, 50_000)


async def test_a_clearing_account_off_by_one_kobo_is_found_and_an_adjustment_closes_it(
    state: AppState,
) -> None:
    client_id = await a_client(state)
    reserved = accounts.client_reserved(client_id)
    available = accounts.client_available(client_id)
    async with state.unit_of_work() as session:  # one kobo reserved for no payment
        await ledger.post(session, [Posting(available, reserved, 1, "reserve")])
    found = await run(state, LEDGER_ONLY)
    [unattached] = of_kind(found, "clearing_unattached")
    assert unattached.evidence == {"account": reserved, "net_kobo": 1, "expected_kobo": 0}
    [mismatch] = of_kind(found, "reserved_mismatch")
    assert (mismatch.evidence["reserved_kobo"], mismatch.evidence["held_kobo"]) == (1, 0)

    async with state.unit_of_work() as session:
        made = await service.adjust(
            session,
            AdjustmentIn(
                debit_account=reserved,
                credit_account=available,
                amount_kobo=1,
                reason=f"run {found.started_at:%F}: 1 kobo reserved for no payment",
            ),
            "operator:ada",
        )
    closed = await run(state, LEDGER_ONLY)
    assert closed.ok, closed.discrepancies
    assert [a.id for a in closed.adjustments] == [made.id]
    assert closed.adjustments[0].actor == "operator:ada"
    entries = await query(
        state,
        "SELECT kind, amount_kobo, memo FROM ledger_entries WHERE journal_id = :j",
        j=made.journal_id,
    )
    assert entries == [
        {"kind": "adjustment", "amount_kobo": 1, "memo": f"operator:ada: {made.reason}"}
    ]


async def test_a_ledger_account_for_a_client_that_does_not_exist_is_found(
    state: AppState,
) -> None:
    ghost = uuid.uuid4()
    async with state.unit_of_work() as session:
        await ledger.top_up(session, ghost, 5_000, "mistyped client id")
    report = await run(state, LEDGER_ONLY)
    [orphan] = of_kind(report, "orphan_account")
    assert orphan.evidence == {"account": accounts.client_available(ghost)}


async def test_a_refund_over_stellar_without_its_hash_is_found(state: AppState) -> None:
    client_id = await a_client(state)
    payment_id = await insert_stellar_payment(state, client_id, "refunded")
    held = accounts.funding_held("stellar")
    payer = accounts.external_funding("stellar")
    async with state.unit_of_work() as session:
        await ledger.post(session, [Posting(payer, held, 50_000, "funds_received")], payment_id)
        await ledger.post(session, [Posting(held, payer, 50_000, "refund")], payment_id)
    report = await run(state, LEDGER_ONLY)
    assert kinds(report) == {"missing_refund_proof"}
    assert of_kind(report, "missing_refund_proof")[0].evidence["payment_id"] == str(payment_id)


@pytest.mark.parametrize(
    ("debit", "credit", "error"),
    [
        ("client:nobody:available", "equity:adjustments", UnknownAccount),
        ("equity:adjustments", "equity:adjustments", InvalidAdjustment),
    ],
)
async def test_an_adjustment_that_would_open_an_account_or_is_circular_is_refused(
    state: AppState, debit: str, credit: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        async with state.unit_of_work() as session:
            await service.adjust(
                session,
                AdjustmentIn(debit_account=debit, credit_account=credit, amount_kobo=1, reason="x"),
                "operator:ada",
            )
    assert await query(state, "SELECT * FROM ledger_adjustments") == []
    assert await query(state, "SELECT * FROM ledger_entries WHERE kind = 'adjustment'") == []

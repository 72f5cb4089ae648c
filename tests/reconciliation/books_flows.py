"""Helpers of the reconciliation tests (imported as ``from books_flows import …``)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import text

from billpay.ledger import accounts
from billpay.ledger import service as ledger
from billpay.ledger.repository import Posting
from billpay.reconciliation import service
from billpay.reconciliation.schemas import Discrepancy, ReconciliationReport, Side
from billpay.state import AppState

LEDGER_ONLY = frozenset({Side.LEDGER})


async def run(state: AppState, sides: Iterable[Side] = frozenset(Side)) -> ReconciliationReport:
    _, report = await service.reconcile_and_record(state, "test", sides=frozenset(sides))
    return report


def of_kind(report: ReconciliationReport, kind: str) -> list[Discrepancy]:
    return [found for found in report.discrepancies if found.kind == kind]


def kinds(report: ReconciliationReport) -> set[str]:
    return {found.kind for found in report.discrepancies}


async def insert_stellar_payment(
    state: AppState, client_id: uuid.UUID, status: str, *, amount_kobo: int = 50_000
) -> uuid.UUID:
    """A Stellar-funded airtime payment in ``status`` (fee 0), written straight to its table,
    with VTpass as its provider."""
    payment_id = uuid.uuid4()
    async with state.unit_of_work() as session:
        await session.execute(
            text(
                "INSERT INTO payments (id, short_id, client_id, request_reference, "
                "request_fingerprint, bill_type, biller, plan, plan_name, customer_id, "
                "amount_kobo, fee_kobo, total_kobo, funding_method, status, provider) VALUES "
                "(:id, :short, :client, :ref, 'x', 'airtime', 'mtn', 'mtn-airtime', 'MTN', "
                "'08011111111', :total, 0, :total, 'stellar', :status, 'vtpass')"
            ),
            {
                "id": payment_id,
                "short": payment_id.hex[:12],
                "client": client_id,
                "ref": payment_id.hex,
                "total": amount_kobo,
                "status": status,
            },
        )
    return payment_id


async def paid_over_stellar(state: AppState, client_id: uuid.UUID) -> uuid.UUID:
    """A Stellar-funded payment booked as paid: funds received, then vend (no fee)."""
    payment_id = await insert_stellar_payment(state, client_id, "paid")
    held = accounts.funding_held("stellar")
    async with state.unit_of_work() as session:
        await ledger.post(
            session,
            [Posting(accounts.external_funding("stellar"), held, 50_000, "funds_received")],
            payment_id,
        )
        await ledger.post(
            session,
            [Posting(held, accounts.provider_payable("vtpass"), 50_000, "vend")],
            payment_id,
        )
    return payment_id

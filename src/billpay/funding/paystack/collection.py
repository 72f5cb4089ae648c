"""Confirming a Paystack collection (DESIGN §3, providers.md §4.2).

Money counts only when ``GET /transaction/verify/:reference`` says so — a ``charge.success``
webhook merely prompts the question. Exactly the payment's total in NGN funds it
(``awaiting_funds → pending``). Any other collected amount or currency is never vended: the
payment goes ``awaiting_funds → refunding`` and what was actually collected is refunded. Money
collected after the payment expired is refunded too. No answer, or nothing paid yet, changes
nothing. The Paystack call is made with no database transaction open.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from billpay.funding.base import FundingContext
from billpay.funding.paystack import repository as repo
from billpay.funding.paystack.client import PaystackClient
from billpay.funding.paystack.connection import connect, paystack_configured
from billpay.funding.paystack.transformers import (
    DEFAULT_CURRENCY,
    Collection,
    CollectionVerdict,
    Verification,
    judge_collection,
)
from billpay.ledger import service as ledger
from billpay.models import Payment
from billpay.payments import settlement
from billpay.payments.lifecycle import StaleTransition
from billpay.payments.schemas import FundingMethod
from billpay.payments.status import Status

log = structlog.get_logger(__name__)

# When an awaiting payment is verified without a webhook: seconds after its creation…
CHECK_AGES_SECONDS: tuple[float, ...] = (60.0, 180.0, 600.0, 1200.0)
# …and once more this long before its payment window closes.
EXPIRY_LEAD_SECONDS = 90.0
_CONFIRMABLE = frozenset({Status.AWAITING_FUNDS, Status.EXPIRED})
# The refund cause of money collected after its payment expired (no payment holds it).
LATE = "late"


async def confirm_collection(
    context: FundingContext, reference: str, *, actor: str, paystack: PaystackClient | None = None
) -> str:
    """Verify ``reference`` with Paystack and act on the verdict. Returns what happened."""
    if not paystack_configured(context.settings):
        return "ignored: Paystack is not configured"
    async with context.unit_of_work() as session:
        payment = await repo.payment_by_reference(session, reference)
    if payment is None:
        return "ignored: no Paystack-funded payment has this reference"
    if Status(payment.status) not in _CONFIRMABLE:
        return f"nothing to do: payment is {payment.status}"
    if paystack is None:
        async with connect(context.settings) as client:
            verification = await client.verify(reference)
    else:
        verification = await paystack.verify(reference)
    verdict = judge_collection(verification, payment.total_kobo)
    try:
        async with context.unit_of_work() as session:
            locked = await repo.payment_by_reference(session, reference, for_update=True)
            assert locked is not None
            outcome = await _apply(session, locked, verification, verdict, actor)
            if verdict.collection is not Collection.UNKNOWN:
                await repo.mark_checked(session, reference)  # asked and answered
    except StaleTransition:
        outcome = "nothing to do: another actor moved the payment first"
    log.info(
        "paystack_collection_checked",
        payment_id=str(payment.id),
        reference=reference,
        verdict=verdict.collection.value,
        outcome=outcome,
    )
    return outcome


async def verify_awaiting(
    context: FundingContext,
    *,
    check_ages_seconds: Sequence[float] = CHECK_AGES_SECONDS,
    limit: int | None = None,
) -> int:
    """Periodic job: verify awaiting Paystack payments whose webhook may have been lost."""
    if not paystack_configured(context.settings):
        return 0
    async with context.unit_of_work() as session:
        references = await repo.references_to_verify(
            session, check_ages_seconds, EXPIRY_LEAD_SECONDS, limit or context.settings.batch_size
        )
    if not references:
        return 0
    async with connect(context.settings) as paystack:
        for reference in references:
            try:
                await confirm_collection(
                    context, reference, actor="paystack-poll", paystack=paystack
                )
            except Exception:  # still due (never marked checked): the next beat asks again
                log.exception("paystack_verify_failed", reference=reference)
    return len(references)


async def _apply(
    session: AsyncSession,
    payment: Payment,
    verification: Verification,
    verdict: CollectionVerdict,
    actor: str,
) -> str:
    status = Status(payment.status)
    paid_kobo = verdict.paid_amount_kobo
    if verdict.collection not in (Collection.FUNDED, Collection.MISMATCH):
        return f"not funded: {verdict.reason}"
    if paid_kobo is None or paid_kobo <= 0:
        return f"not funded: nothing to hold ({verdict.reason})"
    reference = verification.reference
    if status is Status.AWAITING_FUNDS and verdict.collection is Collection.FUNDED:
        await settlement.fund(
            session,
            payment,
            received_kobo=paid_kobo,
            reason=f"Paystack collected {paid_kobo} kobo ({reference})",
            actor=actor,
        )
        return "funded"
    if status is Status.AWAITING_FUNDS:
        reason = f"Paystack collection does not match: {verdict.reason}; refunded, never vended"
        await _hold_for_refund(session, payment, verification, verdict, "mismatch", reason)
        await settlement.refund(
            session, payment, from_status=Status.AWAITING_FUNDS, reason=reason, actor=actor
        )
        return "mismatch: refunding what was collected"
    if status is Status.EXPIRED:
        reason = f"paid after the payment expired ({verdict.reason}); refunded, never vended"
        if await _hold_for_refund(session, payment, verification, verdict, LATE, reason):
            log.warning("paystack_late_collection", payment_id=str(payment.id), reference=reference)
            return "late: payment had expired; refund queued"
        return "late: refund already queued"
    return f"nothing to do: payment is {status}"


async def _hold_for_refund(
    session: AsyncSession,
    payment: Payment,
    verification: Verification,
    verdict: CollectionVerdict,
    cause: str,
    reason: str,
) -> bool:
    """Record money that must go back, and queue its refund. False if already recorded."""
    assert verdict.paid_amount_kobo is not None
    currency = verdict.paid_currency or DEFAULT_CURRENCY
    inserted = await repo.insert_refund(
        session,
        {
            "payment_id": payment.id,
            "transaction_reference": verification.reference,
            "transaction_id": verification.transaction_id,
            "amount_kobo": verdict.paid_amount_kobo,
            "currency": currency[:3],
            "cause": cause,
            "status": "creating",
            "reason": reason[:500],
            "next_check_at": func.now(),  # the refunder creates it on its next round
        },
    )
    if inserted:
        await ledger.receive_funds(
            session,
            payment.id,
            FundingMethod.PAYSTACK.value,
            ledger_kobo(verdict.paid_amount_kobo, currency),
        )
    return inserted


def ledger_kobo(amount: int, currency: str) -> int:
    """What a Paystack amount is in the naira ledger: money in another currency is not kobo
    and stays out of it (the refund row keeps the amount and its currency)."""
    return amount if currency == DEFAULT_CURRENCY else 0

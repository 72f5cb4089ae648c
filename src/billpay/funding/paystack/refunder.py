"""The Paystack refunder: every Paystack payment in ``refunding`` gets its money back, once.

A periodic job (DESIGN §3, providers.md §4.2):

1. every Paystack payment in ``refunding`` without a refund row gets one (its total, or what a
   mismatched collection actually brought in), committed before Paystack hears of it;
2. a ``creating`` row is sent as ``POST /refund``. If an earlier send got no readable answer,
   the transaction's refunds are listed first and an existing one is adopted: Paystack refunds
   carry no idempotency key, so a blind retry could repay the payer twice;
3. a ``pending``/``processing`` refund is fetched on the requery schedule (a ``refund.*``
   webhook only makes it due now) until Paystack says ``processed`` → the payment is
   ``refunded``, or ``failed``/``needs-attention`` → ``needs_review`` with the reason.

Rows are leased in batches; every write is conditional on the state it was read in, so a
worker whose lease ran out cannot finish a refund a second time.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from billpay.funding.base import FundingContext
from billpay.funding.paystack import repository as repo
from billpay.funding.paystack.client import PaystackClient
from billpay.funding.paystack.collection import LATE, ledger_kobo
from billpay.funding.paystack.connection import connect, paystack_configured
from billpay.funding.paystack.transformers import Refund, RefundState
from billpay.ledger import service as ledger
from billpay.models import PaystackRefund
from billpay.payments import repository as payments_repo
from billpay.payments import settlement
from billpay.payments.lifecycle import StaleTransition
from billpay.payments.schemas import FundingMethod
from billpay.payments.status import Status

log = structlog.get_logger(__name__)

ACTOR = "paystack-refunder"
LEASE_SECONDS = 300.0
_STATUS_OF = {
    RefundState.DONE: "processed",
    RefundState.FAILED: "failed",
    RefundState.NEEDS_ATTENTION: "needs-attention",
}


async def run_refunds(context: FundingContext, limit: int | None = None) -> int:
    """Periodic job: create and track the refunds that are due. Returns how many were looked at."""
    if not paystack_configured(context.settings):
        return 0
    batch = limit or context.settings.batch_size
    async with context.unit_of_work() as session:
        await repo.queue_missing_refunds(session, batch)
        refunds = await repo.lease_due_refunds(session, batch, LEASE_SECONDS)
    if not refunds:
        return 0
    async with connect(context.settings) as paystack:
        refunder = _Refunder(context, paystack)
        for refund in refunds:
            try:
                await refunder.advance(refund)
            except StaleTransition:
                log.info("paystack_refund_raced", payment_id=str(refund.payment_id))
            except Exception:
                # The lease runs out and the row is looked at again: never forgotten.
                log.exception("paystack_refund_step_failed", payment_id=str(refund.payment_id))
    return len(refunds)


async def nudge(context: FundingContext, reference: str) -> str:
    """A ``refund.*`` webhook arrived for ``reference``: look at its refund on the next round."""
    async with context.unit_of_work() as session:
        payment = await repo.payment_by_reference(session, reference)
        if payment is None:
            return "ignored: no Paystack-funded payment has this reference"
        if await repo.make_refund_due(session, payment.id):
            return "refund status check due now"
    return "nothing to do: no refund of this payment is in progress"


class _Refunder:
    def __init__(self, context: FundingContext, paystack: PaystackClient) -> None:
        self.context = context
        self.paystack = paystack

    async def advance(self, row: PaystackRefund) -> None:
        if row.status in repo.UNSUCCESSFUL:
            restarted = await self._restart(row)
            if restarted is None:
                return
            row = restarted
        if row.status == "creating":
            await self._create(row)
        else:
            await self._track(row)

    async def _restart(self, row: PaystackRefund) -> PaystackRefund | None:
        """An operator sent the payment back to ``refunding``: try a new refund."""
        async with self.context.unit_of_work() as session:
            restarted = await repo.update_refund(
                session,
                row.id,
                {
                    "status": "creating",
                    "refund_id": None,
                    "create_attempts": 0,
                    "checks": 0,
                    "last_error": None,
                    "raw": {"previous": {"status": row.status, "refund_id": row.refund_id}},
                },
                status_was=row.status,
            )
            if not restarted:
                return None
            log.info("paystack_refund_retried", payment_id=str(row.payment_id))
            return await repo.refund_of(session, row.payment_id)

    async def _create(self, row: PaystackRefund) -> None:
        transaction_id = row.transaction_id
        if row.create_attempts > 0:
            # An earlier POST /refund may have reached Paystack: look before sending another.
            known, transaction_id, existing = await self._existing(row)
            if not known:
                await self._later(row, "cannot tell yet whether an earlier create reached Paystack")
                return
            if existing is not None:
                log.info("paystack_refund_adopted", payment_id=str(row.payment_id))
                await self._record(row, existing)
                return
        async with self.context.unit_of_work() as session:
            claimed = await repo.update_refund(
                session,
                row.id,
                {"create_attempts": row.create_attempts + 1, "transaction_id": transaction_id},
                status_was="creating",
                create_attempts_was=row.create_attempts,
            )
        if not claimed:
            return  # another worker is creating it
        refund = await self.paystack.create_refund(
            row.transaction_reference,
            row.amount_kobo,
            merchant_note=f"billpay {row.transaction_reference}: {row.reason}"[:200],
        )
        if refund.state is RefundState.REJECTED:
            await self._unsuccessful(row, "rejected", refund, f"Paystack refused it: {refund.note}")
        elif refund.refund_id is None:
            await self._later(row, refund.note or "no refund id in Paystack's answer", refund)
        else:
            await self._record(row, refund)

    async def _existing(self, row: PaystackRefund) -> tuple[bool, int | None, Refund | None]:
        """(whether Paystack's answer is conclusive, the transaction id, a live refund)."""
        transaction_id = row.transaction_id
        if transaction_id is None:
            verification = await self.paystack.verify(row.transaction_reference)
            if verification.transaction_id is None:
                return False, None, None
            transaction_id = verification.transaction_id
        listing = await self.paystack.list_refunds(transaction_id)
        if not listing.complete:
            return False, transaction_id, None
        live = [refund for refund in listing.refunds if refund.state is not RefundState.FAILED]
        return True, transaction_id, (live[0] if live else None)

    async def _track(self, row: PaystackRefund) -> None:
        assert row.refund_id is not None
        refund = await self.paystack.fetch_refund(row.refund_id)
        if refund.state in (RefundState.UNKNOWN, RefundState.REJECTED):
            await self._later(row, refund.note, refund)
            return
        await self._record(row, refund)

    async def _record(self, row: PaystackRefund, refund: Refund) -> None:
        """Store what Paystack says about the refund, finishing it when it has ended."""
        if refund.state is RefundState.DONE:
            await self._processed(row, refund)
            return
        if refund.state in (RefundState.FAILED, RefundState.NEEDS_ATTENTION):
            status = _STATUS_OF[refund.state]
            await self._unsuccessful(row, status, refund, f"Paystack refund ended {status}")
            return
        status = refund.status if refund.status in ("pending", "processing") else "pending"
        async with self.context.unit_of_work() as session:
            await repo.update_refund(
                session,
                row.id,
                {
                    "status": status,
                    "refund_id": refund.refund_id or row.refund_id,
                    "checks": row.checks + 1,
                    "next_check_at": self._due_after(row.checks),
                    "last_error": None,
                    "raw": _evidence(refund),
                },
                status_was=row.status,
            )

    async def _processed(self, row: PaystackRefund, refund: Refund) -> None:
        returned = refund.amount_kobo or row.amount_kobo
        async with self.context.unit_of_work() as session:
            finished = await repo.update_refund(
                session,
                row.id,
                {
                    "status": "processed",
                    "refund_id": refund.refund_id or row.refund_id,
                    "next_check_at": None,
                    "last_error": None,
                    "raw": _evidence(refund),
                },
                status_was=row.status,
            )
            if not finished:
                return
            payment = await payments_repo.get(session, row.payment_id)
            assert payment is not None
            kobo = ledger_kobo(returned, row.currency)
            if payment.status == Status.REFUNDING.value:
                await settlement.refund_completed(
                    session,
                    payment,
                    amount_kobo=kobo,
                    reason=(
                        f"Paystack refund {refund.refund_id} processed: {returned} "
                        f"{row.currency} minor units back to the payer"
                    ),
                    actor=ACTOR,
                )
                return
            # Money collected for an expired payment: it only ever passed through.
            await ledger.return_funds(
                session, payment.id, FundingMethod.PAYSTACK.value, kobo, "refund"
            )
            log.info("paystack_late_refund_processed", payment_id=str(payment.id))

    async def _unsuccessful(
        self, row: PaystackRefund, status: str, refund: Refund, why: str
    ) -> None:
        refund_id = refund.refund_id or row.refund_id
        async with self.context.unit_of_work() as session:
            finished = await repo.update_refund(
                session,
                row.id,
                {
                    "status": status,
                    "refund_id": refund_id,
                    "next_check_at": None,
                    "last_error": why[:500],
                    "raw": _evidence(refund),
                },
                status_was=row.status,
            )
            if not finished:
                return
            payment = await payments_repo.get(session, row.payment_id)
            assert payment is not None
            reason = (
                f"{why} (refund {refund_id or 'not created'}, {row.amount_kobo} {row.currency} "
                "minor units): the payer has not been repaid"
            )
            if payment.status != Status.REFUNDING.value:
                if row.cause == LATE:
                    # Money collected for an expired payment: no review will hold it, so it
                    # moves to suspense, where an operator sees it.
                    await ledger.quarantine(
                        session,
                        payment.id,
                        FundingMethod.PAYSTACK.value,
                        ledger_kobo(row.amount_kobo, row.currency),
                        reason,
                    )
                log.error("paystack_refund_unsuccessful", payment_id=str(payment.id), reason=reason)
                return
            await settlement.send_to_review(
                session,
                payment,
                from_status=Status.REFUNDING,
                reason=reason[:500],
                actor=ACTOR,
                data={"refund_id": refund_id, "paystack_status": status},
            )

    async def _later(self, row: PaystackRefund, note: str, refund: Refund | None = None) -> None:
        """No conclusive answer: look again on the requery schedule."""
        values: dict[str, Any] = {
            "checks": row.checks + 1,
            "next_check_at": self._due_after(row.checks),
            "last_error": note[:500] or None,
        }
        if refund is not None:
            values["raw"] = _evidence(refund)
        async with self.context.unit_of_work() as session:
            await repo.update_refund(session, row.id, values, status_was=row.status)

    def _due_after(self, checks: int) -> datetime:
        schedule = self.context.settings.retry_schedule_seconds
        delay = schedule[min(checks, len(schedule) - 1)]
        return datetime.now(UTC) + timedelta(seconds=delay)


def _evidence(refund: Refund) -> dict[str, Any]:
    """What Paystack said, masked (the client masks every exchange before it is stored)."""
    exchange = asdict(refund.exchange) if refund.exchange is not None else None
    return {"state": refund.state.value, "status": refund.status, "exchange": exchange}

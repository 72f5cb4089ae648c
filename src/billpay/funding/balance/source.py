"""The merchant's prepaid balance as a ``FundingSource`` (DESIGN §3).

Its money is held before anyone else sees the payment: the one statement that creates the
payment also reserves amount + fee with a guarded debit (``payments.repository``'s
``insert_reserved``, its own transaction, so the merchant's balance row is locked only while
Postgres commits it), and a refund releases the reservation in the very transaction that
decides it (``release``, called by ``settlement.refund``). There is no payer to instruct,
nothing to confirm later, no webhook and no periodic job.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy.ext.asyncio import AsyncSession

from billpay.funding.base import FundingContext, FundingJob, FundingWebhook, WebhookHint
from billpay.ledger import service as ledger
from billpay.models import Payment
from billpay.payments.lifecycle import transition
from billpay.payments.schemas import FundingMethod
from billpay.payments.status import Status


class BalanceFunding:
    """A payment's total, held from its merchant's balance as the payment is created."""

    method = FundingMethod.BALANCE
    funded_at_create = True

    async def instructions(self, session: AsyncSession, payment: Payment) -> None:
        """Never asked: a balance payment's reservation is part of the very statement that
        creates it (``payments.repository.insert_reserved``)."""
        raise AssertionError("a balance payment is reserved by the statement that creates it")

    async def confirm(self, context: FundingContext, reference: str, *, actor: str) -> str:
        return "nothing to do: a balance payment is funded as it is created"

    async def refund(self, context: FundingContext, reference: str) -> str:
        return "nothing to do: a balance refund completes in the transaction that decides it"

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> FundingWebhook | None:
        return None

    def webhook_hint(self, kind: str) -> WebhookHint:
        return WebhookHint.NONE

    def periodic_jobs(self) -> tuple[FundingJob, ...]:
        return ()


async def release(session: AsyncSession, payment: Payment, *, actor: str) -> None:
    """Refund to the balance: the reservation goes back to available, and the refund is done."""
    await ledger.release(session, payment.client_id, payment.id, payment.total_kobo)
    await transition(
        session,
        payment.id,
        Status.REFUNDING,
        Status.REFUNDED,
        reason=f"{payment.total_kobo} kobo returned to the balance",
        actor=actor,
    )

"""Operators resolve ``needs_review`` payments, with a reason recorded on the event."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from billpay.errors import (
    InvalidOutcome,
    NeverSentToProvider,
    NotFound,
    NotInReview,
    ReasonRequired,
)
from billpay.payments import repository as repo
from billpay.payments import settlement
from billpay.payments.status import Status


async def resolve(
    session: AsyncSession, payment_id: uuid.UUID, outcome: str, reason: str, operator: str
) -> str:
    payment = await repo.get(session, payment_id)
    if payment is None:
        raise NotFound(f"no payment {payment_id}")
    if payment.status != Status.NEEDS_REVIEW.value:
        raise NotInReview(f"payment is {payment.status}, not needs_review")
    if not reason.strip():
        raise ReasonRequired("reason: say what you verified")
    actor = f"operator:{operator}"
    if outcome == "paid":
        if payment.provider is None:
            raise NeverSentToProvider("payment was never sent to a provider")
        await settlement.mark_paid(
            session,
            payment,
            from_status=Status.NEEDS_REVIEW,
            provider=payment.provider,
            provider_transaction_id=payment.provider_transaction_id,
            token=payment.token,
            units=payment.units,
            reason=reason,
            actor=actor,
        )
    elif outcome == "refund":
        await settlement.refund(
            session, payment, from_status=Status.NEEDS_REVIEW, reason=reason, actor=actor
        )
    else:
        raise InvalidOutcome("outcome: 'paid' or 'refund'")
    refreshed = await repo.get(session, payment_id)
    assert refreshed is not None
    return refreshed.status

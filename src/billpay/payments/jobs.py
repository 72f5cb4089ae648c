"""Asking a provider again about a delivered payment: the way a reversal is confirmed.

A provider's word that a vend was reversed (a webhook, an operator's report) is only a hint;
the payment is refunded only when a requery of the same reference says so.
"""

from __future__ import annotations

import uuid

from billpay.errors import NotFound, NotPaid
from billpay.payments import repository as repo
from billpay.payments import settlement
from billpay.payments.attempts import repository as attempts_repo
from billpay.payments.attempts.requests import vend_request_for
from billpay.payments.context import PaymentsContext
from billpay.payments.status import Status
from billpay.providers.base import Outcome, ProviderName, VendResult


async def recheck_delivery(context: PaymentsContext, payment_id: uuid.UUID, actor: str) -> str:
    """Requery a paid payment's delivering attempt; refund it if the provider reversed it."""
    async with context.unit_of_work() as session:
        payment = await repo.get(session, payment_id)
        if payment is None:
            raise NotFound(f"no payment {payment_id}")
        if payment.status != Status.PAID.value:
            raise NotPaid(f"payment is {payment.status}, not paid")
        attempt = await attempts_repo.latest(session, payment.id)
        plan = await context.plans.any(session, payment.plan)
        assert attempt is not None
        provider = context.providers[ProviderName(attempt.provider)]
        request = vend_request_for(payment, plan, attempt)
    result = await provider.requery(request)
    if not _reversed(result):
        return payment.status
    async with context.unit_of_work() as session:
        payment = await repo.get(session, payment_id)
        assert payment is not None
        await settlement.reverse_delivery(
            session,
            payment,
            reason=f"{provider.name.value} reversed the vend ({result.provider_status})",
            actor=actor,
        )
        refreshed = await repo.get(session, payment_id)
        assert refreshed is not None
        return refreshed.status


def _reversed(result: VendResult) -> bool:
    return result.outcome is Outcome.FAILED and result.reversed

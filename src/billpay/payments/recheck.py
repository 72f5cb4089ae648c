"""Asking a provider again about a delivered payment: the way a reversal is confirmed.

A provider's word that a vend was reversed (a webhook, an operator's report) is only a hint;
the payment is refunded only when a requery of the same reference says so.
"""

from __future__ import annotations

import uuid

from billpay.errors import NotFound, Unprocessable
from billpay.payments import repository as repo
from billpay.payments import settlement
from billpay.payments.lifecycle import Status
from billpay.providers.base import Outcome, ProviderName, VendResult
from billpay.state import AppState
from billpay.worker.processor import vend_request_for
from billpay.worker.repository import latest_attempt


async def recheck_delivery(state: AppState, payment_id: uuid.UUID, actor: str) -> str:
    """Requery a paid payment's delivering attempt; refund it if the provider reversed it."""
    async with state.unit_of_work() as session:
        payment = await repo.get(session, payment_id)
        if payment is None:
            raise NotFound(f"no payment {payment_id}")
        if payment.status != Status.PAID.value:
            raise Unprocessable(f"payment is {payment.status}, not paid", code="not_paid")
        attempt = await latest_attempt(session, payment.id)
        plan = await state.payments.plan_or_none(session, payment.plan)
        assert attempt is not None
        provider = state.providers[ProviderName(attempt.provider)]
        request = vend_request_for(payment, plan, attempt)
    result = await provider.requery(request)
    if not _reversed(result):
        return payment.status
    async with state.unit_of_work() as session:
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

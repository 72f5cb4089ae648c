"""Asking a provider again about a delivered payment: the way a reversal is confirmed.

A provider's word that a vend was reversed (a webhook, an operator's report) is only a hint;
the payment is refunded only when a requery of the same reference says so. Webhooks get lost,
so the reversal watch also asks, on a schedule, about recent deliveries of providers that
document reversals.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from billpay.errors import ApiError, NotFound, NotPaid
from billpay.models import Payment, PaymentAttempt
from billpay.payments import repository as repo
from billpay.payments import settlement
from billpay.payments import watch_repository as watch_repo
from billpay.payments.attempts import calls as calls_repo
from billpay.payments.attempts import repository as attempts_repo
from billpay.payments.attempts.requests import vend_request_for
from billpay.payments.context import PaymentsContext
from billpay.payments.lifecycle import StaleTransition
from billpay.payments.status import Status
from billpay.providers.base import BillProvider, Outcome, ProviderName, VendRequest, VendResult
from billpay.providers.calls import CallKind, collect_calls

log = structlog.get_logger(__name__)


# Providers whose documentation says a delivered vend can later be reversed: VTpass
# (providers.md §1.8: "A `delivered` transaction can later become `reversed`", code 040).
# Flutterwave's and Interswitch's bill docs describe no reversal of a successful vend.
REVERSAL_DOCUMENTED = (ProviderName.VTPASS,)
WATCH_ACTOR = "reversal-watch"


@dataclass(frozen=True)
class DeliveredVend:
    payment: Payment
    attempt: PaymentAttempt
    provider: BillProvider
    request: VendRequest


async def recheck_delivery(context: PaymentsContext, payment_id: uuid.UUID, actor: str) -> str:
    """Requery a paid payment's delivering attempt; refund it if the provider reversed it."""
    async with context.unit_of_work() as session:
        vend = await _delivered_vend(context, session, payment_id)
    return await _requery_delivered(context, vend, actor)


async def watch_reversals(context: PaymentsContext) -> int:
    """Requery paid payments within the watch window, each at most once per interval and a
    batch per beat, so a reversal whose webhook was lost is still refunded (exactly once:
    the move from paid is conditional). Returns how many were looked at."""
    settings = context.settings
    providers = [name.value for name in REVERSAL_DOCUMENTED if name in context.providers]
    if settings.reversal_watch_hours <= 0 or not providers:
        return 0
    owner = f"{WATCH_ACTOR}:{uuid.uuid4().hex[:8]}"
    async with context.unit_of_work() as session:
        due = await watch_repo.lease_due(
            session,
            owner,
            providers=providers,
            window_seconds=settings.reversal_watch_hours * 3600,
            interval_seconds=settings.reversal_watch_interval_seconds,
            lease_seconds=settings.lease_seconds,
            limit=settings.reversal_watch_batch,
        )
    for payment_id in due:
        try:
            async with context.unit_of_work() as session:
                vend = await _delivered_vend(context, session, payment_id)
            status = await _requery_delivered(context, vend, WATCH_ACTOR)
            log.info("reversal_watch_checked", payment_id=str(payment_id), status=status)
        except ApiError as exc:  # it moved on since it was leased
            log.info("reversal_watch_skipped", payment_id=str(payment_id), why=exc.message)
        finally:
            async with context.unit_of_work() as session:
                await watch_repo.release(session, payment_id, owner)
    return len(due)


async def _delivered_vend(
    context: PaymentsContext, session: AsyncSession, payment_id: uuid.UUID
) -> DeliveredVend:
    payment = await repo.get(session, payment_id)
    if payment is None:
        raise NotFound(f"no payment {payment_id}")
    if payment.status != Status.PAID.value:
        raise NotPaid(f"payment is {payment.status}, not paid")
    attempt = await attempts_repo.latest(session, payment.id)
    plan = await context.plans.any(session, payment.plan)
    assert attempt is not None  # a paid payment was delivered by its latest attempt
    provider = context.providers[ProviderName(attempt.provider)]
    return DeliveredVend(payment, attempt, provider, vend_request_for(payment, plan, attempt))


async def _requery_delivered(context: PaymentsContext, vend: DeliveredVend, actor: str) -> str:
    """Ask the provider about the delivered vend; the payment's status afterwards."""
    with collect_calls(CallKind.REVERSAL_CHECK) as made:
        result = await vend.provider.requery(vend.request)
    payment_id = vend.payment.id
    try:
        async with context.unit_of_work() as session:
            await calls_repo.record(
                session, made, payment_id=payment_id, attempt_id=vend.attempt.id
            )
            payment = await repo.get(session, payment_id)
            assert payment is not None
            if not _reversed(result) or payment.status != Status.PAID.value:
                return payment.status
            await settlement.reverse_delivery(
                session,
                payment,
                reason=f"{vend.provider.name.value} reversed the vend ({result.provider_status})",
                actor=actor,
            )
    except StaleTransition:
        pass  # refunded meanwhile by another look at the same reversal
    async with context.unit_of_work() as session:
        refreshed = await repo.get(session, payment_id)
        assert refreshed is not None
        return refreshed.status


def _reversed(result: VendResult) -> bool:
    return result.outcome is Outcome.FAILED and result.reversed

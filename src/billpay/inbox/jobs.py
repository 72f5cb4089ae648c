"""The inbox job: act on stored webhooks, trusting only the provider's own answer.

- a purchase update (VTpass ``transaction-update``, Flutterwave ``singlebillpayment.status``)
  for a payment still ``processing`` makes its requery due now: the worker's requery of the
  same reference decides, never the status the webhook claims;
- one claiming anything but success for a ``paid`` payment triggers a requery now, and only a
  requery that says "reversed" refunds it;
- a funding source's webhook goes back to that source, found in the funding registry: one
  saying money may have arrived (Paystack ``charge.success``) makes it ``confirm`` (Paystack
  verifies the collection); one about a refund (``refund.*``) makes it see to the ``refund``;
- anything else is recorded and left alone.

Events are leased in batches (``SKIP LOCKED``), handled in arrival order, and marked with what
was done. An event whose handling failed is retried with backoff, then given up on (still
recorded). Handling an event twice is harmless: every action above is idempotent.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import structlog

from billpay.errors import ApiError
from billpay.funding.base import FundingSource, WebhookHint
from billpay.inbox import repository as repo
from billpay.inbox.context import InboxContext
from billpay.inbox.service import FUNDING_METHODS
from billpay.models import WebhookInboxEvent
from billpay.payments import repository as payments_repo
from billpay.payments.jobs import recheck_delivery
from billpay.payments.status import Status

log = structlog.get_logger(__name__)

LEASE_SECONDS = 120.0
MAX_ATTEMPTS = 8
VARIATIONS_UPDATE = "variations-update"
# Claimed statuses that say "delivered": nothing to re-check on a paid payment.
_SUCCESS_CLAIMS = frozenset({"delivered", "success", "successful", "000"})


async def process_inbox(context: InboxContext, limit: int | None = None) -> int:
    """Periodic job: handle the inbox events that are due. Returns how many were handled."""
    async with context.unit_of_work() as session:
        events = await repo.claim_due(session, limit or context.settings.batch_size, LEASE_SECONDS)
    for event in events:
        await _handle(context, event)
    return len(events)


async def _handle(context: InboxContext, event: WebhookInboxEvent) -> None:
    with structlog.contextvars.bound_contextvars(
        provider=event.provider, kind=event.kind, inbox_id=event.id
    ):
        try:
            outcome = await act_on(context, event)
        except Exception as exc:
            log.exception("webhook_event_failed", attempts=event.attempts)
            await _failed(context, event, f"error: {type(exc).__name__}")
            return
        async with context.unit_of_work() as session:
            await repo.mark_processed(session, event.id, outcome)
        log.info("webhook_event_processed", outcome=outcome)


async def act_on(context: InboxContext, event: WebhookInboxEvent) -> str:
    """Do what ``event`` calls for, after asking the provider. Returns what was done."""
    source = context.funding.named(event.provider)
    if source is not None:
        return await _funding_event(context, source, event)
    if event.provider in FUNDING_METHODS:  # stored while that method was still configured
        return f"ignored: {event.provider} is not configured"
    if event.reference is not None:
        return await _purchase_update(context, event, event.reference)
    if event.kind == VARIATIONS_UPDATE:
        return "recorded: VTpass changed its variations; the next catalog sync picks them up"
    return f"ignored: billpay does not act on {event.kind!r}"


async def _purchase_update(context: InboxContext, event: WebhookInboxEvent, reference: str) -> str:
    claimed = event.claimed_status or "no status"
    async with context.unit_of_work() as session:
        found = await repo.attempt_and_payment(session, event.provider, reference)
        if found is None:
            return "ignored: no payment attempt has this reference"
        attempt, payment = found
        status = Status(payment.status)
        if status is Status.PROCESSING:
            if await repo.make_due_now(session, payment.id):
                await payments_repo.wake_workers(session)
            return f"requery due now (webhook claims {claimed}); the requery decides"
        latest = await repo.latest_attempt_id(session, payment.id)
    if status is not Status.PAID:
        return f"nothing to do: payment is {status} (webhook claims {claimed})"
    if claimed.lower() in _SUCCESS_CLAIMS:
        return f"nothing to do: payment is already paid (webhook claims {claimed})"
    if latest != attempt.id:
        return f"nothing to do: this attempt did not deliver the payment (claims {claimed})"
    try:
        now = await recheck_delivery(context, payment.id, actor=f"webhook:{event.provider}")
    except ApiError as exc:  # it moved on meanwhile
        return f"nothing to do: {exc.message}"
    return f"requeried after a claimed {claimed}: payment is {now}"


async def _funding_event(
    context: InboxContext, source: FundingSource, event: WebhookInboxEvent
) -> str:
    if event.reference is None:
        return f"ignored: {event.kind} names no transaction"
    hint = source.webhook_hint(event.kind)
    if hint is WebhookHint.FUNDS:
        return await source.confirm(context, event.reference, actor=f"webhook:{event.provider}")
    if hint is WebhookHint.REFUND:
        return await source.refund(context, event.reference)
    return f"ignored: billpay does not act on {event.kind!r}"


async def _failed(context: InboxContext, event: WebhookInboxEvent, outcome: str) -> None:
    async with context.unit_of_work() as session:
        if event.attempts >= MAX_ATTEMPTS:
            await repo.mark_processed(
                session, event.id, f"gave up after {event.attempts} tries; {outcome}"
            )
            log.error("webhook_event_abandoned", attempts=event.attempts)
            return
        schedule = context.settings.retry_schedule_seconds
        delay = schedule[min(event.attempts - 1, len(schedule) - 1)]
        await repo.retry_later(
            session, event.id, outcome, datetime.now(UTC) + timedelta(seconds=delay)
        )

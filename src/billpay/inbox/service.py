"""Receiving a provider webhook: authenticate on the raw body, parse, store once, wake workers.

Each provider proves itself its own way (providers.md §1.10, §2.6, §4.3): VTpass by a secret
token in the URL path, Flutterwave by ``verif-hash`` (constant-time), Paystack by the
HMAC-SHA512 of the raw body. The provider modules, and a funding source's ``parse_webhook``
(found through the funding registry), check that before anything is parsed. A
forged event is refused (401), a malformed one too (400), and nothing of either is stored. A
valid event is inserted once per ``(provider, event_id)``; a replay is acknowledged and not
processed again. Acting on an event is the inbox job's work (``processing.py``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog

from billpay.db.text import first_unstorable
from billpay.errors import ApiError, UnknownProvider, UnstorableText, webhook_rejection
from billpay.funding.base import FundingSource, FundingWebhook
from billpay.inbox import repository as repo
from billpay.inbox.context import InboxContext
from billpay.payments import repository as payments_repo
from billpay.payments.schemas import FundingMethod
from billpay.providers.base import ProviderName, WebhookEvent, WebhookRejected

log = structlog.get_logger(__name__)

# Provider notifications are a few kilobytes; anything far larger is not one.
MAX_BODY_BYTES = 256 * 1024
# Every funding method's name, offered here or not (StrEnum members equal their names).
FUNDING_METHODS = frozenset(FundingMethod)


@dataclass(frozen=True)
class InboundEvent:
    """A verified notification from any provider, as the inbox stores it."""

    provider: str
    event_id: str
    kind: str
    reference: str | None
    claimed_status: str | None
    payload: Mapping[str, Any] = field(default_factory=dict)  # masked


async def receive(
    context: InboxContext,
    provider: str,
    headers: Mapping[str, str],
    body: bytes,
    path_token: str | None = None,
) -> bool:
    """Authenticate, parse and store one webhook. True when new, False for a replay."""
    event = parse(context, provider, headers, body, path_token)
    async with context.unit_of_work() as session:
        stored = await repo.insert_event(session, _row(event))
        if stored:
            await payments_repo.wake_jobs(session)
    log.info(
        "webhook_received",
        provider=event.provider,
        kind=event.kind,
        event_id=event.event_id,
        reference=event.reference,
        replay=not stored,
    )
    return stored


def parse(
    context: InboxContext,
    provider: str,
    headers: Mapping[str, str],
    body: bytes,
    path_token: str | None,
) -> InboundEvent:
    if len(body) > MAX_BODY_BYTES:
        raise _rejected(provider, f"body larger than {MAX_BODY_BYTES} bytes", 413)
    source = context.funding.named(provider)
    if source is not None:
        return _from_funding_source(source, headers, body)
    if provider in FUNDING_METHODS:
        raise UnknownProvider(f"{provider} is not configured on this server")
    try:
        name = ProviderName(provider)
    except ValueError:
        raise UnknownProvider(f"no webhooks are accepted for {provider!r}") from None
    connector = context.providers.get(name)
    if connector is None:
        raise UnknownProvider(f"{provider} is not configured on this server")
    try:
        return _inbound(name.value, connector.parse_webhook(headers, body, path_token))
    except WebhookRejected as exc:
        raise _rejected(provider, exc.reason, exc.status_code) from None


def _from_funding_source(
    source: FundingSource, headers: Mapping[str, str], body: bytes
) -> InboundEvent:
    provider = source.method.value
    try:
        webhook = source.parse_webhook(headers, body)
    except WebhookRejected as exc:
        raise _rejected(provider, exc.reason, exc.status_code) from None
    if webhook is None:
        raise UnknownProvider(f"no webhooks are accepted for {provider!r}")
    return _inbound(provider, webhook)


def _inbound(provider: str, webhook: FundingWebhook | WebhookEvent) -> InboundEvent:
    """A funding source's or a bill provider's notification, as the inbox stores either."""
    return InboundEvent(
        provider=provider,
        event_id=webhook.event_id,
        kind=webhook.kind,
        reference=webhook.reference,
        claimed_status=webhook.claimed_status,
        payload=webhook.payload,
    )


def _rejected(provider: str, reason: str, status_code: int) -> ApiError:
    log.warning("webhook_rejected", provider=provider, reason=reason, status=status_code)
    return webhook_rejection(f"webhook rejected: {reason}", status_code)


def _row(event: InboundEvent) -> dict[str, Any]:
    """The inbox row; an event with text or numbers no column can keep is refused (422)."""
    fields = {
        "event_id": event.event_id,
        "kind": event.kind,
        "reference": event.reference,
        "claimed_status": event.claimed_status,
    }
    field = first_unstorable(fields) or first_unstorable(dict(event.payload), "payload")
    if field is not None:
        log.warning("webhook_rejected", provider=event.provider, reason="unstorable", field=field)
        raise UnstorableText(
            f"{field}: a NUL byte, a lone surrogate or a number no database column holds",
            details={"field": field},
        )
    return {
        "provider": event.provider,
        "event_id": _fit(event.event_id, 300),
        "kind": event.kind[:100],
        "reference": event.reference if event.reference and len(event.reference) <= 200 else None,
        "claimed_status": event.claimed_status[:100] if event.claimed_status else None,
        "payload": dict(event.payload),
    }


def _fit(value: str, limit: int) -> str:
    """``value``, or a digest of it when too long: still unique, still the same on a replay."""
    if len(value) <= limit:
        return value
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()

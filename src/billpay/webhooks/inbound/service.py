"""Receiving a provider webhook: authenticate on the raw body, parse, store once, wake workers.

Each provider proves itself its own way (providers.md §1.10, §2.6, §4.3): VTpass by a secret
token in the URL path, Flutterwave by ``verif-hash`` (constant-time), Paystack by the
HMAC-SHA512 of the raw body. The provider modules check that before anything is parsed. A
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

from billpay.errors import ApiError, NotFound
from billpay.funding.paystack.source import configured
from billpay.funding.paystack.webhooks import PaystackEvent, PaystackWebhookRejected
from billpay.payments import repository as payments_repo
from billpay.providers.base import ProviderName, WebhookEvent, WebhookRejected
from billpay.state import AppState
from billpay.webhooks.inbound import repository as repo

log = structlog.get_logger(__name__)

PAYSTACK = "paystack"
# Provider notifications are a few kilobytes; anything far larger is not one.
MAX_BODY_BYTES = 256 * 1024
_REJECTION_CODES = {
    400: "malformed_webhook",
    401: "webhook_not_authenticated",
    404: "unknown_webhook",
    413: "webhook_too_large",
}


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
    state: AppState,
    provider: str,
    headers: Mapping[str, str],
    body: bytes,
    path_token: str | None = None,
) -> bool:
    """Authenticate, parse and store one webhook. True when new, False for a replay."""
    event = parse(state, provider, headers, body, path_token)
    async with state.unit_of_work() as session:
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
    state: AppState,
    provider: str,
    headers: Mapping[str, str],
    body: bytes,
    path_token: str | None,
) -> InboundEvent:
    if len(body) > MAX_BODY_BYTES:
        raise _rejected(provider, f"body larger than {MAX_BODY_BYTES} bytes", 413)
    if provider == PAYSTACK:
        return _paystack(state, headers, body)
    try:
        name = ProviderName(provider)
    except ValueError:
        raise NotFound(
            f"no webhooks are accepted for {provider!r}", code="unknown_provider"
        ) from None
    connector = state.providers.get(name)
    if connector is None:
        raise NotFound(f"{provider} is not configured on this server", code="unknown_provider")
    try:
        return _from_provider(connector.parse_webhook(headers, body, path_token))
    except WebhookRejected as exc:
        raise _rejected(provider, exc.reason, exc.status_code) from None


def _paystack(state: AppState, headers: Mapping[str, str], body: bytes) -> InboundEvent:
    source = configured(state.payments.funding)
    if source is None:
        raise NotFound("paystack is not configured on this server", code="unknown_provider")
    try:
        return _from_paystack(source.parse_webhook(headers, body))
    except PaystackWebhookRejected as exc:
        raise _rejected(PAYSTACK, exc.reason, exc.status_code) from None


def _from_provider(event: WebhookEvent) -> InboundEvent:
    return InboundEvent(
        provider=event.provider.value,
        event_id=event.event_id,
        kind=event.kind,
        reference=event.reference,
        claimed_status=event.claimed_status,
        payload=event.payload,
    )


def _from_paystack(event: PaystackEvent) -> InboundEvent:
    return InboundEvent(
        provider=PAYSTACK,
        event_id=event.event_id,
        kind=event.event,
        reference=event.reference,
        claimed_status=event.status,
        payload=event.payload,
    )


def _rejected(provider: str, reason: str, status_code: int) -> ApiError:
    log.warning("webhook_rejected", provider=provider, reason=reason, status=status_code)
    return ApiError(
        f"webhook rejected: {reason}",
        code=_REJECTION_CODES.get(status_code, "webhook_rejected"),
        status_code=status_code,
    )


def _row(event: InboundEvent) -> dict[str, Any]:
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

"""VTpass callbacks: ``transaction-update`` and ``variations-update`` (providers.md §1.10).

VTpass signs nothing, so authenticity comes from a secret token in the callback URL path,
compared in constant time. Even then a callback is only a hint: the payment is settled by a
requery of the same request_id, never by the callback's claimed status.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any, Final

from billpay.providers.base import ProviderName, WebhookEvent, WebhookRejected
from billpay.providers.vtpass import wire
from billpay.providers.vtpass.transformers import parse_purchase
from billpay.redact import redact

# VTpass retries (up to 5 times) until it gets exactly this JSON body back.
WEBHOOK_ACK: Final[dict[str, str]] = {"response": "success"}

TRANSACTION_UPDATE: Final = "transaction-update"


def parse_webhook(body: bytes, path_token: str | None, expected_token: str | None) -> WebhookEvent:
    """Authenticate, then parse. Raises ``WebhookRejected`` (401 forged, 400 malformed)."""
    _authenticate(path_token, expected_token)
    envelope, payload = _envelope(body)
    if envelope.type == TRANSACTION_UPDATE:
        return _transaction_update(envelope, payload)
    return _other_event(envelope, payload, body)


def _authenticate(path_token: str | None, expected_token: str | None) -> None:
    # With no token configured nothing can prove it came from VTpass, so nothing is accepted.
    if not expected_token or not path_token:
        raise WebhookRejected("missing webhook token", status_code=401)
    if not hmac.compare_digest(path_token.encode(), expected_token.encode()):
        raise WebhookRejected("wrong webhook token", status_code=401)


def _envelope(body: bytes) -> tuple[wire.WebhookEnvelope, dict[str, Any]]:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise WebhookRejected("body is not JSON", status_code=400) from None
    if not isinstance(payload, dict):
        raise WebhookRejected("body is not a JSON object", status_code=400)
    envelope = wire.WebhookEnvelope.model_validate(payload)  # lenient: never raises on drift
    if envelope.type is None:
        raise WebhookRejected("callback has no type", status_code=400)
    return envelope, payload


def _transaction_update(envelope: wire.WebhookEnvelope, payload: dict[str, Any]) -> WebhookEvent:
    update = parse_purchase(envelope.data)
    if update is None or update.request_id is None:
        raise WebhookRejected("transaction-update without data.requestId", status_code=400)
    claimed = update.status or update.code
    return WebhookEvent(
        provider=ProviderName.VTPASS,
        # VTpass resends the same update on retries; a new status is a new event.
        event_id=f"{update.request_id}:{claimed or 'unknown'}",
        kind=TRANSACTION_UPDATE,
        reference=update.request_id,
        claimed_status=claimed,
        payload=redact(payload),
    )


def _other_event(
    envelope: wire.WebhookEnvelope, payload: dict[str, Any], body: bytes
) -> WebhookEvent:
    """``variations-update`` and any later type: no request_id, so the body is the identity."""
    kind = envelope.type or ""
    digest = hashlib.sha256(body).hexdigest()[:32]
    subject = envelope.service_id or "all"
    return WebhookEvent(
        provider=ProviderName.VTPASS,
        event_id=f"{kind}:{subject}:{digest}",
        kind=kind,
        reference=None,
        claimed_status=None,
        payload=redact(payload),
    )

"""Inbound Paystack webhooks (providers.md §4.3).

``x-paystack-signature`` is the hex HMAC-SHA512 of the raw request body keyed with the secret
key. It is checked over the bytes as received: re-serialised JSON would differ in whitespace
or key order and must not verify. A verified event is still a hint (providers.md §6.6): the
funding service confirms a collection with ``verify`` before it moves money, and answers
Paystack 200 quickly, also for events it ignores, so Paystack stops retrying.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from billpay.funding.paystack.wire import kobo_from_wire
from billpay.providers.base import WebhookRejected
from billpay.redact import redact

SIGNATURE_HEADER = "x-paystack-signature"
CHARGE_SUCCESS = "charge.success"


class PaystackWebhookRejected(WebhookRejected):
    """A webhook to refuse. ``status_code`` is the answer for Paystack: 401 or 400."""


@dataclass(frozen=True)
class PaystackEvent:
    event: str  # "charge.success", "refund.processed", "transfer.failed", ...
    event_id: str  # stable across Paystack's retries of one notification: dedupe on it
    reference: str | None  # the transaction (or transfer) reference billpay chose
    amount_kobo: int | None
    currency: str | None
    status: str | None
    paystack_id: str | None  # data.id: Paystack's transaction, refund or transfer id
    payload: Mapping[str, Any] = field(default_factory=dict)  # masked


def signature_for(raw_body: bytes, secret_key: str) -> str:
    return hmac.new(secret_key.encode(), raw_body, hashlib.sha512).hexdigest()


def verify_signature(raw_body: bytes, header_value: str | None, secret_key: str) -> bool:
    if not header_value or not secret_key:
        return False
    expected = signature_for(raw_body, secret_key).encode()
    return hmac.compare_digest(expected, header_value.strip().lower().encode())


def parse_event(raw_body: bytes, headers: Mapping[str, str], secret_key: str) -> PaystackEvent:
    """A verified, parsed event, or ``PaystackWebhookRejected`` (401 forged, 400 malformed)."""
    if not verify_signature(raw_body, _header(headers, SIGNATURE_HEADER), secret_key):
        raise PaystackWebhookRejected(f"missing or invalid {SIGNATURE_HEADER}", 401)
    event, data = _event_and_data(raw_body)
    parsed = PaystackEvent(
        event=event,
        event_id=_event_id(event, data, raw_body),
        reference=_reference(event, data),
        amount_kobo=_optional_kobo(data.get("amount")),
        currency=_optional_text(data.get("currency"), "currency"),
        status=_optional_text(data.get("status"), "status"),
        paystack_id=_optional_id(data.get("id")),
        payload=redact({"event": event, "data": data}),
    )
    if event == CHARGE_SUCCESS:
        _require_collection_facts(parsed)
    return parsed


def _header(headers: Mapping[str, str], name: str) -> str | None:
    # Starlette's headers are case-insensitive, a plain dict is not.
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _event_and_data(raw_body: bytes) -> tuple[str, Mapping[str, Any]]:
    try:
        payload = json.loads(raw_body)
    except ValueError:
        raise PaystackWebhookRejected("body is not JSON", 400) from None
    if not isinstance(payload, dict):
        raise PaystackWebhookRejected("body is not a JSON object", 400)
    event, data = payload.get("event"), payload.get("data")
    if not isinstance(event, str) or not event or not isinstance(data, dict):
        raise PaystackWebhookRejected('expected {"event": str, "data": {...}}', 400)
    return event, data


def _reference(event: str, data: Mapping[str, Any]) -> str | None:
    # Refund events name the refunded transaction in transaction_reference; the rest in reference.
    key = "transaction_reference" if event.startswith("refund.") else "reference"
    return _optional_text(data.get(key), key)


def _event_id(event: str, data: Mapping[str, Any], raw_body: bytes) -> str:
    """Paystack sends no event id: an object and its status identify one notification."""
    anchor = data.get("id") or data.get("refund_reference") or data.get("reference")
    if anchor is None:
        # Nothing identifies the object, so the exact bytes do: a retry resends the same body.
        anchor = hashlib.sha256(raw_body).hexdigest()[:32]
    return f"{event}:{anchor}:{data.get('status')}"


def _optional_kobo(value: object) -> int | None:
    if value is None:
        return None
    try:
        return kobo_from_wire(value)
    except ValueError as exc:
        raise PaystackWebhookRejected(str(exc), 400) from None


def _optional_text(value: object, name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise PaystackWebhookRejected(f"{name} is not a string", 400)


def _optional_id(value: object) -> str | None:
    if value is None or isinstance(value, bool):
        return None
    return str(value) if isinstance(value, int | str) else None


def _require_collection_facts(event: PaystackEvent) -> None:
    # A charge.success without these cannot be matched to a payment, let alone funded.
    missing = [
        name
        for name, value in (
            ("reference", event.reference),
            ("amount", event.amount_kobo),
            ("currency", event.currency),
        )
        if value is None
    ]
    if missing:
        raise PaystackWebhookRejected(f"charge.success without {', '.join(missing)}", 400)

"""Flutterwave webhook verification and parsing (providers.md §2.6).

v3 sends the dashboard's secret hash verbatim in ``verif-hash``: it is a shared secret compared
as-is (constant time), not an HMAC of the body. Newer docs name a ``flutterwave-signature``
header, read by at least one implementation as base64 HMAC-SHA256 of the raw body; that scheme is
UNCONFIRMED, so it is accepted only when switched on.

A verified event is still only a hint: the caller requeries before giving or refunding value.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from billpay.providers.base import ProviderName, WebhookEvent, WebhookRejected
from billpay.providers.flutterwave.wire import BillWebhookData, WebhookBody, decode_json
from billpay.redact import redact

BILL_PAYMENT_EVENT = "singlebillpayment.status"
HASH_HEADER = "verif-hash"
SIGNATURE_HEADER = "flutterwave-signature"


class FlutterwaveWebhooks:
    def __init__(self, secret_hash: str | None, *, accept_hmac_signature: bool = False) -> None:
        self._secret_hash = secret_hash
        self._accept_hmac_signature = accept_hmac_signature

    def parse(self, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """A verified event, or ``WebhookRejected`` (401 unverified, 400 malformed)."""
        self._verify({name.lower(): value for name, value in headers.items()}, body)
        raw, envelope = _decode(body)
        return _event(envelope, redact(raw), body)

    def _verify(self, headers: Mapping[str, str], body: bytes) -> None:
        if not self._secret_hash:
            raise WebhookRejected("no Flutterwave secret hash is configured", 401)
        secret = self._secret_hash.encode()
        if HASH_HEADER in headers:
            verified = hmac.compare_digest(headers[HASH_HEADER].encode(), secret)
        elif self._accept_hmac_signature and SIGNATURE_HEADER in headers:
            expected = base64.b64encode(hmac.new(secret, body, hashlib.sha256).digest())
            verified = hmac.compare_digest(headers[SIGNATURE_HEADER].encode(), expected)
        else:
            raise WebhookRejected(f"missing {HASH_HEADER} header", 401)
        if not verified:
            raise WebhookRejected("webhook signature does not match", 401)


def _decode(body: bytes) -> tuple[Any, WebhookBody]:
    try:
        raw = decode_json(body)
        return raw, WebhookBody.model_validate(raw)
    except (ValueError, ValidationError) as exc:  # JSONDecodeError is a ValueError
        raise WebhookRejected("malformed webhook body", 400) from exc


def _event(envelope: WebhookBody, payload: Mapping[str, Any], body: bytes) -> WebhookEvent:
    if envelope.event != BILL_PAYMENT_EVENT:
        # Not about a bill purchase (e.g. card collections): recorded, then ignored by the caller.
        return WebhookEvent(
            provider=ProviderName.FLUTTERWAVE,
            event_id=f"{envelope.event}:{_digest(body)}",
            kind=envelope.event,
            reference=None,
            claimed_status=None,
            payload=payload,
        )
    if not isinstance(envelope.data, Mapping):
        raise WebhookRejected(f"{BILL_PAYMENT_EVENT} without data", 400)
    try:
        data = BillWebhookData.model_validate(envelope.data)
    except ValidationError as exc:
        raise WebhookRejected(f"malformed {BILL_PAYMENT_EVENT} data", 400) from exc
    # Retries resend the same event: Flutterwave's id plus the status names it, so the inbox
    # dedupes retries but still sees a later status change.
    their_id = data.tx_ref or data.flw_ref or _digest(body)
    return WebhookEvent(
        provider=ProviderName.FLUTTERWAVE,
        event_id=f"{their_id}:{data.status or 'no-status'}",
        kind=BILL_PAYMENT_EVENT,
        reference=data.customer_reference,
        claimed_status=data.status,
        payload=payload,
    )


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]

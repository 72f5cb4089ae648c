"""Signatures on the webhooks billpay sends to its clients, in Stripe's scheme.

    Billpay-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + raw body)>

While a secret is being rotated the header carries one ``v1`` per active secret, so a
receiver holding either the old or the new secret accepts it. The timestamp is signed too:
a captured request cannot be replayed once it is older than the tolerance. This module is
both what billpay signs with and the helper documented for receivers (docs/webhooks.md).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass

SIGNATURE_HEADER = "Billpay-Signature"
DEFAULT_TOLERANCE_SECONDS = 300

_SCHEME = "v1"
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_HEX_SHA256 = re.compile(r"[0-9a-f]{64}")


def compute_signature(body: bytes, secret: str, timestamp: int) -> str:
    """Hex HMAC-SHA256 of ``b"<timestamp>." + body`` under ``secret``."""
    signed_payload = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed_payload, hashlib.sha256).hexdigest()


def signature_header(body: bytes, secrets: Sequence[str], timestamp: int) -> str:
    """``t=<timestamp>,v1=<sig>[,v1=<sig>…]``, one ``v1`` per active secret."""
    if not secrets:
        raise ValueError("at least one signing secret is required")
    if timestamp < 0:
        raise ValueError("timestamp must be unix seconds")
    signatures = (f"{_SCHEME}={compute_signature(body, secret, timestamp)}" for secret in secrets)
    return ",".join((f"t={timestamp}", *signatures))


def sign(body: bytes, secret: str, timestamp: int) -> str:
    """The header for a single secret: ``t=<timestamp>,v1=<sig>``."""
    return signature_header(body, [secret], timestamp)


@dataclass(frozen=True)
class _ParsedHeader:
    timestamp: int
    signatures: tuple[str, ...]


def _parse(header: str) -> _ParsedHeader | None:
    """The timestamp and ``v1`` signatures, or None for anything malformed.

    Unknown schemes (``v0=…``, a future ``v2=…``) are skipped rather than rejected, so a
    sender adding a scheme does not break receivers that only know ``v1``.
    """
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, equals, value = item.strip().partition("=")
        if not equals:
            return None
        if key == "t":
            if timestamp is not None or not _TIMESTAMP.fullmatch(value):
                return None
            timestamp = int(value)
        elif key == _SCHEME and _HEX_SHA256.fullmatch(value):
            signatures.append(value)
    if timestamp is None or not signatures:
        return None
    return _ParsedHeader(timestamp, tuple(signatures))


def verify(
    body: bytes,
    header: str | None,
    secrets: Sequence[str],
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """True when ``header`` signs exactly ``body`` with one of ``secrets`` within tolerance.

    ``body`` must be the raw request bytes: re-serialised JSON will not match. A missing or
    malformed header, a timestamp further than ``tolerance_seconds`` from ``now`` (past or
    future), or no matching signature all give False.
    """
    if not secrets:
        raise ValueError("at least one secret is required to verify")
    parsed = _parse(header) if header else None
    if parsed is None:
        return False
    current = time.time() if now is None else now
    if abs(current - parsed.timestamp) > tolerance_seconds:
        return False
    expected = [compute_signature(body, secret, parsed.timestamp) for secret in secrets]
    # compare_digest keeps the comparison time independent of how many characters match.
    return any(
        hmac.compare_digest(candidate, signature)
        for candidate in expected
        for signature in parsed.signatures
    )


def new_secret() -> str:
    """A fresh signing secret for a merchant (shown to them once)."""
    return "whsec_" + secrets.token_urlsafe(24)

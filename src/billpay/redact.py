"""Masking of secrets and electricity tokens before anything is stored, logged or shown.

Provider payloads are kept as evidence (DESIGN §1.5) but never with credentials or PINs in them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

MASK = "***"

# Lower-cased key names (and substrings) whose values are secrets or tokens.
_SECRET_KEYS = frozenset(
    {
        "authorization",
        "api-key",
        "api_key",
        "apikey",
        "secret-key",
        "secret_key",
        "public-key",
        "public_key",
        "password",
        "client_secret",
        "access_token",
        "verif-hash",
        "x-paystack-signature",
        "secret",
        "token",
        "maintoken",
        "bonustoken",
        "purchased_code",
        "recharge_token",
        "rechargepin",
        "miscdata",
        "pin",
        "seed",
        "envelope_xdr",
    }
)
_SECRET_FRAGMENTS = ("secret", "password", "token", "apikey", "api_key", "api-key")
# A 16–24 digit run inside free text is how electricity tokens leak (e.g. "Token : 4216 7939 …").
_TOKEN_IN_TEXT = re.compile(r"(?<!\d)(?:\d[ -]?){16,24}(?!\d)")


def is_secret_key(key: str) -> bool:
    lowered = key.lower()
    return lowered in _SECRET_KEYS or any(fragment in lowered for fragment in _SECRET_FRAGMENTS)


def mask_text(text: str) -> str:
    return _TOKEN_IN_TEXT.sub(MASK, text)


def redact(value: Any) -> Any:
    """A deep copy of ``value`` with secret-looking keys masked and token-like digit runs hidden."""
    if isinstance(value, Mapping):
        return {
            str(key): (MASK if is_secret_key(str(key)) and item not in (None, "") else redact(item))
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    if isinstance(value, str):
        return mask_text(value)
    return value


def mask_identifier(identifier: str) -> str:
    """``08012345678`` → ``080****5678``; ``1234567890`` → ``123****890`` (for payer messages)."""
    digits = identifier.strip()
    if len(digits) <= 6:
        return "*" * len(digits)
    tail = 4 if len(digits) >= 11 else 3
    return f"{digits[:3]}****{digits[-tail:]}"

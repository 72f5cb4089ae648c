"""Masking of secrets and electricity tokens before anything is stored, logged or shown.

Provider payloads are kept as evidence (DESIGN §1.5) but never with credentials or PINs in them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
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


# ``name=value`` in a URL query (or a form): the value goes when the name is a secret's.
_QUERY_PAIR = re.compile(r"(?P<key>[A-Za-z0-9_.\-]+)=(?P<value>[^&\s\"'#]*)")
# Paths that carry a secret as a segment: VTpass posts to /v1/webhooks/vtpass/<token>.
_SECRET_PATH_SEGMENT = re.compile(r"(?P<prefix>/webhooks/vtpass/)(?P<secret>[^/?#\s\"']+)")
# What database errors quote of a statement's parameters: SQLAlchemy's "[parameters: …]"
# (engines hide them too), asyncpg's "invalid input for query argument $1: '…'" and
# Postgres's "Key (column)=(value)" details.
_DATABASE_QUOTES = (
    (re.compile(r"\[parameters: [^\]]*\]?"), f"[parameters: {MASK}]"),
    (re.compile(r"(query argument \$\d+:) [^\n]*"), rf"\1 {MASK}"),
    (
        re.compile(r"(Key \([^)]*\))=\([^\n]*?\)( already exists| is not present|\.|$)"),
        rf"\1=({MASK})\2",
    ),
)
_MIN_KNOWN = 6  # shorter "secrets" would mask ordinary words
_known_secrets: set[str] = set()
_known_pattern: re.Pattern[str] | None = None


def is_secret_key(key: str) -> bool:
    lowered = key.lower()
    return lowered in _SECRET_KEYS or any(fragment in lowered for fragment in _SECRET_FRAGMENTS)


def mask_text(text: str) -> str:
    return _TOKEN_IN_TEXT.sub(MASK, text)


def remember_secrets(values: Iterable[str | None]) -> None:
    """Values masked wherever they appear in text that is redacted (a process's configured
    credentials: an exception's message may quote one however it was built)."""
    global _known_pattern
    _known_secrets.update(value for value in values if value and len(value) >= _MIN_KNOWN)
    ordered = sorted(_known_secrets, key=len, reverse=True)  # the longest first
    _known_pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None


def mask_url_secrets(text: str) -> str:
    """``text`` (a path, a URL, a log line quoting one) with secret path segments and the
    values of secret-named query parameters masked, what database errors quote of query
    parameters hidden, known secrets masked, and token-like digit runs hidden."""
    if _known_pattern is not None:
        text = _known_pattern.sub(MASK, text)
    text = _SECRET_PATH_SEGMENT.sub(lambda m: m["prefix"] + MASK, text)
    for pattern, replacement in _DATABASE_QUOTES:
        text = pattern.sub(replacement, text)
    text = _QUERY_PAIR.sub(
        lambda m: f"{m['key']}={MASK}" if is_secret_key(m["key"]) and m["value"] else m[0], text
    )
    return mask_text(text)


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
        return mask_url_secrets(value)
    return value


def mask_identifier(identifier: str) -> str:
    """``08012345678`` → ``080****5678``; ``1234567890`` → ``123****890`` (for payer messages)."""
    digits = identifier.strip()
    if len(digits) <= 6:
        return "*" * len(digits)
    tail = 4 if len(digits) >= 11 else 3
    return f"{digits[:3]}****{digits[-tail:]}"

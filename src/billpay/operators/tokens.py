"""Operator tokens: how strong one must be, how one is made and how it is stored (hashed)."""

from __future__ import annotations

import hashlib
import re
import secrets

MIN_TOKEN_CHARS = 32
MIN_DISTINCT_CHARS = 12  # 32 characters of "aaaa…" or "0101…" are not a secret
NAME_PATTERN = re.compile(r"^[A-Za-z0-9._@-]{1,40}$")


def new_token() -> str:
    """256 random bits, URL-safe (43 characters)."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def token_problem(token: str) -> str | None:
    """Why ``token`` is too weak to guard operator access; None when it is strong enough."""
    if len(token) < MIN_TOKEN_CHARS:
        return f"is {len(token)} characters long; use at least {MIN_TOKEN_CHARS}"
    if len(set(token)) < MIN_DISTINCT_CHARS:
        return f"uses only {len(set(token))} distinct characters; use a random token"
    return None


def name_problem(name: str) -> str | None:
    if not NAME_PATTERN.match(name):
        return "1 to 40 letters, digits, '.', '_', '@' or '-'"
    return None

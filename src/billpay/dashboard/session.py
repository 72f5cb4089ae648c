"""The operator's dashboard session: the cookie holds a random session secret; the server keeps
its hash (``operator_sessions``), so signing out, a token rotation or its expiry ends it.

The CSRF token of a form is an HMAC keyed by the session secret: valid exactly as long as
that session, and unknowable without the cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

from billpay.operators.service import SESSION_LIFETIME

COOKIE = "billpay_operator"
SESSION_SECONDS = int(SESSION_LIFETIME.total_seconds())


@dataclass(frozen=True)
class Operator:
    name: str
    csrf: str


def csrf_for(cookie: str) -> str:
    digest = hmac.new(cookie.encode("utf-8", "replace"), b"billpay-csrf", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def csrf_ok(cookie: str, presented: str) -> bool:
    """Constant-time, and safe for any text a client sends (bytes, not ASCII-only str)."""
    return bool(cookie) and hmac.compare_digest(
        csrf_for(cookie).encode(), presented.encode("utf-8", "replace")
    )

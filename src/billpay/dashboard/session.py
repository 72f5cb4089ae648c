"""The operator's dashboard session: a cookie signed with a key derived from the admin token.

``<expiry>.<name>.<hmac>`` — the name is recorded on the operator's resolutions. Rotating
``BILLPAY_ADMIN_TOKEN`` ends every session. The CSRF token of a form is an HMAC of the session
cookie, so it is valid exactly as long as that session.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass

COOKIE = "billpay_operator"
SESSION_SECONDS = 12 * 3600
NAME_PATTERN = re.compile(r"^[A-Za-z0-9 ._@-]{1,40}$")


@dataclass(frozen=True)
class Operator:
    name: str
    csrf: str


def _key(admin_token: str, purpose: bytes) -> bytes:
    return hashlib.sha256(
        b"billpay-dashboard\x00" + purpose + b"\x00" + admin_token.encode()
    ).digest()


def _sign(admin_token: str, purpose: bytes, message: str) -> str:
    digest = hmac.new(_key(admin_token, purpose), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def issue(admin_token: str, name: str, now: float) -> str:
    """A session cookie value for ``name``, valid for ``SESSION_SECONDS``."""
    encoded = base64.urlsafe_b64encode(name.encode()).decode()
    payload = f"{int(now) + SESSION_SECONDS}.{encoded}"
    return f"{payload}.{_sign(admin_token, b'session', payload)}"


def verify(admin_token: str, cookie: str, now: float) -> Operator | None:
    """The operator of a valid, unexpired session cookie; None for anything else."""
    payload, _, signature = cookie.rpartition(".")
    if not _same(_sign(admin_token, b"session", payload), signature):
        return None
    expiry, _, encoded = payload.partition(".")
    try:
        name = base64.urlsafe_b64decode(encoded.encode()).decode()
        expired = int(expiry) < now
    except (ValueError, binascii.Error):
        return None
    if expired or not NAME_PATTERN.match(name):
        return None
    return Operator(name=name, csrf=_sign(admin_token, b"csrf", cookie))


def csrf_ok(admin_token: str, cookie: str, presented: str) -> bool:
    return _same(_sign(admin_token, b"csrf", cookie), presented)


def _same(expected: str, presented: str) -> bool:
    """Constant-time, and safe for any text a client sends (bytes, not ASCII-only str)."""
    return hmac.compare_digest(expected.encode(), presented.encode("utf-8", "replace"))

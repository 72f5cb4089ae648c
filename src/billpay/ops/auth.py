"""Operator authentication: a configured operator's token as a bearer token (``/v1/ops``,
``/metrics``), throttled per address; who the client is and whether it came over TLS, believing
forwarded headers only from ``BILLPAY_TRUSTED_PROXIES``."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from billpay.deps import State
from billpay.errors import (
    InvalidOperatorToken,
    OperatorAccessDisabled,
    TooManyAttempts,
    Unauthorized,
)
from billpay.operators import service as operators
from billpay.operators.service import Identity
from billpay.ops.settings import ADMIN_TOKEN_ENV, OpsSettings, get_ops_settings

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="OperatorToken",
    description=f"An operator's token ({ADMIN_TOKEN_ENV} or one from `billpay operators add`)",
)

OperatorSettings = Annotated[OpsSettings, Depends(get_ops_settings)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def admin_identity(settings: OpsSettings) -> Identity | None:
    token = settings.admin_secret()
    return operators.identity_for(settings.admin_name, token) if token else None


def _trusted(settings: OpsSettings, host: str | None) -> bool:
    if not host:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in settings.trusted_networks)


def client_address(request: Request, settings: OpsSettings) -> str | None:
    """The caller's address: the peer's, or — when the peer is a trusted proxy — the last
    address in X-Forwarded-For that is not one of our proxies."""
    peer = request.client.host if request.client else None
    if not _trusted(settings, peer):
        return peer
    forwarded = [part.strip() for part in request.headers.get("x-forwarded-for", "").split(",")]
    for hop in reversed([part for part in forwarded if part]):
        if not _trusted(settings, hop):
            return hop[:64]
    return peer


def came_over_tls(request: Request, settings: OpsSettings) -> bool:
    """https as the browser sees it: our own scheme, or a trusted proxy's X-Forwarded-Proto."""
    if request.url.scheme == "https":
        return True
    peer = request.client.host if request.client else None
    proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return proto == "https" and _trusted(settings, peer)


def too_many_attempts(retry_after: int) -> TooManyAttempts:
    return TooManyAttempts(
        f"too many failed operator sign-ins: try again in {retry_after} s",
        retry_after=retry_after,
    )


async def require_operator(
    request: Request, state: State, settings: OperatorSettings, credentials: Credentials
) -> Identity:
    """The operator a bearer token belongs to (401 without one, 429 while throttled)."""
    admin = admin_identity(settings)
    async with state.unit_of_work() as session:
        configured = await operators.any_configured(session, admin)
    if not configured:
        raise OperatorAccessDisabled(
            f"operator access is disabled: set {ADMIN_TOKEN_ENV} or run 'billpay operators add'"
        )
    if credentials is None or not credentials.credentials:
        raise Unauthorized("send an operator token as 'Authorization: Bearer <token>'")
    async with state.unit_of_work() as session:  # commits the failure before answering
        outcome = await operators.bearer(
            session, credentials.credentials, client_address(request, settings), admin
        )
    if outcome.retry_after is not None:
        raise too_many_attempts(outcome.retry_after)
    if outcome.identity is None:
        raise InvalidOperatorToken("the operator token is not valid")
    return outcome.identity


CurrentOperatorIdentity = Annotated[Identity, Depends(require_operator)]


async def require_metrics_reader(
    request: Request, state: State, settings: OperatorSettings, credentials: Credentials
) -> None:
    """``BILLPAY_METRICS_TOKEN`` (what Prometheus is given) or any operator's token."""
    expected = settings.metrics_secret()
    if expected and credentials is not None and _same(expected, credentials.credentials):
        return
    await require_operator(request, state, settings, credentials)


def _same(expected: str, presented: str) -> bool:
    """Constant time; both sides hashed first, so neither length nor content leaks."""
    return hmac.compare_digest(
        hashlib.sha256(presented.encode("utf-8", "replace")).digest(),
        hashlib.sha256(expected.encode()).digest(),
    )

"""Operator authentication: the ``BILLPAY_ADMIN_TOKEN`` as a bearer token, compared in constant
time (both sides hashed first, so neither length nor content leaks through timing)."""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from billpay.errors import InvalidOperatorToken, OperatorAccessDisabled, Unauthorized
from billpay.ops.settings import ADMIN_TOKEN_ENV, OpsSettings, get_ops_settings

_bearer = HTTPBearer(
    auto_error=False, scheme_name="OperatorToken", description=f"The {ADMIN_TOKEN_ENV}"
)


def configured_token(settings: OpsSettings) -> str | None:
    token = settings.admin_token.get_secret_value() if settings.admin_token else ""
    return token or None


def token_matches(settings: OpsSettings, presented: str) -> bool:
    expected = configured_token(settings)
    if expected is None:
        return False
    return hmac.compare_digest(
        hashlib.sha256(presented.encode()).digest(), hashlib.sha256(expected.encode()).digest()
    )


def require_operator(
    settings: Annotated[OpsSettings, Depends(get_ops_settings)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    if configured_token(settings) is None:
        raise OperatorAccessDisabled(f"operator access is disabled: set {ADMIN_TOKEN_ENV}")
    if credentials is None or not credentials.credentials:
        raise Unauthorized("send the operator token as 'Authorization: Bearer <token>'")
    if not token_matches(settings, credentials.credentials):
        raise InvalidOperatorToken("the operator token is not valid")


OperatorSettings = Annotated[OpsSettings, Depends(get_ops_settings)]

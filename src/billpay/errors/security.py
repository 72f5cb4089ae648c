"""Codes of the security rules: where webhooks may go, how often an operator may guess."""

from __future__ import annotations

from typing import Any

from billpay.errors.base import ApiError, Conflict, Unprocessable


class UnsafeWebhookUrl(Unprocessable):
    """A webhook URL is not https, or names a loopback, private, link-local or metadata host."""

    code = "unsafe_webhook_url"


class TooManyAttempts(ApiError):
    """Too many failed operator sign-ins from this address or for this operator: wait."""

    status_code = 429
    code = "too_many_attempts"

    def __init__(
        self, message: str, *, retry_after: int, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message, details={"retry_after_seconds": retry_after, **(details or {})})
        self.retry_after = retry_after


class InvalidOperatorName(Unprocessable):
    """An operator's name has characters an identity may not have."""

    code = "invalid_operator_name"


class OperatorExists(Conflict):
    """An operator is added under a name that is taken."""

    code = "operator_exists"

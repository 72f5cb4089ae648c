"""Codes about the request itself: credentials, shape, cursors and the dashboard's forms."""

from __future__ import annotations

from billpay.errors.base import ApiError, Unauthorized, Unprocessable
from billpay.errors.security import TooManyAttempts


class InvalidApiKey(Unauthorized):
    """The bearer token is not any client's API key."""

    code = "invalid_api_key"


class OperatorAccessDisabled(Unauthorized):
    """An operator route is called while no operator token is configured."""

    code = "operator_access_disabled"


class InvalidOperatorToken(Unauthorized):
    """The bearer token is not the operator token."""

    code = "invalid_operator_token"


class ValidationFailed(Unprocessable):
    """A parameter or body field has the wrong type, format or size; details list each one."""

    code = "validation_error"


class InvalidCursor(Unprocessable):
    """The pagination cursor was not returned by this API."""

    code = "invalid_cursor"


class BadForm(Unprocessable):
    """A dashboard form is not urlencoded or cannot be decoded."""

    code = "bad_form"


class FormTooLarge(ApiError):
    """A dashboard form is larger than the dashboard reads."""

    status_code = 413
    code = "form_too_large"


class CsrfFailed(ApiError):
    """A dashboard form's CSRF token is missing, expired or not from this dashboard."""

    status_code = 403
    code = "csrf_failed"


class InvalidFilter(Unprocessable):
    """A dashboard filter names a value that does not exist."""

    code = "invalid_filter"


class ReasonTooLong(Unprocessable):
    """An operator's review reason is longer than the dashboard accepts."""

    code = "reason_too_long"


# What a route answers before its own code runs, for its ``responses=``.
API_KEY_ERRORS: tuple[type[ApiError], ...] = (Unauthorized, InvalidApiKey)
OPERATOR_TOKEN_ERRORS: tuple[type[ApiError], ...] = (
    Unauthorized,
    OperatorAccessDisabled,
    InvalidOperatorToken,
    TooManyAttempts,  # wrong operator tokens are throttled per address
)

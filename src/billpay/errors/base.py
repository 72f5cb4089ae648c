"""The error envelope ``{"error": {"code", "message", "details"}}`` and its status families.

A family (``NotFound``, ``Unprocessable``, …) fixes the HTTP status; each machine-readable code
is a subclass of one, so a code can only ever be sent with its own status.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """Something the caller caused or can act on; never a 500."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class NotFound(ApiError):
    """The named resource does not exist, or belongs to another client."""

    status_code = 404
    code = "not_found"


class Unprocessable(ApiError):
    """The request is well-formed but breaks a rule."""

    status_code = 422
    code = "invalid_request"


class Conflict(ApiError):
    """The request contradicts the resource's current state."""

    status_code = 409
    code = "conflict"


class PaymentRequired(ApiError):
    """Money must arrive before the request can go on."""

    status_code = 402
    code = "payment_required"


class Unauthorized(ApiError):
    """No credentials were sent."""

    status_code = 401
    code = "unauthorized"


class ServiceUnavailable(ApiError):
    """An outage upstream: the same request may succeed if retried later."""

    status_code = 503
    code = "service_unavailable"


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}

"""Codes a provider can get posting a webhook to ``/v1/webhooks/{provider}``."""

from __future__ import annotations

from billpay.errors.base import ApiError, NotFound, Unauthorized


class UnknownProvider(NotFound):
    """The provider in the path is not one billpay knows, or is not configured here."""

    code = "unknown_provider"


class MalformedWebhook(ApiError):
    """The event cannot be read: nothing stored."""

    status_code = 400
    code = "malformed_webhook"


class WebhookNotAuthenticated(Unauthorized):
    """The token, hash or signature is missing or wrong: nothing stored."""

    code = "webhook_not_authenticated"


class UnknownWebhook(NotFound):
    """The provider sends no webhooks billpay accepts."""

    code = "unknown_webhook"


class WebhookTooLarge(ApiError):
    """The body is larger than any event: nothing stored."""

    status_code = 413
    code = "webhook_too_large"


class RejectedWebhook(ApiError):
    """A webhook refused with a status the errors above do not cover."""

    code = "webhook_rejected"

    def __init__(self, message: str, *, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


# What a provider's webhook route can answer, for its ``responses=``.
WEBHOOK_ERRORS: tuple[type[ApiError], ...] = (
    MalformedWebhook,
    WebhookNotAuthenticated,
    UnknownProvider,
    WebhookTooLarge,
)

_REJECTIONS: dict[int, type[ApiError]] = {
    error.status_code: error
    for error in (MalformedWebhook, WebhookNotAuthenticated, UnknownWebhook, WebhookTooLarge)
}


def webhook_rejection(message: str, status_code: int) -> ApiError:
    """The error for a webhook a parser refused, answered with ``status_code``."""
    rejection = _REJECTIONS.get(status_code)
    if rejection is None:
        return RejectedWebhook(message, status_code=status_code)
    return rejection(message)

"""Payer SMS through an HTTP hook (a small service in front of whichever SMS gateway is used).

The hook receives ``{"to", "message", "idempotency_key"}`` as JSON with a bearer token and
should drop a repeated ``idempotency_key``: a timed-out request may have been delivered.
"""

from __future__ import annotations

import httpx
import structlog

from billpay.notifications.errors import (
    NotificationNotConfiguredError,
    RetryableNotificationError,
)
from billpay.notifications.settings import NotificationSettings
from billpay.redact import mask_identifier

log = structlog.get_logger(__name__)


class SmsSender:
    def __init__(
        self, settings: NotificationSettings, client: httpx.AsyncClient | None = None
    ) -> None:
        if settings.sms_webhook_url is None or settings.sms_webhook_token is None:
            raise NotificationNotConfiguredError("SMS needs SMS_WEBHOOK_URL and SMS_WEBHOOK_TOKEN")
        self._url = settings.sms_webhook_url
        self._token = settings.sms_webhook_token
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=settings.sms_webhook_timeout_seconds)

    async def send(self, to: str, message: str, idempotency_key: str) -> None:
        """POST one SMS to the hook. Any transport error or non-2xx answer is retryable."""
        try:
            response = await self._client.post(
                self._url,
                json={"to": to, "message": message, "idempotency_key": idempotency_key},
                headers={
                    "Authorization": f"Bearer {self._token.get_secret_value()}",
                    "Idempotency-Key": idempotency_key,
                },
            )
        except httpx.TransportError as exc:
            raise self._logged_failure(idempotency_key, type(exc).__name__) from exc
        if not response.is_success:
            # The body is not quoted: a gateway may echo the message, token included.
            raise self._logged_failure(idempotency_key, f"HTTP {response.status_code}")
        log.info("notification_sms_sent", idempotency_key=idempotency_key, to=mask_identifier(to))

    @staticmethod
    def _logged_failure(idempotency_key: str, cause: str) -> RetryableNotificationError:
        error = RetryableNotificationError(f"SMS not sent, try again later ({cause})")
        log.warning("notification_sms_failed", idempotency_key=idempotency_key, error=str(error))
        return error

    async def aclose(self) -> None:
        """Close the HTTP client if this sender created it; a caller's client is left open."""
        if self._owns_client:
            await self._client.aclose()

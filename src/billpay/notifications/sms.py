"""Payer SMS through an HTTP hook (a small service in front of whichever SMS gateway is used).

The hook receives ``{"to", "message", "idempotency_key"}`` as JSON with a bearer token and
should drop a repeated ``idempotency_key``: a timed-out request may have been delivered.

Sent over one aiohttp session whose connections are kept alive (about a tenth of httpx's CPU
per request, ``bench/transport.py``). The hook is the operator's own service, so it may be on a
private address; an egress proxy the environment names for it is used, as httpx used it.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

import aiohttp
import structlog

from billpay.notifications.errors import (
    NotificationNotConfiguredError,
    RetryableNotificationError,
)
from billpay.notifications.settings import NotificationSettings
from billpay.redact import mask_identifier

log = structlog.get_logger(__name__)

IDLE_CONNECTION_SECONDS = 4.0  # under the 5 s that common servers keep an idle connection


class SmsSender:
    def __init__(
        self, settings: NotificationSettings, session: aiohttp.ClientSession | None = None
    ) -> None:
        if settings.sms_webhook_url is None or settings.sms_webhook_token is None:
            raise NotificationNotConfiguredError("SMS needs SMS_WEBHOOK_URL and SMS_WEBHOOK_TOKEN")
        self._url = settings.sms_webhook_url
        self._token = settings.sms_webhook_token
        seconds = settings.sms_webhook_timeout_seconds
        # Each phase bounded, as httpx's timeout bounded each: connecting, and every read.
        self._timeout = aiohttp.ClientTimeout(total=None, connect=seconds, sock_read=seconds)
        self._proxy = _proxy_for(self._url)
        self._owns_session = session is None
        self._session = session

    def _opened(self) -> aiohttp.ClientSession:
        """The session, made on first use: aiohttp wants a running event loop."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(keepalive_timeout=IDLE_CONNECTION_SECONDS),
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session

    async def send(self, to: str, message: str, idempotency_key: str) -> None:
        """POST one SMS to the hook. Any transport error or non-2xx answer is retryable."""
        body = {"to": to, "message": message, "idempotency_key": idempotency_key}
        try:
            async with self._opened().post(
                self._url,
                data=_json_bytes(body),
                headers={
                    "Content-Type": "application/json",
                    "Authorization": f"Bearer {self._token.get_secret_value()}",
                    "Idempotency-Key": idempotency_key,
                },
                timeout=self._timeout,
                allow_redirects=False,
                proxy=self._proxy,
            ) as response:
                await response.read()  # so the connection can be kept alive
                status = response.status
        except aiohttp.ClientError as exc:
            raise self._logged_failure(idempotency_key, type(exc).__name__) from exc
        if not 200 <= status < 300:
            # The body is not quoted: a gateway may echo the message, token included.
            raise self._logged_failure(idempotency_key, f"HTTP {status}")
        log.info("notification_sms_sent", idempotency_key=idempotency_key, to=mask_identifier(to))

    @staticmethod
    def _logged_failure(idempotency_key: str, cause: str) -> RetryableNotificationError:
        error = RetryableNotificationError(f"SMS not sent, try again later ({cause})")
        log.warning("notification_sms_failed", idempotency_key=idempotency_key, error=str(error))
        return error

    async def aclose(self) -> None:
        """Close the session if this sender made it; a caller's session is left open."""
        if self._owns_session and self._session is not None:
            await self._session.close()


def _json_bytes(body: dict[str, str]) -> bytes:
    """The JSON bytes httpx sent: compact, UTF-8 as is."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def _proxy_for(url: str) -> str | None:
    """The proxy ``HTTPS_PROXY``/``HTTP_PROXY`` (less ``NO_PROXY``) name for the hook, looked
    up once: aiohttp's own ``trust_env`` would look it up in a thread on every request."""
    parts = urlsplit(url)
    if parts.hostname is None or proxy_bypass(parts.hostname):
        return None
    return getproxies().get(parts.scheme)

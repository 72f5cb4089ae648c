"""Payer emails, sent over SMTP with aiosmtplib.

Each send carries a Message-ID derived from the caller's idempotency key, so a copy resent
after an ambiguous failure (a timeout after DATA) can be recognised and dropped downstream.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any

import aiosmtplib
import structlog

from billpay.notifications.errors import (
    NotificationError,
    NotificationNotConfiguredError,
    PermanentNotificationError,
    RetryableNotificationError,
)
from billpay.notifications.settings import NotificationSettings
from billpay.notifications.templates import RenderedEmail
from billpay.redact import mask_text

log = structlog.get_logger(__name__)

_FALLBACK_MESSAGE_ID_DOMAIN = "billpay.invalid"


def message_id_for(idempotency_key: str, sender: str) -> str:
    """``<sha256(key)[:32]@sender-domain>``: stable across retries, reveals nothing of the key."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    _, address = parseaddr(sender)
    domain = address.rpartition("@")[2] or _FALLBACK_MESSAGE_ID_DOMAIN
    return f"<{digest}@{domain}>"


def build_message(email: RenderedEmail, sender: str, to: str, idempotency_key: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = email.subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = message_id_for(idempotency_key, sender)
    # RFC 3834: tells mail systems not to send vacation auto-replies back to us.
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    return message


def _is_permanent_refusal(exc: aiosmtplib.SMTPException) -> bool:
    """A 5xx about this message (its recipient or its content): resending cannot succeed.

    Everything else — outages, timeouts, 4xx, a refused login or sender (relay configuration
    an operator can fix) — is worth retrying.
    """
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        return all(refusal.code >= 500 for refusal in exc.recipients)
    if isinstance(exc, aiosmtplib.SMTPRecipientRefused | aiosmtplib.SMTPDataError):
        return exc.code >= 500
    return False


def _delivery_error(exc: aiosmtplib.SMTPException | OSError) -> NotificationError:
    # The relay's own words help an operator ("certificate verify failed", "5.7.8 …"); a
    # token-like digit run is masked in case a content filter quotes the message back.
    cause = f"{type(exc).__name__}: {mask_text(str(exc))[:200]}"
    if isinstance(exc, aiosmtplib.SMTPException) and _is_permanent_refusal(exc):
        return PermanentNotificationError(f"the SMTP relay rejected the message ({cause})")
    return RetryableNotificationError(f"email not sent, try again later ({cause})")


class EmailSender:
    def __init__(self, settings: NotificationSettings) -> None:
        if settings.smtp_host is None or settings.smtp_from is None:
            raise NotificationNotConfiguredError("email needs SMTP_HOST and SMTP_FROM")
        self._settings = settings
        self._sender = settings.smtp_from

    def _smtp_options(self) -> dict[str, Any]:
        settings = self._settings
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        return {
            "hostname": settings.smtp_host,
            "port": settings.smtp_port,
            "username": settings.smtp_username,
            "password": password,
            "use_tls": settings.smtp_use_tls,
            "start_tls": settings.smtp_starttls,
            "cert_bundle": str(settings.smtp_ca_file) if settings.smtp_ca_file else None,
            "timeout": settings.smtp_timeout_seconds,
        }

    async def send(self, to: str, email: RenderedEmail, idempotency_key: str) -> str:
        """Send ``email`` to ``to``; returns the Message-ID.

        Raises ``RetryableNotificationError`` (send again later with the same key) or
        ``PermanentNotificationError`` (the relay refused this recipient or content).
        """
        message = build_message(email, self._sender, to, idempotency_key)
        try:
            await aiosmtplib.send(message, **self._smtp_options())
        except (aiosmtplib.SMTPException, OSError) as exc:
            error = _delivery_error(exc)
            log.warning(
                "notification_email_failed", idempotency_key=idempotency_key, error=str(error)
            )
            raise error from exc
        message_id = str(message["Message-ID"])
        log.info("notification_email_sent", idempotency_key=idempotency_key, message_id=message_id)
        return message_id

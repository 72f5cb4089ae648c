"""Telling the payer about a payment's outcome: templates, email over SMTP, SMS over a hook."""

from billpay.notifications.email import EmailSender
from billpay.notifications.errors import (
    NotificationError,
    NotificationNotConfiguredError,
    PermanentNotificationError,
    RetryableNotificationError,
)
from billpay.notifications.settings import NotificationSettings, PayerChannels, configured_channels
from billpay.notifications.sms import SmsSender
from billpay.notifications.templates import (
    NoticeOutcome,
    PaymentNotice,
    RenderedEmail,
    render_email,
    render_sms,
)

__all__ = [
    "EmailSender",
    "NoticeOutcome",
    "NotificationError",
    "NotificationNotConfiguredError",
    "NotificationSettings",
    "PayerChannels",
    "PaymentNotice",
    "PermanentNotificationError",
    "RenderedEmail",
    "RetryableNotificationError",
    "SmsSender",
    "configured_channels",
    "render_email",
    "render_sms",
]

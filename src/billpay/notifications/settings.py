"""Where payer notifications go: an SMTP relay for email and an HTTP hook for SMS.

Kept apart from ``billpay.config.Settings`` until merged; the environment names are final.
A channel missing its host/URL (or, for SMS, its token) is off, like a provider without
credentials.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import structlog
from pydantic import AliasChoices, Field, SecretStr, ValidationError, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, SettingsConfigDict

log = structlog.get_logger(__name__)


class NotificationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    # --- email (SMTP) ------------------------------------------------------------------------
    smtp_host: str | None = Field(default=None, validation_alias=AliasChoices("SMTP_HOST"))
    # None lets aiosmtplib pick the conventional port: 465 with implicit TLS, 587 with
    # STARTTLS, 25 otherwise.
    smtp_port: int | None = Field(default=None, validation_alias=AliasChoices("SMTP_PORT"))
    smtp_username: str | None = Field(default=None, validation_alias=AliasChoices("SMTP_USERNAME"))
    smtp_password: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SMTP_PASSWORD")
    )
    # None upgrades to TLS whenever the relay offers STARTTLS; True insists; False never tries.
    smtp_starttls: bool | None = Field(default=None, validation_alias=AliasChoices("SMTP_STARTTLS"))
    smtp_use_tls: bool = Field(default=False, validation_alias=AliasChoices("SMTP_USE_TLS"))
    # A private CA bundle, for relays whose certificate is not publicly trusted.
    smtp_ca_file: Path | None = Field(default=None, validation_alias=AliasChoices("SMTP_CA_FILE"))
    smtp_from: str | None = Field(default=None, validation_alias=AliasChoices("SMTP_FROM"))
    smtp_timeout_seconds: float = Field(
        default=30.0, validation_alias=AliasChoices("SMTP_TIMEOUT_SECONDS")
    )

    # --- SMS (an HTTP hook in front of whichever SMS gateway is used) --------------------------
    sms_webhook_url: str | None = Field(
        default=None, validation_alias=AliasChoices("SMS_WEBHOOK_URL")
    )
    sms_webhook_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("SMS_WEBHOOK_TOKEN")
    )
    sms_webhook_timeout_seconds: float = Field(
        default=15.0, validation_alias=AliasChoices("SMS_WEBHOOK_TIMEOUT_SECONDS")
    )

    @model_validator(mode="after")
    def _one_kind_of_tls(self) -> NotificationSettings:
        if self.smtp_use_tls and self.smtp_starttls:
            raise ValueError("SMTP_USE_TLS (implicit TLS) and SMTP_STARTTLS exclude each other")
        return self

    @property
    def email_enabled(self) -> bool:
        return bool(self.smtp_host and self.smtp_from)

    @property
    def sms_enabled(self) -> bool:
        # An unauthenticated hook would let anyone send SMS on our account: both are required.
        return bool(self.sms_webhook_url and self.sms_webhook_token)


@dataclass(frozen=True)
class PayerChannels:
    """Which payer channels this deployment can deliver on."""

    email: bool
    sms: bool


def _variable(field: FieldInfo) -> str:
    alias = field.validation_alias
    assert isinstance(alias, AliasChoices)
    return str(alias.choices[0])


# The environment variables the settings are read from.
_VARIABLES = tuple(_variable(field) for field in NotificationSettings.model_fields.values())


def configured_channels() -> PayerChannels:
    """The payer channels this process's configuration turns on, as its dispatcher reads it.

    Asked on every status change, so the settings are read once per value of their variables
    (a dozen dictionary lookups a call; a changed environment, as in tests, is seen).
    """
    return _channels_for(tuple(map(os.environ.get, _VARIABLES)))


@cache
def _channels_for(_environment: tuple[str | None, ...]) -> PayerChannels:
    try:
        settings = NotificationSettings()
    except ValidationError:
        # A misconfigured relay must not stop payments: queue as if on; the dispatcher,
        # which cannot start with it, is where the operator hears of it.
        log.warning("notification_settings_invalid")
        return PayerChannels(email=True, sms=True)
    return PayerChannels(email=settings.email_enabled, sms=settings.sms_enabled)

"""Notification settings come from the agreed environment names and keep secrets out of repr."""

from __future__ import annotations

from pathlib import Path

import pytest

from billpay.notifications import NotificationSettings, PayerChannels, configured_channels


def test_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    environment = {
        "SMTP_HOST": "smtp.example.com",
        "SMTP_PORT": "2525",
        "SMTP_USERNAME": "relay",
        "SMTP_PASSWORD": "smtp-secret-1",
        "SMTP_STARTTLS": "true",
        "SMTP_USE_TLS": "false",
        "SMTP_CA_FILE": "/etc/ssl/private-ca.pem",
        "SMTP_FROM": "billpay <notifications@billpay.example>",
        "SMTP_TIMEOUT_SECONDS": "12.5",
        "SMS_WEBHOOK_URL": "https://sms.example.com/send",
        "SMS_WEBHOOK_TOKEN": "sms-secret-2",
        "SMS_WEBHOOK_TIMEOUT_SECONDS": "3",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    settings = NotificationSettings(_env_file=None)

    assert settings.smtp_host == "smtp.example.com"
    assert settings.smtp_port == 2525
    assert settings.smtp_username == "relay"
    assert settings.smtp_password is not None
    assert settings.smtp_password.get_secret_value() == "smtp-secret-1"
    assert settings.smtp_starttls is True
    assert settings.smtp_use_tls is False
    assert settings.smtp_ca_file == Path("/etc/ssl/private-ca.pem")
    assert settings.smtp_from == "billpay <notifications@billpay.example>"
    assert settings.smtp_timeout_seconds == 12.5
    assert settings.sms_webhook_url == "https://sms.example.com/send"
    assert settings.sms_webhook_token is not None
    assert settings.sms_webhook_token.get_secret_value() == "sms-secret-2"
    assert settings.sms_webhook_timeout_seconds == 3
    assert settings.email_enabled and settings.sms_enabled
    assert "smtp-secret-1" not in repr(settings) and "sms-secret-2" not in repr(settings)


def test_channels_are_off_until_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SMTP_HOST", "SMTP_FROM", "SMS_WEBHOOK_URL", "SMS_WEBHOOK_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    settings = NotificationSettings(_env_file=None)
    assert not settings.email_enabled and not settings.sms_enabled
    assert settings.smtp_starttls is None  # upgrade whenever the relay offers STARTTLS
    assert settings.smtp_port is None  # aiosmtplib's conventional port for the TLS mode


def test_an_sms_hook_without_a_token_stays_off() -> None:
    settings = NotificationSettings(_env_file=None, sms_webhook_url="https://sms.example.com/send")
    assert not settings.sms_enabled


def test_configured_channels_follow_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SMTP_HOST", "SMTP_FROM", "SMS_WEBHOOK_URL", "SMS_WEBHOOK_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert configured_channels() == PayerChannels(email=False, sms=False)
    monkeypatch.setenv("SMTP_HOST", "smtp.example.com")
    monkeypatch.setenv("SMTP_FROM", "billpay <notifications@billpay.example>")
    assert configured_channels() == PayerChannels(email=True, sms=False)
    monkeypatch.setenv("SMS_WEBHOOK_URL", "https://sms.example.com/send")
    assert configured_channels().sms is False  # a hook without its token stays off
    monkeypatch.setenv("SMS_WEBHOOK_TOKEN", "sms-secret-3")
    assert configured_channels() == PayerChannels(email=True, sms=True)


def test_a_misconfigured_relay_does_not_turn_payer_messages_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SMTP_HOST", "smtp.example.com")
    monkeypatch.setenv("SMTP_FROM", "billpay <notifications@billpay.example>")
    monkeypatch.setenv("SMTP_USE_TLS", "true")
    monkeypatch.setenv("SMTP_STARTTLS", "true")  # excludes SMTP_USE_TLS: the settings are invalid
    assert configured_channels() == PayerChannels(email=True, sms=True)

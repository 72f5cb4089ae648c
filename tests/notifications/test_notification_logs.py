"""Nothing billpay logs while notifying carries the token, the raw customer id or a credential.

Both log paths are watched: structlog events (billpay's own), captured before any redaction
could hide a mistake, and standard-library records at DEBUG (aiosmtplib, aiohttp).
The test SMTP server's own ``mail.*`` records are left out: it stands for the payer's mailbox.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import structlog
from notification_examples import (
    GROUPED_TOKEN,
    METER,
    PHONE,
    SMTP_PASSWORD,
    SMTP_USER,
    TOKEN,
    notice,
    text_part,
)
from sms_test_hook import HOOK_PATH, HOOK_TOKEN, SmsHook
from smtp_test_server import Certificate, SmtpServer

from billpay.notifications import (
    EmailSender,
    NotificationSettings,
    RetryableNotificationError,
    SmsSender,
    render_email,
    render_sms,
)
from billpay.sandbox.server import free_port, serve

SECRETS = (TOKEN, GROUPED_TOKEN, METER, PHONE, SMTP_PASSWORD, HOOK_TOKEN)


@contextmanager
def captured_logs(caplog: pytest.LogCaptureFixture) -> Iterator[list[str]]:
    """Every log line emitted inside the block, as text, filled in when the block ends."""
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    lines: list[str] = []
    with structlog.testing.capture_logs() as events:
        yield lines
    lines.extend(repr(event) for event in events)
    lines.extend(
        f"{record.name} {record.getMessage()} {record.__dict__!r}"
        for record in caplog.records
        if not record.name.startswith("mail.")
    )


def assert_no_secrets(lines: list[str]) -> None:
    for line in lines:
        for secret in SECRETS:
            assert secret not in line, f"{secret!r} logged in {line!r}"


async def test_email_sends_and_failures_log_no_secrets(
    authenticating_smtp_server: SmtpServer,
    certificate: Certificate,
    caplog: pytest.LogCaptureFixture,
) -> None:
    email = render_email(notice())
    settings = authenticating_smtp_server.settings(
        smtp_starttls=True,
        smtp_ca_file=certificate.cert_file,
        smtp_username=SMTP_USER,
        smtp_password=SMTP_PASSWORD,
    )
    unreachable = NotificationSettings(
        _env_file=None,
        smtp_host="127.0.0.1",
        smtp_port=free_port(),
        smtp_from="billpay <n@billpay.example>",
        smtp_password=SMTP_PASSWORD,
    )
    with captured_logs(caplog) as lines:
        await EmailSender(settings).send("ada@example.com", email, idempotency_key="k1")
        with pytest.raises(RetryableNotificationError):
            await EmailSender(unreachable).send("ada@example.com", email, idempotency_key="k2")

    assert GROUPED_TOKEN in text_part(authenticating_smtp_server.only_message())
    assert any("notification_email_sent" in line for line in lines)
    assert any("notification_email_failed" in line for line in lines)
    assert_no_secrets(lines)


async def test_sms_sends_and_failures_log_no_secrets(caplog: pytest.LogCaptureFixture) -> None:
    hook = SmsHook()
    message = render_sms(notice())
    with serve(hook.asgi_app()) as server:
        settings = NotificationSettings(
            _env_file=None, sms_webhook_url=server.url + HOOK_PATH, sms_webhook_token=HOOK_TOKEN
        )
        sender = SmsSender(settings)
        with captured_logs(caplog) as lines:
            await sender.send(PHONE, message, idempotency_key="k1")
            hook.status_code = 500
            with pytest.raises(RetryableNotificationError):
                await sender.send(PHONE, message, idempotency_key="k2")
        await sender.aclose()

    assert GROUPED_TOKEN in hook.received[0].body["message"]
    assert any("notification_sms_sent" in line for line in lines)
    assert any("notification_sms_failed" in line for line in lines)
    # aiohttp's records (it logs nothing per request) would have been watched.
    assert logging.getLogger("aiohttp.client").isEnabledFor(logging.DEBUG)
    assert_no_secrets(lines)


def test_a_notice_logged_by_mistake_shows_no_token_or_customer_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with captured_logs(caplog) as lines:
        structlog.get_logger("test").info("notice_built", notice=notice())
        logging.getLogger("test").info("notice built: %s", notice())
    assert len(lines) == 2
    assert_no_secrets(lines)

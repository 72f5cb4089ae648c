"""Emails sent over SMTP to a real server (aiosmtpd on loopback), parsed as a mail client would."""

from __future__ import annotations

import pytest
from notification_examples import (
    GROUPED_TOKEN,
    REFUSED_PERMANENTLY,
    REFUSED_TEMPORARILY,
    SENDER,
    SMTP_PASSWORD,
    SMTP_USER,
    TOKEN,
    html_part,
    notice,
    text_part,
)
from smtp_test_server import Certificate, SmtpServer, running_smtp_server

from billpay.notifications import (
    EmailSender,
    NoticeOutcome,
    NotificationNotConfiguredError,
    NotificationSettings,
    PaymentNotice,
    PermanentNotificationError,
    RetryableNotificationError,
    render_email,
)
from billpay.notifications.email import message_id_for
from billpay.providers.base import BillType
from billpay.sandbox.server import free_port

PAYER = "ada@example.com"


async def send(server: SmtpServer, payment: PaymentNotice, key: str = "notice-1") -> str:
    sender = EmailSender(server.settings())
    return await sender.send(PAYER, render_email(payment), idempotency_key=key)


@pytest.mark.parametrize(
    ("outcome", "bill_type", "subject", "lines"),
    [
        (
            NoticeOutcome.PAID,
            BillType.ELECTRICITY,
            "Electricity Token - ₦5,000 Ikeja Electric",
            ["Meter: 123****890", f"Token: {GROUPED_TOKEN}", "Units: 12.5 kWh"],
        ),
        (
            NoticeOutcome.PAID,
            BillType.AIRTIME,
            "Airtime Delivered - ₦500 MTN",
            ["Phone: 080****5678", "Amount: ₦500 MTN Airtime", "Status: Delivered"],
        ),
        (
            NoticeOutcome.PAID,
            BillType.DATA,
            "Data Activated - 1GB MTN",
            ["Phone: 080****5678", "Plan: 1GB", "Valid for: 30 days"],
        ),
        (
            NoticeOutcome.PAID,
            BillType.CABLE_TV,
            "DSTV Subscription Renewed",
            ["Smart Card: 123****890", "Package: DSTV Compact", "Valid Until: March 18, 2026"],
        ),
        (
            NoticeOutcome.PAID,
            BillType.BETTING,
            "Betting Wallet Funded - ₦2,000 Bet9ja",
            ["Account: BJ1****678", "Amount: ₦2,000"],
        ),
        (
            NoticeOutcome.REFUNDED,
            BillType.ELECTRICITY,
            "Bill Payment Failed - Refund Processed",
            ["Amount Refunded: ₦5,030", "Reason: Customer not found", "Meter: 123****890"],
        ),
        (
            NoticeOutcome.FAILED,
            BillType.DATA,
            "Bill Payment Failed",
            ["Bill: 1GB MTN data", "You have not been charged."],
        ),
        (
            NoticeOutcome.NEEDS_REVIEW,
            BillType.AIRTIME,
            "Bill Payment Under Review",
            ["Bill: ₦500 MTN airtime", "Please do not pay for this bill again"],
        ),
    ],
)
async def test_each_bill_type_and_outcome_arrives_with_its_subject_and_details(
    smtp_server: SmtpServer,
    outcome: NoticeOutcome,
    bill_type: BillType,
    subject: str,
    lines: list[str],
) -> None:
    payment = notice(outcome, bill_type)
    await send(smtp_server, payment)

    received = smtp_server.only_message()
    assert received["Subject"] == subject
    assert received["To"] == PAYER
    assert received["From"] == SENDER
    assert received["Auto-Submitted"] == "auto-generated"
    text, html = text_part(received), html_part(received)
    for line in lines:
        assert line in text
    assert "Reference: K7Q2M9XA" in text
    for body in (text, html):
        assert payment.customer_id not in body
    if outcome is not NoticeOutcome.PAID:
        assert TOKEN not in text and GROUPED_TOKEN not in text


async def test_html_part_arrives_escaped(smtp_server: SmtpServer) -> None:
    payment = notice(NoticeOutcome.REFUNDED, biller_name="Ikeja <Electric> & Co")
    await send(smtp_server, payment)

    html = html_part(smtp_server.only_message())
    assert "Ikeja &lt;Electric&gt; &amp; Co" in html
    assert "<Electric>" not in html


async def test_message_id_is_derived_from_the_idempotency_key(smtp_server: SmtpServer) -> None:
    first = await send(smtp_server, notice(), key="outbox-42")
    again = await send(smtp_server, notice(), key="outbox-42")
    other = await send(smtp_server, notice(), key="outbox-43")

    received_ids = [message["Message-ID"] for message in smtp_server.inbox.messages]
    assert received_ids == [first, again, other]
    assert first == again == message_id_for("outbox-42", SENDER)
    assert other != first
    assert first.endswith("@billpay.example>")
    assert "outbox-42" not in first


async def test_connection_refused_is_retryable() -> None:
    settings = NotificationSettings(
        _env_file=None, smtp_host="127.0.0.1", smtp_port=free_port(), smtp_from=SENDER
    )
    with pytest.raises(RetryableNotificationError, match="try again later"):
        await EmailSender(settings).send(PAYER, render_email(notice()), idempotency_key="k")


async def test_a_permanently_refused_recipient_is_not_retried(smtp_server: SmtpServer) -> None:
    sender = EmailSender(smtp_server.settings())
    with pytest.raises(PermanentNotificationError):
        await sender.send(REFUSED_PERMANENTLY, render_email(notice()), idempotency_key="k")
    assert smtp_server.inbox.messages == []


async def test_a_temporarily_refused_recipient_is_retryable(smtp_server: SmtpServer) -> None:
    sender = EmailSender(smtp_server.settings())
    with pytest.raises(RetryableNotificationError):
        await sender.send(REFUSED_TEMPORARILY, render_email(notice()), idempotency_key="k")


async def test_credentials_from_settings_log_in_after_starttls(
    authenticating_smtp_server: SmtpServer, certificate: Certificate
) -> None:
    settings = authenticating_smtp_server.settings(
        smtp_starttls=True,
        smtp_ca_file=certificate.cert_file,
        smtp_username=SMTP_USER,
        smtp_password=SMTP_PASSWORD,
    )
    await EmailSender(settings).send(PAYER, render_email(notice()), idempotency_key="k")
    assert authenticating_smtp_server.only_message()["To"] == PAYER


async def test_wrong_credentials_are_retryable_once_fixed(
    authenticating_smtp_server: SmtpServer, certificate: Certificate
) -> None:
    settings = authenticating_smtp_server.settings(
        smtp_starttls=True,
        smtp_ca_file=certificate.cert_file,
        smtp_username=SMTP_USER,
        smtp_password="not-the-password",
    )
    with pytest.raises(RetryableNotificationError, match="SMTPAuthenticationError") as raised:
        await EmailSender(settings).send(PAYER, render_email(notice()), idempotency_key="k")
    assert "not-the-password" not in str(raised.value)
    assert authenticating_smtp_server.inbox.messages == []


async def test_starttls_upgrade_with_a_private_ca(certificate: Certificate) -> None:
    with running_smtp_server(
        tls_context=certificate.server_context(), require_starttls=True
    ) as server:
        settings = server.settings(smtp_starttls=True, smtp_ca_file=certificate.cert_file)
        await EmailSender(settings).send(PAYER, render_email(notice()), idempotency_key="k")
        assert server.only_message()["To"] == PAYER


async def test_implicit_tls_with_a_private_ca(certificate: Certificate) -> None:
    with running_smtp_server(ssl_context=certificate.server_context()) as server:
        settings = server.settings(smtp_use_tls=True, smtp_ca_file=certificate.cert_file)
        await EmailSender(settings).send(PAYER, render_email(notice()), idempotency_key="k")
        assert server.only_message()["To"] == PAYER


async def test_an_untrusted_certificate_is_refused_and_retryable(
    certificate: Certificate,
) -> None:
    with running_smtp_server(ssl_context=certificate.server_context()) as server:
        settings = server.settings(smtp_use_tls=True)  # no CA file: the self-signed cert fails
        with pytest.raises(RetryableNotificationError):
            await EmailSender(settings).send(PAYER, render_email(notice()), idempotency_key="k")
        assert server.inbox.messages == []


async def test_required_starttls_is_not_silently_skipped(smtp_server: SmtpServer) -> None:
    settings = smtp_server.settings(smtp_starttls=True)  # the plain server offers no STARTTLS
    with pytest.raises(RetryableNotificationError, match="SMTPException"):
        await EmailSender(settings).send(PAYER, render_email(notice()), idempotency_key="k")
    assert smtp_server.inbox.messages == []


def test_email_needs_a_host_and_a_sender_address() -> None:
    with pytest.raises(NotificationNotConfiguredError):
        EmailSender(NotificationSettings(_env_file=None, smtp_host="127.0.0.1"))


def test_implicit_tls_and_starttls_cannot_both_be_on() -> None:
    with pytest.raises(ValueError, match="exclude each other"):
        NotificationSettings(_env_file=None, smtp_use_tls=True, smtp_starttls=True)

"""Notices shaped like the seed's examples, test constants, and helpers to read an email."""

from __future__ import annotations

from datetime import date
from email.message import EmailMessage
from typing import Any

from billpay.notifications import NoticeOutcome, PaymentNotice
from billpay.providers.base import BillType

SENDER = "billpay <notifications@billpay.example>"
SMTP_USER = "relay-user"
SMTP_PASSWORD = "relay-password-9f8e7d"
REFUSED_PERMANENTLY = "gone@example.com"
REFUSED_TEMPORARILY = "greylisted@example.com"
TOKEN = "42167939781206619049"
GROUPED_TOKEN = "4216-7939-7812-0661-9049"
METER = "1234567890"
PHONE = "08012345678"


def notice(
    outcome: NoticeOutcome = NoticeOutcome.PAID,
    bill_type: BillType = BillType.ELECTRICITY,
    **overrides: Any,
) -> PaymentNotice:
    """A notice shaped like the seed's examples for ``bill_type``; fields can be overridden."""
    per_type: dict[BillType, dict[str, Any]] = {
        BillType.ELECTRICITY: {
            "biller_name": "Ikeja Electric",
            "customer_id": METER,
            "amount_kobo": 500_000,
            "total_kobo": 503_000,
            "token": TOKEN,
            "units": "12.5",
        },
        BillType.AIRTIME: {
            "biller_name": "MTN",
            "customer_id": PHONE,
            "amount_kobo": 50_000,
            "total_kobo": 50_000,
        },
        BillType.DATA: {
            "biller_name": "MTN",
            "customer_id": PHONE,
            "plan_name": "1GB",
            "amount_kobo": 30_000,
            "total_kobo": 30_000,
            "validity_days": 30,
        },
        BillType.CABLE_TV: {
            "biller_name": "DSTV",
            "customer_id": METER,
            "plan_name": "DSTV Compact",
            "amount_kobo": 740_000,
            "total_kobo": 740_000,
            "valid_until": date(2026, 3, 18),
        },
        BillType.BETTING: {
            "biller_name": "Bet9ja",
            "customer_id": "BJ12345678",
            "amount_kobo": 200_000,
            "total_kobo": 200_000,
        },
    }
    values: dict[str, Any] = {
        "outcome": outcome,
        "bill_type": bill_type,
        "payment_short_id": "K7Q2M9XA",
        "payer_email": "ada@example.com",
        "payer_phone": PHONE,
        **per_type[bill_type],
    }
    if outcome is NoticeOutcome.REFUNDED:
        values |= {"refund_kobo": values["total_kobo"], "failure_reason": "Customer not found"}
    if outcome is NoticeOutcome.FAILED:
        values["failure_reason"] = "Customer not found"
    return PaymentNotice(**(values | overrides))


def text_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def html_part(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())

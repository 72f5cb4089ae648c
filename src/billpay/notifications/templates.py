"""What the payer is told about a payment's outcome, by email and by SMS.

The wording follows the seed's examples (token for electricity, plan and validity for data,
package and renewal date for TV). Customer identifiers are always masked; the electricity
token is the one secret a payer's own message carries, and only when the payment is paid.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import assert_never

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from billpay.money import format_naira
from billpay.providers.base import BillType
from billpay.redact import mask_identifier, mask_text


class NoticeOutcome(enum.StrEnum):
    PAID = "paid"
    REFUNDED = "refunded"
    FAILED = "failed"  # nothing delivered and no customer money held
    NEEDS_REVIEW = "needs_review"  # outcome still being confirmed; money is safe


@dataclass(frozen=True)
class PaymentNotice:
    """Everything a payer message needs, independent of the database model.

    Secrets and personal data stay out of ``repr`` so a logged notice leaks nothing.
    """

    outcome: NoticeOutcome
    bill_type: BillType
    biller_name: str  # "Ikeja Electric", "MTN", "DSTV"
    customer_id: str = field(repr=False)  # raw phone/meter/smartcard; masked when shown
    amount_kobo: int  # the bill itself, what the provider receives
    total_kobo: int  # what the payer paid, fee included
    payment_short_id: str  # the reference the payer quotes to support
    plan_name: str | None = None  # data plan or TV package, e.g. "1GB", "DSTV Compact"
    refund_kobo: int | None = None
    failure_reason: str | None = None  # why delivery failed (refunded / failed outcomes)
    token: str | None = field(default=None, repr=False)  # electricity PIN
    units: str | None = None  # electricity units as the provider states them
    validity_days: int | None = None  # data bundle validity
    valid_until: date | None = None  # cable TV subscription end
    payer_email: str | None = field(default=None, repr=False)
    payer_phone: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.amount_kobo < 0 or self.total_kobo < self.amount_kobo:
            raise ValueError("a notice needs 0 <= amount_kobo <= total_kobo")
        if self.outcome is NoticeOutcome.REFUNDED and not self.refund_kobo:
            raise ValueError("a refunded notice needs the refunded amount")

    @property
    def fee_kobo(self) -> int:
        return self.total_kobo - self.amount_kobo


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class _Row:
    label: str
    value: str
    emphasis: bool = False  # the electricity token: shown large in HTML


@dataclass(frozen=True)
class _EmailContent:
    subject: str
    headline: str
    rows: tuple[_Row, ...]
    notes: tuple[str, ...] = ()


# --- formatting helpers ----------------------------------------------------------------------

_CUSTOMER_LABELS: Mapping[BillType, str] = {
    BillType.AIRTIME: "Phone",
    BillType.DATA: "Phone",
    BillType.ELECTRICITY: "Meter",
    BillType.CABLE_TV: "Smart Card",
    BillType.BETTING: "Account",
}
_TOKEN_SEPARATORS = re.compile(r"[\s-]+")
_DECIMAL_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def format_token(token: str) -> str:
    """``"42167939781206619049"`` → ``"4216-7939-7812-0661-9049"``, whatever spacing it came in."""
    compact = _TOKEN_SEPARATORS.sub("", token)
    return "-".join(compact[start : start + 4] for start in range(0, len(compact), 4))


def format_long_date(day: date) -> str:
    """``date(2026, 3, 18)`` → ``"March 18, 2026"`` (no platform-specific strftime flags)."""
    return f"{day:%B} {day.day}, {day.year}"


def _one_line(text: str) -> str:
    # Provider and catalog strings end up in a mail header and an SMS: no line breaks there.
    return " ".join(text.split())


def _format_units(units: str) -> str:
    units = _one_line(units)
    return f"{units} kWh" if _DECIMAL_NUMBER.fullmatch(units) else units


def _format_days(days: int) -> str:
    return "1 day" if days == 1 else f"{days} days"


def _masked_customer(notice: PaymentNotice) -> str:
    return mask_identifier(notice.customer_id)


def _customer_row(notice: PaymentNotice) -> _Row:
    return _Row(_CUSTOMER_LABELS[notice.bill_type], _masked_customer(notice))


def _safe_reason(notice: PaymentNotice) -> str | None:
    """The failure reason as the payer may see it.

    Provider messages often quote the customer id ("Meter 1234567890 not found") or carry
    digit runs; neither may reach a message unmasked.
    """
    if not notice.failure_reason:
        return None
    reason = notice.failure_reason
    if notice.customer_id.strip():
        reason = reason.replace(notice.customer_id.strip(), _masked_customer(notice))
    return _one_line(mask_text(reason))


def _plan_label(notice: PaymentNotice) -> str:
    """The plan or package name, prefixed by the biller unless the name already says it."""
    biller = _one_line(notice.biller_name)
    plan = _one_line(notice.plan_name or format_naira(notice.amount_kobo))
    return plan if biller.lower() in plan.lower() else f"{plan} {biller}"


def bill_description(notice: PaymentNotice) -> str:
    """A short name for the bill, e.g. "₦500 MTN airtime" or "DSTV Compact subscription"."""
    amount = format_naira(notice.amount_kobo)
    biller = _one_line(notice.biller_name)
    match notice.bill_type:
        case BillType.AIRTIME:
            return f"{amount} {biller} airtime"
        case BillType.DATA:
            return f"{_plan_label(notice)} data"
        case BillType.CABLE_TV:
            return f"{_plan_label(notice)} subscription"
        case BillType.ELECTRICITY:
            return f"{amount} {biller} electricity"
        case BillType.BETTING:
            return f"{amount} {biller} wallet top-up"
        case _:
            assert_never(notice.bill_type)


# --- email content, per outcome and bill type ----------------------------------------------


def _amount_rows(notice: PaymentNotice, amount_value: str | None = None) -> tuple[_Row, ...]:
    amount = _Row("Amount", amount_value or format_naira(notice.amount_kobo))
    if not notice.fee_kobo:
        return (amount,)
    total = f"{format_naira(notice.total_kobo)} (incl. {format_naira(notice.fee_kobo)} fee)"
    return (amount, _Row("Total paid", total))


def _paid_electricity(notice: PaymentNotice) -> _EmailContent:
    amount, biller = format_naira(notice.amount_kobo), _one_line(notice.biller_name)
    if not notice.token:  # postpaid meters are credited, no token is issued
        return _EmailContent(
            subject=f"Electricity Bill Paid - {amount} {biller}",
            headline="Your electricity bill has been paid!",
            rows=(_customer_row(notice), *_amount_rows(notice)),
            notes=(f"The payment has been credited to your {biller} account.",),
        )
    units = (_Row("Units", _format_units(notice.units)),) if notice.units else ()
    return _EmailContent(
        subject=f"Electricity Token - {amount} {biller}",
        headline="Your electricity payment was successful!",
        rows=(
            _customer_row(notice),
            *_amount_rows(notice),
            _Row("Token", format_token(notice.token), emphasis=True),
            *units,
        ),
        notes=("Enter this token on your meter to load electricity.",),
    )


def _paid_airtime(notice: PaymentNotice) -> _EmailContent:
    amount, biller = format_naira(notice.amount_kobo), _one_line(notice.biller_name)
    return _EmailContent(
        subject=f"Airtime Delivered - {amount} {biller}",
        headline="Your airtime has been delivered!",
        rows=(
            _customer_row(notice),
            *_amount_rows(notice, f"{amount} {biller} Airtime"),
            _Row("Status", "Delivered"),
        ),
    )


def _paid_data(notice: PaymentNotice) -> _EmailContent:
    validity = (
        (_Row("Valid for", _format_days(notice.validity_days)),) if notice.validity_days else ()
    )
    return _EmailContent(
        subject=f"Data Activated - {_plan_label(notice)}",
        headline="Your data bundle is now active!",
        rows=(
            _customer_row(notice),
            _Row("Plan", _one_line(notice.plan_name or format_naira(notice.amount_kobo))),
            *validity,
            *_amount_rows(notice),
        ),
    )


def _paid_cable_tv(notice: PaymentNotice) -> _EmailContent:
    biller = _one_line(notice.biller_name)
    package = (_Row("Package", _one_line(notice.plan_name)),) if notice.plan_name else ()
    valid_until = (
        (_Row("Valid Until", format_long_date(notice.valid_until)),) if notice.valid_until else ()
    )
    return _EmailContent(
        subject=f"{biller} Subscription Renewed",
        headline=f"Your {biller} subscription has been renewed!",
        rows=(_customer_row(notice), *package, *_amount_rows(notice), *valid_until),
        notes=("Your decoder should be active within 5 minutes.",),
    )


def _paid_betting(notice: PaymentNotice) -> _EmailContent:
    amount, biller = format_naira(notice.amount_kobo), _one_line(notice.biller_name)
    return _EmailContent(
        subject=f"Betting Wallet Funded - {amount} {biller}",
        headline=f"Your {biller} wallet has been funded!",
        rows=(_customer_row(notice), *_amount_rows(notice)),
    )


_PAID_CONTENT: Mapping[BillType, Callable[[PaymentNotice], _EmailContent]] = {
    BillType.ELECTRICITY: _paid_electricity,
    BillType.AIRTIME: _paid_airtime,
    BillType.DATA: _paid_data,
    BillType.CABLE_TV: _paid_cable_tv,
    BillType.BETTING: _paid_betting,
}


def _paid(notice: PaymentNotice) -> _EmailContent:
    return _PAID_CONTENT[notice.bill_type](notice)


def _reason_rows(notice: PaymentNotice) -> tuple[_Row, ...]:
    reason = _safe_reason(notice)
    return (_Row("Reason", reason),) if reason else ()


def _refunded(notice: PaymentNotice) -> _EmailContent:
    refund = format_naira(notice.refund_kobo or 0)
    return _EmailContent(
        subject="Bill Payment Failed - Refund Processed",
        headline="We couldn't complete your bill payment.",
        rows=(
            _Row("Provider", _one_line(notice.biller_name)),
            _Row("Bill", bill_description(notice)),
            _customer_row(notice),
            _Row("Amount Refunded", refund),
            *_reason_rows(notice),
        ),
        notes=(
            f"{refund} has been refunded to the account you paid from.",
            "Please check the details and try again.",
        ),
    )


def _failed(notice: PaymentNotice) -> _EmailContent:
    return _EmailContent(
        subject="Bill Payment Failed",
        headline="We couldn't complete your bill payment.",
        rows=(
            _Row("Provider", _one_line(notice.biller_name)),
            _Row("Bill", bill_description(notice)),
            _customer_row(notice),
            *_reason_rows(notice),
        ),
        notes=("You have not been charged.", "Please check the details and try again."),
    )


def _needs_review(notice: PaymentNotice) -> _EmailContent:
    biller = _one_line(notice.biller_name)
    return _EmailContent(
        subject="Bill Payment Under Review",
        headline="Your bill payment is taking longer than expected.",
        rows=(
            _Row("Provider", biller),
            _Row("Bill", bill_description(notice)),
            _customer_row(notice),
            *_amount_rows(notice),
        ),
        notes=(
            f"We are confirming the result with {biller}. Your money is safe: the bill will "
            "be delivered or your payment refunded, and we will tell you which.",
            "Please do not pay for this bill again in the meantime.",
        ),
    )


_CONTENT_BY_OUTCOME: Mapping[NoticeOutcome, Callable[[PaymentNotice], _EmailContent]] = {
    NoticeOutcome.PAID: _paid,
    NoticeOutcome.REFUNDED: _refunded,
    NoticeOutcome.FAILED: _failed,
    NoticeOutcome.NEEDS_REVIEW: _needs_review,
}


@cache
def _environment() -> Environment:
    # HTML is auto-escaped (biller names and provider reasons are not ours to trust);
    # plain-text parts are not, or "&" would reach the payer as "&amp;".
    return Environment(
        loader=PackageLoader("billpay.notifications", "templates"),
        autoescape=select_autoescape(
            enabled_extensions=("html",), disabled_extensions=("txt",), default=True
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_email(notice: PaymentNotice) -> RenderedEmail:
    content = _CONTENT_BY_OUTCOME[notice.outcome](notice)
    context = {"content": content, "reference": notice.payment_short_id}
    environment = _environment()
    return RenderedEmail(
        subject=_one_line(content.subject),
        text=environment.get_template("email.txt").render(context),
        html=environment.get_template("email.html").render(context),
    )


# --- SMS: one short line per outcome ---------------------------------------------------------


def _sms_paid_electricity(notice: PaymentNotice) -> str:
    amount, biller = format_naira(notice.amount_kobo), _one_line(notice.biller_name)
    meter = _masked_customer(notice)
    if not notice.token:
        return f"{amount} {biller} bill paid for meter {meter}."
    units = f" ({_format_units(notice.units)})" if notice.units else ""
    return f"{biller} token {format_token(notice.token)}{units} for meter {meter}, {amount}."


def _sms_paid_airtime(notice: PaymentNotice) -> str:
    return f"{bill_description(notice)} delivered to {_masked_customer(notice)}."


def _sms_paid_data(notice: PaymentNotice) -> str:
    validity = f", valid {_format_days(notice.validity_days)}" if notice.validity_days else ""
    return f"{bill_description(notice)} activated on {_masked_customer(notice)}{validity}."


def _sms_paid_cable_tv(notice: PaymentNotice) -> str:
    valid_until = (
        f", valid until {format_long_date(notice.valid_until)}" if notice.valid_until else ""
    )
    return f"{_plan_label(notice)} renewed for smart card {_masked_customer(notice)}{valid_until}."


def _sms_paid_betting(notice: PaymentNotice) -> str:
    return f"{bill_description(notice)} done for account {_masked_customer(notice)}."


_PAID_SMS: Mapping[BillType, Callable[[PaymentNotice], str]] = {
    BillType.ELECTRICITY: _sms_paid_electricity,
    BillType.AIRTIME: _sms_paid_airtime,
    BillType.DATA: _sms_paid_data,
    BillType.CABLE_TV: _sms_paid_cable_tv,
    BillType.BETTING: _sms_paid_betting,
}


def _sms_paid(notice: PaymentNotice) -> str:
    return _PAID_SMS[notice.bill_type](notice)


def _sms_failure_prefix(notice: PaymentNotice) -> str:
    reason = _safe_reason(notice)
    because = f" ({reason})" if reason else ""
    bill, customer = bill_description(notice), _masked_customer(notice)
    return f"Your {bill} payment for {customer} failed{because}."


def _sms_refunded(notice: PaymentNotice) -> str:
    refund = format_naira(notice.refund_kobo or 0)
    return f"{_sms_failure_prefix(notice)} {refund} has been refunded."


def _sms_failed(notice: PaymentNotice) -> str:
    return f"{_sms_failure_prefix(notice)} You were not charged."


def _sms_needs_review(notice: PaymentNotice) -> str:
    return (
        f"Your {bill_description(notice)} payment for {_masked_customer(notice)} is being "
        "confirmed. Your money is safe; please don't pay again."
    )


_SMS_BY_OUTCOME: Mapping[NoticeOutcome, Callable[[PaymentNotice], str]] = {
    NoticeOutcome.PAID: _sms_paid,
    NoticeOutcome.REFUNDED: _sms_refunded,
    NoticeOutcome.FAILED: _sms_failed,
    NoticeOutcome.NEEDS_REVIEW: _sms_needs_review,
}


def render_sms(notice: PaymentNotice) -> str:
    return f"{_SMS_BY_OUTCOME[notice.outcome](notice)} Ref {notice.payment_short_id}"

"""Rendering: the seed's wording per bill type and outcome, masking, escaping, the token."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from notification_examples import GROUPED_TOKEN, METER, PHONE, TOKEN, notice

from billpay.notifications import NoticeOutcome, render_email, render_sms
from billpay.notifications.templates import format_long_date, format_token
from billpay.providers.base import BillType


def test_token_is_grouped_in_fours_whatever_spacing_it_came_in() -> None:
    assert format_token(TOKEN) == GROUPED_TOKEN
    assert format_token("4216 7939 7812 0661 9049") == GROUPED_TOKEN
    assert format_token("4216-7939-7812-0661-9049") == GROUPED_TOKEN


@given(st.text(alphabet="0123456789", min_size=1, max_size=40))
def test_grouping_keeps_every_digit_in_order(token: str) -> None:
    groups = format_token(token).split("-")
    assert "".join(groups) == token
    assert all(len(group) == 4 for group in groups[:-1]) and 1 <= len(groups[-1]) <= 4


def test_dates_read_like_the_seed() -> None:
    assert format_long_date(date(2026, 3, 18)) == "March 18, 2026"
    assert format_long_date(date(2026, 1, 5)) == "January 5, 2026"


def test_electricity_token_email_matches_the_seed() -> None:
    email = render_email(notice(NoticeOutcome.PAID, BillType.ELECTRICITY))

    assert email.subject == "Electricity Token - ₦5,000 Ikeja Electric"
    assert "Meter: 123****890" in email.text
    assert "Amount: ₦5,000" in email.text
    assert "Total paid: ₦5,030 (incl. ₦30 fee)" in email.text
    assert f"Token: {GROUPED_TOKEN}" in email.text
    assert "Units: 12.5 kWh" in email.text
    assert "Enter this token on your meter to load electricity." in email.text
    assert "Reference: K7Q2M9XA" in email.text
    assert GROUPED_TOKEN in email.html


def test_units_already_carrying_their_unit_are_not_doubled() -> None:
    email = render_email(notice(units="36.3 kWh"))
    assert "Units: 36.3 kWh" in email.text
    assert "kWh kWh" not in email.text


def test_postpaid_electricity_without_a_token_says_bill_paid() -> None:
    email = render_email(notice(token=None, units=None))
    assert email.subject == "Electricity Bill Paid - ₦5,000 Ikeja Electric"
    assert "Token" not in email.text


def test_airtime_email_matches_the_seed() -> None:
    email = render_email(notice(NoticeOutcome.PAID, BillType.AIRTIME))
    assert email.subject == "Airtime Delivered - ₦500 MTN"
    assert "Phone: 080****5678" in email.text
    assert "Amount: ₦500 MTN Airtime" in email.text
    assert "Status: Delivered" in email.text
    assert "Total paid" not in email.text  # no fee on airtime


def test_data_email_names_plan_and_validity() -> None:
    email = render_email(notice(NoticeOutcome.PAID, BillType.DATA))
    assert email.subject == "Data Activated - 1GB MTN"
    assert "Plan: 1GB" in email.text
    assert "Valid for: 30 days" in email.text


def test_plan_names_that_already_name_the_network_are_not_repeated() -> None:
    email = render_email(notice(NoticeOutcome.PAID, BillType.DATA, plan_name="MTN 2GB Weekly"))
    assert email.subject == "Data Activated - MTN 2GB Weekly"


def test_cable_tv_email_names_package_and_renewal_date() -> None:
    email = render_email(notice(NoticeOutcome.PAID, BillType.CABLE_TV))
    assert email.subject == "DSTV Subscription Renewed"
    assert "Your DSTV subscription has been renewed!" in email.text
    assert "Smart Card: 123****890" in email.text
    assert "Package: DSTV Compact" in email.text
    assert "Amount: ₦7,400" in email.text
    assert "Valid Until: March 18, 2026" in email.text


def test_betting_email_confirms_the_top_up() -> None:
    email = render_email(notice(NoticeOutcome.PAID, BillType.BETTING))
    assert email.subject == "Betting Wallet Funded - ₦2,000 Bet9ja"
    assert "Account: BJ1****678" in email.text


def test_refund_email_matches_the_seed_and_never_shows_a_token() -> None:
    email = render_email(notice(NoticeOutcome.REFUNDED, failure_reason="Meter number not found"))
    assert email.subject == "Bill Payment Failed - Refund Processed"
    assert "We couldn't complete your bill payment." in email.text
    assert "Provider: Ikeja Electric" in email.text
    assert "Meter: 123****890" in email.text
    assert "Amount Refunded: ₦5,030" in email.text  # everything the payer sent
    assert "Reason: Meter number not found" in email.text
    for body in (email.text, email.html):
        assert TOKEN not in body and GROUPED_TOKEN not in body


def test_failed_email_says_nothing_was_charged() -> None:
    email = render_email(notice(NoticeOutcome.FAILED, BillType.AIRTIME))
    assert email.subject == "Bill Payment Failed"
    assert "You have not been charged." in email.text
    assert "Reason: Customer not found" in email.text


def test_needs_review_email_reassures_and_warns_against_paying_twice() -> None:
    email = render_email(notice(NoticeOutcome.NEEDS_REVIEW, BillType.CABLE_TV))
    assert email.subject == "Bill Payment Under Review"
    assert "Your money is safe" in email.text
    assert "do not pay for this bill again" in email.text


@pytest.mark.parametrize("outcome", list(NoticeOutcome))
@pytest.mark.parametrize("bill_type", list(BillType))
def test_customer_id_is_masked_in_every_message(
    outcome: NoticeOutcome, bill_type: BillType
) -> None:
    payment = notice(outcome, bill_type)
    email = render_email(payment)
    for body in (email.subject, email.text, email.html, render_sms(payment)):
        assert payment.customer_id not in body
    assert payment.customer_id[:3] + "****" in email.text


@pytest.mark.parametrize("outcome", [NoticeOutcome.REFUNDED, NoticeOutcome.FAILED])
def test_provider_reasons_quoting_the_customer_or_digits_are_masked(
    outcome: NoticeOutcome,
) -> None:
    payment = notice(outcome, failure_reason=f"Meter {METER} rejected token {TOKEN}")
    email = render_email(payment)
    for body in (email.text, email.html, render_sms(payment)):
        assert METER not in body and TOKEN not in body
        assert "Meter 123****890 rejected token ***" in body


def test_html_is_escaped_and_text_is_not() -> None:
    email = render_email(
        notice(
            NoticeOutcome.REFUNDED,
            biller_name="<b>Ikeja & Co</b>",
            failure_reason='<script>alert("x")</script>',
        )
    )
    assert "&lt;b&gt;Ikeja &amp; Co&lt;/b&gt;" in email.html
    assert "&lt;script&gt;" in email.html
    assert "<b>Ikeja" not in email.html and "<script>" not in email.html
    assert "Provider: <b>Ikeja & Co</b>" in email.text
    assert '<script>alert("x")</script>' in email.text


def test_line_breaks_in_catalog_names_cannot_reach_the_subject() -> None:
    email = render_email(notice(biller_name="Ikeja\r\nBcc: victim@example.com"))
    assert "\n" not in email.subject and "\r" not in email.subject


def test_repr_hides_token_and_personal_data() -> None:
    shown = repr(notice())
    for secret in (TOKEN, METER, PHONE, "ada@example.com"):
        assert secret not in shown


def test_a_refund_notice_needs_the_refunded_amount() -> None:
    with pytest.raises(ValueError, match="refunded amount"):
        notice(NoticeOutcome.REFUNDED, refund_kobo=None)


def test_total_cannot_be_less_than_the_bill() -> None:
    with pytest.raises(ValueError, match="amount_kobo"):
        notice(total_kobo=1)


@pytest.mark.parametrize(
    ("outcome", "bill_type", "expected"),
    [
        (
            NoticeOutcome.PAID,
            BillType.ELECTRICITY,
            f"Ikeja Electric token {GROUPED_TOKEN} (12.5 kWh) for meter 123****890, ₦5,000. "
            "Ref K7Q2M9XA",
        ),
        (
            NoticeOutcome.PAID,
            BillType.AIRTIME,
            "₦500 MTN airtime delivered to 080****5678. Ref K7Q2M9XA",
        ),
        (
            NoticeOutcome.PAID,
            BillType.DATA,
            "1GB MTN data activated on 080****5678, valid 30 days. Ref K7Q2M9XA",
        ),
        (
            NoticeOutcome.PAID,
            BillType.CABLE_TV,
            "DSTV Compact renewed for smart card 123****890, valid until March 18, 2026. "
            "Ref K7Q2M9XA",
        ),
        (
            NoticeOutcome.PAID,
            BillType.BETTING,
            "₦2,000 Bet9ja wallet top-up done for account BJ1****678. Ref K7Q2M9XA",
        ),
        (
            NoticeOutcome.REFUNDED,
            BillType.ELECTRICITY,
            "Your ₦5,000 Ikeja Electric electricity payment for 123****890 failed "
            "(Customer not found). ₦5,030 has been refunded. Ref K7Q2M9XA",
        ),
        (
            NoticeOutcome.FAILED,
            BillType.AIRTIME,
            "Your ₦500 MTN airtime payment for 080****5678 failed (Customer not found). "
            "You were not charged. Ref K7Q2M9XA",
        ),
        (
            NoticeOutcome.NEEDS_REVIEW,
            BillType.DATA,
            "Your 1GB MTN data payment for 080****5678 is being confirmed. Your money is safe; "
            "please don't pay again. Ref K7Q2M9XA",
        ),
    ],
)
def test_sms_wording(outcome: NoticeOutcome, bill_type: BillType, expected: str) -> None:
    assert render_sms(notice(outcome, bill_type)) == expected

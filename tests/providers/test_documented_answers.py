"""The documented answers issue #11 found misread, classified from recorded JSON for each provider.

- a duplicate-reference answer (VTpass ``014``, Interswitch ``10001``, Flutterwave's "duplicate
  reference" error) says the reference was used, not how its first use ended: UNKNOWN, never
  FAILED (providers.md §1.6, §3.6);
- a requery's "no record of this reference" (VTpass ``015``, Interswitch ``90025``) is NOT_FOUND:
  the purchase may never have arrived — still never a failure;
- tokens are digits, whatever label the provider wrote in front of them; bonus tokens are kept.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from billpay.providers.base import Outcome, ValidationStatus
from billpay.providers.flutterwave import transformers as flutterwave
from billpay.providers.flutterwave.wire import HttpAnswer
from billpay.providers.interswitch import transformers as interswitch
from billpay.providers.vtpass import transformers as vtpass

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FLUTTERWAVE_REFERENCE = "BPREF-20240324-0001"


def recorded(provider: str, name: str) -> Any:
    return json.loads((FIXTURES / provider / f"{name}.json").read_text())


# --- duplicate references --------------------------------------------------------------------


def test_vtpass_014_request_id_already_exists_is_unknown() -> None:
    result = vtpass.classify_purchase(200, recorded("vtpass", "purchase_request_id_exists"))

    assert (result.outcome, result.provider_status) == (Outcome.UNKNOWN, "014")


@pytest.mark.parametrize("grouping", ["FAILED", "PENDING", "SUCCESSFUL", None])
def test_interswitch_10001_is_unknown_whatever_the_grouping(grouping: str | None) -> None:
    body = recorded("interswitch", "payment_advice_duplicate_reference")
    body["ResponseCodeGrouping"] = grouping

    assert interswitch.advice_result(body).outcome is Outcome.UNKNOWN


def test_interswitch_10001_as_recorded_is_unknown_with_the_reason_given() -> None:
    body = recorded("interswitch", "payment_advice_duplicate_reference")

    result = interswitch.advice_result(body)

    assert (result.outcome, result.provider_status) == (Outcome.UNKNOWN, "10001/FAILED")
    assert "duplicate request reference" in result.message


@pytest.mark.parametrize("http_status", [400, 409, 422, 200, 500])
def test_flutterwave_duplicate_reference_error_is_unknown(http_status: int) -> None:
    body = recorded("flutterwave", "create_duplicate_reference")
    answer = HttpAnswer(http_status=http_status, body=body)

    result = flutterwave.create_result(answer, {}, FLUTTERWAVE_REFERENCE)

    assert result.outcome is Outcome.UNKNOWN


# --- "no record of this reference" -----------------------------------------------------------


def test_vtpass_015_on_requery_is_not_found() -> None:
    result = vtpass.classify_requery(200, recorded("vtpass", "requery_invalid_request_id"))

    assert (result.outcome, result.provider_status) == (Outcome.NOT_FOUND, "015")


def test_vtpass_015_on_a_purchase_is_not_a_requery_answer_and_stays_unknown() -> None:
    # The docs define 015 for requery only; on /pay it is an undocumented answer: requery.
    result = vtpass.classify_purchase(200, recorded("vtpass", "requery_invalid_request_id"))

    assert result.outcome is Outcome.UNKNOWN


def test_interswitch_90025_unable_to_locate_record_on_query_is_not_found() -> None:
    result = interswitch.query_result(
        recorded("interswitch", "query_unable_to_locate_record"), 50_000
    )

    assert (result.outcome, result.provider_status) == (Outcome.NOT_FOUND, "90025/FAILED")


def test_interswitch_query_of_a_found_failed_transaction_is_still_failed() -> None:
    # NOT_FOUND is only the no-record answer: the documented FAILED sample stays FAILED.
    result = interswitch.query_result(recorded("interswitch", "query_transaction_failed"), 120_000)

    assert result.outcome is Outcome.FAILED


def test_flutterwave_lookup_not_found_stays_unknown() -> None:
    # Lookup by our own reference is UNCONFIRMED (providers.md §2.5): "not found" does not show
    # that the purchase never arrived, so it does not open the way to a resend.
    answer = HttpAnswer(http_status=404, body=recorded("flutterwave", "status_not_found"))

    result = flutterwave.lookup_result(answer, {}, FLUTTERWAVE_REFERENCE)

    assert result.outcome is Outcome.UNKNOWN


# --- tokens ----------------------------------------------------------------------------------


def test_vtpass_ikedc_labelled_token_is_stored_as_its_20_digits() -> None:
    result = vtpass.classify_purchase(200, recorded("vtpass", "electricity_ikedc_labelled_token"))

    assert result.outcome is Outcome.SUCCEEDED
    assert result.token == "26362054405982757802"
    assert result.units == "79.9 kWh"
    assert result.bonus_tokens == ()


def test_vtpass_eko_keeps_the_bonus_token_beside_the_main_one() -> None:
    result = vtpass.classify_purchase(200, recorded("vtpass", "electricity_eko_main_token"))

    assert result.token == "42167939781206619049"
    assert result.bonus_tokens == ("62881559799402440206",)


def test_a_token_that_first_appears_on_a_requery_is_captured() -> None:
    result = vtpass.classify_requery(200, recorded("vtpass", "electricity_ikedc_labelled_token"))

    assert (result.outcome, result.token) == (Outcome.SUCCEEDED, "26362054405982757802")


def test_interswitch_labelled_token_on_query_is_digits() -> None:
    body = recorded("interswitch", "query_transaction_failed") | {
        "TransactionResponseCode": "90000",
        "ResponseCodeGrouping": "SUCCESSFUL",
        "RechargePIN": "Token%3A+4216+7939+7812+0661+9049",
        "MiscData": "Token%3A+4216+7939+7812+0661+9049+Units%3A+79.9+kWh",
    }

    result = interswitch.query_result(body, 120_000)

    assert (result.token, result.units) == ("42167939781206619049", "79.9 kWh")


def test_flutterwave_labelled_recharge_token_is_digits() -> None:
    body = recorded("flutterwave", "create_current")
    body["data"]["recharge_token"] = "Token : 2636-2054-4059-8275-7802"
    answer = HttpAnswer(http_status=200, body=body)

    result = flutterwave.create_result(answer, {}, FLUTTERWAVE_REFERENCE)

    assert result.token == "26362054405982757802"


# --- renewals --------------------------------------------------------------------------------


def test_vtpass_smartcard_verify_returns_bouquet_renewal_amount_and_due_date() -> None:
    result = vtpass.classify_verification(200, recorded("vtpass", "verify_smartcard_promo"))

    assert result.status is ValidationStatus.VALID
    assert result.current_bouquet == "DStv Compact N19,000"
    assert result.renewal_kobo == 1_650_050  # a promo: not the bouquet's ₦19,000 list price
    assert result.due_date == date(2025, 2, 6)


def test_flutterwave_token_first_seen_on_a_lookup_is_captured_as_digits() -> None:
    body = recorded("flutterwave", "status_verbose_successful")
    body["data"] |= {
        "customer_reference": FLUTTERWAVE_REFERENCE,
        "status": "successful",
        "extra": {"recharge_token": "Token : 4216 7939 7812 0661 9049", "units": "79.9 kWh"},
    }
    answer = HttpAnswer(http_status=200, body=body)

    result = flutterwave.lookup_result(answer, {}, FLUTTERWAVE_REFERENCE)

    assert (result.outcome, result.token) == (Outcome.SUCCEEDED, "42167939781206619049")
    assert result.units == "79.9 kWh"

"""Interswitch transformers on the documented samples (providers.md §3), recorded as fixtures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billpay.providers.base import (
    BillType,
    MeterType,
    Outcome,
    ProviderName,
    ProviderProduct,
    ValidationStatus,
    VendRequest,
)
from billpay.providers.interswitch.transformers import (
    AMOUNT_TYPES,
    REQUERY_CODES,
    SUCCESS_CODES,
    advice_result,
    amount_limits,
    bill_type_for,
    classify,
    customer_validation,
    delivered_tokens,
    international_msisdn,
    kobo_string,
    new_request_reference,
    parse_billers,
    parse_categories,
    parse_payment_items,
    payment_advice_body,
    plans_for_biller,
    query_result,
    validate_customers_body,
)
from billpay.redact import MASK

FIXTURES = Path(__file__).parents[2] / "fixtures" / "interswitch"

# Failure codes the docs list (providers.md §3.6).
DOCUMENTED_FAILED_CODES = [
    "10002", "10003", "10010", "10011", "10020", "10021", "10022", "10030", "10040",
    "10050", "10100", "10200", "20010", "20020", "20021", "90006",
]  # fmt: skip


def fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return loaded


# --- classification ------------------------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(SUCCESS_CODES))
@pytest.mark.parametrize("grouping", ["SUCCESSFUL", "SUCCESS", "successful"])
def test_success_codes_under_a_success_grouping_succeed(code: str, grouping: str) -> None:
    assert classify(code, grouping) is Outcome.SUCCEEDED


@pytest.mark.parametrize("code", DOCUMENTED_FAILED_CODES)
def test_documented_failure_codes_under_failed_grouping_fail(code: str) -> None:
    assert classify(code, "FAILED") is Outcome.FAILED


@pytest.mark.parametrize(
    ("code", "grouping"),
    [
        ("90009", "PENDING"),  # pending is never final
        ("90000", "PENDING"),
        ("90000", None),  # no grouping in the body
        ("90000", ""),
        ("90000", "PROCESSING"),  # a grouping the docs don't list
        (None, None),
        ("90006", "SUCCESSFUL"),  # a failure code under a success grouping: contradiction
        (None, "SUCCESSFUL"),
        ("90000", "FAILED"),  # a success code under FAILED: contradiction
        ("90026", "FAILED"),  # reference already used: says nothing about the first use
        ("90094", "FAILED"),
        ("90009", "FAILED"),
    ],
)
def test_pending_missing_unknown_or_contradictory_answers_are_unknown(
    code: str | None, grouping: str | None
) -> None:
    assert classify(code, grouping) is Outcome.UNKNOWN


@given(code=st.one_of(st.none(), st.text(max_size=8)), grouping=st.one_of(st.none(), st.text()))
def test_status_map_is_total_and_unknown_groupings_are_unknown(
    code: str | None, grouping: str | None
) -> None:
    outcome = classify(code, grouping)
    assert outcome in set(Outcome)
    if (grouping or "").strip().upper() not in {"SUCCESSFUL", "SUCCESS", "FAILED"}:
        assert outcome is Outcome.UNKNOWN


def test_requery_codes_are_never_failures() -> None:
    assert all(classify(code, "FAILED") is Outcome.UNKNOWN for code in REQUERY_CODES)


# --- payment advice ------------------------------------------------------------------------------


def test_documented_advice_response_succeeds_without_a_token() -> None:
    result = advice_result(fixture("payment_advice_response.json"))

    assert result.outcome is Outcome.SUCCEEDED
    assert result.provider_status == "90000/SUCCESSFUL"
    assert result.provider_transaction_id == "UNY|Web|3YTR0001|MTNV|180918165719|Y3DGDP9H"
    assert result.token is None  # "Virtual Top Up" is a label, not a PIN
    assert result.response is not None
    assert result.response["RechargePIN"] == MASK


def test_electricity_token_comes_from_recharge_pin_and_is_masked_in_the_evidence() -> None:
    body = fixture("payment_advice_response.json") | {
        "RechargePIN": "42167939781206619049",
        "MiscData": "Token: 4216 7939 7812 0661 9049 Units: 79.9 kWh",
    }

    result = advice_result(body)

    assert result.token == "42167939781206619049"
    assert result.units == "79.9 kWh"
    assert "42167939781206619049" not in json.dumps(result.response)


@pytest.mark.parametrize(
    ("texts", "token"),
    [
        (("Virtual Top Up", "Virtual Top Up"), None),
        (("", "Customer 2348056731576 credited"), None),  # a phone number is not a token
        ((None, "Token : 4216-7939-7812-0661-9049"), "42167939781206619049"),
        (("1234 5678 9012 3456 7890", None), "12345678901234567890"),
    ],
)
def test_token_extraction(texts: tuple[str | None, str | None], token: str | None) -> None:
    assert delivered_tokens(Outcome.SUCCEEDED, *texts).main == token


def test_a_token_is_not_reported_for_a_vend_that_did_not_succeed() -> None:
    body = fixture("payment_advice_response.json") | {
        "ResponseCodeGrouping": "PENDING",
        "RechargePIN": "42167939781206619049",
    }

    assert advice_result(body).token is None


def test_advice_failed_grouping_is_a_definite_failure() -> None:
    body = {"ResponseCode": "90006", "ResponseCodeGrouping": "FAILED", "ResponseDescription": "x"}

    assert advice_result(body).outcome is Outcome.FAILED


@pytest.mark.parametrize("body", [{"ResponseCode": ["90000"]}, {"Customers": "x"}])
def test_unreadable_advice_is_unknown(body: dict[str, Any]) -> None:
    assert advice_result(body).outcome is Outcome.UNKNOWN


def test_advice_body_matches_the_documented_request() -> None:
    documented = fixture("payment_advice_request.json")
    request = VendRequest(
        reference="1453XXXXXXXX",
        product=ProviderProduct(BillType.CABLE_TV, "104", "10403"),
        customer_id="0000000001",
        amount_kobo=360_000,
        phone="08056731576",
        email="iswtester2@yahoo.com",
    )

    body = payment_advice_body(request, "3DMO0001")

    assert body == documented
    assert list(body) == list(documented)


def test_advice_body_leaves_out_a_missing_email() -> None:
    request = VendRequest(
        "145312345678", ProviderProduct(BillType.AIRTIME, "109", "10901"), "08031234567", 10_000,
        "08031234567",
    )  # fmt: skip

    assert "customerEmail" not in payment_advice_body(request, "3DMO0001")


@given(st.integers(min_value=1, max_value=10**18))
def test_amount_is_exact_kobo_as_a_string(amount_kobo: int) -> None:
    text = kobo_string(amount_kobo)

    assert text.isdigit()
    assert int(text) == amount_kobo


@pytest.mark.parametrize("amount", [0, -100, True])
def test_amount_must_be_positive_whole_kobo(amount: int) -> None:
    with pytest.raises(ValueError, match="kobo"):
        kobo_string(amount)


@pytest.mark.parametrize(
    ("phone", "msisdn"),
    [
        ("08056731576", "2348056731576"),
        ("+2348056731576", "2348056731576"),
        ("2349012345678", "2349012345678"),
        ("0701 234 5678", "2347012345678"),
    ],
)
def test_customer_mobile_is_in_234_form(phone: str, msisdn: str) -> None:
    assert international_msisdn(phone) == msisdn


@pytest.mark.parametrize("phone", ["8056731576", "0805673157", "06056731576", "447911123456"])
def test_non_nigerian_mobiles_are_refused(phone: str) -> None:
    with pytest.raises(ValueError, match="Nigerian"):
        international_msisdn(phone)


# --- request references --------------------------------------------------------------------------


@given(st.from_regex(r"\A[0-9]{4}\Z"))
def test_reference_is_prefix_plus_eight_digits(prefix: str) -> None:
    reference = new_request_reference(prefix)

    assert reference.startswith(prefix)
    assert len(reference) == 12
    assert reference.isdigit()


def test_references_are_random() -> None:
    assert len({new_request_reference("1453") for _ in range(50)}) >= 45


@pytest.mark.parametrize("prefix", ["145", "14530", "ABCD", "", "१४५३"])
def test_a_malformed_prefix_is_refused(prefix: str) -> None:
    with pytest.raises(ValueError, match="prefix"):
        new_request_reference(prefix)


# --- transaction query ---------------------------------------------------------------------------


def test_documented_query_sample_is_failed_despite_top_level_90000() -> None:
    body = fixture("query_transaction_failed.json")
    assert body["ResponseCode"] == "90000"

    result = query_result(body, expected_amount_kobo=120_000)

    assert result.outcome is Outcome.FAILED  # not paid
    assert result.provider_status == "90006/FAILED"
    assert result.provider_transaction_id == "PBL|LOC|..."  # URL-decoded for display
    assert result.message == "90006 Complete"


def test_query_success_reads_transaction_response_code() -> None:
    body = fixture("query_transaction_failed.json") | {
        "TransactionResponseCode": "90000",
        "ResponseCodeGrouping": "SUCCESSFUL",
    }

    assert query_result(body, 120_000).outcome is Outcome.SUCCEEDED


def test_query_without_transaction_response_code_is_unknown_whatever_the_grouping() -> None:
    # The grouping describes the query call, not a payment.
    top_level_only = {"ResponseCode": "90000", "ResponseCodeGrouping": "SUCCESSFUL"}

    assert query_result(top_level_only, 120_000).outcome is Outcome.UNKNOWN


def test_query_pending_is_unknown() -> None:
    body = fixture("query_transaction_failed.json") | {
        "TransactionResponseCode": "90009",
        "ResponseCodeGrouping": "PENDING",
    }

    assert query_result(body, 120_000).outcome is Outcome.UNKNOWN


def test_legacy_lower_camel_case_query_is_read() -> None:
    result = query_result(fixture("query_transaction_legacy_v2.json"), 50_000)

    assert result.outcome is Outcome.SUCCEEDED
    assert result.provider_status == "90000/SUCCESSFUL"
    assert result.provider_transaction_id == "UNY|Web|3YTR0001|MTNV|180918165719|Y3DGDP9H"


def test_query_for_another_amount_is_unknown() -> None:
    body = fixture("query_transaction_legacy_v2.json")

    result = query_result(body, expected_amount_kobo=60_000)

    assert result.outcome is Outcome.UNKNOWN
    assert "another transaction" in result.message


def test_query_returns_the_token_of_a_delivered_vend() -> None:
    body = fixture("query_transaction_legacy_v2.json") | {"rechargePIN": "42167939781206619049"}

    assert query_result(body, 50_000).token == "42167939781206619049"


# --- customer validation -------------------------------------------------------------------------


def test_validation_request_body_matches_the_documented_shape() -> None:
    documented = fixture("validate_customers_request.json")

    assert validate_customers_body("0488051528", "08124888436", "3pbl0001") == documented


def test_documented_validation_is_valid_with_any_amount() -> None:
    result = customer_validation(fixture("validate_customers.json"))

    assert result.status is ValidationStatus.VALID
    assert result.customer_name == "adubiaro deborah"
    assert (result.min_kobo, result.max_kobo) == (None, None)


def _validation(top_code: str, customer: dict[str, Any]) -> dict[str, Any]:
    body = fixture("validate_customers.json")
    body["ResponseCode"] = top_code
    body["Customers"][0] |= customer
    return body


def test_a_customer_code_other_than_90000_is_invalid() -> None:
    body = _validation("90000", {"ResponseCode": "90014", "FullName": ""})

    assert customer_validation(body).status is ValidationStatus.INVALID


@pytest.mark.parametrize(
    "body",
    [
        _validation("90096", {}),  # the customer is fine but the call was not: not VALID
        _validation("10003", {"ResponseCode": "90014"}),  # our credentials: says nothing
        _validation("90000", {"ResponseCode": "90091"}),  # biller inoperative
        _validation("90000", {"ResponseCode": None}),
        {"Customers": [], "ResponseCode": "90000"},
        {"Customers": "nope"},
        {},
    ],
)
def test_outages_and_unreadable_answers_are_unavailable_never_invalid(body: dict[str, Any]) -> None:
    assert customer_validation(body).status is ValidationStatus.UNAVAILABLE


@pytest.mark.parametrize(
    ("amount_type", "limits"),
    [
        ("0", (None, None)),
        ("1", (1_500_000, None)),
        ("2", (1_500_001, None)),
        ("3", (None, 1_500_000)),
        ("4", (None, 1_499_999)),
        ("5", (1_500_000, 1_500_000)),
        ("7", (None, None)),  # unknown: no constraint
        (None, (None, None)),
    ],
)
def test_amount_type_table(amount_type: str | None, limits: tuple[int | None, int | None]) -> None:
    low, high, _ = amount_limits(amount_type, 1_500_000)

    assert (low, high) == limits


def test_amount_type_table_covers_zero_to_five() -> None:
    assert set(AMOUNT_TYPES) == {"0", "1", "2", "3", "4", "5"}


def test_documented_amount_type_5_example_fixes_the_amount() -> None:
    body = _validation("90000", {})
    customer = body["Customers"][0]
    del customer["Amount"], customer["AmountType"]
    customer |= {"amount": "1500000", "amountType": "5"}  # the doc's lower-case example

    result = customer_validation(body)

    assert result.status is ValidationStatus.VALID
    assert (result.min_kobo, result.max_kobo) == (1_500_000, 1_500_000)


def test_unknown_amount_type_is_kept_raw_and_constrains_nothing() -> None:
    body = _validation("90000", {"Amount": "500000", "AmountType": 9})

    result = customer_validation(body)

    assert result.status is ValidationStatus.VALID
    assert (result.min_kobo, result.max_kobo) == (None, None)
    assert "AmountType 9" in result.message
    assert result.raw["Customers"][0]["AmountType"] == 9


# --- catalog -------------------------------------------------------------------------------------


def test_categories_are_parsed() -> None:
    names = [c.name for c in parse_categories(fixture("categories.json"))]

    assert names[0] == "Mobile/Recharge"
    assert len(names) == 5


@pytest.mark.parametrize(
    ("category", "product", "bill_type"),
    [
        ("Mobile/Recharge", "MTN Mobile Recharge MTN Airtime", BillType.AIRTIME),
        ("Mobile/Recharge", "MTN Data Bundles MTN 2GB - 30 Days", BillType.DATA),
        ("Mobile Data", "Glo 1GB", BillType.DATA),
        ("Cable TV Bills", "DSTV Subscription DStv Compact", BillType.CABLE_TV),
        ("Utility Bills", "Ikeja Electric Prepaid", BillType.ELECTRICITY),
        ("Utility Bills", "IKEDC Postpaid", BillType.ELECTRICITY),
        ("Utility Bills", "Lagos Water Corporation Water Bill", None),
        ("Betting, Lottery and Gaming", "Bet9ja Wallet Top-up", BillType.BETTING),
        ("Government Payments", "FIRS Tax Payment", None),
        (None, "MTN", None),
    ],
)
def test_bill_types(category: str | None, product: str, bill_type: BillType | None) -> None:
    assert bill_type_for(category, product) == bill_type


def test_billers_know_their_category_and_malformed_billers_are_skipped() -> None:
    billers = parse_billers(fixture("billers_utility.json"))

    assert [b.name for b in billers] == [
        "Ikeja Electric Prepaid",
        "Ikeja Electric Postpaid",
        "Lagos Water Corporation",
    ]
    assert all(b.category_name == "Utility Bills" for b in billers)


def test_fixed_price_data_plans_in_kobo() -> None:
    mtn_data = parse_billers(fixture("billers_mobile.json"))[1]

    plans = plans_for_biller(mtn_data, parse_payment_items(fixture("payment_items_mtn_data.json")))

    assert [(p.plan_code, p.price_kobo, p.validity_days) for p in plans] == [
        ("34801", 50_000, 7),
        ("34802", 150_000, 30),
        ("34803", 100_000, 7),
    ]
    assert all(
        p.bill_type is BillType.DATA and p.provider is ProviderName.INTERSWITCH for p in plans
    )
    assert plans[0].biller_code == "348"
    assert plans[0].raw["Name"] == "MTN 500MB - 7 Days"


def test_any_amount_items_have_no_price() -> None:
    mtn = parse_billers(fixture("billers_mobile.json"))[0]

    [plan] = plans_for_biller(mtn, parse_payment_items(fixture("payment_items_mtn_airtime.json")))

    assert plan.bill_type is BillType.AIRTIME
    assert plan.price_kobo is None
    assert plan.plan_code == "10901"


def test_electricity_plans_carry_the_meter_type() -> None:
    prepaid, _, water = parse_billers(fixture("billers_utility.json"))
    water_items = parse_payment_items(
        {"PaymentItems": [{"Name": "Water Bill", "PaymentCode": "310101", "Amount": "0"}]}
    )

    [plan] = plans_for_biller(
        prepaid, parse_payment_items(fixture("payment_items_ikeja_prepaid.json"))
    )

    assert plan.bill_type is BillType.ELECTRICITY
    assert plan.meter_type is MeterType.PREPAID
    assert plans_for_biller(water, water_items) == []  # water is a utility, not electricity

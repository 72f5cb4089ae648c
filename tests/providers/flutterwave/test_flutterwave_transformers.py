"""Flutterwave transformers on the documented examples (providers.md §2) and their edge cases."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billpay.money import naira_to_kobo
from billpay.providers.base import (
    BillType,
    MeterType,
    Outcome,
    ProviderError,
    ProviderProduct,
    ValidationStatus,
    VendRequest,
)
from billpay.providers.flutterwave import transformers as tf
from billpay.providers.flutterwave.wire import (
    BillCategory,
    Biller,
    BillItem,
    HttpAnswer,
    decode_json,
    encode_json,
)

FIXTURES = Path(__file__).parents[2] / "fixtures" / "flutterwave"
REFERENCE = "BP-20240324-0123456789abcdef"
DSTV = ProviderProduct(BillType.CABLE_TV, "BIL119", "CB141")


def fixture(name: str) -> dict[str, Any]:
    body: dict[str, Any] = decode_json((FIXTURES / f"{name}.json").read_bytes())
    return body


def answer(body: dict[str, Any] | None, status: int = 200) -> HttpAnswer:
    return HttpAnswer(http_status=status, body=body)


def error(message: str) -> dict[str, Any]:
    return {"status": "error", "message": message, "data": None}


def vend_request(amount_kobo: int = 1_800_00, reference: str = REFERENCE) -> VendRequest:
    return VendRequest(reference, DSTV, "0025401100", amount_kobo, "08031234567")


def create(body: dict[str, Any] | None, status: int = 200) -> Any:
    return tf.create_result(answer(body, status), {"body": "sent"}, REFERENCE)


def lookup(body: dict[str, Any] | None, status: int = 200) -> Any:
    return tf.lookup_result(answer(body, status), {"path": "/v3/bills/x"}, REFERENCE)


def status_body(status: str | None, **data: Any) -> dict[str, Any]:
    body = fixture("status_verbose_successful")
    body["data"] = {**body["data"], "customer_reference": REFERENCE, **data}
    if status is None:
        del body["data"]["status"]
    else:
        body["data"]["status"] = status
    return body


# --- validate ----------------------------------------------------------------------------------


def test_documented_validation_is_valid_with_the_customer_name() -> None:
    result = tf.validation_result(answer(fixture("validate")))

    assert result.status is ValidationStatus.VALID
    assert result.customer_name == "Test DSTV Account"
    assert (result.min_kobo, result.max_kobo) == (None, None)  # 0 means "no limit"
    assert result.raw["data"]["customer"] == "0025401100"


def test_validation_limits_given_as_strings_are_exact_kobo() -> None:
    body = fixture("validate")
    body["data"] |= {"minimum": "500.00", "maximum": "100000.50"}

    result = tf.validation_result(answer(body))

    assert (result.min_kobo, result.max_kobo) == (50_000, 10_000_050)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (400, error("Invalid smartcard number"), ValidationStatus.INVALID),
        (404, error("Customer not found"), ValidationStatus.INVALID),
        (500, error("Internal server error"), ValidationStatus.UNAVAILABLE),
        (503, None, ValidationStatus.UNAVAILABLE),
        (401, error("Invalid authorization key"), ValidationStatus.UNAVAILABLE),
        (403, error("IP not whitelisted"), ValidationStatus.UNAVAILABLE),
        (429, error("Too many requests"), ValidationStatus.UNAVAILABLE),
        (200, error("Something odd"), ValidationStatus.UNAVAILABLE),
        (200, None, ValidationStatus.UNAVAILABLE),
        (400, {"message": "no status field"}, ValidationStatus.UNAVAILABLE),
    ],
)
def test_only_an_explicit_4xx_refusal_makes_a_customer_invalid(
    status: int, body: dict[str, Any] | None, expected: ValidationStatus
) -> None:
    assert tf.validation_result(answer(body, status)).status is expected


@pytest.mark.parametrize("failure", ["timeout", "connect-error", "transport-error"])
def test_no_answer_to_validation_is_unavailable_never_invalid(failure: Any) -> None:
    result = tf.validation_result(HttpAnswer(failure=failure))

    assert result.status is ValidationStatus.UNAVAILABLE
    assert failure in result.message


# --- create ------------------------------------------------------------------------------------


def test_current_create_body_always_carries_our_reference_and_naira_as_a_number() -> None:
    body = tf.create_body(vend_request(), callback_url=None)

    assert body == {
        "country": "NG",
        "customer_id": "0025401100",
        "amount": 1800,
        "reference": REFERENCE,
    }


def test_callback_url_is_sent_when_configured() -> None:
    body = tf.create_body(vend_request(), callback_url="https://billpay.example/hooks/flw")

    assert body["callback_url"] == "https://billpay.example/hooks/flw"


def test_fractional_naira_is_encoded_as_an_exact_json_number() -> None:
    encoded = encode_json(tf.create_body(vend_request(amount_kobo=123_450), None))

    assert b'"amount":1234.50' in encoded
    assert json.loads(encoded, parse_float=Decimal)["amount"] == Decimal("1234.50")


@given(st.integers(min_value=1, max_value=10**13))
def test_any_kobo_amount_survives_the_wire_exactly(amount_kobo: int) -> None:
    wire = decode_json(encode_json(tf.create_body(vend_request(amount_kobo), None)))

    assert naira_to_kobo(wire["amount"]) == amount_kobo


def test_legacy_create_body_names_the_item_and_sends_our_reference() -> None:
    item = BillItem(
        biller_code="BIL119", item_code="CB141", name="DSTV Compact", biller_name="DSTV"
    )

    body = tf.legacy_create_body(vend_request(), item)

    assert body == {
        "country": "NG",
        "customer": "0025401100",
        "amount": 1800,
        "recurrence": "ONCE",
        "type": "DSTV",
        "reference": REFERENCE,
        "biller_name": "DSTV Compact",
    }


def test_documented_current_create_succeeds_with_flutterwaves_tx_ref() -> None:
    result = create(fixture("create_current"))

    assert result.outcome is Outcome.SUCCEEDED
    assert result.provider_transaction_id == "CF-FLYAPI-20240324091413750321"
    assert result.provider_status == "200/success"
    assert result.token is None
    assert result.response["data"]["fee"] == 100


def test_documented_legacy_create_succeeds_and_the_preference_order_is_applied() -> None:
    # Legacy swaps the names: the first documented field present (tx_ref) is taken, raw kept.
    result = create(fixture("create_legacy"))

    assert result.outcome is Outcome.SUCCEEDED
    assert result.provider_transaction_id == "BPUSSD1583957963415840"
    assert result.response["data"]["flw_ref"].startswith("CF-FLYAPI-")


def test_our_own_reference_is_never_taken_for_flutterwaves_id() -> None:
    body = fixture("create_current")
    body["data"] |= {"tx_ref": REFERENCE, "flw_ref": None}

    assert create(body).provider_transaction_id == "247837898415"


def test_electricity_token_comes_from_recharge_token_and_is_masked_in_evidence() -> None:
    body = fixture("create_current")
    body["data"]["recharge_token"] = "12345678901234567890"

    result = create(body)

    assert result.token == "12345678901234567890"
    assert "12345678901234567890" not in json.dumps(result.response, default=str)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (500, error("An error occurred"), Outcome.UNKNOWN),
        (502, None, Outcome.UNKNOWN),
        (503, {"status": "success", "message": "ok", "data": {}}, Outcome.UNKNOWN),
        (400, error("Invalid customer id"), Outcome.FAILED),
        (422, error("amount is required"), Outcome.FAILED),
        (401, error("Invalid authorization key"), Outcome.FAILED),
        (
            400,
            error("Duplicate reference: a bill payment with reference x exists"),
            Outcome.UNKNOWN,
        ),
        (400, error("Transaction with this reference already exists"), Outcome.UNKNOWN),
        (409, error("Conflict"), Outcome.UNKNOWN),
        (408, error("Request timeout"), Outcome.UNKNOWN),
        (400, {"message": "no status at all"}, Outcome.UNKNOWN),
        (200, {"status": "pending", "message": "processing", "data": {}}, Outcome.UNKNOWN),
        (200, error("odd: an error with 200"), Outcome.UNKNOWN),
        (200, None, Outcome.UNKNOWN),
        (200, {"status": "success"}, Outcome.SUCCEEDED),
    ],
)
def test_create_classification(status: int, body: dict[str, Any] | None, expected: Outcome) -> None:
    assert create(body, status).outcome is expected


def test_unreadable_create_keeps_the_text_as_evidence() -> None:
    answer_ = HttpAnswer(http_status=502, text="<html>Bad gateway</html>")

    result = tf.create_result(answer_, {}, REFERENCE)

    assert result.outcome is Outcome.UNKNOWN
    assert (result.response, result.raw_text) == (None, "<html>Bad gateway</html>")
    assert result.provider_status == "502/unreadable"


@pytest.mark.parametrize(("failure", "sent"), [("timeout", True), ("transport-error", True)])
def test_no_answer_to_create_is_unknown(failure: Any, sent: bool) -> None:
    result = tf.create_result(HttpAnswer(failure=failure), {}, REFERENCE)

    assert (result.outcome, result.sent, result.provider_status) == (Outcome.UNKNOWN, sent, failure)


def test_connection_refused_is_unknown_and_not_sent() -> None:
    result = tf.create_result(HttpAnswer(failure="connect-error"), {}, REFERENCE)

    assert (result.outcome, result.sent) == (Outcome.UNKNOWN, False)


# --- status lookup -----------------------------------------------------------------------------


def test_documented_lookup_without_a_status_field_is_unknown() -> None:
    body = fixture("status_verbose")
    body["data"]["customer_reference"] = REFERENCE

    result = lookup(body)

    assert result.outcome is Outcome.UNKNOWN
    assert result.provider_status == "200/success/no-status"
    assert result.provider_transaction_id == "CF-FLYAPI-20240324091413750321"


def test_lookup_successful_is_succeeded() -> None:
    result = lookup(fixture("status_verbose_successful"))

    assert result.outcome is Outcome.SUCCEEDED
    assert result.provider_status == "200/success/successful"


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("successful", Outcome.SUCCEEDED),
        ("success", Outcome.SUCCEEDED),
        ("SUCCESSFUL", Outcome.SUCCEEDED),
        ("failed", Outcome.FAILED),
        ("pending", Outcome.UNKNOWN),
        ("processing", Outcome.UNKNOWN),
        ("reversed", Outcome.UNKNOWN),
        ("", Outcome.UNKNOWN),
        (None, Outcome.UNKNOWN),
    ],
)
def test_lookup_status_map(status: str | None, expected: Outcome) -> None:
    assert lookup(status_body(status)).outcome is expected


@given(st.text().filter(lambda s: s.strip().lower() not in tf.LOOKUP_STATUS_OUTCOMES))
def test_lookup_status_map_is_total_anything_else_is_unknown(status: str) -> None:
    assert lookup(status_body(status)).outcome is Outcome.UNKNOWN


def test_lookup_not_found_is_unknown_never_failed() -> None:
    result = lookup(error("No transaction was found for this id"), status=404)

    assert result.outcome is Outcome.UNKNOWN
    assert "not proof of failure" in result.message


def test_not_found_on_create_is_a_plain_refusal() -> None:
    result = create(error("Biller not found"), status=404)

    assert result.outcome is Outcome.FAILED
    assert result.message == "Biller not found"


@pytest.mark.parametrize(
    ("status", "body"),
    [(500, error("oops")), (400, error("Invalid reference")), (200, None), (200, error("x"))],
)
def test_lookup_errors_are_unknown(status: int, body: dict[str, Any] | None) -> None:
    assert lookup(body, status).outcome is Outcome.UNKNOWN


def test_lookup_about_another_purchase_proves_nothing() -> None:
    result = lookup(status_body("successful", customer_reference="someone-else"))

    assert result.outcome is Outcome.UNKNOWN


def test_lookup_token_and_units_may_arrive_in_extra() -> None:
    extra = {"recharge_token": "11112222333344445555", "units": "23.9 kWh"}

    result = lookup(status_body("successful", extra=extra))

    assert (result.token, result.units) == ("11112222333344445555", "23.9 kWh")


def test_a_failed_lookup_never_hands_out_a_token() -> None:
    result = lookup(status_body("failed", recharge_token="11112222333344445555"))

    assert (result.outcome, result.token) == (Outcome.FAILED, None)


# --- catalog -----------------------------------------------------------------------------------


def test_sold_categories_map_to_bill_types_and_the_rest_are_ignored() -> None:
    raw = tf.listed(answer(fixture("top_bill_categories")), "categories")
    categories = tf.parsed(BillCategory, raw)

    types = {c.code: tf.bill_type_for_category(c) for c in categories}

    assert types == {
        "AIRTIME": BillType.AIRTIME,
        "MOBILEDATA": BillType.DATA,
        "CABLEBILLS": BillType.CABLE_TV,
        "INTSERVICE": None,
        "UTILITYBILLS": BillType.ELECTRICITY,
        "TAX": None,
        "DONATIONS": None,
    }
    assert tf.bill_type_for_category(BillCategory(code="BETTING")) is BillType.BETTING


def test_cable_items_become_plans_with_exact_kobo_prices_from_strings() -> None:
    dstv = tf.parsed(Biller, tf.listed(answer(fixture("billers_cablebills")), "billers"))[0]
    raw_items = tf.listed(answer(fixture("items_bil119")), "items")

    compact, box_office = tf.plans_for_biller(BillType.CABLE_TV, dstv, raw_items)

    assert (compact.biller_code, compact.plan_code, compact.name) == (
        "BIL119",
        "CB141",
        "DSTV Compact",
    )
    assert (compact.price_kobo, compact.validity_days) == (1_900_000, 30)
    assert compact.biller_name == "DSTV"
    assert compact.raw["amount"] == "19000.00"  # the raw item is kept as it came
    assert (box_office.price_kobo, box_office.validity_days) == (None, None)  # payer chooses


def test_electricity_items_carry_the_meter_type_and_other_utilities_are_left_out() -> None:
    eko = Biller(biller_code="BIL110", name="EKO DISCO")
    raw_items = tf.listed(answer(fixture("items_bil110")), "items")

    plans = tf.plans_for_biller(BillType.ELECTRICITY, eko, raw_items)

    assert [(p.plan_code, p.meter_type) for p in plans] == [
        ("UB134", MeterType.PREPAID),
        ("UB135", MeterType.POSTPAID),  # spelled "EKO PPOSTPAID" by Flutterwave
    ]


def test_items_that_cannot_be_sold_exactly_or_at_all_are_left_out() -> None:
    biller = Biller(biller_code="BIL104", name="MTN Data")
    raw_items = [
        {"biller_code": "BIL104", "item_code": "MD1", "name": "1GB", "amount": "1000.005"},
        {"biller_code": "BIL104", "item_code": "MD2", "name": "2GB", "amount": 1000.5},
        {"item_code": "MD3", "name": "no biller code"},
        {"biller_code": "BIL104", "item_code": "MD4", "name": "10GB", "amount": "4500.0000"},
    ]

    plans = tf.plans_for_biller(BillType.DATA, biller, raw_items)

    assert [(p.plan_code, p.price_kobo) for p in plans] == [("MD4", 450_000)]


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, error("down")),
        (200, error("nope")),
        (200, None),
        (200, {"status": "success", "message": "", "data": {"not": "a list"}}),
    ],
)
def test_a_catalog_answer_that_is_not_a_success_list_is_a_provider_error(
    status: int, body: dict[str, Any] | None
) -> None:
    with pytest.raises(ProviderError):
        tf.listed(answer(body, status), "categories")

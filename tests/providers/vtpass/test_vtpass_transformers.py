"""Pure VTpass transformers on fixtures built from the documented examples (providers.md §1)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billpay.money import kobo_to_naira_number, naira_to_kobo
from billpay.providers.base import (
    BillType,
    MeterType,
    Outcome,
    ProviderError,
    ProviderProduct,
    SubscriptionType,
    ValidationStatus,
    VendRequest,
)
from billpay.providers.vtpass import transformers as t
from billpay.providers.vtpass import wire

Load = Callable[[str], Any]


def purchase(code: str | None, status: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"response_description": "WHATEVER", "requestId": "202501011200abc"}
    if code is not None:
        body["code"] = code
    if status is not None:
        body["content"] = {"transactions": {"status": status, "transactionId": "1563873435424"}}
    return body


# --- every code in §1.7 ------------------------------------------------------------------------

PURCHASE_CODES = [
    # (code, inner status, outcome, reversed)
    ("000", "delivered", Outcome.SUCCEEDED, False),
    ("000", "initiated", Outcome.UNKNOWN, False),
    ("000", "pending", Outcome.UNKNOWN, False),
    ("000", "failed", Outcome.FAILED, False),
    ("000", "reversed", Outcome.FAILED, True),
    ("000", "resolved", Outcome.UNKNOWN, False),
    ("000", None, Outcome.UNKNOWN, False),
    ("001", "pending", Outcome.UNKNOWN, False),
    ("001", "initiated", Outcome.UNKNOWN, False),
    ("001", "delivered", Outcome.UNKNOWN, False),  # success needs 000 + delivered
    ("001", "failed", Outcome.FAILED, False),
    ("001", "reversed", Outcome.FAILED, True),
    ("099", None, Outcome.UNKNOWN, False),
    ("099", "delivered", Outcome.UNKNOWN, False),
    ("044", None, Outcome.UNKNOWN, False),
    ("091", None, Outcome.FAILED, False),
    ("016", None, Outcome.FAILED, False),
    ("016", "failed", Outcome.FAILED, False),
    ("010", None, Outcome.FAILED, False),
    ("011", None, Outcome.FAILED, False),
    ("012", None, Outcome.FAILED, False),
    ("013", None, Outcome.FAILED, False),
    ("014", None, Outcome.UNKNOWN, False),
    ("015", None, Outcome.UNKNOWN, False),
    ("017", None, Outcome.FAILED, False),
    ("018", None, Outcome.FAILED, False),
    ("019", None, Outcome.FAILED, False),
    ("020", None, Outcome.FAILED, False),
    ("021", None, Outcome.FAILED, False),
    ("022", None, Outcome.FAILED, False),
    ("023", None, Outcome.FAILED, False),
    ("024", None, Outcome.FAILED, False),
    ("025", None, Outcome.FAILED, False),
    ("026", None, Outcome.FAILED, False),
    ("030", None, Outcome.FAILED, False),
    ("027", None, Outcome.UNKNOWN, False),
    ("028", None, Outcome.UNKNOWN, False),
    ("031", None, Outcome.UNKNOWN, False),
    ("032", None, Outcome.UNKNOWN, False),
    ("034", None, Outcome.UNKNOWN, False),
    ("035", None, Outcome.UNKNOWN, False),
    ("040", None, Outcome.FAILED, True),
    ("040", "reversed", Outcome.FAILED, True),
    ("083", None, Outcome.UNKNOWN, False),
    ("085", None, Outcome.UNKNOWN, False),
    ("087", None, Outcome.FAILED, False),
    ("089", None, Outcome.UNKNOWN, False),
    ("999", "delivered", Outcome.UNKNOWN, False),
    ("", "delivered", Outcome.UNKNOWN, False),
    (None, "delivered", Outcome.UNKNOWN, False),
]


@pytest.mark.parametrize(("code", "status", "outcome", "reversed_"), PURCHASE_CODES)
def test_purchase_codes(code: str | None, status: str | None, outcome: Outcome, reversed_: bool):
    result = t.classify_purchase(200, purchase(code, status))
    assert (result.outcome, result.reversed) == (outcome, reversed_)
    assert result.message == "WHATEVER"


REQUERY_CODES = [
    ("000", "delivered", Outcome.SUCCEEDED, False),
    ("000", "pending", Outcome.UNKNOWN, False),
    ("000", "failed", Outcome.FAILED, False),
    ("040", "reversed", Outcome.FAILED, True),
    ("016", None, Outcome.FAILED, False),
    ("091", None, Outcome.FAILED, False),
    ("015", None, Outcome.NOT_FOUND, False),  # no record of the id: never final (§1.6)
    ("014", None, Outcome.UNKNOWN, False),
    ("099", None, Outcome.UNKNOWN, False),
    # A refused requery call says nothing about the purchase it asked about.
    *[(code, None, Outcome.UNKNOWN, False) for code in sorted(t.REQUEST_REFUSED_CODES)],
]


@pytest.mark.parametrize(("code", "status", "outcome", "reversed_"), REQUERY_CODES)
def test_requery_codes(code: str, status: str | None, outcome: Outcome, reversed_: bool):
    result = t.classify_requery(200, purchase(code, status))
    assert (result.outcome, result.reversed) == (outcome, reversed_)


@pytest.mark.parametrize("status", ["delivered", "DELIVERED", " Delivered "])
def test_status_is_read_case_and_space_insensitively(status: str):
    assert t.classify_purchase(200, purchase("000", status)).outcome is Outcome.SUCCEEDED


@pytest.mark.parametrize("status", ["processing", "successful", "refunded", "", "null"])
def test_unknown_status_values_are_unknown(status: str):
    assert t.status_outcome(status) == (Outcome.UNKNOWN, False)


@pytest.mark.parametrize(
    ("http_status", "body"),
    [
        (None, None),
        (500, purchase("000", "delivered")),
        (502, None),
        (503, {"message": "Service Unavailable"}),
        (200, None),
        (200, "<html>502 Bad Gateway</html>"),
        (200, ["000", "delivered"]),
        (200, {}),
        (404, {"message": "Not Found"}),
    ],
)
def test_no_answer_5xx_and_unreadable_bodies_are_unknown(http_status: int | None, body: Any):
    result = t.classify_purchase(http_status, body)
    assert result.outcome is Outcome.UNKNOWN
    assert not result.reversed


def test_provider_status_keeps_code_and_status():
    assert t.classify_purchase(200, purchase("000", "delivered")).provider_status == "000/delivered"
    assert t.classify_purchase(200, purchase("016")).provider_status == "016"
    assert t.classify_purchase(503, None).provider_status == "http_503"
    assert t.classify_purchase(200, {}).provider_status == "no_code"


# --- the documented shapes ---------------------------------------------------------------------


def test_current_shape(vtpass_json: Load):
    result = t.classify_purchase(200, vtpass_json("purchase_delivered"))
    assert result.outcome is Outcome.SUCCEEDED
    assert result.provider_transaction_id == "17415980564672211596777904"
    assert result.message == "TRANSACTION SUCCESSFUL"
    assert result.token is None and result.units is None


def test_2019_shape_without_content_is_requeried(vtpass_json: Load):
    """``000`` alone is not success: with no ``content`` there is no status to trust."""
    body = vtpass_json("purchase_airtime_2019_no_content")
    result = t.classify_purchase(200, body)
    assert result.outcome is Outcome.UNKNOWN
    assert result.provider_transaction_id == "1563873435424"
    parsed = wire.PurchaseResponse.model_validate(body)
    assert parsed.amount == Decimal("50.00")
    assert parsed.transaction_date == "2019-07-23 10:17:16.000000"


def test_string_amounts_and_date_object(vtpass_json: Load):
    body = vtpass_json("purchase_string_amount_date_object")
    assert t.classify_purchase(200, body).outcome is Outcome.SUCCEEDED
    parsed = wire.PurchaseResponse.model_validate(body)
    assert parsed.amount == Decimal("1000.00")
    assert parsed.transaction is not None and parsed.transaction.total_amount == Decimal("985.00")
    assert parsed.transaction_date == "2020-04-08 15:22:15.000000"


def test_contents_spelling_and_null_date(vtpass_json: Load):
    body = vtpass_json("purchase_contents_pending")
    result = t.classify_purchase(200, body)
    assert result.outcome is Outcome.UNKNOWN
    assert result.provider_status == "000/pending"
    assert wire.PurchaseResponse.model_validate(body).transaction_date is None


def test_content_that_is_not_an_object_does_not_hide_the_code():
    body = {"code": "016", "response_description": "TRANSACTION FAILED", "content": "oops"}
    assert t.classify_purchase(200, body).outcome is Outcome.FAILED


def test_numeric_code_is_read_as_text():
    assert t.classify_purchase(200, {"code": 16}).provider_status == "16"
    assert t.classify_purchase(200, {"code": 16}).outcome is Outcome.UNKNOWN


# --- electricity tokens ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "token", "units"),
    [
        ("electricity_eko_main_token", "42167939781206619049", "16666.666 kWh"),
        ("electricity_ikedc_token_units", "26362054405982757802", "79.9 kWh"),
        ("electricity_capital_token", "11112222333344445555", "45.2 kWh"),
        ("electricity_purchased_code_only", "42167939781206619049", None),
    ],
)
def test_token_and_units_from_every_shape(
    vtpass_json: Load, fixture: str, token: str, units: str | None
):
    result = t.classify_purchase(200, vtpass_json(fixture))
    assert result.outcome is Outcome.SUCCEEDED
    assert result.token == token
    assert result.units == units


def test_main_token_wins_over_the_other_fields():
    body = {**purchase("000", "delivered"), "mainToken": "1" * 20, "token": "2" * 20}
    body["purchased_code"] = "Token : " + "3" * 20
    assert t.classify_purchase(200, body).token == "1" * 20


@pytest.mark.parametrize(
    ("purchased_code", "token"),
    [
        ("Token : 42167939781206619049", "42167939781206619049"),
        ("Token: 4216 7939 7812 0661 9049", "42167939781206619049"),
        ("TOKEN :42167939781206619049 Units: 20.5", "42167939781206619049"),
        ("Bonus Token : 62881559799402440206", None),
        ("", None),
        ("no token here", None),
    ],
)
def test_token_parsed_from_purchased_code(purchased_code: str, token: str | None):
    body = {**purchase("000", "delivered"), "purchased_code": purchased_code}
    assert t.classify_purchase(200, body).token == token


# --- hypothesis: nothing but 000 + delivered is success ----------------------------------------

codes = st.one_of(
    st.sampled_from(["000", "001", "099", "014", "015", "016", "040", "087", "091", "999"]),
    st.text(max_size=4),
    st.integers(0, 999),
    st.none(),
)
statuses = st.one_of(
    st.sampled_from(["delivered", "Delivered", "pending", "initiated", "failed", "reversed"]),
    st.text(max_size=12),
    st.none(),
)
http_statuses = st.one_of(st.none(), st.integers(100, 599))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=10,
)


@st.composite
def purchase_bodies(draw: st.DrawFn) -> Any:
    body: dict[str, Any] = {"code": draw(codes), "noise": draw(json_values)}
    container = draw(st.sampled_from(["content", "contents", None]))
    if container is not None:
        body[container] = {"transactions": {"status": draw(statuses)}}
    return draw(st.sampled_from([body, draw(json_values)]))


def _proves_success(http_status: int | None, body: Any) -> bool:
    if http_status is None or http_status >= 500 or not isinstance(body, dict):
        return False
    if body.get("code") != "000":
        return False
    inner = body.get("content") or body.get("contents")
    status = inner.get("transactions", {}).get("status") if isinstance(inner, dict) else None
    return isinstance(status, str) and status.strip().lower() == "delivered"


@given(http_statuses, purchase_bodies())
def test_only_000_delivered_is_ever_success(http_status: int | None, body: Any):
    for classify in (t.classify_purchase, t.classify_requery):
        result = classify(http_status, body)
        if result.outcome is Outcome.SUCCEEDED:
            assert _proves_success(http_status, body)


@given(json_values)
def test_classification_never_raises(body: Any):
    assert t.classify_purchase(200, body).outcome in Outcome
    assert t.classify_verification(200, body).status in ValidationStatus


# --- request ids -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("utc", "stamp"),
    [
        # 00:00–01:00 WAT is still "yesterday" in UTC: the UTC date would be a day behind.
        (datetime(2025, 3, 9, 23, 0, tzinfo=UTC), "202503100000"),
        (datetime(2025, 3, 9, 23, 30, tzinfo=UTC), "202503100030"),
        (datetime(2025, 3, 9, 23, 59, 59, tzinfo=UTC), "202503100059"),
        (datetime(2025, 3, 10, 0, 0, tzinfo=UTC), "202503100100"),
        (datetime(2024, 12, 31, 23, 15, tzinfo=UTC), "202501010015"),
        (datetime(2025, 3, 10, 9, 14, tzinfo=timezone(timedelta(hours=-5))), "202503101514"),
    ],
)
def test_request_id_uses_the_lagos_date_and_time(utc: datetime, stamp: str):
    request_id = t.new_request_id(utc)
    assert request_id.startswith(stamp)
    assert utc.strftime("%Y%m%d%H%M") != stamp


def test_request_id_shape_and_uniqueness():
    now = datetime(2025, 3, 10, 8, 0, tzinfo=UTC)
    ids = {t.new_request_id(now) for _ in range(500)}
    assert len(ids) == 500
    for request_id in ids:
        assert re.fullmatch(r"202503100900[A-Za-z][A-Za-z0-9]{11}", request_id)


def test_request_id_refuses_naive_times():
    with pytest.raises(ValueError, match="aware"):
        t.new_request_id(datetime(2025, 3, 10, 8, 0))


# --- request bodies ----------------------------------------------------------------------------


def vend(product: ProviderProduct, customer: str, kobo: int, **extra: Any) -> VendRequest:
    return VendRequest(
        reference="202503100900Abcdefghijk",
        product=product,
        customer_id=customer,
        amount_kobo=kobo,
        phone="08031234567",
        **extra,
    )


def test_airtime_body_tops_up_the_customer_phone():
    body = t.purchase_body(
        vend(ProviderProduct(BillType.AIRTIME, "mtn", "mtn"), "08011111111", 10_000)
    )
    assert body == {
        "request_id": "202503100900Abcdefghijk",
        "serviceID": "mtn",
        "amount": 100,
        "phone": "08011111111",
    }


def test_data_body():
    product = ProviderProduct(BillType.DATA, "mtn-data", "mtn-10mb-100")
    body = t.purchase_body(vend(product, "08011111111", 10_000))
    assert body["billersCode"] == "08011111111"
    assert body["variation_code"] == "mtn-10mb-100"
    assert body["phone"] == "08031234567"


@pytest.mark.parametrize(
    ("subscription", "sent"), [(None, "change"), (SubscriptionType.RENEW, "renew")]
)
def test_tv_body_sends_subscription_type(subscription: SubscriptionType | None, sent: str):
    product = ProviderProduct(BillType.CABLE_TV, "dstv", "dstv-compact")
    body = t.purchase_body(vend(product, "1212121212", 1_900_000, subscription_type=subscription))
    assert body["subscription_type"] == sent
    assert body["billersCode"] == "1212121212"


def test_a_renewal_names_no_bouquet_and_is_sent_the_renewal_amount():
    # DSTV page: renew with no variation_code, amount = merchant-verify's Renewal_Amount.
    product = ProviderProduct(BillType.CABLE_TV, "dstv", "dstv-compact")
    renewal = vend(product, "1212121212", 1_650_050, subscription_type=SubscriptionType.RENEW)

    body = t.purchase_body(renewal)

    assert "variation_code" not in body
    assert b'"amount":16500.50' in t.encode_json(body)


def test_a_bouquet_change_names_the_new_bouquet():
    product = ProviderProduct(BillType.CABLE_TV, "dstv", "dstv-compact")
    change = vend(product, "1212121212", 1_900_000, subscription_type=SubscriptionType.CHANGE)

    assert t.purchase_body(change)["variation_code"] == "dstv-compact"


@pytest.mark.parametrize("meter_type", list(MeterType))
def test_electricity_variation_code_is_the_meter_type(meter_type: MeterType):
    product = ProviderProduct(BillType.ELECTRICITY, "ikeja-electric", meter_type.value, meter_type)
    body = t.purchase_body(vend(product, "1111111111111", 500_000))
    assert body["variation_code"] == meter_type.value
    assert t.verify_body(product, "1111111111111") == {
        "billersCode": "1111111111111",
        "serviceID": "ikeja-electric",
        "type": meter_type.value,
    }


def test_unsellable_products_are_refused_before_sending():
    no_meter_type = ProviderProduct(
        BillType.ELECTRICITY, "ikeja-electric", "ikeja-electric-prepaid"
    )
    with pytest.raises(t.UnsellableProduct):
        t.purchase_body(vend(no_meter_type, "1111111111111", 500_000))
    with pytest.raises(t.UnsellableProduct, match="betting"):
        t.purchase_body(vend(ProviderProduct(BillType.BETTING, "bet9ja", "x"), "123", 100_000))


@pytest.mark.parametrize(
    ("kobo", "text"), [(500_000, "5000"), (123_456, "1234.56"), (1, "0.01"), (10, "0.10")]
)
def test_amount_is_written_exactly(kobo: int, text: str):
    encoded = t.encode_json({"amount": kobo_to_naira_number(kobo), "phone": "080"})
    assert encoded == f'{{"amount":{text},"phone":"080"}}'.encode()


@given(st.integers(min_value=1, max_value=10**12))
def test_naira_on_the_wire_round_trips_to_the_kobo(kobo: int):
    encoded = t.encode_json({"amount": kobo_to_naira_number(kobo)})
    assert naira_to_kobo(json.loads(encoded, parse_float=Decimal)["amount"]) == kobo


def test_evidence_is_json_storable_and_masked():
    stored = t.evidence({"amount": Decimal("1234.56"), "secret-key": "SK_x", "request_id": "r"})
    assert stored == {"amount": "1234.56", "secret-key": "***", "request_id": "r"}
    json.dumps(stored)


# --- customer verification ---------------------------------------------------------------------


def test_meter_verified(vtpass_json: Load):
    result = t.classify_verification(200, vtpass_json("verify_meter_ok"))
    assert result.status is ValidationStatus.VALID
    assert (result.customer_name, result.address) == ("TESTMETER1", "ABULE - EGBA BU ABULE")
    assert result.min_kobo == 50_000


def test_smartcard_verified(vtpass_json: Load):
    result = t.classify_verification(200, vtpass_json("verify_smartcard_ok"))
    assert result.status is ValidationStatus.VALID
    assert result.customer_name == "TEST DSTV"


@pytest.mark.parametrize(
    "fixture",
    ["verify_wrong_billers_code", "verify_error_only", "verify_wrong_billers_code_string"],
)
def test_code_000_with_an_error_is_invalid(vtpass_json: Load, fixture: str):
    assert t.classify_verification(200, vtpass_json(fixture)).status is ValidationStatus.INVALID


@pytest.mark.parametrize(
    ("http_status", "body"),
    [
        (None, None),
        (500, {"code": "000", "content": {"error": "meter invalid"}}),
        (503, None),
        (200, "<html>down</html>"),
        (200, {"code": "087", "response_description": "INVALID CREDENTIALS"}),
        (200, {"code": "030", "response_description": "BILLER NOT REACHABLE AT THIS POINT"}),
        (200, {"code": "099"}),
        (200, {"code": "000", "content": {}}),
        (200, {"code": "000"}),
    ],
)
def test_verification_outages_are_unavailable_never_invalid(http_status: int | None, body: Any):
    assert t.classify_verification(http_status, body).status is ValidationStatus.UNAVAILABLE


@pytest.mark.parametrize("code", ["011", "012"])
def test_verification_refusals_are_invalid(code: str):
    body = {"code": code, "response_description": "INVALID ARGUMENTS"}
    assert t.classify_verification(200, body).status is ValidationStatus.INVALID


# --- catalog -----------------------------------------------------------------------------------


def test_categories_keep_what_billpay_sells(vtpass_json: Load):
    assert t.catalog_categories(vtpass_json("service_categories")) == [
        "airtime",
        "data",
        "tv-subscription",
        "electricity-bill",
    ]


def test_airtime_services_become_open_amount_plans(vtpass_json: Load):
    services = t.catalog_services(vtpass_json("services_airtime"))
    assert [service.service_id for service in services] == ["mtn", "etisalat"]
    mtn, nine_mobile = (t.flexible_plans(service)[0] for service in services)
    assert (mtn.bill_type, mtn.plan_code, mtn.price_kobo) == (BillType.AIRTIME, "mtn", None)
    assert (mtn.min_kobo, mtn.max_kobo) == (5_000, 5_000_000)
    assert (nine_mobile.min_kobo, nine_mobile.max_kobo) == (5_000, None)  # "0" = no maximum


def test_electricity_services_become_prepaid_and_postpaid_plans(vtpass_json: Load):
    (service,) = t.catalog_services(vtpass_json("services_electricity"))
    assert not t.needs_variations(service)
    plans = t.flexible_plans(service)
    assert [(plan.plan_code, plan.meter_type) for plan in plans] == [
        ("prepaid", MeterType.PREPAID),
        ("postpaid", MeterType.POSTPAID),
    ]
    assert all(plan.min_kobo == 100_000 and plan.max_kobo == 50_000_000 for plan in plans)


def _service(service_id: str) -> wire.Service:
    return wire.Service.model_validate({"serviceID": service_id, "name": service_id})


def test_variations_become_fixed_price_plans(vtpass_json: Load):
    service = _service("mtn-data")
    assert t.needs_variations(service)
    (plan,) = t.variation_plans(service, vtpass_json("variations_mtn_data"))
    assert (plan.plan_code, plan.name) == ("mtn-10mb-100", "N100 100MB - 24 hrs")
    assert (plan.price_kobo, plan.validity_days, plan.biller_name) == (10_000, 1, "MTN Data")


def test_varations_spelling_and_unpriceable_variations(vtpass_json: Load):
    plans = t.variation_plans(_service("mtn-data"), vtpass_json("variations_varations_spelling"))
    assert [(plan.plan_code, plan.price_kobo) for plan in plans] == [
        ("mtn-1gb", 30_000),
        ("mtn-2gb", 60_000),
    ]


def test_contents_spelling_for_tv(vtpass_json: Load):
    (plan,) = t.variation_plans(_service("dstv"), vtpass_json("variations_smile_contents"))
    assert (plan.bill_type, plan.price_kobo, plan.validity_days) == (
        BillType.CABLE_TV,
        1_900_000,
        30,
    )


@pytest.mark.parametrize(
    ("name", "days"),
    [
        ("N100 100MB - 24 hrs", 1),
        ("N200 200MB - 2 days", 2),
        ("Glo N100 105MB - 1 day", 1),
        ("N1,000 1.5GB - 30 days", 30),
        ("1GB - 7days", 7),
        ("2GB - 2 weeks", 14),
        ("DStv Compact N19,000 - 1 Month", 30),
        ("MTN Weekly 1GB", 7),
        ("N50 40MB - 3 hrs", None),
        ("DStv Compact N19,000", None),
    ],
)
def test_validity_days(name: str, days: int | None):
    assert t.validity_days(name) == days


@pytest.mark.parametrize(
    "body", [{"response_description": "012", "content": []}, ["not", "an", "object"], None]
)
def test_catalog_failures_raise_provider_error(body: Any):
    with pytest.raises(ProviderError):
        t.catalog_categories(body)


@pytest.mark.parametrize("code", sorted(t.AMBIGUOUS_CODES))
def test_documented_ambiguous_codes_are_requeried(code: str):
    assert code not in t.FAILED_CODES
    for classify in (t.classify_purchase, t.classify_requery):
        assert classify(200, purchase(code, "delivered")).outcome is Outcome.UNKNOWN

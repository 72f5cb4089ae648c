"""InterswitchConnector against the Interswitch sandbox over real HTTP on loopback."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from billpay.config import Settings
from billpay.providers.base import (
    BillType,
    MeterType,
    Outcome,
    ProviderProduct,
    ValidationStatus,
    VendRequest,
)
from billpay.providers.interswitch import InterswitchConnector
from billpay.sandbox.interswitch import Fault, FaultName, InterswitchSandboxState, create_app
from billpay.sandbox.server import ThreadedServer, serve

MTN_AIRTIME = ProviderProduct(BillType.AIRTIME, "109", "10901")
MTN_DATA_2GB = ProviderProduct(BillType.DATA, "348", "34802")
DSTV_COMPACT = ProviderProduct(BillType.CABLE_TV, "104", "10404")
IKEJA_PREPAID = ProviderProduct(BillType.ELECTRICITY, "3048", "304801", MeterType.PREPAID)
IKEJA_POSTPAID = ProviderProduct(BillType.ELECTRICITY, "3049", "304901", MeterType.POSTPAID)
BET9JA = ProviderProduct(BillType.BETTING, "2001", "200101")
SPORTYBET = ProviderProduct(BillType.BETTING, "2002", "200201")

PHONE = "08031234567"
PREPAID_METER = "1111111111111"
HANG_SECONDS = 1.0
SHORT_TIMEOUT = 0.3  # well under HANG_SECONDS


@pytest.fixture(scope="module")
def sandbox_state() -> InterswitchSandboxState:
    return InterswitchSandboxState()


@pytest.fixture(scope="module")
def server(sandbox_state: InterswitchSandboxState) -> Iterator[ThreadedServer]:
    with serve(create_app(sandbox_state)) as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh_sandbox(sandbox_state: InterswitchSandboxState) -> None:
    sandbox_state.reset()


def settings_for(server: ThreadedServer, timeout: float = 5.0) -> Settings:
    return Settings.model_validate(
        {
            "interswitch_base_url": f"{server.url}/quicktellerservice/api/v5",
            "interswitch_passport_url": server.url,
            "interswitch_client_id": "sandbox-client",
            "interswitch_client_secret": "sandbox-secret",
            "interswitch_terminal_id": "3DMO0001",
            "interswitch_request_prefix": "1453",
            "provider_timeout_seconds": timeout,
        }
    )


@pytest.fixture
async def connector(server: ThreadedServer) -> AsyncIterator[InterswitchConnector]:
    connector = InterswitchConnector(settings_for(server))
    yield connector
    await connector.aclose()


@pytest.fixture
async def impatient_connector(server: ThreadedServer) -> AsyncIterator[InterswitchConnector]:
    connector = InterswitchConnector(settings_for(server, timeout=SHORT_TIMEOUT))
    yield connector
    await connector.aclose()


@pytest.fixture
async def admin(server: ThreadedServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        yield client


def purchase(
    connector: InterswitchConnector,
    product: ProviderProduct,
    customer_id: str,
    amount_kobo: int,
    reference: str | None = None,
) -> VendRequest:
    return VendRequest(
        reference=reference or connector.new_reference(datetime.now()),
        product=product,
        customer_id=customer_id,
        amount_kobo=amount_kobo,
        phone=PHONE,
        email="payer@example.com",
    )


async def vends(admin: httpx.AsyncClient) -> dict[str, Any]:
    response = await admin.get("/_sandbox/vends")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def add_fault(admin: httpx.AsyncClient, **fault: Any) -> None:
    response = await admin.post("/_sandbox/faults", json=fault)
    assert response.status_code == 200, response.text


# --- catalog and validation ----------------------------------------------------------------------


async def test_catalog_covers_every_bill_type(connector: InterswitchConnector) -> None:
    plans = await connector.catalog()

    assert {plan.bill_type for plan in plans} == set(BillType)
    by_name = {plan.name: plan for plan in plans}
    assert by_name["DStv Compact"].price_kobo == 1_900_000
    assert by_name["GOtv Max"].plan_code == "45904"
    assert by_name["MTN 2GB - 30 Days"].validity_days == 30
    assert by_name["Ikeja Electric Postpaid Bill"].meter_type is MeterType.POSTPAID
    assert by_name["EKEDC Prepaid Token"].meter_type is MeterType.PREPAID
    assert by_name["MTN Airtime"].price_kobo is None
    assert {p.biller_name for p in plans if p.bill_type is BillType.BETTING} >= {
        "Bet9ja",
        "SportyBet",
        "NairaBet",
    }
    assert not {"Water Bill", "Company Income Tax"} & set(by_name)


@pytest.mark.parametrize(
    ("product", "customer_id", "status", "name"),
    [
        (MTN_AIRTIME, PHONE, ValidationStatus.VALID, None),
        (MTN_AIRTIME, "0803123", ValidationStatus.INVALID, None),
        (IKEJA_PREPAID, PREPAID_METER, ValidationStatus.VALID, "TEST METER PREPAID"),
        (IKEJA_PREPAID, "1010101010101", ValidationStatus.INVALID, None),  # a postpaid meter
        (IKEJA_POSTPAID, "1010101010101", ValidationStatus.VALID, "TEST METER POSTPAID"),
        (DSTV_COMPACT, "1212121212", ValidationStatus.VALID, "TEST SMARTCARD"),
        (DSTV_COMPACT, "0000000000", ValidationStatus.INVALID, None),  # documented invalid
        (BET9JA, "BJ12345", ValidationStatus.VALID, "TEST PUNTER"),
        (BET9JA, "0000000000", ValidationStatus.INVALID, None),
    ],
)
async def test_documented_customer_values(
    connector: InterswitchConnector,
    product: ProviderProduct,
    customer_id: str,
    status: ValidationStatus,
    name: str | None,
) -> None:
    result = await connector.validate_customer(product, customer_id)

    assert (result.status, result.customer_name) == (status, name)


async def test_postpaid_meter_amount_is_fixed_by_amount_type_5(
    connector: InterswitchConnector,
) -> None:
    result = await connector.validate_customer(IKEJA_POSTPAID, "1010101010101")

    assert (result.min_kobo, result.max_kobo) == (1_500_000, 1_500_000)


async def test_validation_timeout_is_unavailable(
    impatient_connector: InterswitchConnector, sandbox_state: InterswitchSandboxState
) -> None:
    sandbox_state.add_fault(Fault(fault=FaultName.TIMEOUT, seconds=HANG_SECONDS))

    result = await impatient_connector.validate_customer(IKEJA_PREPAID, PREPAID_METER)

    assert result.status is ValidationStatus.UNAVAILABLE


# --- purchases -----------------------------------------------------------------------------------


async def test_pay_airtime(connector: InterswitchConnector, admin: httpx.AsyncClient) -> None:
    request = purchase(connector, MTN_AIRTIME, PHONE, 50_000)

    result = await connector.pay(request)

    assert result.outcome is Outcome.SUCCEEDED
    assert result.token is None
    record = await vends(admin)
    assert (record["count"], record["delivered"]) == (1, 1)
    assert record["vends"][request.reference]["amount_kobo"] == 50_000


async def test_pay_prepaid_electricity_returns_the_20_digit_token(
    connector: InterswitchConnector, admin: httpx.AsyncClient
) -> None:
    request = purchase(connector, IKEJA_PREPAID, PREPAID_METER, 500_000)

    result = await connector.pay(request)

    assert result.outcome is Outcome.SUCCEEDED
    vend = (await vends(admin))["vends"][request.reference]
    assert result.token == vend["token"]
    assert result.token is not None and len(result.token) == 20 and result.token.isdigit()
    assert result.units == f"{vend['units']} kWh"


@pytest.mark.parametrize("product", [BET9JA, SPORTYBET])
async def test_pay_betting_wallet(
    connector: InterswitchConnector, admin: httpx.AsyncClient, product: ProviderProduct
) -> None:
    result = await connector.pay(purchase(connector, product, "BJ12345", 200_000))

    assert result.outcome is Outcome.SUCCEEDED
    assert (await vends(admin))["delivered"] == 1


async def test_fixed_price_plans_refuse_another_amount(
    connector: InterswitchConnector, admin: httpx.AsyncClient
) -> None:
    right = await connector.pay(purchase(connector, DSTV_COMPACT, "1212121212", 1_900_000))
    wrong = await connector.pay(purchase(connector, MTN_DATA_2GB, PHONE, 100_000))

    assert right.outcome is Outcome.SUCCEEDED
    assert (wrong.outcome, wrong.provider_status) == (Outcome.FAILED, "90013/FAILED")
    assert (await vends(admin))["delivered"] == 1


async def test_paying_an_invalid_customer_fails_definitely(
    connector: InterswitchConnector, admin: httpx.AsyncClient
) -> None:
    request = purchase(connector, IKEJA_PREPAID, "2222222222222", 500_000)

    result = await connector.pay(request)

    assert result.outcome is Outcome.FAILED
    assert (await connector.requery(request)).outcome is Outcome.FAILED
    assert (await vends(admin))["delivered"] == 0


@pytest.mark.parametrize("reference", ["999912345678", "1453123456789", "1453ABCDEFGH"])
async def test_references_must_carry_the_prefix_and_fit_12_digits(
    connector: InterswitchConnector, admin: httpx.AsyncClient, reference: str
) -> None:
    result = await connector.pay(purchase(connector, MTN_AIRTIME, PHONE, 50_000, reference))

    assert (result.outcome, result.http_status) == (Outcome.FAILED, 400)
    assert (await vends(admin))["count"] == 0


async def test_a_reused_reference_is_never_a_second_vend(
    connector: InterswitchConnector, admin: httpx.AsyncClient
) -> None:
    request = purchase(connector, MTN_AIRTIME, PHONE, 50_000)
    await connector.pay(request)

    again = await connector.pay(request)

    assert again.outcome is Outcome.UNKNOWN  # "already used" is not a failure: requery
    assert again.provider_status == "10001/FAILED"  # Appendix A: duplicate reference
    assert (await vends(admin))["count"] == 1


# --- faults --------------------------------------------------------------------------------------


async def test_vend_then_timeout_then_requery_succeeds_with_one_vend(
    impatient_connector: InterswitchConnector, admin: httpx.AsyncClient
) -> None:
    request = purchase(impatient_connector, IKEJA_PREPAID, PREPAID_METER, 500_000)
    await add_fault(
        admin, fault="vend_then_timeout", reference=request.reference, seconds=HANG_SECONDS
    )

    timed_out = await impatient_connector.pay(request)
    requeried = await impatient_connector.requery(request)

    assert (timed_out.outcome, timed_out.sent) == (Outcome.UNKNOWN, True)
    assert requeried.outcome is Outcome.SUCCEEDED
    record = await vends(admin)
    assert (record["count"], record["delivered"]) == (1, 1)
    assert requeried.token == record["vends"][request.reference]["token"]


async def test_pending_then_successful(
    connector: InterswitchConnector,
    sandbox_state: InterswitchSandboxState,
    admin: httpx.AsyncClient,
) -> None:
    sandbox_state.add_fault(
        Fault(fault=FaultName.PENDING_THEN_SUCCESSFUL, queries=2, customer_id=PREPAID_METER)
    )
    request = purchase(connector, IKEJA_PREPAID, PREPAID_METER, 500_000)

    paid = await connector.pay(request)
    answers = [await connector.requery(request) for _ in range(3)]

    assert paid.outcome is Outcome.UNKNOWN
    assert paid.provider_status == "90009/PENDING"
    assert [a.outcome for a in answers] == [Outcome.UNKNOWN, Outcome.UNKNOWN, Outcome.SUCCEEDED]
    assert answers[-1].token is not None
    assert (await vends(admin))["count"] == 1


async def test_query_top_level_90000_with_failed_grouping_is_failed(
    connector: InterswitchConnector, admin: httpx.AsyncClient
) -> None:
    await add_fault(admin, fault="query_grouping_failed")
    request = purchase(connector, MTN_AIRTIME, PHONE, 50_000)

    paid = await connector.pay(request)
    queried = await connector.requery(request)

    assert paid.outcome is Outcome.UNKNOWN
    assert queried.outcome is Outcome.FAILED
    assert queried.response is not None
    assert queried.response["ResponseCode"] == "90000"  # the query call itself went fine
    assert (await vends(admin))["delivered"] == 0


async def test_definite_failure(connector: InterswitchConnector, admin: httpx.AsyncClient) -> None:
    await add_fault(admin, fault="definite_failure")

    result = await connector.pay(purchase(connector, MTN_AIRTIME, PHONE, 50_000))

    assert (result.outcome, result.provider_status) == (Outcome.FAILED, "90006/FAILED")
    assert (await vends(admin))["delivered"] == 0


async def test_next_n_5xx_are_unknown_and_vend_nothing(
    connector: InterswitchConnector, admin: httpx.AsyncClient
) -> None:
    await add_fault(admin, fault="http_500", count=2)
    request = purchase(connector, MTN_AIRTIME, PHONE, 50_000)

    first, second = await connector.pay(request), await connector.requery(request)
    not_found = await connector.requery(request)

    assert [first.http_status, second.http_status] == [500, 500]
    assert {first.outcome, second.outcome} == {Outcome.UNKNOWN}
    # 90025 "unable to locate record": not found, which is never a failure
    assert (not_found.outcome, not_found.provider_status) == (Outcome.NOT_FOUND, "90025/FAILED")
    assert (await vends(admin))["count"] == 0


async def test_faults_can_target_one_customer(
    connector: InterswitchConnector, admin: httpx.AsyncClient
) -> None:
    await add_fault(admin, fault="http_500", count=None, customer_id="08030000001")

    targeted = await connector.pay(purchase(connector, MTN_AIRTIME, "08030000001", 50_000))
    spared = await connector.pay(purchase(connector, MTN_AIRTIME, PHONE, 50_000))

    assert targeted.outcome is Outcome.UNKNOWN
    assert spared.outcome is Outcome.SUCCEEDED


async def test_latency(connector: InterswitchConnector, admin: httpx.AsyncClient) -> None:
    await connector.validate_customer(MTN_AIRTIME, PHONE)  # fetch the token first
    await add_fault(admin, fault="latency", seconds=0.2)

    started = time.monotonic()
    await connector.validate_customer(MTN_AIRTIME, PHONE)

    assert time.monotonic() - started >= 0.2


async def test_forced_token_expiry_is_transparent(
    connector: InterswitchConnector, admin: httpx.AsyncClient
) -> None:
    before = await connector.pay(purchase(connector, MTN_AIRTIME, PHONE, 50_000))
    await add_fault(admin, fault="expire_tokens")

    after = await connector.pay(purchase(connector, MTN_AIRTIME, PHONE, 50_000))

    assert before.outcome is after.outcome is Outcome.SUCCEEDED
    assert (await admin.get("/_sandbox/token-requests")).json() == {"count": 2}
    assert (await vends(admin))["count"] == 2


# --- wire contract -------------------------------------------------------------------------------


async def test_passport_contract(
    admin: httpx.AsyncClient, sandbox_state: InterswitchSandboxState
) -> None:
    sandbox_state.token_expires_in = 120
    good = ("sandbox-client", "sandbox-secret")
    try:
        issued = await admin.post(
            "/passport/oauth/token", auth=good, data={"grant_type": "client_credentials"}
        )
        missing = await admin.post("/passport/oauth/token", auth=good, data={})
        wrong = await admin.post("/passport/oauth/token", auth=("sandbox-client", "nope"),
                                 data={"grant_type": "client_credentials"})  # fmt: skip
    finally:
        sandbox_state.token_expires_in = 3599

    assert issued.status_code == 200
    assert issued.json()["expires_in"] == 120
    assert issued.json()["token_type"] == "bearer"
    assert (missing.status_code, missing.json()) == (
        400,
        {"error": "invalid_request", "error_description": "Missing grant type"},
    )
    assert wrong.status_code == 401


async def test_api_refuses_unknown_bearers(admin: httpx.AsyncClient) -> None:
    response = await admin.get(
        "/quicktellerservice/api/v5/services/categories",
        headers={"Authorization": "Bearer not-a-token", "TerminalID": "3DMO0001"},
    )

    assert response.status_code == 401


async def test_admin_endpoints(connector: InterswitchConnector, admin: httpx.AsyncClient) -> None:
    added = await admin.post("/_sandbox/faults", json={"fault": "latency", "seconds": 0})
    refused = await admin.post("/_sandbox/faults", json={"fault": "meteor_strike"})
    await connector.pay(purchase(connector, MTN_AIRTIME, PHONE, 50_000))
    before_reset = await vends(admin)
    reset = await admin.post("/_sandbox/reset")

    assert added.json()["faults"] == [
        {"fault": "latency", "count": 1, "seconds": 0.0, "queries": 1,
         "customer_id": None, "reference": None},
    ]  # fmt: skip
    assert refused.status_code == 422
    assert before_reset["count"] == 1
    [vend] = before_reset["vends"].values()
    assert {"reference", "payment_code", "customer_id", "amount_kobo", "status", "delivered",
            "token", "transaction_ref"} <= set(vend)  # fmt: skip
    assert reset.json() == {"reset": True}
    assert await vends(admin) == {"count": 0, "delivered": 0, "vends": {}}
    assert (await admin.get("/_sandbox/token-requests")).json() == {"count": 0}


# --- documented "no record" and duplicate-reference answers --------------------------------------


async def test_a_10001_answer_is_unknown_and_a_resend_after_no_record_vends_once(
    connector: InterswitchConnector, admin: httpx.AsyncClient
) -> None:
    await add_fault(admin, fault="unknown_error")
    request = purchase(connector, MTN_AIRTIME, PHONE, 50_000)

    first = await connector.pay(request)
    queried = await connector.requery(request)
    resent = await connector.pay(request)

    assert (first.outcome, first.provider_status) == (Outcome.UNKNOWN, "10001/FAILED")
    assert (queried.outcome, queried.provider_status) == (Outcome.NOT_FOUND, "90025/FAILED")
    assert resent.outcome is Outcome.SUCCEEDED
    assert (await vends(admin))["count"] == 1


async def test_a_lost_purchase_is_cut_off_unrecorded_and_the_query_says_no_record(
    connector: InterswitchConnector, admin: httpx.AsyncClient
) -> None:
    request = purchase(connector, MTN_AIRTIME, PHONE, 50_000)
    await add_fault(admin, fault="lost_purchase", reference=request.reference)

    lost = await connector.pay(request)
    queried = await connector.requery(request)
    resent = await connector.pay(request)
    duplicate = await connector.pay(request)

    assert (lost.outcome, lost.sent, lost.http_status) == (Outcome.UNKNOWN, True, None)
    assert queried.outcome is Outcome.NOT_FOUND
    assert resent.outcome is Outcome.SUCCEEDED
    assert (duplicate.outcome, duplicate.provider_status) == (Outcome.UNKNOWN, "10001/FAILED")
    assert (await vends(admin))["count"] == 1

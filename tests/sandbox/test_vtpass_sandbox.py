"""The VTpass connector against the VTpass sandbox over real HTTP (loopback, own thread)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from billpay.config import Settings
from billpay.providers.base import (
    BillType,
    MeterType,
    Outcome,
    ProviderError,
    ProviderProduct,
    ValidationStatus,
    VendRequest,
)
from billpay.providers.vtpass import VTpassConnector
from billpay.providers.vtpass.webhooks import WEBHOOK_ACK
from billpay.sandbox.server import ThreadedServer, serve
from billpay.sandbox.vtpass import (
    FaultKind,
    FaultRule,
    Faults,
    SandboxOptions,
    VTpassSandboxState,
    create_app,
)

KEYS = {
    "vtpass_api_key": "sandbox-api-key",
    "vtpass_secret_key": "sandbox-secret-key",
    "vtpass_public_key": "sandbox-public-key",
}
WEBHOOK_TOKEN = "vtpass-hook-token"
CLIENT_TIMEOUT = 0.5

AIRTIME = ProviderProduct(BillType.AIRTIME, "mtn", "mtn")
DATA = ProviderProduct(BillType.DATA, "mtn-data", "mtn-1gb-30d")
DSTV = ProviderProduct(BillType.CABLE_TV, "dstv", "dstv-compact")
EKO_PREPAID = ProviderProduct(BillType.ELECTRICITY, "eko-electric", "prepaid", MeterType.PREPAID)
IKEJA_PREPAID = ProviderProduct(
    BillType.ELECTRICITY, "ikeja-electric", "prepaid", MeterType.PREPAID
)
IKEJA_POSTPAID = ProviderProduct(
    BillType.ELECTRICITY, "ikeja-electric", "postpaid", MeterType.POSTPAID
)
PREPAID_METER, POSTPAID_METER, SMARTCARD = "1111111111111", "1010101010101", "1212121212"


@pytest.fixture(scope="module")
def shared_state() -> VTpassSandboxState:
    return VTpassSandboxState(seed=7)


@pytest.fixture(scope="module")
def server(shared_state: VTpassSandboxState) -> Iterator[ThreadedServer]:
    with serve(create_app(shared_state)) as running:
        yield running


@pytest.fixture
def sandbox(shared_state: VTpassSandboxState) -> VTpassSandboxState:
    shared_state.reset()
    return shared_state


def settings_for(server: ThreadedServer, **overrides: Any) -> Settings:
    values = {
        "vtpass_base_url": f"{server.url}/api",
        **KEYS,
        "vtpass_webhook_token": WEBHOOK_TOKEN,
        "provider_timeout_seconds": CLIENT_TIMEOUT,
        **overrides,
    }
    return Settings.model_validate(values)


@pytest.fixture
async def connector(
    server: ThreadedServer, sandbox: VTpassSandboxState
) -> AsyncIterator[VTpassConnector]:
    running = VTpassConnector(settings_for(server))
    yield running
    await running.aclose()


@pytest.fixture
async def admin(server: ThreadedServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        yield client


def purchase(
    connector: VTpassConnector,
    product: ProviderProduct = AIRTIME,
    customer: str = "08011111111",
    kobo: int = 10_000,
) -> VendRequest:
    reference = connector.new_reference(datetime.now(UTC))
    return VendRequest(reference, product, customer, kobo, phone="08031234567")


# --- the happy paths ---------------------------------------------------------------------------


async def test_airtime_success(connector: VTpassConnector, sandbox: VTpassSandboxState):
    request = purchase(connector)
    result = await connector.pay(request)
    assert (result.outcome, result.provider_status) == (Outcome.SUCCEEDED, "000/delivered")
    assert result.provider_transaction_id and re.fullmatch(
        r"\d{26}", result.provider_transaction_id
    )
    assert sandbox.vend_count(request.reference) == 1
    (vend,) = sandbox.vends()
    assert (vend.customer, vend.amount_kobo) == ("08011111111", 10_000)


async def test_any_well_formed_phone_delivers_unless_strict(
    connector: VTpassConnector, sandbox: VTpassSandboxState
):
    assert (await connector.pay(purchase(connector, customer="08031234567"))).outcome is (
        Outcome.SUCCEEDED
    )
    assert (await connector.pay(purchase(connector, customer="0803123"))).outcome is Outcome.FAILED
    sandbox.options = SandboxOptions(strict_magic_numbers=True)
    result = await connector.pay(purchase(connector, customer="08031234567"))
    assert (result.outcome, result.provider_status) == (Outcome.FAILED, "016/failed")
    assert len(sandbox.vends()) == 1


async def test_data_is_sold_at_the_variation_price(
    connector: VTpassConnector, sandbox: VTpassSandboxState
):
    assert (await connector.pay(purchase(connector, DATA, kobo=1))).outcome is Outcome.SUCCEEDED
    assert sandbox.vends()[0].amount_kobo == 100_000
    unknown_plan = ProviderProduct(BillType.DATA, "mtn-data", "mtn-99tb")
    result = await connector.pay(purchase(connector, unknown_plan))
    assert (result.outcome, result.provider_status) == (Outcome.FAILED, "010")


async def test_tv_subscription(connector: VTpassConnector, sandbox: VTpassSandboxState):
    assert (await connector.pay(purchase(connector, DSTV, SMARTCARD))).outcome is Outcome.SUCCEEDED
    assert (await connector.pay(purchase(connector, DSTV, "9999999999"))).outcome is Outcome.FAILED
    assert [vend.variation_code for vend in sandbox.vends()] == ["dstv-compact"]


async def test_amount_limits(connector: VTpassConnector, sandbox: VTpassSandboxState):
    below = await connector.pay(purchase(connector, kobo=1_000))
    above = await connector.pay(purchase(connector, kobo=10_000_000))
    assert (below.provider_status, above.provider_status) == ("013", "017")
    assert below.outcome is above.outcome is Outcome.FAILED
    assert sandbox.vends() == []


@pytest.mark.parametrize("product", [EKO_PREPAID, IKEJA_PREPAID], ids=["mainToken", "IKEDC"])
async def test_prepaid_electricity_token_is_20_digits(
    connector: VTpassConnector, sandbox: VTpassSandboxState, product: ProviderProduct
):
    result = await connector.pay(purchase(connector, product, PREPAID_METER, 500_000))
    assert result.outcome is Outcome.SUCCEEDED
    assert result.token and re.fullmatch(r"\d{20}", result.token)
    assert result.units and result.units.startswith("80")
    assert result.response is not None and result.token not in json.dumps(result.response)
    assert sandbox.vends()[0].token == result.token


async def test_postpaid_electricity_has_no_token(connector: VTpassConnector):
    result = await connector.pay(purchase(connector, IKEJA_POSTPAID, POSTPAID_METER, 500_000))
    assert (result.outcome, result.token) == (Outcome.SUCCEEDED, None)
    wrong_type = await connector.pay(purchase(connector, IKEJA_PREPAID, POSTPAID_METER, 500_000))
    assert wrong_type.outcome is Outcome.FAILED


async def test_catalog_over_http(connector: VTpassConnector):
    plans = {(plan.biller_code, plan.plan_code): plan for plan in await connector.catalog()}
    assert plans["mtn", "mtn"].min_kobo == 5_000
    assert plans["mtn-data", "mtn-10mb-100"].price_kobo == 10_000
    assert plans["mtn-data", "mtn-10mb-100"].validity_days == 1
    assert plans["glo-data", "glo-2-9gb-30d"].validity_days == 30  # served as "varations"
    assert plans["dstv", "dstv-compact"].price_kobo == 1_900_000
    assert plans["abuja-electric", "postpaid"].meter_type is MeterType.POSTPAID
    assert {bill for bill in BillType if bill is not BillType.BETTING} == {
        plan.bill_type for plan in plans.values()
    }


# --- "exactly one vend" under ambiguity --------------------------------------------------------


async def test_pending_then_delivered(connector: VTpassConnector, sandbox: VTpassSandboxState):
    sandbox.add_fault(FaultRule(kind=FaultKind.PENDING_THEN_DELIVERED, pending_requeries=2))
    request = purchase(connector)
    first = await connector.pay(request)
    assert (first.outcome, first.provider_status) == (Outcome.UNKNOWN, "000/pending")
    outcomes = [(await connector.requery(request)).outcome for _ in range(4)]
    assert outcomes == [Outcome.UNKNOWN, Outcome.UNKNOWN, Outcome.SUCCEEDED, Outcome.SUCCEEDED]
    assert sandbox.vend_count(request.reference) == 1


async def test_vend_then_timeout_then_requery(
    connector: VTpassConnector, sandbox: VTpassSandboxState, admin: httpx.AsyncClient
):
    fault = {"kind": "vend_then_timeout", "times": 1}
    assert (await admin.post("/_sandbox/faults", json={"rules": [fault]})).status_code == 200
    request = purchase(connector)
    started = asyncio.get_running_loop().time()
    lost = await connector.pay(request)
    assert asyncio.get_running_loop().time() - started < CLIENT_TIMEOUT + 1
    assert (lost.outcome, lost.sent, lost.provider_status) == (Outcome.UNKNOWN, True, "no_answer")
    found = await connector.requery(request)
    assert (found.outcome, found.provider_status) == (Outcome.SUCCEEDED, "000/delivered")
    vends = (await admin.get("/_sandbox/vends")).json()
    assert vends["count"] == 1
    assert vends["by_request_id"] == {request.reference: 1}


async def test_reused_request_id_is_014_and_never_vends_twice(
    connector: VTpassConnector, sandbox: VTpassSandboxState
):
    request = purchase(connector)
    assert (await connector.pay(request)).outcome is Outcome.SUCCEEDED
    again = await connector.pay(request)
    assert (again.outcome, again.provider_status) == (Outcome.UNKNOWN, "014")
    assert (await connector.requery(request)).outcome is Outcome.SUCCEEDED
    assert sandbox.vend_count(request.reference) == 1


async def test_concurrent_duplicates_vend_once(
    connector: VTpassConnector, sandbox: VTpassSandboxState
):
    request = purchase(connector)
    results = await asyncio.gather(*(connector.pay(request) for _ in range(40)))
    statuses = sorted(result.provider_status for result in results)
    assert statuses == ["000/delivered"] + ["014"] * 39
    assert sandbox.vend_count(request.reference) == 1


async def test_requery_of_an_unknown_request_id_is_015(connector: VTpassConnector):
    result = await connector.requery(purchase(connector))
    assert (result.outcome, result.provider_status) == (Outcome.NOT_FOUND, "015")


@pytest.mark.parametrize(
    "reference",
    [
        "202001010000Abcdefghijk",
        # Stamped in UTC instead of Lagos time: an hour behind (providers.md §6.9).
        datetime.now(UTC).strftime("%Y%m%d%H%M") + "Abcdefghijk",
        "2025x3100900Abcdefghijk",
        "2025",
    ],
)
async def test_improper_request_id_is_085(
    connector: VTpassConnector, sandbox: VTpassSandboxState, reference: str
):
    stale = VendRequest(reference, AIRTIME, "08011111111", 10_000, "08031234567")
    result = await connector.pay(stale)
    assert (result.outcome, result.provider_status) == (Outcome.UNKNOWN, "085")
    assert sandbox.vends() == []


async def test_duplicate_rule_019_when_switched_on(
    connector: VTpassConnector, sandbox: VTpassSandboxState, admin: httpx.AsyncClient
):
    await admin.post("/_sandbox/config", json={"duplicate_window_seconds": 30})
    assert (await connector.pay(purchase(connector))).outcome is Outcome.SUCCEEDED
    second = await connector.pay(purchase(connector))
    assert (second.outcome, second.provider_status) == (Outcome.FAILED, "019")
    assert len(sandbox.vends()) == 1


# --- the documented magic numbers --------------------------------------------------------------


async def test_magic_pending_never_resolves(
    connector: VTpassConnector, sandbox: VTpassSandboxState
):
    request = purchase(connector, customer="201000000000")
    assert (await connector.pay(request)).provider_status == "000/pending"
    for _ in range(3):
        assert (await connector.requery(request)).outcome is Outcome.UNKNOWN
    assert sandbox.vends() == []


async def test_magic_unexpected_response(connector: VTpassConnector, sandbox: VTpassSandboxState):
    request = purchase(connector, customer="500000000000")
    garbled = await connector.pay(request)
    assert (garbled.outcome, garbled.response) == (Outcome.UNKNOWN, None)
    assert garbled.raw_text and garbled.raw_text.startswith("<html>")
    assert (await connector.requery(request)).outcome is Outcome.SUCCEEDED
    assert sandbox.vend_count(request.reference) == 1


@pytest.mark.parametrize(
    ("phone", "requery_status", "vends"),
    [("400000000000", "000/delivered", 1), ("300000000000", "015", 0)],
    ids=["no-response", "timeout"],
)
async def test_magic_silences(
    connector: VTpassConnector,
    sandbox: VTpassSandboxState,
    phone: str,
    requery_status: str,
    vends: int,
):
    request = purchase(connector, customer=phone)
    silent = await connector.pay(request)
    assert (silent.outcome, silent.sent) == (Outcome.UNKNOWN, True)
    assert (await connector.requery(request)).provider_status == requery_status
    assert sandbox.vend_count(request.reference) == vends


# --- faults ------------------------------------------------------------------------------------


async def test_next_n_5xx_then_recovery(
    connector: VTpassConnector, sandbox: VTpassSandboxState, admin: httpx.AsyncClient
):
    faults = {"rules": [{"kind": "error_5xx", "endpoint": "pay", "times": 2}]}
    await admin.post("/_sandbox/faults", json=faults)
    requests = [purchase(connector) for _ in range(2)]
    failed = [await connector.pay(request) for request in requests]
    assert [(r.outcome, r.http_status) for r in failed] == [(Outcome.UNKNOWN, 500)] * 2
    assert (await connector.requery(requests[0])).provider_status == "015"  # nothing processed
    assert (await connector.pay(purchase(connector))).outcome is Outcome.SUCCEEDED
    assert (await admin.get("/_sandbox/faults")).json()["rules"] == []


async def test_faults_can_target_one_customer(
    connector: VTpassConnector, sandbox: VTpassSandboxState
):
    sandbox.add_fault(FaultRule(kind=FaultKind.ERROR_5XX, target="08022222222"))
    assert (await connector.pay(purchase(connector, customer="08022222222"))).http_status == 500
    assert (await connector.pay(purchase(connector, customer="08033333333"))).http_status == 200


async def test_fault_rate_zero_never_fires(connector: VTpassConnector, sandbox: VTpassSandboxState):
    sandbox.add_fault(FaultRule(kind=FaultKind.ERROR_5XX, rate=0.0))
    assert (await connector.pay(purchase(connector))).outcome is Outcome.SUCCEEDED


async def test_unreadable_fault_still_processes(
    connector: VTpassConnector, sandbox: VTpassSandboxState
):
    sandbox.add_fault(FaultRule(kind=FaultKind.UNREADABLE, endpoint="pay", times=1))
    request = purchase(connector)
    assert (await connector.pay(request)).provider_status == "unreadable"
    assert (await connector.requery(request)).outcome is Outcome.SUCCEEDED
    assert sandbox.vend_count(request.reference) == 1


async def test_timeout_fault_processes_nothing(
    connector: VTpassConnector, sandbox: VTpassSandboxState
):
    sandbox.add_fault(FaultRule(kind=FaultKind.TIMEOUT, endpoint="pay", times=1))
    request = purchase(connector)
    assert (await connector.pay(request)).provider_status == "no_answer"
    assert (await connector.requery(request)).provider_status == "015"
    assert sandbox.vends() == []


async def test_latency(connector: VTpassConnector, sandbox: VTpassSandboxState):
    sandbox.set_faults(Faults(latency_ms=150))
    started = asyncio.get_running_loop().time()
    assert (await connector.pay(purchase(connector))).outcome is Outcome.SUCCEEDED
    assert asyncio.get_running_loop().time() - started >= 0.15


async def test_never_resolving_pending_fault(
    connector: VTpassConnector, sandbox: VTpassSandboxState
):
    sandbox.add_fault(FaultRule(kind=FaultKind.PENDING_FOREVER))
    request = purchase(connector)
    await connector.pay(request)
    results = [await connector.requery(request) for _ in range(3)]
    assert {result.provider_status for result in results} == {"000/pending"}


# --- reversal and its callback -----------------------------------------------------------------


@pytest.fixture
def callback_receiver() -> Iterator[tuple[str, list[tuple[str, bytes]]]]:
    """A billpay-like endpoint ``POST /webhooks/vtpass/{token}`` that records what it gets."""
    received: list[tuple[str, bytes]] = []

    async def receive(request: Request) -> JSONResponse:
        received.append((request.path_params["token"], await request.body()))
        return JSONResponse(WEBHOOK_ACK)

    app = Starlette(routes=[Route("/webhooks/vtpass/{token}", receive, methods=["POST"])])
    with serve(app) as running:
        yield f"{running.url}/webhooks/vtpass/{WEBHOOK_TOKEN}", received


async def wait_for(received: list[Any], count: int = 1) -> None:
    for _ in range(200):
        if len(received) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("no callback arrived")


async def test_reversal_after_delivery_sends_a_transaction_update(
    connector: VTpassConnector,
    sandbox: VTpassSandboxState,
    callback_receiver: tuple[str, list[tuple[str, bytes]]],
):
    url, received = callback_receiver
    sandbox.options = SandboxOptions(callback_url=url)
    sandbox.add_fault(FaultRule(kind=FaultKind.REVERSE_AFTER_DELIVERY, times=1))
    request = purchase(connector, EKO_PREPAID, PREPAID_METER, 500_000)
    assert (await connector.pay(request)).outcome is Outcome.SUCCEEDED
    await wait_for(received)
    token, body = received[0]
    event = connector.parse_webhook({}, body, token)
    assert (event.reference, event.claimed_status) == (request.reference, "reversed")
    assert json.loads(body)["data"]["code"] == "040"
    after = await connector.requery(request)
    assert (after.outcome, after.reversed) == (Outcome.FAILED, True)
    assert [vend.reversed for vend in sandbox.vends()] == [True]
    assert [delivery.result for delivery in sandbox.webhooks()] == [200]


async def test_reverse_over_the_admin_endpoint(
    connector: VTpassConnector,
    sandbox: VTpassSandboxState,
    admin: httpx.AsyncClient,
    callback_receiver: tuple[str, list[tuple[str, bytes]]],
):
    url, received = callback_receiver
    await admin.post("/_sandbox/config", json={"callback_url": url})
    request = purchase(connector)
    await connector.pay(request)
    reversed_ = await admin.post("/_sandbox/reverse", json={"request_id": request.reference})
    assert reversed_.json()["status"] == "reversed"
    assert len(received) == 1
    assert (await connector.requery(request)).reversed
    missing = await admin.post("/_sandbox/reverse", json={"request_id": "nope"})
    assert missing.status_code == 404
    deliveries = (await admin.get("/_sandbox/webhooks")).json()["deliveries"]
    assert [delivery["result"] for delivery in deliveries] == [200]


# --- credentials and verification --------------------------------------------------------------


async def test_wrong_credentials_are_087(server: ThreadedServer, sandbox: VTpassSandboxState):
    wrong_secret = VTpassConnector(settings_for(server, vtpass_secret_key="SK_guess"))
    wrong_public = VTpassConnector(settings_for(server, vtpass_public_key="PK_guess"))
    try:
        result = await wrong_secret.pay(purchase(wrong_secret))
        assert (result.outcome, result.provider_status) == (Outcome.FAILED, "087")
        assert result.response is not None
        assert result.response["response_description"] == "INVALID CREDENTIALS"
        with pytest.raises(ProviderError):
            await wrong_public.catalog()
    finally:
        await wrong_secret.aclose()
        await wrong_public.aclose()
    assert sandbox.vends() == []


async def test_verify_meters_and_smartcards(connector: VTpassConnector):
    prepaid = await connector.validate_customer(EKO_PREPAID, PREPAID_METER)
    assert (prepaid.status, prepaid.customer_name, prepaid.min_kobo) == (
        ValidationStatus.VALID,
        "TESTMETER1",
        50_000,
    )
    postpaid = await connector.validate_customer(IKEJA_POSTPAID, POSTPAID_METER)
    assert postpaid.status is ValidationStatus.VALID
    tv = await connector.validate_customer(DSTV, SMARTCARD)
    assert tv.status is ValidationStatus.VALID


@pytest.mark.parametrize(
    ("product", "customer"),
    [
        (EKO_PREPAID, "1234567890123"),
        (IKEJA_PREPAID, POSTPAID_METER),
        (DSTV, "7027914329"),
    ],
)
async def test_invalid_customers(
    connector: VTpassConnector, product: ProviderProduct, customer: str
):
    result = await connector.validate_customer(product, customer)
    assert result.status is ValidationStatus.INVALID
    assert result.message


async def test_verify_5xx_is_unavailable(connector: VTpassConnector, sandbox: VTpassSandboxState):
    sandbox.add_fault(FaultRule(kind=FaultKind.ERROR_5XX, endpoint="merchant-verify", times=1))
    outage = await connector.validate_customer(EKO_PREPAID, "1234567890123")
    assert outage.status is ValidationStatus.UNAVAILABLE
    assert (await connector.validate_customer(EKO_PREPAID, PREPAID_METER)).status is (
        ValidationStatus.VALID
    )


# --- admin endpoints ---------------------------------------------------------------------------


async def test_admin_faults_round_trip_and_validation(
    admin: httpx.AsyncClient, sandbox: VTpassSandboxState
):
    rule = {"kind": "pending_then_delivered", "target": "08011111111", "pending_requeries": 1}
    answer = (await admin.post("/_sandbox/faults", json={"latency_ms": 5, "rules": [rule]})).json()
    assert answer["latency_ms"] == 5 and answer["timeout_seconds"] == 35.0
    assert answer["rules"][0]["kind"] == "pending_then_delivered"
    assert answer["rules"][0]["endpoint"] is None
    kept = (await admin.post("/_sandbox/faults", json={"latency_ms": 0})).json()
    assert len(kept["rules"]) == 1
    bad = await admin.post("/_sandbox/faults", json={"rules": [{"kind": "gremlins"}]})
    assert bad.status_code == 422
    assert (await admin.post("/_sandbox/faults", content=b"[")).status_code == 422
    assert (await admin.post("/_sandbox/config", json={"strict": True})).status_code == 422


async def test_admin_reset(
    connector: VTpassConnector, sandbox: VTpassSandboxState, admin: httpx.AsyncClient
):
    await connector.pay(purchase(connector))
    sandbox.add_fault(FaultRule(kind=FaultKind.ERROR_5XX))
    sandbox.options.strict_magic_numbers = True
    assert (await admin.post("/_sandbox/reset")).json() == {"reset": True}
    assert (await admin.get("/_sandbox/config")).json()["strict_magic_numbers"] is False
    assert (await admin.get("/_sandbox/vends")).json() == {
        "count": 0,
        "by_request_id": {},
        "vends": [],
    }
    assert (await connector.pay(purchase(connector))).outcome is Outcome.SUCCEEDED


async def test_balance_follows_vends(admin: httpx.AsyncClient, connector: VTpassConnector):
    headers = {"api-key": KEYS["vtpass_api_key"], "public-key": KEYS["vtpass_public_key"]}
    before = (await admin.get("/api/balance", headers=headers)).json()["contents"]["balance"]
    await connector.pay(purchase(connector, kobo=10_050))
    after = (await admin.get("/api/balance", headers=headers)).json()["contents"]["balance"]
    assert before == 100_000_000
    assert after == "99999899.50"


def test_reset_restores_the_options_the_state_was_built_with():
    state = VTpassSandboxState(options=SandboxOptions(strict_magic_numbers=True))
    state.options.strict_magic_numbers = False
    state.options.callback_url = "http://127.0.0.1:1/hook"
    state.reset()
    assert state.options == SandboxOptions(strict_magic_numbers=True)

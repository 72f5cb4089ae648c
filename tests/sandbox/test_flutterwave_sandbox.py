"""The Flutterwave connector against the Flutterwave sandbox, over real HTTP on loopback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from billpay.config import Settings
from billpay.providers.base import (
    BillType,
    MeterType,
    Outcome,
    ProviderProduct,
    ValidationStatus,
    VendRequest,
)
from billpay.providers.flutterwave import FlutterwaveConnector
from billpay.sandbox.flutterwave import (
    SANDBOX_SECRET_HASH,
    SANDBOX_SECRET_KEY,
    Fault,
    FaultKind,
    FlutterwaveSandboxState,
    Operation,
    create_app,
)
from billpay.sandbox.server import ThreadedServer, serve

STATE = FlutterwaveSandboxState()
PHONE = "08031234567"
SMARTCARD = "1212121212"
METER = "1111111111111"
MTN = ProviderProduct(BillType.AIRTIME, "BIL099", "AT099")
DSTV_COMPACT = ProviderProduct(BillType.CABLE_TV, "BIL119", "CB141")
EKO_PREPAID = ProviderProduct(BillType.ELECTRICITY, "BIL110", "UB134", MeterType.PREPAID)
CUSTOMERS = {
    BillType.AIRTIME: PHONE,
    BillType.DATA: PHONE,
    BillType.CABLE_TV: SMARTCARD,
    BillType.ELECTRICITY: METER,
    BillType.BETTING: "BP99123",
}


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadedServer]:
    with serve(create_app(STATE)) as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh_sandbox() -> None:
    STATE.reset()
    STATE.webhook_url = None


def settings(server: ThreadedServer, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "flutterwave_base_url": f"{server.url}/v3",
        "flutterwave_secret_key": SANDBOX_SECRET_KEY,
        "flutterwave_secret_hash": SANDBOX_SECRET_HASH,
        "provider_timeout_seconds": 5.0,
    }
    return Settings(_env_file=None, **(values | overrides))  # type: ignore[call-arg]


@pytest.fixture
async def flw(server: ThreadedServer) -> AsyncIterator[FlutterwaveConnector]:
    connector = FlutterwaveConnector(settings(server))
    yield connector
    await connector.aclose()


def purchase(
    flw: FlutterwaveConnector,
    product: ProviderProduct = MTN,
    customer: str = PHONE,
    amount_kobo: int = 50_000,
) -> VendRequest:
    return VendRequest(flw.new_reference(datetime.now(UTC)), product, customer, amount_kobo, PHONE)


# --- the publicly reported failure mode --------------------------------------------------------


async def test_500_after_vending_is_unknown_then_requery_finds_exactly_one_vend(
    flw: FlutterwaveConnector,
) -> None:
    STATE.add_fault(Fault(FaultKind.ERROR_AFTER_VEND, customer_id=PHONE))
    request = purchase(flw)

    paid = await flw.pay(request)
    requeried = await flw.requery(request)
    resent = await flw.pay(request)  # even a careless resend under the same reference…

    assert (paid.outcome, paid.http_status) == (Outcome.UNKNOWN, 500)
    assert requeried.outcome is Outcome.SUCCEEDED
    assert requeried.provider_transaction_id == STATE.vends()[request.reference].flutterwave_ref
    assert resent.outcome is Outcome.UNKNOWN  # …is refused as a duplicate, never FAILED
    assert STATE.vend_count == 1  # …and vends nothing more
    assert STATE.vends()[request.reference].duplicate_attempts == 1


async def test_vend_then_timeout_is_unknown_and_requery_succeeds(server: ThreadedServer) -> None:
    STATE.add_fault(Fault(FaultKind.TIMEOUT_AFTER_VEND, seconds=3.0))
    flw = FlutterwaveConnector(settings(server, provider_timeout_seconds=0.3))
    request = purchase(flw)

    paid = await flw.pay(request)
    requeried = await flw.requery(request)
    await flw.aclose()

    assert (paid.outcome, paid.sent, paid.provider_status) == (Outcome.UNKNOWN, True, "timeout")
    assert requeried.outcome is Outcome.SUCCEEDED
    assert STATE.vend_count == 1


async def test_a_timeout_before_vending_stays_unknown_and_vends_nothing(
    server: ThreadedServer,
) -> None:
    STATE.add_fault(Fault(FaultKind.TIMEOUT, seconds=3.0))
    flw = FlutterwaveConnector(settings(server, provider_timeout_seconds=0.3))
    request = purchase(flw)

    paid = await flw.pay(request)
    requeried = await flw.requery(request)  # "not found" is not proof of failure
    await flw.aclose()

    assert (paid.outcome, requeried.outcome) == (Outcome.UNKNOWN, Outcome.UNKNOWN)
    assert requeried.http_status == 404
    assert STATE.vend_count == 0


async def test_next_n_server_errors_then_normal_service(flw: FlutterwaveConnector) -> None:
    STATE.add_fault(Fault(FaultKind.SERVER_ERROR, count=2))

    outcomes = [(await flw.pay(purchase(flw))).outcome for _ in range(3)]

    assert outcomes == [Outcome.UNKNOWN, Outcome.UNKNOWN, Outcome.SUCCEEDED]
    assert STATE.vend_count == 1


async def test_a_connection_refused_is_unknown_and_not_sent() -> None:
    closed = ThreadedServer(create_app())  # never started: its port refuses connections
    flw = FlutterwaveConnector(settings(closed))

    result = await flw.pay(purchase(flw))
    await flw.aclose()

    assert (result.outcome, result.sent) == (Outcome.UNKNOWN, False)


# --- pending -----------------------------------------------------------------------------------


async def test_pending_then_success_resolves_by_requery(flw: FlutterwaveConnector) -> None:
    STATE.add_fault(Fault(FaultKind.PENDING_THEN_SUCCESS, pending_lookups=2))
    request = purchase(flw, EKO_PREPAID, METER, 500_000)

    paid = await flw.pay(request)
    lookups = [await flw.requery(request) for _ in range(3)]

    assert paid.outcome is Outcome.UNKNOWN
    assert [r.outcome for r in lookups] == [Outcome.UNKNOWN, Outcome.UNKNOWN, Outcome.SUCCEEDED]
    assert lookups[0].provider_status == "200/success/pending"
    assert lookups[-1].token is not None and len(lookups[-1].token) == 20
    assert STATE.vend_count == 1


async def test_pending_then_failure_is_failed_by_requery(flw: FlutterwaveConnector) -> None:
    STATE.add_fault(Fault(FaultKind.PENDING_THEN_FAILURE, pending_lookups=0))
    request = purchase(flw)

    paid = await flw.pay(request)
    looked_up = await flw.requery(request)

    assert (paid.outcome, looked_up.outcome) == (Outcome.UNKNOWN, Outcome.FAILED)


class WebhookReceiver:
    """A merchant endpoint that keeps what Flutterwave posts to it."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.app = FastAPI()
        self.app.add_api_route("/hooks/flutterwave", self.receive, methods=["POST"])

    async def receive(self, request: Request) -> Response:
        self.received.append((dict(request.headers), await request.body()))
        return Response(status_code=200)

    async def wait(self, count: int = 1, timeout: float = 5.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while len(self.received) < count and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.02)


async def test_a_pending_vend_settles_by_itself_and_its_webhook_verifies(
    flw: FlutterwaveConnector,
) -> None:
    receiver = WebhookReceiver()
    with serve(receiver.app) as merchant:
        STATE.webhook_url = f"{merchant.url}/hooks/flutterwave"
        STATE.add_fault(Fault(FaultKind.PENDING_THEN_SUCCESS, seconds=0.2, pending_lookups=99))
        request = purchase(flw)

        paid = await flw.pay(request)
        await receiver.wait()

    headers, body = receiver.received[0]
    event = flw.parse_webhook(headers, body, None)
    assert paid.outcome is Outcome.UNKNOWN
    assert (event.kind, event.reference, event.claimed_status) == (
        "singlebillpayment.status",
        request.reference,
        "success",
    )
    assert (await flw.requery(request)).outcome is Outcome.SUCCEEDED  # a webhook is only a hint
    assert [(d.reference, d.http_status) for d in STATE.deliveries()] == [(request.reference, 200)]


# --- every bill type ---------------------------------------------------------------------------


@pytest.mark.parametrize("bill_type", list(BillType))
async def test_each_bill_type_validates_and_pays(
    flw: FlutterwaveConnector, bill_type: BillType
) -> None:
    plans = [p for p in await flw.catalog() if p.bill_type is bill_type]
    plan = plans[0]
    product = ProviderProduct(bill_type, plan.biller_code, plan.plan_code, plan.meter_type)
    customer = CUSTOMERS[bill_type]

    validation = await flw.validate_customer(product, customer)
    amount_kobo = plan.price_kobo or validation.min_kobo or 100_000
    request = purchase(flw, product, customer, amount_kobo)
    result = await flw.pay(request)

    assert validation.status is ValidationStatus.VALID
    assert result.outcome is Outcome.SUCCEEDED, result.message
    assert STATE.vends()[request.reference].amount_kobo == amount_kobo


async def test_the_catalog_holds_every_bill_type_and_no_water_bills(
    flw: FlutterwaveConnector,
) -> None:
    plans = await flw.catalog()

    by_code = {p.plan_code: p for p in plans}
    assert {p.bill_type for p in plans} == set(BillType)
    assert by_code["CB141"].name == "DSTV Compact" and by_code["CB141"].price_kobo == 1_900_000
    assert by_code["MD104"].validity_days == 30
    assert by_code["UB134"].meter_type is MeterType.PREPAID
    assert by_code["UB158"].meter_type is MeterType.POSTPAID
    assert "UB160" not in by_code  # Lagos Water sits in UTILITYBILLS but is not electricity
    assert {p.biller_code for p in plans if p.bill_type is BillType.BETTING} == {"BIL250", "BIL251"}


async def test_prepaid_electricity_returns_a_20_digit_token(flw: FlutterwaveConnector) -> None:
    request = purchase(flw, EKO_PREPAID, METER, 500_000)

    paid = await flw.pay(request)
    requeried = await flw.requery(request)

    assert paid.outcome is Outcome.SUCCEEDED
    assert paid.token is not None and paid.token.isdigit() and len(paid.token) == 20
    assert requeried.token == paid.token
    assert requeried.units and requeried.units.endswith("kWh")
    assert paid.token not in json.dumps(paid.response)


async def test_the_legacy_endpoint_pays_and_requery_finds_it(server: ThreadedServer) -> None:
    flw = FlutterwaveConnector(settings(server, flutterwave_use_legacy_bills=True))
    request = purchase(flw, DSTV_COMPACT, SMARTCARD, 1_900_000)

    paid = await flw.pay(request)
    requeried = await flw.requery(request)
    await flw.aclose()

    vend = STATE.vends()[request.reference]
    assert (paid.outcome, requeried.outcome) == (Outcome.SUCCEEDED, Outcome.SUCCEEDED)
    assert vend.endpoint == "legacy"
    assert paid.response is not None and paid.response["data"]["flw_ref"].startswith("CF-FLYAPI-")


# --- refusals and validation -------------------------------------------------------------------


async def test_a_definite_failure_is_failed_and_vends_nothing(flw: FlutterwaveConnector) -> None:
    STATE.add_fault(Fault(FaultKind.DEFINITE_FAILURE, customer_id=SMARTCARD))

    result = await flw.pay(purchase(flw, DSTV_COMPACT, SMARTCARD, 1_900_000))

    assert (result.outcome, result.http_status) == (Outcome.FAILED, 400)
    assert STATE.vend_count == 0


async def test_a_wrong_price_for_a_fixed_price_item_is_refused(flw: FlutterwaveConnector) -> None:
    result = await flw.pay(purchase(flw, DSTV_COMPACT, SMARTCARD, 1_000_000))

    assert result.outcome is Outcome.FAILED
    assert "19000" in result.message
    assert STATE.vend_count == 0


async def test_faults_hit_only_their_target(flw: FlutterwaveConnector) -> None:
    STATE.add_fault(Fault(FaultKind.SERVER_ERROR, customer_id="08099999999", count=None))
    targeted = purchase(flw, customer="08099999999")
    STATE.add_fault(Fault(FaultKind.DEFINITE_FAILURE, reference=targeted.reference))

    other = await flw.pay(purchase(flw))
    hit = await flw.pay(targeted)

    assert (other.outcome, hit.outcome) == (Outcome.SUCCEEDED, Outcome.UNKNOWN)


@pytest.mark.parametrize(
    ("product", "customer", "name"),
    [
        (DSTV_COMPACT, SMARTCARD, "Test DSTV Account"),
        (EKO_PREPAID, METER, "Test Meter Account"),
        (MTN, "+2348031234567", "MTN"),
    ],
)
async def test_documented_test_values_validate(
    flw: FlutterwaveConnector, product: ProviderProduct, customer: str, name: str
) -> None:
    result = await flw.validate_customer(product, customer)

    assert (result.status, result.customer_name) == (ValidationStatus.VALID, name)


@pytest.mark.parametrize(
    ("product", "customer"), [(DSTV_COMPACT, "12"), (EKO_PREPAID, "abc"), (MTN, "0803")]
)
async def test_obviously_invalid_ids_are_invalid(
    flw: FlutterwaveConnector, product: ProviderProduct, customer: str
) -> None:
    result = await flw.validate_customer(product, customer)

    assert result.status is ValidationStatus.INVALID


async def test_a_validation_outage_is_unavailable_then_recovers(flw: FlutterwaveConnector) -> None:
    STATE.add_fault(Fault(FaultKind.SERVER_ERROR, operation=Operation.VALIDATE))

    first = await flw.validate_customer(DSTV_COMPACT, SMARTCARD)
    second = await flw.validate_customer(DSTV_COMPACT, SMARTCARD)

    assert (first.status, second.status) == (ValidationStatus.UNAVAILABLE, ValidationStatus.VALID)


async def test_latency_is_added(flw: FlutterwaveConnector) -> None:
    STATE.add_fault(Fault(FaultKind.LATENCY, seconds=0.3, operation=Operation.ANY))
    started = asyncio.get_running_loop().time()

    result = await flw.validate_customer(MTN, PHONE)

    assert result.status is ValidationStatus.VALID
    assert asyncio.get_running_loop().time() - started >= 0.3


# --- raw HTTP: auth and admin ------------------------------------------------------------------


async def test_a_wrong_key_is_refused_like_flutterwave(server: ThreadedServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as http:
        answer = await http.get(
            "/v3/top-bill-categories",
            params={"country": "NG"},
            headers={"Authorization": "Bearer FLWSECK_TEST-wrong"},
        )

    assert answer.status_code == 401
    assert answer.json() == {
        "status": "error",
        "message": "Invalid authorization key",
        "data": None,
    }


async def test_admin_endpoints_set_faults_list_vends_and_reset(
    server: ThreadedServer, flw: FlutterwaveConnector
) -> None:
    async with httpx.AsyncClient(base_url=server.url) as admin:
        added = await admin.post(
            "/_sandbox/faults", json={"kind": "error_after_vend", "customer_id": PHONE}
        )
        refused = await admin.post(
            "/_sandbox/faults", json={"kind": "error_after_vend", "operation": "lookup"}
        )
        request = purchase(flw)
        paid = await flw.pay(request)
        listed = (await admin.get("/_sandbox/vends")).json()
        reset = await admin.post("/_sandbox/reset")
        after = (await admin.get("/_sandbox/vends")).json()

    assert added.json()["fault"] == {
        "kind": "error_after_vend",
        "customer_id": PHONE,
        "reference": None,
        "count": 1,
        "seconds": None,
        "pending_lookups": 2,
        "operation": "create",
    }
    assert refused.status_code == 422
    assert paid.outcome is Outcome.UNKNOWN
    assert listed["count"] == 1
    assert listed["vends"][request.reference]["status"] == "success"
    assert listed["vends"][request.reference]["amount_kobo"] == 50_000
    assert reset.status_code == 200
    assert after == {"count": 0, "vends": {}}


# --- issue #11: fractional webhook amounts, lost purchases, duplicate references ---------------


async def test_a_fractional_amount_goes_out_in_the_webhook_as_flutterwave_writes_it(
    flw: FlutterwaveConnector,
) -> None:
    receiver = WebhookReceiver()
    with serve(receiver.app) as merchant:
        STATE.webhook_url = f"{merchant.url}/hooks/flutterwave"
        request = purchase(flw, amount_kobo=50_050)  # ₦500.50

        paid = await flw.pay(request)
        await receiver.wait(timeout=30.0)

    headers, body = receiver.received[0]
    assert paid.outcome is Outcome.SUCCEEDED
    assert b'"amount":500.5,' in body  # a JSON number with a fraction, as in providers.md §2.6
    assert flw.parse_webhook(headers, body, None).reference == request.reference


async def test_a_lost_purchase_is_cut_off_unrecorded_and_a_resend_vends_once(
    flw: FlutterwaveConnector,
) -> None:
    request = purchase(flw)
    STATE.add_fault(Fault(FaultKind.LOST_PURCHASE, reference=request.reference))

    lost = await flw.pay(request)
    looked_up = await flw.requery(request)
    resent = await flw.pay(request)
    duplicate = await flw.pay(request)

    assert (lost.outcome, lost.sent, lost.http_status) == (Outcome.UNKNOWN, True, None)
    # Not found by our own reference is not proof it never arrived (providers.md §2.5).
    assert looked_up.outcome is Outcome.UNKNOWN
    assert resent.outcome is Outcome.SUCCEEDED
    assert (duplicate.outcome, duplicate.http_status) == (Outcome.UNKNOWN, 400)
    assert list(STATE.vends()) == [request.reference]

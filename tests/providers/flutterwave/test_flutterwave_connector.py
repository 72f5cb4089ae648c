"""The Flutterwave connector's HTTP behaviour, over ``httpx.MockTransport``."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs

from billpay.config import Settings
from billpay.providers.base import (
    BillProvider,
    BillType,
    MeterType,
    Outcome,
    ProviderError,
    ProviderProduct,
    ValidationStatus,
    VendRequest,
)
from billpay.providers.flutterwave import FlutterwaveConnector
from billpay.redact import redact

FIXTURES = Path(__file__).parents[2] / "fixtures" / "flutterwave"
SECRET_KEY = "FLWSECK_TEST-5ecret-do-not-leak-X"
SECRET_HASH = "hash-do-not-leak"
TOKEN = "43219876501234567890"
DSTV = ProviderProduct(BillType.CABLE_TV, "BIL119", "CB141")
EKO = ProviderProduct(BillType.ELECTRICITY, "BIL110", "UB134", MeterType.PREPAID)

Handler = Callable[[httpx.Request], httpx.Response]


def fixture(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return body


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "flutterwave_base_url": "https://api.flutterwave.com/v3",
        "flutterwave_secret_key": SECRET_KEY,
        "flutterwave_secret_hash": SECRET_HASH,
        "provider_timeout_seconds": 5.0,
    }
    return Settings(_env_file=None, **(values | overrides))  # type: ignore[call-arg]


class Recorder:
    """A MockTransport handler that answers from a route table and remembers every request."""

    def __init__(self, routes: dict[tuple[str, str], Handler | httpx.Response]) -> None:
        self.routes = routes
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        route = self.routes.get((request.method, request.url.path))
        if route is None:
            return httpx.Response(404, json={"status": "error", "message": "no such route"})
        return route(request) if callable(route) else route

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content, parse_float=Decimal) for r in self.requests if r.content]


def connector(recorder: Recorder, **overrides: Any) -> FlutterwaveConnector:
    client = httpx.AsyncClient(transport=httpx.MockTransport(recorder))
    callback_url = overrides.pop("callback_url", None)
    return FlutterwaveConnector(settings(**overrides), client, callback_url=callback_url)


def raising(error: Exception) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    return handler


def vend_request(product: ProviderProduct = DSTV, amount_kobo: int = 1_900_000) -> VendRequest:
    customer = "1111111111111" if product is EKO else "0025401100"
    reference = f"BP-20240324-{product.plan_code.lower()}{amount_kobo}"
    return VendRequest(reference, product, customer, amount_kobo, "08031234567")


PAY_PATH = "/v3/billers/BIL119/items/CB141/payment"


# --- construction ------------------------------------------------------------------------------


def test_it_is_a_bill_provider() -> None:
    assert isinstance(connector(Recorder({})), BillProvider)


def test_credentials_are_required() -> None:
    with pytest.raises(ValueError, match="FLUTTERWAVE_SECRET_KEY"):
        FlutterwaveConnector(settings(flutterwave_secret_key=None))


def test_new_references_are_dated_and_unique() -> None:
    now = datetime(2024, 3, 24, 9, 14, tzinfo=UTC)
    flw = connector(Recorder({}))

    references = {flw.new_reference(now) for _ in range(1000)}

    assert len(references) == 1000
    assert all(r.startswith("BP-20240324-") and len(r) == 28 for r in references)
    # Stored evidence goes through redact(): a reference must never look like a token there.
    assert all(redact(r) == r for r in references)


# --- pay ---------------------------------------------------------------------------------------


async def test_pay_posts_to_the_current_endpoint_with_bearer_auth_and_our_reference() -> None:
    recorder = Recorder({("POST", PAY_PATH): httpx.Response(200, json=fixture("create_current"))})
    request = vend_request()

    result = await connector(recorder).pay(request)

    sent = recorder.requests[0]
    assert str(sent.url) == f"https://api.flutterwave.com{PAY_PATH}"
    assert sent.headers["authorization"] == f"Bearer {SECRET_KEY}"
    assert sent.headers["content-type"] == "application/json"
    assert recorder.bodies() == [
        {
            "country": "NG",
            "customer_id": "0025401100",
            "amount": 19000,
            "reference": request.reference,
        }
    ]
    assert result.outcome is Outcome.SUCCEEDED
    assert result.provider_transaction_id == "CF-FLYAPI-20240324091413750321"
    assert result.request["path"] == PAY_PATH


async def test_the_seed_style_base_url_without_v3_works_too() -> None:
    recorder = Recorder({("POST", PAY_PATH): httpx.Response(200, json=fixture("create_current"))})
    flw = connector(recorder, flutterwave_base_url="https://api.flutterwave.com/")

    await flw.pay(vend_request())

    assert str(recorder.requests[0].url) == f"https://api.flutterwave.com{PAY_PATH}"


async def test_callback_url_is_sent_when_configured() -> None:
    recorder = Recorder({("POST", PAY_PATH): httpx.Response(200, json=fixture("create_current"))})

    await connector(recorder, callback_url="https://billpay.example/flw").pay(vend_request())

    assert recorder.bodies()[0]["callback_url"] == "https://billpay.example/flw"


async def test_fractional_naira_goes_out_as_an_exact_number() -> None:
    path = "/v3/billers/BIL110/items/UB134/payment"
    recorder = Recorder({("POST", path): httpx.Response(200, json=fixture("create_current"))})

    await connector(recorder).pay(vend_request(EKO, amount_kobo=123_450))

    assert b'"amount":1234.50' in recorder.requests[0].content


def legacy_routes(create: httpx.Response) -> dict[tuple[str, str], Handler | httpx.Response]:
    items = {"status": "success", "message": "ok", "data": fixture("items_bil119")["data"]}
    return {
        ("GET", "/v3/billers/BIL119/items"): httpx.Response(200, json=items),
        ("POST", "/v3/bills"): create,
    }


async def test_legacy_mode_posts_to_v3_bills_naming_the_item() -> None:
    recorder = Recorder(legacy_routes(httpx.Response(200, json=fixture("create_legacy"))))
    flw = connector(recorder, flutterwave_use_legacy_bills=True)
    first, second = vend_request(), vend_request(amount_kobo=1_900_001)

    result = await flw.pay(first)
    await flw.pay(second)

    paths = [(r.method, r.url.path) for r in recorder.requests]
    # The item list is fetched once, then reused.
    assert paths == [
        ("GET", "/v3/billers/BIL119/items"),
        ("POST", "/v3/bills"),
        ("POST", "/v3/bills"),
    ]
    assert recorder.bodies()[0] == {
        "country": "NG",
        "customer": "0025401100",
        "amount": 19000,
        "recurrence": "ONCE",
        "type": "DSTV",
        "reference": first.reference,
        "biller_name": "DSTV Compact",
    }
    assert result.outcome is Outcome.SUCCEEDED


async def test_legacy_mode_with_an_unknown_item_fails_without_sending() -> None:
    recorder = Recorder(legacy_routes(httpx.Response(200, json=fixture("create_legacy"))))
    product = ProviderProduct(BillType.CABLE_TV, "BIL119", "CB999")

    result = await connector(recorder, flutterwave_use_legacy_bills=True).pay(vend_request(product))

    assert (result.outcome, result.sent) == (Outcome.FAILED, False)
    assert [r.method for r in recorder.requests] == ["GET"]


async def test_legacy_mode_item_outage_is_unknown_and_not_sent() -> None:
    recorder = Recorder({("GET", "/v3/billers/BIL119/items"): httpx.Response(503, text="busy")})

    result = await connector(recorder, flutterwave_use_legacy_bills=True).pay(vend_request())

    assert (result.outcome, result.sent) == (Outcome.UNKNOWN, False)
    assert [r.method for r in recorder.requests] == ["GET"]


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        (
            httpx.Response(500, json={"status": "error", "message": "Internal error"}),
            Outcome.UNKNOWN,
        ),
        (httpx.Response(502, text="<html>bad gateway</html>"), Outcome.UNKNOWN),
        (httpx.Response(504), Outcome.UNKNOWN),
        (httpx.Response(200, text="not json"), Outcome.UNKNOWN),
        (
            httpx.Response(400, json={"status": "error", "message": "Invalid customer"}),
            Outcome.FAILED,
        ),
        (
            httpx.Response(400, json={"status": "error", "message": "Duplicate reference"}),
            Outcome.UNKNOWN,
        ),
    ],
)
async def test_pay_classification_over_http(answer: httpx.Response, outcome: Outcome) -> None:
    result = await connector(Recorder({("POST", PAY_PATH): answer})).pay(vend_request())

    assert (result.outcome, result.sent, result.http_status) == (outcome, True, answer.status_code)


async def test_a_timeout_on_create_is_unknown_and_counted_as_sent() -> None:
    recorder = Recorder({("POST", PAY_PATH): raising(httpx.ReadTimeout("slow"))})

    result = await connector(recorder).pay(vend_request())

    assert (result.outcome, result.sent, result.provider_status) == (
        Outcome.UNKNOWN,
        True,
        "timeout",
    )


@pytest.mark.parametrize("error", [httpx.ConnectError("refused"), httpx.ConnectTimeout("no route")])
async def test_a_connection_that_never_opened_is_unknown_and_not_sent(error: Exception) -> None:
    recorder = Recorder({("POST", PAY_PATH): raising(error)})

    result = await connector(recorder).pay(vend_request())

    assert (result.outcome, result.sent) == (Outcome.UNKNOWN, False)


async def test_a_connection_dropped_mid_answer_is_unknown_and_sent() -> None:
    recorder = Recorder({("POST", PAY_PATH): raising(httpx.RemoteProtocolError("eof"))})

    result = await connector(recorder).pay(vend_request())

    assert (result.outcome, result.sent, result.provider_status) == (
        Outcome.UNKNOWN,
        True,
        "transport-error",
    )


async def test_the_configured_timeout_is_applied() -> None:
    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(200, json=fixture("create_current"))

    await connector(Recorder({("POST", PAY_PATH): handler}), provider_timeout_seconds=1.5).pay(
        vend_request()
    )

    assert seen[0]["read"] == 1.5


async def test_secrets_and_tokens_never_reach_results_or_logs() -> None:
    created = fixture("create_current")
    created["data"]["recharge_token"] = TOKEN
    looked_up = fixture("status_verbose_successful")
    looked_up["data"] |= {"extra": {"recharge_token": TOKEN}, "customer_reference": None}
    request = vend_request(EKO, amount_kobo=500_000)
    recorder = Recorder(
        {
            ("POST", "/v3/billers/BIL110/items/UB134/payment"): httpx.Response(200, json=created),
            ("GET", f"/v3/bills/{request.reference}"): httpx.Response(200, json=looked_up),
        }
    )
    flw = connector(recorder)

    with capture_logs() as logs:
        paid = await flw.pay(request)
        requeried = await flw.requery(request)

    assert paid.token == requeried.token == TOKEN  # for the payment's owner only
    assert [log["event"] for log in logs] == ["flutterwave.pay", "flutterwave.requery"]
    evidence = repr([paid.request, paid.response, requeried.request, requeried.response, logs])
    for secret in (SECRET_KEY, SECRET_HASH, TOKEN):
        assert secret not in evidence
        assert secret not in repr(paid.message) + repr(requeried.message)


# --- requery -----------------------------------------------------------------------------------


async def test_requery_looks_up_our_reference_verbosely() -> None:
    request = vend_request()
    body = fixture("status_verbose_successful")
    body["data"]["customer_reference"] = request.reference
    recorder = Recorder({("GET", f"/v3/bills/{request.reference}"): httpx.Response(200, json=body)})

    result = await connector(recorder).requery(request)

    assert recorder.requests[0].url.params["verbose"] == "1"
    assert recorder.requests[0].headers["authorization"] == f"Bearer {SECRET_KEY}"
    assert result.outcome is Outcome.SUCCEEDED
    assert result.provider_transaction_id == "CF-FLYAPI-20200311081921359990"


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        (
            httpx.Response(404, json={"status": "error", "message": "Bill not found"}),
            Outcome.UNKNOWN,
        ),
        (httpx.Response(500, text="oops"), Outcome.UNKNOWN),
        (httpx.Response(200, json=fixture("status_verbose")), Outcome.UNKNOWN),  # no status field
    ],
)
async def test_requery_never_calls_an_unproven_purchase_failed(
    answer: httpx.Response, outcome: Outcome
) -> None:
    request = vend_request()
    recorder = Recorder({("GET", f"/v3/bills/{request.reference}"): answer})

    assert (await connector(recorder).requery(request)).outcome is outcome


async def test_requery_failed_status_is_failed() -> None:
    request = vend_request()
    body = fixture("status_verbose_successful")
    body["data"] |= {"status": "failed", "customer_reference": request.reference}
    recorder = Recorder({("GET", f"/v3/bills/{request.reference}"): httpx.Response(200, json=body)})

    assert (await connector(recorder).requery(request)).outcome is Outcome.FAILED


# --- validate ----------------------------------------------------------------------------------

VALIDATE_PATH = "/v3/bill-items/CB141/validate"


async def test_validate_sends_item_biller_and_customer() -> None:
    recorder = Recorder({("GET", VALIDATE_PATH): httpx.Response(200, json=fixture("validate"))})

    result = await connector(recorder).validate_customer(DSTV, "0025401100")

    params = recorder.requests[0].url.params
    assert (params["code"], params["customer"]) == ("BIL119", "0025401100")
    assert (result.status, result.customer_name) == (ValidationStatus.VALID, "Test DSTV Account")


@pytest.mark.parametrize(
    ("route", "expected"),
    [
        (
            httpx.Response(400, json={"status": "error", "message": "Invalid"}),
            ValidationStatus.INVALID,
        ),
        (
            httpx.Response(500, json={"status": "error", "message": "Down"}),
            ValidationStatus.UNAVAILABLE,
        ),
        (raising(httpx.ReadTimeout("slow")), ValidationStatus.UNAVAILABLE),
        (raising(httpx.ConnectError("refused")), ValidationStatus.UNAVAILABLE),
    ],
)
async def test_validation_outages_are_unavailable_refusals_invalid(
    route: Handler | httpx.Response, expected: ValidationStatus
) -> None:
    recorder = Recorder({("GET", VALIDATE_PATH): route})

    assert (await connector(recorder).validate_customer(DSTV, "123")).status is expected


# --- catalog -----------------------------------------------------------------------------------


def catalog_routes() -> dict[tuple[str, str], Handler | httpx.Response]:
    empty = httpx.Response(200, json={"status": "success", "message": "ok", "data": []})
    return {
        ("GET", "/v3/top-bill-categories"): httpx.Response(
            200, json=fixture("top_bill_categories")
        ),
        ("GET", "/v3/bills/AIRTIME/billers"): empty,
        ("GET", "/v3/bills/MOBILEDATA/billers"): empty,
        ("GET", "/v3/bills/UTILITYBILLS/billers"): empty,
        ("GET", "/v3/bills/CABLEBILLS/billers"): httpx.Response(
            200, json=fixture("billers_cablebills")
        ),
        ("GET", "/v3/billers/BIL119/items"): httpx.Response(200, json=fixture("items_bil119")),
    }


async def test_catalog_walks_categories_billers_and_items() -> None:
    recorder = Recorder(catalog_routes())

    plans = await connector(recorder).catalog()

    assert [(p.bill_type, p.plan_code, p.price_kobo) for p in plans] == [
        (BillType.CABLE_TV, "CB141", 1_900_000),
        (BillType.CABLE_TV, "CB140", None),
    ]
    asked = {r.url.path for r in recorder.requests}
    assert "/v3/bills/TAX/billers" not in asked  # categories billpay does not sell are skipped
    assert all(r.url.params.get("country", "NG") == "NG" for r in recorder.requests)


async def test_a_catalog_outage_is_a_provider_error() -> None:
    routes = catalog_routes()
    routes[("GET", "/v3/billers/BIL119/items")] = httpx.Response(500, text="down")

    with pytest.raises(ProviderError):
        await connector(Recorder(routes)).catalog()


# --- webhooks and lifecycle --------------------------------------------------------------------


def test_parse_webhook_verifies_the_secret_hash() -> None:
    body = (FIXTURES / "webhook_singlebillpayment.json").read_bytes()

    event = connector(Recorder({})).parse_webhook({"verif-hash": SECRET_HASH}, body, None)

    assert (event.reference, event.claimed_status) == ("test-ref-kuf-01", "success")


async def test_aclose_closes_only_a_client_it_created() -> None:
    client = httpx.AsyncClient(transport=httpx.MockTransport(Recorder({})))
    await FlutterwaveConnector(settings(), client).aclose()
    assert not client.is_closed
    await client.aclose()

    owned = FlutterwaveConnector(settings())
    await owned.aclose()
    assert owned._http.closed

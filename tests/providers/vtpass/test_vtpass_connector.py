"""The VTpass connector over ``httpx.MockTransport``: headers, bodies, transport failures."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import structlog

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
from billpay.providers.vtpass import VTpassConnector

Load = Callable[[str], Any]
Handler = Callable[[httpx.Request], httpx.Response]

AIRTIME = ProviderProduct(BillType.AIRTIME, "mtn", "mtn")
PREPAID = ProviderProduct(BillType.ELECTRICITY, "eko-electric", "prepaid", MeterType.PREPAID)
DSTV = ProviderProduct(BillType.CABLE_TV, "dstv", "dstv-compact")
REFERENCE = "202503100900Abcdefghijk"
TOKEN = "42167939781206619049"


def vend(product: ProviderProduct = AIRTIME, kobo: int = 10_000, customer: str = "08011111111"):
    return VendRequest(REFERENCE, product, customer, kobo, phone="08031234567")


def delivered(**extra: Any) -> dict[str, Any]:
    return {
        "code": "000",
        "response_description": "TRANSACTION SUCCESSFUL",
        "content": {"transactions": {"status": "delivered", "transactionId": "1563873435424"}},
        "requestId": REFERENCE,
        "amount": 100,
        **extra,
    }


@dataclass
class FakeVTpass:
    """A MockTransport handler that records requests and answers with ``handler``."""

    handler: Handler
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.handler(request)

    @property
    def last_body(self) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(self.requests[-1].content)
        return body


def answering(payload: Any, status: int = 200) -> Handler:
    return lambda request: httpx.Response(status, json=payload)


def raising(error: type[httpx.TransportError]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error("boom", request=request)

    return handler


@pytest.fixture
async def make_connector(
    vtpass_settings: Settings,
) -> AsyncIterator[Callable[[Handler], tuple[VTpassConnector, FakeVTpass]]]:
    clients: list[httpx.AsyncClient] = []

    def make(handler: Handler) -> tuple[VTpassConnector, FakeVTpass]:
        fake = FakeVTpass(handler)
        client = httpx.AsyncClient(transport=httpx.MockTransport(fake))
        clients.append(client)
        return VTpassConnector(vtpass_settings, client), fake

    yield make
    for client in clients:
        await client.aclose()


Make = Callable[[Handler], tuple[VTpassConnector, FakeVTpass]]


@dataclass(frozen=True)
class Keys:
    api: str
    secret: str
    public: str


@pytest.fixture
def keys(vtpass_settings: Settings) -> Keys:
    assert vtpass_settings.vtpass_api_key and vtpass_settings.vtpass_secret_key
    assert vtpass_settings.vtpass_public_key
    return Keys(
        vtpass_settings.vtpass_api_key,
        vtpass_settings.vtpass_secret_key,
        vtpass_settings.vtpass_public_key,
    )


def test_is_a_bill_provider(vtpass_settings: Settings):
    assert isinstance(VTpassConnector(vtpass_settings), BillProvider)


@pytest.mark.parametrize("missing", ["vtpass_base_url", "vtpass_api_key", "vtpass_secret_key"])
def test_refuses_to_start_unconfigured(vtpass_settings: Settings, missing: str):
    with pytest.raises(ValueError, match=missing.upper()):
        VTpassConnector(vtpass_settings.model_copy(update={missing: None}))


def test_new_reference_is_a_lagos_request_id(vtpass_settings: Settings):
    reference = VTpassConnector(vtpass_settings).new_reference(
        datetime(2025, 3, 9, 23, 30, tzinfo=UTC)
    )
    assert reference.startswith("202503100030")


# --- what goes on the wire ---------------------------------------------------------------------


async def test_post_carries_api_and_secret_key(make_connector: Make, keys: Keys):
    connector, fake = make_connector(answering(delivered()))
    await connector.pay(vend())
    request = fake.requests[0]
    assert (request.method, str(request.url)) == ("POST", "https://sandbox.vtpass.test/api/pay")
    assert request.headers["api-key"] == keys.api
    assert request.headers["secret-key"] == keys.secret
    assert "public-key" not in request.headers
    assert request.headers["content-type"] == "application/json"


async def test_get_carries_api_and_public_key(make_connector: Make, keys: Keys):
    connector, fake = make_connector(answering({"response_description": "000", "content": []}))
    assert await connector.catalog() == []
    request = fake.requests[0]
    assert str(request.url) == "https://sandbox.vtpass.test/api/service-categories"
    assert request.headers["api-key"] == keys.api
    assert request.headers["public-key"] == keys.public
    assert "secret-key" not in request.headers


@pytest.mark.parametrize(
    ("kobo", "wire"),
    [(10_000, b'"amount":100,'), (123_456, b'"amount":1234.56,'), (5, b'"amount":0.05,')],
)
async def test_amount_converted_to_naira_exactly(make_connector: Make, kobo: int, wire: bytes):
    connector, fake = make_connector(answering(delivered()))
    await connector.pay(vend(kobo=kobo))
    assert wire in fake.requests[0].content


async def test_electricity_and_tv_bodies(make_connector: Make):
    connector, fake = make_connector(answering(delivered()))
    await connector.pay(vend(PREPAID, 500_000, "1111111111111"))
    assert fake.last_body == {
        "request_id": REFERENCE,
        "serviceID": "eko-electric",
        "amount": 5000,
        "billersCode": "1111111111111",
        "phone": "08031234567",
        "variation_code": "prepaid",
    }
    await connector.pay(vend(DSTV, 1_900_000, "1212121212"))
    assert fake.last_body["subscription_type"] == "change"
    assert fake.last_body["variation_code"] == "dstv-compact"


async def test_requery_sends_the_same_request_id(make_connector: Make):
    connector, fake = make_connector(answering(delivered()))
    result = await connector.requery(vend())
    assert str(fake.requests[0].url).endswith("/api/requery")
    assert fake.last_body == {"request_id": REFERENCE}
    assert result.outcome is Outcome.SUCCEEDED


async def test_betting_is_refused_without_a_request(make_connector: Make):
    connector, fake = make_connector(answering(delivered()))
    result = await connector.pay(vend(ProviderProduct(BillType.BETTING, "bet9ja", "bet9ja")))
    assert (result.outcome, result.sent) == (Outcome.FAILED, False)
    assert fake.requests == []


# --- classification through the connector ------------------------------------------------------


async def test_delivered_electricity_keeps_the_token_out_of_the_evidence(
    make_connector: Make, vtpass_json: Load
):
    body = {**vtpass_json("electricity_eko_main_token"), "requestId": REFERENCE}
    connector, _ = make_connector(answering(body))
    result = await connector.pay(vend(PREPAID, 200_000, "1111111111111"))
    assert (result.outcome, result.token, result.http_status) == (Outcome.SUCCEEDED, TOKEN, 200)
    assert result.response is not None and result.response["requestId"] == REFERENCE
    assert TOKEN not in json.dumps(result.response)


@pytest.mark.parametrize(
    ("error", "sent", "status"),
    [
        (httpx.ConnectError, False, "not_sent"),
        (httpx.ConnectTimeout, False, "not_sent"),
        (httpx.ReadTimeout, True, "no_answer"),
        (httpx.WriteTimeout, True, "no_answer"),
        (httpx.ReadError, True, "no_answer"),
        (httpx.RemoteProtocolError, True, "no_answer"),
    ],
)
async def test_transport_failures_are_unknown(
    make_connector: Make, error: type[httpx.TransportError], sent: bool, status: str
):
    connector, _ = make_connector(raising(error))
    for call in (connector.pay, connector.requery):
        result = await call(vend())
        assert (result.outcome, result.sent, result.provider_status) == (
            Outcome.UNKNOWN,
            sent,
            status,
        )
        assert result.request["body"]["request_id"] == REFERENCE
        assert result.response is None and result.http_status is None


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_5xx_is_unknown_even_with_a_failure_body(make_connector: Make, status: int):
    connector, _ = make_connector(answering({"code": "016"}, status))
    result = await connector.pay(vend())
    assert (result.outcome, result.http_status) == (Outcome.UNKNOWN, status)


async def test_html_body_is_unknown_and_kept_as_text(make_connector: Make):
    page = "<html><body>502 Bad Gateway " + "x" * 2000 + "</body></html>"
    connector, _ = make_connector(lambda request: httpx.Response(200, text=page))
    result = await connector.pay(vend())
    assert (result.outcome, result.response, result.http_status) == (Outcome.UNKNOWN, None, 200)
    assert result.raw_text is not None and result.raw_text.startswith("<html>")
    assert len(result.raw_text) == 500


async def test_answer_about_another_request_id_is_unknown(make_connector: Make):
    connector, _ = make_connector(answering(delivered(requestId="202503100900Someoneelse")))
    result = await connector.pay(vend())
    assert result.outcome is Outcome.UNKNOWN
    assert "not ours" in result.message


async def test_requery_of_an_unknown_request_id_is_not_found_never_failed(make_connector: Make):
    connector, _ = make_connector(
        answering({"code": "015", "response_description": "INVALID REQUEST ID"})
    )
    result = await connector.requery(vend())
    assert (result.outcome, result.provider_status) == (Outcome.NOT_FOUND, "015")


async def test_refused_requery_is_not_a_failed_purchase(make_connector: Make):
    connector, _ = make_connector(
        answering({"code": "087", "response_description": "INVALID CREDENTIALS"})
    )
    assert (await connector.requery(vend())).outcome is Outcome.UNKNOWN
    assert (await connector.pay(vend())).outcome is Outcome.FAILED


# --- secrets -----------------------------------------------------------------------------------


async def test_secrets_never_reach_results_or_logs(
    make_connector: Make, vtpass_json: Load, keys: Keys, caplog: pytest.LogCaptureFixture
):
    body = {**vtpass_json("electricity_ikedc_token_units"), "requestId": REFERENCE}
    handlers = iter([answering(body), raising(httpx.ReadTimeout), answering({"code": "016"}, 500)])
    connector, _ = make_connector(lambda request: next(handlers)(request))
    caplog.set_level(logging.DEBUG)
    with structlog.testing.capture_logs() as structured:
        results = [await connector.pay(vend(PREPAID, 200_000, "1111111111111")) for _ in range(3)]
    token = "26362054405982757802"
    assert results[0].token == token
    evidence = json.dumps(
        [(result.request, result.response, result.raw_text, result.message) for result in results]
    )
    logs = json.dumps(structured, default=str) + caplog.text
    assert structured, "the connector logs its calls"
    for secret in (keys.api, keys.secret, keys.public, token):
        assert secret not in evidence
        assert secret not in logs


# --- customers ---------------------------------------------------------------------------------


async def test_verify_meter(make_connector: Make, vtpass_json: Load, keys: Keys):
    connector, fake = make_connector(answering(vtpass_json("verify_meter_ok")))
    result = await connector.validate_customer(PREPAID, "1111111111111")
    assert (result.status, result.customer_name) == (ValidationStatus.VALID, "TESTMETER1")
    assert str(fake.requests[0].url).endswith("/api/merchant-verify")
    assert fake.requests[0].headers["secret-key"] == keys.secret
    assert fake.last_body == {
        "billersCode": "1111111111111",
        "serviceID": "eko-electric",
        "type": "prepaid",
    }


async def test_verify_smartcard_omits_type(make_connector: Make, vtpass_json: Load):
    connector, fake = make_connector(answering(vtpass_json("verify_smartcard_ok")))
    assert (await connector.validate_customer(DSTV, "1212121212")).status is ValidationStatus.VALID
    assert fake.last_body == {"billersCode": "1212121212", "serviceID": "dstv"}


async def test_wrong_meter_is_invalid(make_connector: Make, vtpass_json: Load):
    connector, _ = make_connector(answering(vtpass_json("verify_wrong_billers_code")))
    result = await connector.validate_customer(PREPAID, "1234")
    assert result.status is ValidationStatus.INVALID
    assert "not a valid Ikeja" in result.message


@pytest.mark.parametrize(
    "handler",
    [
        answering({"code": "000", "content": {"error": "bad"}}, 500),
        lambda request: httpx.Response(200, text="<html>oops</html>"),
        raising(httpx.ReadTimeout),
        raising(httpx.ConnectError),
    ],
)
async def test_verify_outage_is_unavailable(make_connector: Make, handler: Handler):
    connector, _ = make_connector(handler)
    assert (
        await connector.validate_customer(PREPAID, "1111111111111")
    ).status is ValidationStatus.UNAVAILABLE


async def test_phone_numbers_are_not_sent_for_verification(make_connector: Make):
    connector, fake = make_connector(answering({}))
    result = await connector.validate_customer(AIRTIME, "08011111111")
    assert result.status is ValidationStatus.VALID
    assert fake.requests == []


# --- catalog -----------------------------------------------------------------------------------


async def test_catalog_walks_categories_services_and_variations(
    make_connector: Make, vtpass_json: Load
):
    answers = {
        "service-categories": vtpass_json("service_categories"),
        "services?identifier=airtime": vtpass_json("services_airtime"),
        "services?identifier=data": {
            "response_description": "000",
            "content": [{"serviceID": "mtn-data", "name": "MTN Data"}],
        },
        "services?identifier=tv-subscription": {"response_description": "000", "content": []},
        "services?identifier=electricity-bill": vtpass_json("services_electricity"),
        "service-variations?serviceID=mtn-data": vtpass_json("variations_varations_spelling"),
    }

    def handler(request: httpx.Request) -> httpx.Response:
        key = str(request.url).removeprefix("https://sandbox.vtpass.test/api/")
        return httpx.Response(200, json=answers[key])

    connector, fake = make_connector(handler)
    plans = await connector.catalog()
    assert sorted((plan.biller_code, plan.plan_code) for plan in plans) == [
        ("etisalat", "etisalat"),
        ("ikeja-electric", "postpaid"),
        ("ikeja-electric", "prepaid"),
        ("mtn", "mtn"),
        ("mtn-data", "mtn-1gb"),
        ("mtn-data", "mtn-2gb"),
    ]
    assert len(fake.requests) == len(answers)


@pytest.mark.parametrize(
    "handler",
    [
        answering({}, 500),
        answering({"response_description": "087"}),
        lambda request: httpx.Response(200, text="<html/>"),
        raising(httpx.ConnectError),
    ],
)
async def test_catalog_outage_raises(make_connector: Make, handler: Handler):
    connector, _ = make_connector(handler)
    with pytest.raises(ProviderError):
        await connector.catalog()


async def test_aclose_leaves_a_borrowed_client_open(vtpass_settings: Settings):
    client = httpx.AsyncClient(transport=httpx.MockTransport(answering(delivered())))
    await VTpassConnector(vtpass_settings, client).aclose()
    assert not client.is_closed
    await client.aclose()
    owned = VTpassConnector(vtpass_settings)
    await owned.aclose()
    assert owned._http.closed

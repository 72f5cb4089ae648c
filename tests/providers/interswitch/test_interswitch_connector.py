"""InterswitchConnector over httpx.MockTransport: tokens, retries, transport failures, secrets."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from billpay.config import Settings
from billpay.providers.base import (
    BillProvider,
    BillType,
    Outcome,
    ProviderError,
    ProviderProduct,
    ValidationStatus,
    VendRequest,
    WebhookRejected,
)
from billpay.providers.interswitch import InterswitchConnector

CLIENT_ID = "isw-client-id"
CLIENT_SECRET = "isw-client-SECRET-value"
BASE_URL = "https://qa.interswitch.test/quicktellerservice/api/v5"
PASSPORT_URL = "https://passport.interswitch.test"
ELECTRICITY_TOKEN = "42167939781206619049"

ADVICE_OK = {
    "ResponseCode": "90000",
    "ResponseCodeGrouping": "SUCCESSFUL",
    "ApprovedAmount": 500000,
    "RechargePIN": ELECTRICITY_TOKEN,
    "TransactionRef": "UNY|Web|3DMO0001|IKEDCPRE|250101120000|ABCDEFGH",
    "ResponseDescription": "",
    "MiscData": f"Token: {ELECTRICITY_TOKEN} Units: 23.9 kWh",
}
VALIDATION_OK = {
    "Customers": [{"PaymentCode": "304801", "CustomerId": "1111111111111", "ResponseCode": "90000",
                   "FullName": "TEST METER", "Amount": 0, "AmountType": 0}],
    "ResponseCode": "90000",
    "ResponseCodeGrouping": "SUCCESSFUL",
}  # fmt: skip

ApiHandler = Callable[[httpx.Request], httpx.Response]


class FakeInterswitch:
    """Passport and API behind one MockTransport handler, recording every request."""

    def __init__(self, api: ApiHandler | None = None, *, expires_in: int = 3599) -> None:
        self.api = api or (lambda request: httpx.Response(200, json=ADVICE_OK))
        self.expires_in = expires_in
        self.token_requests: list[httpx.Request] = []
        self.api_requests: list[httpx.Request] = []
        self.rejected_tokens: set[str] = set()

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/passport/oauth/token":
            self.token_requests.append(request)
            await asyncio.sleep(0.01)  # long enough for concurrent callers to pile up
            token = f"bearer-token-{len(self.token_requests)}"
            return httpx.Response(
                200,
                json={"access_token": token, "token_type": "bearer", "expires_in": self.expires_in},
            )
        self.api_requests.append(request)
        if request.headers["Authorization"].removeprefix("Bearer ") in self.rejected_tokens:
            return httpx.Response(401, json={"error": "invalid_token"})
        return self.api(request)


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "interswitch_base_url": BASE_URL,
        "interswitch_passport_url": PASSPORT_URL,
        "interswitch_client_id": CLIENT_ID,
        "interswitch_client_secret": CLIENT_SECRET,
        "interswitch_terminal_id": "3DMO0001",
        "interswitch_request_prefix": "1453",
    }
    return Settings.model_validate(values | overrides)


def connector_for(
    fake: FakeInterswitch, clock: Callable[[], float] | None = None
) -> InterswitchConnector:
    client = httpx.AsyncClient(transport=httpx.MockTransport(fake))
    if clock is None:
        return InterswitchConnector(make_settings(), client)
    return InterswitchConnector(make_settings(), client, clock=clock)


@pytest.fixture
def fake() -> FakeInterswitch:
    return FakeInterswitch()


@pytest.fixture
async def connector(fake: FakeInterswitch) -> AsyncIterator[InterswitchConnector]:
    connector = connector_for(fake)
    yield connector
    await connector.aclose()


def electricity_purchase(
    reference: str = "145300000001", amount_kobo: int = 500_000
) -> VendRequest:
    return VendRequest(
        reference=reference,
        product=ProviderProduct(BillType.ELECTRICITY, "3048", "304801"),
        customer_id="1111111111111",
        amount_kobo=amount_kobo,
        phone="08031234567",
        email="payer@example.com",
    )


PREPAID = ProviderProduct(BillType.ELECTRICITY, "3048", "304801")


# --- protocol and configuration ------------------------------------------------------------------


def test_the_connector_is_a_bill_provider(connector: InterswitchConnector) -> None:
    assert isinstance(connector, BillProvider)


def test_new_reference_uses_the_configured_prefix(connector: InterswitchConnector) -> None:
    reference = connector.new_reference(datetime(2025, 1, 1))

    assert reference.startswith("1453")
    assert len(reference) == 12


def test_missing_configuration_is_refused() -> None:
    with pytest.raises(ValueError, match="INTERSWITCH_CLIENT_SECRET"):
        InterswitchConnector(make_settings(interswitch_client_secret=None))


def test_interswitch_sends_no_bill_webhooks(connector: InterswitchConnector) -> None:
    with pytest.raises(WebhookRejected) as rejected:
        connector.parse_webhook({"x-interswitch-signature": "abc"}, b"{}", None)

    assert rejected.value.status_code == 404
    assert "no bill-payment webhooks" in rejected.value.reason


async def test_an_injected_client_is_left_open(fake: FakeInterswitch) -> None:
    client = httpx.AsyncClient(transport=httpx.MockTransport(fake))
    await InterswitchConnector(make_settings(), client).aclose()

    assert not client.is_closed
    await client.aclose()


# --- passport tokens -----------------------------------------------------------------------------


async def test_token_request_is_client_credentials_with_basic_auth(
    connector: InterswitchConnector, fake: FakeInterswitch
) -> None:
    await connector.requery(electricity_purchase())

    [token_request] = fake.token_requests
    expected_basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert str(token_request.url) == f"{PASSPORT_URL}/passport/oauth/token"
    assert token_request.headers["Authorization"] == f"Basic {expected_basic}"
    assert token_request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert parse_qs(token_request.content.decode()) == {"grant_type": ["client_credentials"]}


async def test_api_calls_carry_the_bearer_token_and_terminal(
    connector: InterswitchConnector, fake: FakeInterswitch
) -> None:
    await connector.requery(electricity_purchase())

    [api_request] = fake.api_requests
    assert api_request.headers["Authorization"] == "Bearer bearer-token-1"
    assert api_request.headers["TerminalID"] == "3DMO0001"


async def test_one_hundred_concurrent_calls_make_exactly_one_token_request(
    connector: InterswitchConnector, fake: FakeInterswitch
) -> None:
    results = await asyncio.gather(
        *(connector.requery(electricity_purchase(f"1453{n:08d}")) for n in range(100))
    )

    assert len(fake.token_requests) == 1
    assert len(fake.api_requests) == 100
    assert {r.request["params"]["requestRef"] for r in results} == {
        f"1453{n:08d}" for n in range(100)
    }


async def test_token_is_reused_until_thirty_seconds_before_expiry() -> None:
    now = [0.0]
    fake = FakeInterswitch(expires_in=100)
    connector = connector_for(fake, clock=lambda: now[0])

    await connector.requery(electricity_purchase())
    now[0] = 69.0  # 31 s left: still good
    await connector.requery(electricity_purchase())
    assert len(fake.token_requests) == 1

    now[0] = 71.0  # 29 s left: renewed before use
    await connector.requery(electricity_purchase())
    assert len(fake.token_requests) == 2
    assert fake.api_requests[-1].headers["Authorization"] == "Bearer bearer-token-2"
    await connector.aclose()


async def test_a_401_gets_one_fresh_token_and_one_retry(
    connector: InterswitchConnector, fake: FakeInterswitch
) -> None:
    fake.rejected_tokens.add("bearer-token-1")  # revoked early by Interswitch

    result = await connector.pay(electricity_purchase())

    assert result.outcome is Outcome.SUCCEEDED
    assert len(fake.token_requests) == 2
    assert [r.headers["Authorization"] for r in fake.api_requests] == [
        "Bearer bearer-token-1",
        "Bearer bearer-token-2",
    ]
    # Both attempts carried the same reference: a retry is never a new purchase.
    assert {json.loads(r.content)["requestReference"] for r in fake.api_requests} == {
        "145300000001"
    }


async def test_a_persistent_401_is_retried_once_only(
    connector: InterswitchConnector, fake: FakeInterswitch
) -> None:
    fake.rejected_tokens.update({"bearer-token-1", "bearer-token-2", "bearer-token-3"})

    result = await connector.pay(electricity_purchase())

    assert result.outcome is Outcome.UNKNOWN
    assert result.http_status == 401
    assert len(fake.api_requests) == 2
    assert len(fake.token_requests) == 2


async def test_passport_down_means_the_purchase_was_never_sent() -> None:
    def refuse_passport(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/passport/oauth/token":
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, json=ADVICE_OK)

    client = httpx.AsyncClient(transport=httpx.MockTransport(refuse_passport))
    connector = InterswitchConnector(make_settings(), client)

    result = await connector.pay(electricity_purchase())
    validation = await connector.validate_customer(PREPAID, "1111111111111")

    assert (result.outcome, result.sent) == (Outcome.UNKNOWN, False)
    assert validation.status is ValidationStatus.UNAVAILABLE
    with pytest.raises(ProviderError, match="passport"):
        await connector.catalog()
    await client.aclose()


@pytest.mark.parametrize(
    "passport_answer",
    [
        httpx.Response(401, json={"error": "invalid_client"}),
        httpx.Response(
            400, json={"error": "invalid_request", "error_description": "Missing grant type"}
        ),
        httpx.Response(200, json={"token_type": "bearer"}),
        httpx.Response(200, text="<html>maintenance</html>"),
    ],
)
async def test_unusable_passport_answers_leave_the_purchase_unsent(
    passport_answer: httpx.Response,
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return (
            passport_answer
            if "passport" in request.url.path
            else httpx.Response(200, json=ADVICE_OK)
        )

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    result = await InterswitchConnector(make_settings(), client).pay(electricity_purchase())

    assert (result.outcome, result.sent) == (Outcome.UNKNOWN, False)
    await client.aclose()


# --- purchases -----------------------------------------------------------------------------------


async def test_pay_sends_the_advice_with_an_exact_kobo_string(fake: FakeInterswitch) -> None:
    connector = connector_for(fake)

    result = await connector.pay(electricity_purchase(amount_kobo=123_456_789))

    [advice] = fake.api_requests
    assert (advice.method, str(advice.url)) == ("POST", f"{BASE_URL}/Transactions")
    body = json.loads(advice.content)
    assert body["amount"] == "123456789"
    assert body["customerMobile"] == "2348031234567"
    assert body["requestReference"] == "145300000001"
    assert result.request["body"]["amount"] == "123456789"
    assert result.outcome is Outcome.SUCCEEDED
    assert result.token == ELECTRICITY_TOKEN
    assert result.http_status == 200
    await connector.aclose()


async def test_requery_asks_by_request_reference(
    connector: InterswitchConnector, fake: FakeInterswitch
) -> None:
    fake.api = lambda request: httpx.Response(
        200,
        json={"ResponseCode": "90000", "TransactionResponseCode": "90006",
              "ResponseCodeGrouping": "FAILED", "Amount": "500000"},
    )  # fmt: skip

    result = await connector.requery(electricity_purchase())

    [query] = fake.api_requests
    assert query.method == "GET"
    assert str(query.url) == f"{BASE_URL}/Transactions?requestRef=145300000001"
    assert result.outcome is Outcome.FAILED


def _raise(error: type[httpx.HTTPError]) -> ApiHandler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error("simulated", request=request)

    return handler


async def test_connection_refused_is_unknown_and_not_sent(
    connector: InterswitchConnector, fake: FakeInterswitch
) -> None:
    fake.api = _raise(httpx.ConnectError)

    result = await connector.pay(electricity_purchase())

    assert (result.outcome, result.sent) == (Outcome.UNKNOWN, False)
    assert result.response is None


@pytest.mark.parametrize("error", [httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.ReadError])
async def test_a_lost_answer_is_unknown_and_maybe_sent(
    connector: InterswitchConnector, fake: FakeInterswitch, error: type[httpx.HTTPError]
) -> None:
    fake.api = _raise(error)

    result = await connector.pay(electricity_purchase())

    assert (result.outcome, result.sent) == (Outcome.UNKNOWN, True)


@pytest.mark.parametrize(
    "answer",
    [
        # A 5xx is never proof of failure, even with a FAILED grouping in it.
        httpx.Response(500, json={"ResponseCode": "90096", "ResponseCodeGrouping": "FAILED"}),
        httpx.Response(502, text="<html>Bad Gateway</html>"),
        httpx.Response(504, text="upstream request timeout"),
        httpx.Response(200, text="not json"),
        httpx.Response(200, json=["a", "list"]),
        httpx.Response(200, json={"ResponseCode": "90000"}),  # no grouping
        httpx.Response(200, json={"ResponseCode": "90009", "ResponseCodeGrouping": "PENDING"}),
    ],
)
async def test_unclear_answers_are_unknown(
    connector: InterswitchConnector, fake: FakeInterswitch, answer: httpx.Response
) -> None:
    fake.api = lambda request: answer

    result = await connector.pay(electricity_purchase())

    assert result.outcome is Outcome.UNKNOWN
    assert result.http_status == answer.status_code


async def test_a_non_json_body_is_kept_truncated(
    connector: InterswitchConnector, fake: FakeInterswitch
) -> None:
    fake.api = lambda request: httpx.Response(502, text="x" * 5_000)

    result = await connector.pay(electricity_purchase())

    assert result.response is None
    assert result.raw_text == "x" * 500


async def test_a_failed_grouping_is_a_definite_failure(
    connector: InterswitchConnector, fake: FakeInterswitch
) -> None:
    fake.api = lambda request: httpx.Response(
        200, json={"ResponseCode": "90013", "ResponseCodeGrouping": "FAILED"}
    )

    result = await connector.pay(electricity_purchase())

    assert result.outcome is Outcome.FAILED
    assert result.provider_status == "90013/FAILED"


async def test_a_malformed_phone_is_refused_before_sending(
    connector: InterswitchConnector, fake: FakeInterswitch
) -> None:
    purchase = electricity_purchase()
    bad = VendRequest(purchase.reference, purchase.product, purchase.customer_id, 500_000, "12345")

    with pytest.raises(ValueError, match="Nigerian"):
        await connector.pay(bad)
    assert fake.api_requests == []


# --- secrets -------------------------------------------------------------------------------------


async def test_secrets_and_tokens_never_reach_stored_evidence_or_logs(
    fake: FakeInterswitch, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    connector = connector_for(fake)
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    secrets = [CLIENT_SECRET, basic, "bearer-token-1", "bearer-token-2"]

    fake.rejected_tokens.add("bearer-token-1")
    paid = await connector.pay(electricity_purchase())
    fake.api = _raise(httpx.ReadTimeout)
    lost = await connector.pay(electricity_purchase("145300000002"))
    fake.api = lambda request: httpx.Response(
        200,
        json={"ResponseCode": "90000", "TransactionResponseCode": "90000",
              "ResponseCodeGrouping": "SUCCESSFUL", "Amount": "500000",
              "RechargePIN": ELECTRICITY_TOKEN},
    )  # fmt: skip
    requeried = await connector.requery(electricity_purchase())
    await connector.aclose()

    assert paid.token == requeried.token == ELECTRICITY_TOKEN  # the owner gets the token …
    captured = capsys.readouterr()
    evidence = json.dumps(
        [[r.request, r.response, r.raw_text, r.message] for r in (paid, lost, requeried)]
    )
    logs = caplog.text + captured.out + captured.err
    for secret in [*secrets, ELECTRICITY_TOKEN]:  # … nobody else does
        assert secret not in evidence
        assert secret not in logs


# --- validation and catalog ----------------------------------------------------------------------


async def test_validation_posts_the_documented_body(
    connector: InterswitchConnector, fake: FakeInterswitch
) -> None:
    fake.api = lambda request: httpx.Response(200, json=VALIDATION_OK)

    result = await connector.validate_customer(PREPAID, "1111111111111")

    [request] = fake.api_requests
    assert str(request.url) == f"{BASE_URL}/Transactions/validatecustomers"
    assert json.loads(request.content) == {
        "customers": [{"PaymentCode": "304801", "CustomerId": "1111111111111"}],
        "TerminalId": "3DMO0001",
    }
    assert result.status is ValidationStatus.VALID
    assert result.customer_name == "TEST METER"


@pytest.mark.parametrize(
    "api",
    [
        lambda request: httpx.Response(503, json={"Customers": [{"ResponseCode": "90014"}]}),
        lambda request: httpx.Response(200, text="<html/>"),
        _raise(httpx.ReadTimeout),
        _raise(httpx.ConnectError),
    ],
)
async def test_validation_outages_are_unavailable_not_invalid(
    connector: InterswitchConnector, fake: FakeInterswitch, api: ApiHandler
) -> None:
    fake.api = api

    result = await connector.validate_customer(PREPAID, "1111111111111")

    assert result.status is ValidationStatus.UNAVAILABLE


async def test_catalog_walks_categories_billers_and_items(
    connector: InterswitchConnector, fake: FakeInterswitch
) -> None:
    answers = {
        "/services/categories": {"BillerCategories": [
            {"Id": 1, "Name": "Utility Bills"}, {"Id": 9, "Name": "Government Payments"}]},
        "/services": {"BillerList": {"Category": [{"Id": 1, "Name": "Utility Bills", "Billers": [
            {"Id": 3048, "Name": "Ikeja Electric Prepaid"},
            {"Id": 3101, "Name": "Lagos Water"}]}]}},
        "/services/options": {"PaymentItems": [
            {"Name": "Ikeja Electric Prepaid Token", "PaymentCode": "304801", "Amount": "0",
             "IsAmountFixed": False}]},
    }  # fmt: skip
    fake.api = lambda request: httpx.Response(
        200, json=answers[request.url.path.removeprefix("/quicktellerservice/api/v5")]
    )

    [plan] = await connector.catalog()

    assert (plan.bill_type, plan.biller_code, plan.plan_code) == (
        BillType.ELECTRICITY,
        "3048",
        "304801",
    )
    # Government Payments and the water board are never asked for their items.
    assert [str(r.url).removeprefix(BASE_URL) for r in fake.api_requests] == [
        "/services/categories",
        "/services?categoryid=1",
        "/services/options?serviceid=3048",
    ]


async def test_catalog_outage_raises(
    connector: InterswitchConnector, fake: FakeInterswitch
) -> None:
    fake.api = lambda request: httpx.Response(503, text="down")

    with pytest.raises(ProviderError, match="HTTP 503"):
        await connector.catalog()

"""Whatever valid JSON a provider posts — fractional numbers, unicode, nesting within the limit,
NUL bytes, lone surrogates, numbers no column holds — the webhook routes store it exactly or
refuse it with a 4xx: never a 500. A fractional Flutterwave amount (``500.5``, which used to
crash the inbox insert) is stored as written and acted on."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from inbound_helpers import VTPASS_URL

from billpay.db.engine import asyncpg_dsn
from billpay.funding.paystack.webhooks import SIGNATURE_HEADER, signature_for
from billpay.inbox.jobs import process_inbox
from billpay.redact import redact
from billpay.sandbox.app import FLUTTERWAVE_SECRET_HASH, PAYSTACK_SECRET_KEY
from billpay.state import AppState
from flows import inbox

# Leaves as any JSON document may hold them: NUL and surrogates included (JSON escapes them).
_LEAF = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.decimals(allow_nan=False, allow_infinity=False, places=3).map(float)
    | st.text(max_size=20)
    | st.sampled_from(["\x00", "\ud800", "naïra ₦ 🙂", "1e999"])
)
_ANY_JSON = st.recursive(
    _LEAF,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
_DATA = st.dictionaries(st.text(max_size=12), _ANY_JSON, max_size=6)
_REFERENCES = st.text(min_size=1, max_size=30) | st.sampled_from(["BP-1", "ref\x00", "x" * 250])


def _vtpass(data: dict[str, Any], reference: str) -> dict[str, Any]:
    return {"type": "transaction-update", "data": {**data, "requestId": reference}}


def _flutterwave(data: dict[str, Any], reference: str) -> dict[str, Any]:
    return {
        "event": "singlebillpayment.status",
        "data": {**data, "customer_reference": reference, "amount": 500.5, "status": "success"},
    }


def _paystack(data: dict[str, Any], reference: str) -> dict[str, Any]:
    return {"event": "charge.success", "data": {**data, "reference": reference}}


# (route, body builder, headers for a raw body): every provider route billpay serves.
ROUTES = {
    "vtpass": (VTPASS_URL, _vtpass, lambda body: {}),
    "flutterwave": (
        "/v1/webhooks/flutterwave",
        _flutterwave,
        lambda body: {"verif-hash": FLUTTERWAVE_SECRET_HASH},
    ),
    "paystack": (
        "/v1/webhooks/paystack",
        _paystack,
        lambda body: {SIGNATURE_HEADER: signature_for(body, PAYSTACK_SECRET_KEY)},
    ),
    "interswitch": ("/v1/webhooks/interswitch", _vtpass, lambda body: {}),
}


async def _stored_payloads(state: AppState) -> list[Any]:
    """Payloads as Postgres keeps them, decoded with exact numbers."""
    connection = await asyncpg.connect(asyncpg_dsn(state.database_url))
    try:
        rows = await connection.fetch("SELECT payload::text AS payload FROM webhook_inbox")
        await connection.execute("TRUNCATE webhook_inbox")
    finally:
        await connection.close()
    return [_numbers_as_floats(row["payload"]) for row in rows]


def _numbers_as_floats(text: str | bytes) -> Any:
    """JSON with every number as a float: ``4.95e+16`` and ``49500000000000000`` are equal,
    and so are a provider's float parse and its literal (digit-exact storage of Flutterwave's
    amounts is shown by the last test)."""
    return json.loads(text, parse_float=float, parse_int=float)


def _kept(provider: str, body: Any) -> Any:
    """What the inbox keeps of a body: all of it, but only ``event`` and ``data`` of
    Paystack's."""
    if provider == "paystack":
        return {"event": body["event"], "data": body["data"]}
    return body


async def _post_and_check(
    api: httpx.AsyncClient, state: AppState, provider: str, body: Any, raw: bytes | None = None
) -> httpx.Response:
    path, _, headers_for = ROUTES[provider]
    content = raw if raw is not None else json.dumps(body).encode()
    headers = {"content-type": "application/json", **headers_for(content)}
    response = await api.post(path, content=content, headers=headers)
    assert response.status_code < 500, response.text
    assert set(response.json()) <= {"error", "response", "status"}
    stored = await _stored_payloads(state)
    if response.status_code >= 400:
        assert stored == []
        assert set(response.json()["error"]) == {"code", "message", "details"}
    else:
        assert len(stored) == 1
        # Exactly what was sent, secrets masked; numbers equal as the provider wrote them.
        assert stored[0] == redact(_kept(provider, _numbers_as_floats(content)))
    return response


@pytest.mark.parametrize("provider", sorted(ROUTES))
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=_DATA, reference=_REFERENCES)
async def test_a_provider_shaped_event_with_any_contents_is_stored_exactly_or_refused(
    api: httpx.AsyncClient, state: AppState, provider: str, data: dict[str, Any], reference: str
) -> None:
    _, shape, _ = ROUTES[provider]
    await _post_and_check(api, state, provider, shape(data, reference))


@pytest.mark.parametrize("provider", sorted(ROUTES))
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=_ANY_JSON)
async def test_any_json_document_is_stored_exactly_or_refused(
    api: httpx.AsyncClient, state: AppState, provider: str, body: Any
) -> None:
    await _post_and_check(api, state, provider, body)


@pytest.mark.parametrize("provider", sorted(ROUTES))
@pytest.mark.parametrize(
    ("raw", "refused"),
    [
        (b'{"type": "transaction-update", "data": {"requestId": "r", "amount": NaN}}', True),
        (b'{"event": "charge.success", "data": {"reference": "r", "amount": 1e999999}}', True),
        (b"[" * 5_000 + b"]" * 5_000, True),
        (b'{"data": ' * 40 + b"1" + b"}" * 40, True),
        # Stored as 0 where a provider's parser reads floats, refused where it keeps digits.
        (b'{"type": "x", "event": "y", "data": {"n": 1e-99999}}', False),
    ],
    ids=["nan", "huge-exponent", "nested-5000", "nested-40", "tiny-exponent"],
)
async def test_json_no_column_holds_is_refused_with_a_4xx(
    api: httpx.AsyncClient, state: AppState, provider: str, raw: bytes, refused: bool
) -> None:
    response = await _post_and_check(api, state, provider, None, raw=raw)
    if refused:
        assert 400 <= response.status_code < 500


async def test_a_fractional_flutterwave_amount_is_stored_as_written_and_acted_on(
    api: httpx.AsyncClient, state: AppState
) -> None:
    content = (
        b'{"event": "singlebillpayment.status", "data": {"customer_reference": "BP-frac-1",'
        b' "amount": 500.50, "status": "success", "tx_ref": "CF-1"}}'
    )
    response = await api.post(
        "/v1/webhooks/flutterwave",
        content=content,
        headers={"verif-hash": FLUTTERWAVE_SECRET_HASH, "content-type": "application/json"},
    )
    assert response.status_code == 200, response.text

    connection = await asyncpg.connect(asyncpg_dsn(state.database_url))
    try:
        amount = await connection.fetchval("SELECT payload->'data'->>'amount' FROM webhook_inbox")
    finally:
        await connection.close()
    assert amount == "500.50"  # the provider's number, digit for digit
    assert await process_inbox(state) == 1
    (event,) = await inbox(state)
    assert event["outcome"] == "ignored: no payment attempt has this reference"

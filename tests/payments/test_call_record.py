"""Every HTTP exchange with a provider is on the record (issue #11): the purchase that got a
500 and the requery that settled it, each with its masked request and answer, shown to the
payment's owner and on the dashboard's attempt card; customer validations too."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from billpay.clients.service import create_client
from billpay.db.engine import asyncpg_dsn
from billpay.db.migrate import upgrade
from billpay.sandbox.flutterwave.state import Fault, FaultKind, FlutterwaveSandboxState
from billpay.sandbox.vtpass.state import VTpassSandboxState
from billpay.state import AppState
from billpay.worker.runner import Worker
from flows import METER, airtime, electricity, pay, query, routed_only_to

PHONE = "08030001101"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return routed_only_to("flutterwave")


@pytest.fixture
def flutterwave(sandbox_states: dict[str, Any]) -> FlutterwaveSandboxState:
    state: FlutterwaveSandboxState = sandbox_states["flutterwave"]
    return state


async def test_a_purchase_answered_500_then_settled_by_requery_keeps_both_calls(
    api: httpx.AsyncClient, worker: Worker, flutterwave: FlutterwaveSandboxState
) -> None:
    flutterwave.add_fault(Fault(FaultKind.ERROR_AFTER_VEND, customer_id=PHONE))
    payment = await pay(api, airtime(PHONE))
    assert payment["status"] == "paid"

    shown = (await api.get(f"/v1/payments/{payment['id']}")).json()
    [attempt] = shown["attempts"]
    purchase, requery = attempt["calls"]
    assert purchase["kind"] == "purchase"
    assert purchase["method"] == "POST"
    assert purchase["http_status"] == 500
    assert purchase["response"]["status"] == "error"  # the 500 answer, kept as it came
    assert purchase["request"]["body"]["reference"] == attempt["provider_reference"]
    assert requery["kind"] == "requery"
    assert requery["http_status"] == 200
    assert requery["response"]["status"] == "success"
    assert purchase["started_at"] <= requery["started_at"]
    assert (attempt["sends"], attempt["requeries"]) == (1, 1)
    assert flutterwave.vend_count == 1


async def test_no_answer_is_recorded_with_its_delivery(
    api: httpx.AsyncClient, worker: Worker, flutterwave: FlutterwaveSandboxState
) -> None:
    flutterwave.add_fault(Fault(FaultKind.TIMEOUT_AFTER_VEND, customer_id=PHONE, seconds=5))
    payment = await pay(api, airtime(PHONE))
    assert payment["status"] == "paid"
    [attempt] = (await api.get(f"/v1/payments/{payment['id']}")).json()["attempts"]
    first = attempt["calls"][0]
    assert (first["kind"], first["http_status"], first["delivery"]) == (
        "purchase",
        None,
        "sent_unknown",
    )
    assert "Timeout" in first["error"]


async def test_another_client_sees_none_of_the_calls(
    api: httpx.AsyncClient, state: AppState, worker: Worker
) -> None:
    payment = await pay(api, airtime(PHONE))
    async with state.unit_of_work() as session:
        _, other_key = await create_client(session, "someone else")
    response = await api.get(
        f"/v1/payments/{payment['id']}", headers={"Authorization": f"Bearer {other_key}"}
    )
    assert response.status_code == 404
    assert "calls" not in response.text


class TestElectricityOverVTpass:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return routed_only_to("vtpass")

    async def test_calls_never_hold_the_token(
        self, api: httpx.AsyncClient, state: AppState, worker: Worker, vtpass: VTpassSandboxState
    ) -> None:
        payment = await pay(api, electricity())
        assert payment["status"] == "paid"
        digits = "".join(c for c in payment["token"] if c.isdigit())
        stored = await query(state, "SELECT request, response, response_text FROM provider_calls")
        assert stored
        assert digits not in json.dumps(stored, default=str)
        shown = (await api.get(f"/v1/payments/{payment['id']}")).text
        assert shown.count(payment["token"]) == 1  # the payment's own field, nowhere else

    async def test_the_lookup_that_vetted_a_payment_is_kept_with_it(
        self, api: httpx.AsyncClient, worker: Worker
    ) -> None:
        payment = await pay(api, electricity())
        shown = (await api.get(f"/v1/payments/{payment['id']}")).json()
        [lookup] = shown["validations"]
        assert (lookup["kind"], lookup["http_status"]) == ("validation", 200)
        assert lookup["url"].endswith("/merchant-verify")
        assert all(call["kind"] != "validation" for call in shown["attempts"][0]["calls"])

    async def test_a_customer_validation_is_recorded_without_an_attempt(
        self, api: httpx.AsyncClient, state: AppState
    ) -> None:
        response = await api.post(
            "/v1/customers/validate",
            json={"plan": "ikeja-electric-prepaid", "customer_id": METER},
        )
        assert response.status_code == 200, response.text
        [call] = await query(state, "SELECT * FROM provider_calls WHERE kind = 'validation'")
        assert (call["payment_id"], call["attempt_id"]) == (None, None)
        assert call["provider"] == "vtpass"
        assert call["http_status"] == 200
        assert call["request"]["body"]["billersCode"] == METER


async def test_the_call_record_refuses_edits(
    api: httpx.AsyncClient, state: AppState, worker: Worker
) -> None:
    await pay(api, airtime(PHONE))
    async with state.unit_of_work() as session:
        connection = await (await session.connection()).get_raw_connection()
        driver: Any = connection.dbapi_connection
        with pytest.raises(Exception, match="append-only"):
            await driver.driver_connection.execute("DELETE FROM provider_calls")


@pytest.fixture
async def old_database(database_url: str) -> AsyncIterator[str]:
    """A database migrated only as far as before the call record."""
    admin = asyncpg_dsn(database_url)
    name = f"billpay_calls_{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(admin)
    await connection.execute(f'CREATE DATABASE "{name}"')
    await connection.close()
    # make_url keeps the embedded server's ?host= socket query; slicing the URL would not.
    url = make_url(database_url).set(database=name).render_as_string(hide_password=False)
    upgrade(url, "0004_stellar")
    yield url
    connection = await asyncpg.connect(admin)
    await connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    await connection.close()


async def test_the_migration_turns_each_stored_exchange_into_a_call(old_database: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(old_database))
    try:
        client_id, payment_id, attempt_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        await connection.execute(
            "INSERT INTO clients (id, name, api_key_hash, api_key_prefix) "
            "VALUES ($1, 'old', 'h', 'p')",
            client_id,
        )
        await connection.execute(
            "INSERT INTO payments (id, short_id, client_id, request_reference, "
            "request_fingerprint, bill_type, biller, plan, plan_name, customer_id, "
            "amount_kobo, fee_kobo, total_kobo, funding_method, status) VALUES ($1, 'S1', $2, "
            "'r1', 'x', 'airtime', 'mtn', 'mtn-airtime', 'MTN', '08011111111', 100, 0, 100, "
            "'balance', 'paid')",
            payment_id,
            client_id,
        )
        await connection.execute(
            "INSERT INTO payment_attempts (id, payment_id, number, provider, provider_reference,"
            " route_reason, outcome, requeries, request, response, last_latency_ms) VALUES "
            "($1, $2, 1, 'vtpass', '202601011200ab', 'first', 'succeeded', 2, $3, $4, 40)",
            attempt_id,
            payment_id,
            json.dumps({"method": "POST", "path": "/requery", "body": {"request_id": "x"}}),
            json.dumps({"code": "000"}),
        )
    finally:
        await connection.close()

    upgrade(old_database, "0005_provider_calls")

    connection = await asyncpg.connect(asyncpg_dsn(old_database))
    try:
        [call] = await connection.fetch("SELECT * FROM provider_calls")
        sent_at = await connection.fetchval("SELECT last_sent_at FROM payment_attempts")
    finally:
        await connection.close()
    assert (call["payment_id"], call["attempt_id"]) == (payment_id, attempt_id)
    assert (call["kind"], call["method"], call["url"]) == ("requery", "POST", "/requery")
    assert json.loads(call["response"]) == {"code": "000"}
    assert call["delivery"] == "answered"
    assert call["latency_ms"] == 40
    assert sent_at is not None

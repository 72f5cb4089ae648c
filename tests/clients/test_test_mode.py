"""Test mode: a merchant's ``bp_test_`` key always routes to the simulators, even where the
live providers are real, and its payments never mix with live ones in lists, stats or the
ledger.

Here the "real" VTpass is a second simulator instance with a state of its own; the test-mode
simulators are the session's (``BILLPAY_TEST_MODE_SANDBOX_URL``). Both run in this process;
which one received each vend is read from their own records."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from billpay.app import create_app
from billpay.config import Settings
from billpay.ops import service as ops
from billpay.sandbox.app import create_sandbox_app
from billpay.sandbox.server import ThreadedServer
from billpay.sandbox.vtpass.state import VTpassSandboxState
from billpay.state import AppState
from billpay.worker.runner import Worker
from flows import account_balance, airtime, ledger_ok, make_settings, pay, query, routed_only_to


@pytest.fixture
def real_vtpass() -> VTpassSandboxState:
    return VTpassSandboxState()


@pytest.fixture
def real_provider(real_vtpass: VTpassSandboxState) -> Iterator[ThreadedServer]:
    """Stands in for the real VTpass of a production deployment."""
    server = ThreadedServer(create_sandbox_app(vtpass=real_vtpass)).start()
    yield server
    server.stop()


@pytest.fixture
def settings(sandbox: ThreadedServer, real_provider: ThreadedServer, database_url: str) -> Settings:
    return make_settings(
        real_provider.url,
        database_url,
        **routed_only_to("vtpass"),
        test_mode_sandbox_url=sandbox.url,
    )


@pytest.fixture
async def test_api(api: httpx.AsyncClient, state: AppState) -> Any:
    created = await api.post("/v1/api-keys", json={"name": "staging", "mode": "test"})
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    assert key.startswith("bp_test_")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(state)),
        base_url="http://billpay.test",
        headers={"Authorization": f"Bearer {key}"},
    ) as client:
        yield client


def _simulators_received(sandbox_states: dict[str, Any], provider: str, reference: str) -> bool:
    simulated = sandbox_states[provider]
    if provider == "vtpass":
        return any(vend.request_id == reference for vend in simulated.vends())
    if provider == "flutterwave":
        return reference in simulated.vends()
    return reference in simulated.vends_snapshot()["vends"]


async def _attempt(state: AppState, payment_id: str) -> dict[str, Any]:
    (attempt,) = await query(
        state,
        "SELECT provider, provider_reference FROM payment_attempts WHERE payment_id = :id",
        id=payment_id,
    )
    return attempt


async def test_a_test_keys_payment_goes_to_the_simulators_and_a_live_keys_to_the_provider(
    api: httpx.AsyncClient,
    test_api: httpx.AsyncClient,
    state: AppState,
    worker: Worker,
    real_vtpass: VTpassSandboxState,
    sandbox_states: dict[str, Any],
) -> None:
    live = await pay(api, airtime("08011111111"))
    test = await pay(test_api, airtime("08011111111"))

    assert (live["status"], test["status"]) == ("paid", "paid")
    live_attempt = await _attempt(state, live["id"])
    test_attempt = await _attempt(state, test["id"])
    assert [vend.request_id for vend in real_vtpass.vends()] == [live_attempt["provider_reference"]]
    assert _simulators_received(
        sandbox_states, test_attempt["provider"], test_attempt["provider_reference"]
    )
    assert not _simulators_received(sandbox_states, "vtpass", live_attempt["provider_reference"])


async def test_test_payments_never_mix_with_live_ones_in_lists_stats_or_the_ledger(
    api: httpx.AsyncClient,
    test_api: httpx.AsyncClient,
    state: AppState,
    worker: Worker,
    merchant: tuple[uuid.UUID, str],
) -> None:
    merchant_id, _ = merchant
    live_before = (await api.get("/v1/balance")).json()
    reference = uuid.uuid4().hex
    live = await pay(api, airtime("08011111111", request_reference=reference))
    # The same idempotency key in test mode is another payment, not a replay of the live one.
    test = await pay(test_api, airtime("08011111111", request_reference=reference))
    assert test["id"] != live["id"]

    # Lists and reads: each key sees its own mode only.
    assert [p["id"] for p in (await api.get("/v1/payments")).json()["data"]] == [live["id"]]
    assert [p["id"] for p in (await test_api.get("/v1/payments")).json()["data"]] == [test["id"]]
    assert (await api.get(f"/v1/payments/{test['id']}")).status_code == 404
    assert (await test_api.get(f"/v1/payments/{live['id']}")).status_code == 404

    # Balances: the test payment is paid from the test balance; the live one from the live.
    live_after = (await api.get("/v1/balance")).json()
    test_balance = (await test_api.get("/v1/balance")).json()
    assert live_after["available_kobo"] == live_before["available_kobo"] - live["total_kobo"]
    assert test_balance == {
        "available_kobo": 100_000_000 - test["total_kobo"],
        "reserved_kobo": 0,
        "currency": "NGN",
        "livemode": False,
    }
    test_lines = (await test_api.get("/v1/balance/transactions")).json()["data"]
    assert [line["payment_id"] for line in test_lines] == [test["id"], None]
    live_lines = (await api.get("/v1/balance/transactions")).json()["data"]
    assert test["id"] not in {line["payment_id"] for line in live_lines}

    # The ledger: the test vend is owed on the test copy of the provider's account.
    test_provider = (await _attempt(state, test["id"]))["provider"]
    assert (
        await account_balance(state, f"test:provider:{test_provider}:payable")
        == (test["amount_kobo"])
    )
    assert await account_balance(state, "provider:vtpass:payable") == live["amount_kobo"]
    rows = await query(
        state,
        "SELECT DISTINCT a.code FROM ledger_entries e JOIN ledger_accounts a "
        "ON a.id IN (e.debit_account_id, e.credit_account_id) WHERE e.payment_id = :id",
        id=test["id"],
    )
    twin_id = str((await query(state, "SELECT id FROM clients WHERE NOT livemode"))[0]["id"])
    for row in rows:
        assert row["code"].startswith(("test:", f"client:{twin_id}:")), row
    await ledger_ok(state)

    # Operator stats count live business only.
    async with state.unit_of_work() as session:
        stats = await ops.stats(session, timedelta(hours=1))
    assert stats.total_payments == 1
    assert stats.payments_by_status["paid"] == 1
    assert str(merchant_id) != twin_id


async def test_test_mode_pays_from_the_test_balance_only(test_api: httpx.AsyncClient) -> None:
    response = await test_api.post(
        "/v1/payments", json=airtime(funding_method="paystack", email="payer@example.com")
    )

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "test_mode_funding"
    assert response.json()["error"]["details"] == {"field": "funding_method"}
    assert (await test_api.get("/v1/payments")).json()["data"] == []

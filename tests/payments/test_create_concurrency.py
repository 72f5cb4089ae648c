"""Concurrent creates of one merchant: each is one statement in its own transaction, guarded
debit included (``payments.repository.insert_reserved``), so creates queue only for
Postgres' commit. Every create debits exactly once, a short balance refuses with nothing
written, and the balance never goes negative."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billpay.clients.service import create_client, top_up
from billpay.db.engine import asyncpg_dsn
from billpay.ledger import accounts
from billpay.ledger.service import available_balance, reserved_balance
from billpay.payments.repository import WORK_CHANNEL
from billpay.state import AppState
from flows import account_balance, airtime, query, row_count


async def new_merchant(state: AppState, balance_kobo: int) -> tuple[uuid.UUID, dict[str, str]]:
    async with state.unit_of_work() as session:
        client, key = await create_client(session, f"merchant {uuid.uuid4().hex[:6]}")
        await top_up(session, client.id, balance_kobo, "top-up")
    return client.id, {"Authorization": f"Bearer {key}"}


async def books(state: AppState, client_id: uuid.UUID) -> tuple[int, int]:
    """(available, reserved): the stored guarded balance and the reserved account's entries."""
    async with state.unit_of_work() as session:
        available = await available_balance(session, client_id)
        reserved = await reserved_balance(session, client_id)
    derived = await account_balance(state, accounts.client_available(client_id))
    assert available == derived  # the stored balance agrees with its entries
    return available, reserved


async def test_concurrent_creates_of_one_merchant_each_debit_exactly_once(
    api: httpx.AsyncClient, state: AppState
) -> None:
    client_id, auth = await new_merchant(state, 10_000_000)
    amounts = [10_000 + 1_000 * index for index in range(30)]
    responses = await asyncio.gather(
        *(
            api.post("/v1/payments", json=airtime(amount_kobo=amount), headers=auth)
            for amount in amounts
        )
    )
    assert [r.status_code for r in responses] == [201] * len(amounts)
    assert await books(state, client_id) == (10_000_000 - sum(amounts), sum(amounts))
    assert await row_count(state, "payments") == len(amounts)
    events = await query(state, "SELECT to_status FROM payment_events")
    assert [event["to_status"] for event in events] == ["pending"] * len(amounts)


async def test_a_concurrent_duplicate_of_the_create_that_took_the_last_kobo_is_a_replay(
    api: httpx.AsyncClient, state: AppState
) -> None:
    client_id, auth = await new_merchant(state, 50_000)
    body = airtime(amount_kobo=50_000)
    responses = await asyncio.gather(
        *(api.post("/v1/payments", json=body, headers=auth) for _ in range(10))
    )
    assert sorted(r.status_code for r in responses) == [200] * 9 + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert await books(state, client_id) == (0, 50_000)


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    balance=st.integers(min_value=0, max_value=300_000),
    amounts=st.lists(st.integers(min_value=10_000, max_value=100_000), min_size=2, max_size=12),
)
async def test_creates_racing_for_a_short_balance_never_overdraw_it(
    api: httpx.AsyncClient, state: AppState, balance: int, amounts: list[int]
) -> None:
    client_id, auth = await new_merchant(state, balance) if balance else await _unfunded(state)
    responses = await asyncio.gather(
        *(
            api.post("/v1/payments", json=airtime(amount_kobo=amount), headers=auth)
            for amount in amounts
        )
    )
    assert {r.status_code for r in responses} <= {201, 402}
    won = [amount for amount, r in zip(amounts, responses, strict=True) if r.status_code == 201]
    refused = [amount for amount, r in zip(amounts, responses, strict=True) if r.status_code == 402]
    available, reserved = await books(state, client_id)
    assert (available, reserved) == (balance - sum(won), sum(won))
    assert available >= 0
    # A refusal saw at least what is left now (balances only fell meanwhile).
    assert all(amount > available for amount in refused)
    for response in responses:
        if response.status_code == 402:
            assert response.json()["error"]["code"] == "insufficient_balance"
    mine = await query(
        state,
        "SELECT count(*) AS n FROM payments WHERE client_id = :client",
        client=client_id,
    )
    assert mine == [{"n": len(won)}]


async def _unfunded(state: AppState) -> tuple[uuid.UUID, dict[str, str]]:
    """A merchant that never topped up: no balance account at all until a create asks."""
    async with state.unit_of_work() as session:
        client, key = await create_client(session, f"merchant {uuid.uuid4().hex[:6]}")
    return client.id, {"Authorization": f"Bearer {key}"}


async def test_a_created_payment_wakes_the_workers_and_a_replay_or_refusal_does_not(
    api: httpx.AsyncClient, state: AppState, database_url: str
) -> None:
    woken: list[str] = []
    listener = await asyncpg.connect(asyncpg_dsn(database_url))
    await listener.add_listener(WORK_CHANNEL, lambda *args: woken.append(args[2]))
    try:
        body = airtime(amount_kobo=50_000)
        assert (await api.post("/v1/payments", json=body)).status_code == 201
        assert (await api.post("/v1/payments", json=body)).status_code == 200
        _, poor = await new_merchant(state, 10_000)
        refused = await api.post("/v1/payments", json=airtime(), headers=poor)
        assert refused.status_code == 402
        await asyncio.sleep(0.3)  # notifications arrive after their commit
    finally:
        await listener.close()
    assert woken == [WORK_CHANNEL]

"""A merchant's prepaid balance as payments are created over the API: amount + fee reserved
at once, and a payment the balance does not cover refused with nothing written."""

from __future__ import annotations

import uuid

import httpx

from billpay.clients.service import create_client, top_up
from billpay.ledger.service import available_balance, reserved_balance
from billpay.state import AppState
from flows import airtime, row_count


async def test_create_reserves_amount_plus_fee(
    api: httpx.AsyncClient, state: AppState, merchant: tuple[uuid.UUID, str]
) -> None:
    response = await api.post("/v1/payments", json=airtime())
    assert response.status_code == 201, response.text
    payment = response.json()
    assert payment["status"] == "pending"
    assert (payment["amount_kobo"], payment["fee_kobo"], payment["total_kobo"]) == (
        50_000,
        0,
        50_000,
    )
    async with state.unit_of_work() as session:
        assert await reserved_balance(session, merchant[0]) == 50_000
        assert await available_balance(session, merchant[0]) == 100_000_000 - 50_000


async def test_insufficient_balance_creates_nothing(
    api: httpx.AsyncClient, state: AppState
) -> None:
    async with state.unit_of_work() as session:
        client, key = await create_client(session, "small merchant")
        await top_up(session, client.id, 40_000, "small top-up")
    response = await api.post(
        "/v1/payments", json=airtime(), headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 402
    assert response.json()["error"]["code"] == "insufficient_balance"
    assert await row_count(state, "payments") == 0
    async with state.unit_of_work() as session:
        assert await available_balance(session, client.id) == 40_000

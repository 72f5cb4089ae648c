"""``GET /v1/balance`` and ``GET /v1/balance/transactions``: a merchant reads its prepaid
balance and its statement, newest first, Stripe-style cursor pages (``starting_after``,
``limit``, ``has_more``), each line with the balance right after it."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import httpx

from billpay.clients.service import create_client, top_up
from billpay.state import AppState
from billpay.worker.runner import Worker
from flows import airtime, create, query, wait_for_status


async def _all_pages(api: httpx.AsyncClient, limit: int) -> list[list[dict[str, Any]]]:
    pages: list[list[dict[str, Any]]] = []
    after: str | None = None
    while True:
        params: dict[str, str | int] = {"limit": limit}
        if after:
            params["starting_after"] = after
        body = (await api.get("/v1/balance/transactions", params=params)).json()
        pages.append(body["data"])
        if not body["has_more"]:
            return pages
        after = str(body["data"][-1]["id"])


async def test_the_balance_shows_available_and_reserved(
    api: httpx.AsyncClient, state: AppState
) -> None:
    before = (await api.get("/v1/balance")).json()
    assert before == {
        "available_kobo": 100_000_000,
        "reserved_kobo": 0,
        "currency": "NGN",
        "livemode": True,
    }
    # No worker: the payment stays pending, its amount + fee reserved.
    await create(api, airtime(amount_kobo=70_000))

    after = (await api.get("/v1/balance")).json()

    assert after["available_kobo"] == 100_000_000 - 70_000
    assert after["reserved_kobo"] == 70_000


async def test_the_statement_pages_through_every_line_once_with_running_balances(
    api: httpx.AsyncClient, state: AppState, merchant: tuple[uuid.UUID, str], worker: Worker
) -> None:
    client_id, _ = merchant
    async with state.unit_of_work() as session:
        for amount in (1_000, 2_000, 3_000):
            await top_up(session, client_id, amount, f"top-up {amount}")
    paid = await wait_for_status(api, await create(api, airtime("08011111111")), {"paid"})
    second = await wait_for_status(api, await create(api, airtime("08031234567")), {"paid"})

    pages = await _all_pages(api, limit=2)
    lines = [line for page in pages for line in page]

    assert [len(page) for page in pages[:-1]] == [2] * (len(pages) - 1)
    assert len({line["id"] for line in lines}) == len(lines)  # nothing twice
    ids = [int(str(line["id"]).removeprefix("txn_")) for line in lines]
    assert ids == sorted(ids, reverse=True)  # newest first
    # Oldest line: the fixture's ₦1,000,000 top-up; each later balance follows from the last.
    assert lines[-1]["kind"] == "top_up"
    assert lines[-1]["balance_after_kobo"] == 100_000_000
    for newer, older in itertools.pairwise(lines):
        signed = newer["amount_kobo"] if newer["direction"] == "credit" else -newer["amount_kobo"]
        assert newer["balance_after_kobo"] == older["balance_after_kobo"] + signed
    current = (await api.get("/v1/balance")).json()["available_kobo"]
    assert lines[0]["balance_after_kobo"] == current
    reserves = {line["payment_id"] for line in lines if line["kind"] == "reserve"}
    assert reserves == {paid["id"], second["id"]}
    assert all(line["direction"] == "debit" for line in lines if line["kind"] == "reserve")


async def test_a_cursor_that_is_not_one_of_your_lines_is_refused(
    api: httpx.AsyncClient, state: AppState
) -> None:
    async with state.unit_of_work() as session:
        other, _ = await create_client(session, "other")
        await top_up(session, other.id, 5_000, "theirs")
    theirs = await _other_line_id(state, other.id)

    for cursor in ("txn_abc", "27", f"txn_{theirs}", "txn_999999999"):
        response = await api.get("/v1/balance/transactions", params={"starting_after": cursor})
        assert response.status_code == 422, cursor
        assert response.json()["error"]["code"] == "invalid_cursor"
        assert response.json()["error"]["message"].startswith("starting_after:")
    assert (await api.get("/v1/balance/transactions", params={"limit": 0})).status_code == 422


async def _other_line_id(state: AppState, client_id: uuid.UUID) -> int:
    rows = await query(
        state,
        "SELECT e.id FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.credit_account_id "
        "WHERE a.code = :code",
        code=f"client:{client_id}:available",
    )
    return int(rows[0]["id"])

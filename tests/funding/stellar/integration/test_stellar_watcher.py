"""The watcher survives kills, restarts and stream drops: every deposit is credited exactly
once, whatever happens between handling a record and saving the cursor."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from stellar_flows import (
    Wallet,
    WatcherHandle,
    books_balance,
    create_unfunded,
    cursor_of,
    deposits,
    ledger_kinds,
    stellar_airtime,
)

from billpay.funding.stellar import repository as stellar_repo
from billpay.funding.stellar.watcher import DepositHandler
from billpay.sandbox.horizon import FaultSettings
from billpay.state import AppState
from flows import query, wait_for_status, wait_until


async def _credited_once(state: AppState, payments: Sequence[dict[str, Any]]) -> None:
    found = await deposits(state)
    assert len(found) == len(payments)
    assert len({d["operation_id"] for d in found}) == len(found)
    assert all(d["state"] == "funded" for d in found)
    for payment in payments:
        assert await ledger_kinds(state, payment["id"]) == [
            ("funds_received", payment["total_kobo"])
        ]
    events = await query(
        state,
        "SELECT payment_id, count(*) AS n FROM payment_events WHERE to_status = 'pending' "
        "GROUP BY payment_id",
    )
    assert sorted(e["n"] for e in events) == [1] * len(payments)


@pytest.mark.parametrize("when", ["before_commit", "after_commit"])
async def test_killed_between_handling_and_cursor_then_deposits_while_down(
    api: httpx.AsyncClient,
    state: AppState,
    wallet: Wallet,
    watcher: WatcherHandle,
    monkeypatch: pytest.MonkeyPatch,
    when: str,
) -> None:
    payments = [await create_unfunded(api, stellar_airtime(10_000 * (i + 1))) for i in range(5)]
    account = wallet.network.system.public_key
    died = asyncio.Event()

    if when == "before_commit":
        # Effects written in the transaction, then death just as the cursor is saved.
        async def die_at_cursor(*_: Any) -> None:
            died.set()
            raise asyncio.CancelledError

        monkeypatch.setattr(stellar_repo, "save_cursor", die_at_cursor)
    else:
        # Committed (effects and cursor), then death before the loop moves on.
        handle = DepositHandler.handle

        async def die_after(self: DepositHandler, records: Any, cursor: str) -> str:
            await handle(self, records, cursor)
            died.set()
            raise asyncio.CancelledError

        monkeypatch.setattr(DepositHandler, "handle", die_after)

    cursor_before = await cursor_of(state, account)
    await wallet.pay(wallet.payer(), "100", payments[0]["funding_instructions"]["memo"])
    await asyncio.wait_for(died.wait(), timeout=15)
    await watcher.kill()
    monkeypatch.undo()

    if when == "before_commit":
        assert await deposits(state) == []  # nothing of the batch survived…
        assert await cursor_of(state, account) == cursor_before  # …nor the cursor
    else:
        assert len(await deposits(state)) == 1
    for payment in payments[1:]:  # deposits arrive while the watcher is down
        amount = str(payment["total_kobo"] // 100)
        await wallet.pay(wallet.payer(), amount, payment["funding_instructions"]["memo"])

    await watcher.start()

    for payment in payments:
        await wait_for_status(api, payment["id"], {"pending"})
    await _credited_once(state, payments)
    await books_balance(state)


@pytest.mark.parametrize("mode", ["abort", "close"])
async def test_stream_drops_resume_from_the_cursor_without_gap(
    api: httpx.AsyncClient, state: AppState, wallet: Wallet, watcher: WatcherHandle, mode: str
) -> None:
    payments = [await create_unfunded(api, stellar_airtime(10_000)) for _ in range(12)]
    wallet.state.faults.arm(
        FaultSettings(stream_drop_after_events=2, stream_drops=4, stream_drop_mode=mode)  # type: ignore[arg-type]
    )
    await watcher.stop()  # so that the next connection is one the faults cut
    await watcher.start()

    for payment in payments:
        await wallet.pay(wallet.payer(), "100", payment["funding_instructions"]["memo"])

    for payment in payments:
        await wait_for_status(api, payment["id"], {"pending"})
    await _credited_once(state, payments)


async def test_repeated_kills_and_restarts_while_deposits_stream_in(
    api: httpx.AsyncClient, state: AppState, wallet: Wallet, watcher: WatcherHandle
) -> None:
    payments = [await create_unfunded(api, stellar_airtime(10_000)) for _ in range(40)]
    payers = [wallet.payer() for _ in payments]
    rng = random.Random(7)

    async def pay_all() -> None:
        for payer, payment in zip(payers, payments, strict=True):
            await wallet.pay(payer, "100", payment["funding_instructions"]["memo"])
            await asyncio.sleep(rng.uniform(0, 0.01))

    paying = asyncio.create_task(pay_all())
    while not paying.done():
        await asyncio.sleep(rng.uniform(0.01, 0.08))
        await watcher.kill()  # mid-batch, mid-stream, wherever it is
        await watcher.start()
    await paying

    for payment in payments:
        await wait_for_status(api, payment["id"], {"pending"})
    await _credited_once(state, payments)
    await books_balance(state)


async def test_one_watcher_per_account(
    api: httpx.AsyncClient, state: AppState, wallet: Wallet, watcher: WatcherHandle
) -> None:
    standby = WatcherHandle(state, wallet.network)
    await standby.start()  # returns once the cursor exists; it is waiting on the lock

    async def holders() -> int:
        found = await query(
            state,
            # This database's only: other tests' databases on the same server take theirs.
            "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        return int(found[0]["n"])

    await wait_until(lambda: _waiting(state))
    assert await holders() == 1

    await watcher.stop()  # the standby takes over
    payment = await create_unfunded(api, stellar_airtime(10_000))
    await wallet.pay(wallet.payer(), "100", payment["funding_instructions"]["memo"])
    await wait_for_status(api, payment["id"], {"pending"})
    await standby.stop()
    await _credited_once(state, [payment])


async def _waiting(state: AppState) -> bool:
    found = await query(
        state,
        "SELECT count(*) AS n FROM pg_stat_activity "
        "WHERE query LIKE '%pg_try_advisory_lock%' AND pid <> pg_backend_pid()"
        " AND datname = current_database()",
    )
    return int(found[0]["n"]) >= 2


async def test_database_cut_while_storing_a_deposit_is_retried_not_quarantined(
    api: httpx.AsyncClient,
    state: AppState,
    wallet: Wallet,
    watcher: WatcherHandle,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The chaos soak's lost deposit: a database cut in the middle of a one-record batch was
    taken for trouble with the record, which was quarantined; its payment then expired."""
    payment = await create_unfunded(api, stellar_airtime(10_000))
    insert = stellar_repo.insert_deposits
    cut = asyncio.Event()

    async def cut_once(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
        if not cut.is_set():
            cut.set()  # the connection dies under the watcher, as pg_terminate_backend does
            await session.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
        return await insert(session, rows)

    monkeypatch.setattr(stellar_repo, "insert_deposits", cut_once)
    await wallet.pay(wallet.payer(), "100", payment["funding_instructions"]["memo"])

    await wait_for_status(api, payment["id"], {"pending"})
    assert cut.is_set()
    await _credited_once(state, [payment])

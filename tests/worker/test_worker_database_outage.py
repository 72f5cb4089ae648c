"""The database drops a worker's connections and refuses it for a while (a restart, a
failover, ``too many clients``): the worker carries on once it is back, wake-ups included, and
nothing is lost or vended twice."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
import structlog
from sqlalchemy.engine import make_url

from billpay.bootstrap import build_state
from billpay.config import Settings
from billpay.db.engine import asyncpg_dsn
from billpay.db.listen import Listener
from billpay.sandbox.vtpass.state import VTpassSandboxState
from billpay.worker.runner import Worker
from flows import airtime, create, wait_for_status, wait_until


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"flutterwave_base_url": None, "interswitch_base_url": None}


@pytest.fixture
async def admin(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    yield connection
    await connection.close()


@pytest.fixture
async def worker_role(admin: asyncpg.Connection) -> AsyncIterator[str]:
    """A login role of its own, so the test can cut exactly the worker off the database."""
    role = f"billpay_worker_{uuid.uuid4().hex[:8]}"
    await admin.execute(f'CREATE ROLE "{role}" LOGIN')
    await admin.execute(f'GRANT ALL ON ALL TABLES IN SCHEMA public TO "{role}"')
    await admin.execute(f'GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO "{role}"')
    yield role
    await _cut_off(admin, role)
    await admin.execute(f'DROP OWNED BY "{role}"')
    await admin.execute(f'DROP ROLE "{role}"')


async def _cut_off(admin: asyncpg.Connection, role: str) -> int:
    """Refuse the role's new connections and end its open ones; how many were ended."""
    await admin.execute(f'ALTER ROLE "{role}" NOLOGIN')
    ended: int = await admin.fetchval(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = $1", role
    )
    return ended


def _as_role(database_url: str, role: str) -> str:
    return make_url(database_url).set(username=role).render_as_string(hide_password=False)


async def test_worker_carries_on_after_the_database_cut_it_off(
    api: httpx.AsyncClient,
    settings: Settings,
    database_url: str,
    admin: asyncpg.Connection,
    worker_role: str,
    vtpass: VTpassSandboxState,
) -> None:
    worker_state = build_state(settings, _as_role(database_url, worker_role))
    stop = asyncio.Event()
    with structlog.testing.capture_logs() as events:
        running = asyncio.create_task(Worker(worker_state).run(stop))
        try:
            before = await create(api, airtime("08031110001"))
            assert (await wait_for_status(api, before, {"paid"}))["status"] == "paid"

            assert await _cut_off(admin, worker_role) > 0  # its pool and its LISTEN connection
            during = await create(api, airtime("08031110002"))
            await wait_until(lambda: any(e["event"] == "worker_loop_failed" for e in events))
            assert not running.done()  # the loop met the refusal and lives on
            await admin.execute(f'ALTER ROLE "{worker_role}" LOGIN')

            paid = await wait_for_status(api, during, {"paid", "refunded", "needs_review"}, 30)
            assert paid["status"] == "paid"
        finally:
            stop.set()
            await asyncio.wait_for(running, timeout=30)
            await worker_state.aclose()
    customers = sorted(vend.customer for vend in vtpass.vends())
    assert customers == ["08031110001", "08031110002"]  # each vended once


async def test_a_dropped_listener_comes_back_and_says_so(
    database_url: str, admin: asyncpg.Connection, worker_role: str
) -> None:
    woken = asyncio.Event()
    listener = Listener(
        _as_role(database_url, worker_role), {"billpay_test": lambda *_: woken.set()}
    )
    await listener.ensure()
    try:
        await admin.execute("NOTIFY billpay_test")
        await asyncio.wait_for(woken.wait(), timeout=10)

        woken.clear()
        await _cut_off(admin, worker_role)
        await admin.execute(f'ALTER ROLE "{worker_role}" LOGIN')
        deadline = asyncio.get_running_loop().time() + 15
        while not woken.is_set():  # notifications meanwhile are lost: a reconnect wakes once
            assert asyncio.get_running_loop().time() < deadline, "never reconnected"
            await listener.ensure()
            await asyncio.sleep(0.05)

        woken.clear()
        await admin.execute("NOTIFY billpay_test")
        await asyncio.wait_for(woken.wait(), timeout=10)
    finally:
        await listener.close()

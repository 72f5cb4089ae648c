"""The database goes away under the API and comes back: while it is away every request gets a
503 ``database_unavailable`` (never a 500) and ``/readyz`` fails; the first request after it is
back succeeds, on the ORM path and on the raw asyncpg create path alike."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from db_proxy import DatabaseProxy

from billpay.app import create_app
from billpay.bootstrap import build_state
from billpay.config import Settings
from billpay.db.engine import asyncpg_dsn
from billpay.state import AppState
from flows import airtime


@pytest.fixture
async def proxy(database_url: str) -> AsyncIterator[DatabaseProxy]:
    running = DatabaseProxy(database_url)
    await running.start()
    yield running
    await running.stop()


@pytest.fixture
async def proxied_api(
    settings: Settings,
    proxy: DatabaseProxy,
    state: AppState,
    merchant: tuple[uuid.UUID, str],
) -> AsyncIterator[httpx.AsyncClient]:
    """The API on a state whose every database connection goes through ``proxy``."""
    proxied = build_state(settings.model_copy(update={"database_url": proxy.url}), proxy.url)
    transport = httpx.ASGITransport(app=create_app(proxied))
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://billpay.test",
        headers={"Authorization": f"Bearer {merchant[1]}"},
    ) as client:
        yield client
    await proxied.aclose()


async def _warm_up(api: httpx.AsyncClient) -> None:
    """Fill the pool with connections that the outage will kill."""
    for _ in range(3):
        created = await api.post("/v1/payments", json=airtime())
        assert created.status_code == 201, created.text
        assert (await api.get("/v1/payments")).status_code == 200


def _unavailable(response: httpx.Response) -> bool:
    return (
        response.status_code == 503
        and response.json()["error"]["code"] == "database_unavailable"
        and "Retry-After" in response.headers
    )


async def test_requests_get_503_while_the_database_is_down_and_succeed_once_it_is_back(
    proxied_api: httpx.AsyncClient, proxy: DatabaseProxy
) -> None:
    await _warm_up(proxied_api)
    assert (await proxied_api.get("/readyz")).status_code == 200

    await proxy.stop()
    during = [
        await proxied_api.post("/v1/payments", json=airtime()),  # the raw asyncpg path
        await proxied_api.get("/v1/payments"),  # the ORM path
        await proxied_api.post("/v1/payments", json=airtime()),
        await proxied_api.get("/v1/billers"),
    ]
    assert all(_unavailable(response) for response in during), [r.text for r in during]
    assert (await proxied_api.get("/readyz")).status_code == 503
    assert (await proxied_api.get("/healthz")).status_code == 200  # alive, only not ready

    await proxy.start()
    back = time.perf_counter()
    first = await proxied_api.post("/v1/payments", json=airtime())
    healed_ms = (time.perf_counter() - back) * 1000
    assert first.status_code == 201, first.text
    print(f"\nheal time after the database came back: {healed_ms:.0f} ms (first create)")
    assert (await proxied_api.get("/v1/payments")).status_code == 200
    assert (await proxied_api.get("/readyz")).status_code == 200


async def test_connections_the_server_ended_are_replaced_after_one_refusal(
    proxied_api: httpx.AsyncClient, database_url: str
) -> None:
    """``pg_terminate_backend`` on every connection (a failover, an operator): the request
    that meets a dead connection is a 503 and marks the whole pool stale, the next succeeds."""
    await _warm_up(proxied_api)
    admin = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        ended = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await admin.close()
    assert ended > 0

    refused = 0
    for _ in range(2):  # at most the one request that found the dead connection
        response = await proxied_api.post("/v1/payments", json=airtime())
        if response.status_code == 201:
            break
        assert _unavailable(response), response.text
        refused += 1
    else:
        pytest.fail("the API did not heal after the connections were ended")
    assert refused <= 1
    listed = await proxied_api.get("/v1/payments")
    assert listed.status_code == 200

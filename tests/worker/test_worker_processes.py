"""Worker processes sharing one queue, and a worker killed in the middle of a provider call."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from billpay.config import Settings
from billpay.sandbox.app import sandbox_settings
from billpay.sandbox.server import ThreadedServer
from billpay.sandbox.vtpass.faults import FaultKind, FaultRule, Faults
from billpay.sandbox.vtpass.state import VTpassSandboxState
from billpay.state import AppState
from billpay.worker.runner import Worker
from flows import wait_for_status, wait_until

BILLPAY = str(Path(sys.executable).parent / "billpay")


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    return {"flutterwave_base_url": None, "interswitch_base_url": None}


def worker_env(sandbox: ThreadedServer, settings: Settings, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VTPASS", "FLUTTERWAVE"))}
    # VTpass only: the other providers' settings are left out entirely (a provider
    # configured halfway is refused at startup).
    env.update(
        {
            key.upper(): str(value)
            for key, value in sandbox_settings(sandbox.url).items()
            if not key.startswith(("flutterwave", "interswitch"))
        }
    )
    env.update(
        {
            "DATABASE_URL": str(settings.database_url),
            "BILL_PROCESSOR_RETRY_SCHEDULE": json.dumps(settings.retry_schedule_seconds),
            "BILL_PROCESSOR_POLL_INTERVAL_SECONDS": "0.5",
            # As the in-process worker's settings: a lease that outlives a stuck step by
            # seconds, not a minute, and a pool that leaves the test's Postgres connections
            # for everyone else (two workers at the default pool could take ~80 of its 100).
            "BILL_PROCESSOR_LEASE_SECONDS": str(settings.lease_seconds),
            "BILLPAY_DB_POOL_SIZE": str(settings.db_pool_size),
            "BILLPAY_LOG_LEVEL": "WARNING",
            **extra,
        }
    )
    return env


@pytest.fixture
def spawn_worker(sandbox: ThreadedServer, settings: Settings, tmp_path: Path) -> Iterator[Any]:
    processes: list[subprocess.Popen[bytes]] = []

    def spawn(**extra: str) -> subprocess.Popen[bytes]:
        log = (tmp_path / f"worker-{len(processes)}.log").open("wb")
        process = subprocess.Popen(
            [BILLPAY, "worker"],
            env=worker_env(sandbox, settings, **extra),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        processes.append(process)
        return process

    yield spawn
    for process in processes:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


async def test_killed_worker_is_resumed_by_requery_never_a_second_vend(
    api: httpx.AsyncClient,
    state: AppState,
    vtpass: VTpassSandboxState,
    spawn_worker: Any,
) -> None:
    phone = "08030000010"
    # The simulator vends, then holds its answer: the worker is mid-call when it dies.
    vtpass.set_faults(
        Faults(
            timeout_seconds=60.0,
            rules=[FaultRule(kind=FaultKind.VEND_THEN_TIMEOUT, target=phone, times=1)],
        )
    )
    body = {
        "request_reference": "killed-worker",
        "plan": "mtn-airtime",
        "customer_id": phone,
        "amount_kobo": 50_000,
    }
    payment_id = (await api.post("/v1/payments", json=body)).json()["id"]
    doomed = spawn_worker(BILL_PROCESSOR_LEASE_SECONDS="1.5", PROVIDER_TIMEOUT_SECONDS="50")

    async def vended() -> bool:
        return len(vtpass.vends()) == 1

    await wait_until(vended, "the first worker's vend", timeout=30)
    doomed.send_signal(signal.SIGKILL)
    doomed.wait(timeout=10)

    stop = asyncio.Event()
    rescuer = asyncio.create_task(Worker(state).run(stop))
    try:
        payment = await wait_for_status(api, payment_id, {"paid", "refunded", "needs_review"}, 30)
    finally:
        stop.set()
        await rescuer
    assert payment["status"] == "paid"
    assert len(vtpass.vends()) == 1
    async with state.unit_of_work() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT sends, requeries, outcome FROM payment_attempts WHERE payment_id = :id"
                ),
                {"id": payment_id},
            )
        ).all()
    assert len(rows) == 1  # resumed on the same attempt and reference
    sends, requeries, outcome = rows[0]
    assert (sends, outcome) == (0, "succeeded")  # the dead worker never recorded its send
    assert requeries >= 1


async def test_two_worker_processes_vend_each_of_500_payments_once(
    api: httpx.AsyncClient,
    state: AppState,
    vtpass: VTpassSandboxState,
    spawn_worker: Any,
) -> None:
    bodies = [
        {
            "request_reference": f"shared-{i}",
            "plan": "mtn-airtime",
            "customer_id": f"0803{i:07d}",
            "amount_kobo": 10_000,
        }
        for i in range(500)
    ]
    for start in range(0, len(bodies), 50):
        responses = await asyncio.gather(
            *(api.post("/v1/payments", json=body) for body in bodies[start : start + 50])
        )
        assert all(r.status_code == 201 for r in responses)
    spawn_worker()
    spawn_worker()

    async def all_paid() -> bool:
        async with state.unit_of_work() as session:
            paid = await session.scalar(text("SELECT count(*) FROM payments WHERE status = 'paid'"))
        return paid == 500

    await wait_until(all_paid, "500 payments to be paid", timeout=120)
    vends = vtpass.vends()
    assert len(vends) == 500
    assert len({v.request_id for v in vends}) == 500
    async with state.unit_of_work() as session:
        attempts = await session.scalar(text("SELECT count(*) FROM payment_attempts"))
        references = await session.scalar(
            text("SELECT count(DISTINCT provider_reference) FROM payment_attempts")
        )
    assert attempts == references == 500
    assert {v.customer for v in vends} == {b["customer_id"] for b in bodies}

"""End-to-end throughput: N payments created over HTTP at concurrency C, processed by a
worker against the provider simulators, everything on this machine.

Prints create p50/p99 latency, payments/s end to end, time-to-paid p50/p99, worker memory,
and pgbench TPS on the same Postgres (the yardstick), and writes them as JSON.

    python -m bench.throughput --payments 5000 --concurrency 32
    python -m bench.throughput --workload mixed --primary-failures 300   # fallback cost
    python -m bench.throughput --notifications                            # webhooks + email on
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
from aiosmtpd.controller import Controller
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from billpay.bootstrap import build_state
from billpay.catalog.service import sync
from billpay.clients.service import create_client, top_up
from billpay.config import Settings
from billpay.db.embedded import start_embedded_postgres
from billpay.db.engine import asyncpg_dsn, socket_dir
from billpay.db.migrate import upgrade
from billpay.sandbox.app import sandbox_settings
from billpay.sandbox.server import ThreadedServer, free_port

RESULTS = Path(__file__).parent / "results"
WARMUP_PAYMENTS = 50
BIN = Path(sys.executable).parent


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def spawn(args: list[str], env: dict[str, str], log_dir: Path) -> subprocess.Popen[bytes]:
    log = (log_dir / f"{args[0]}.log").open("ab")
    return subprocess.Popen([str(BIN / "billpay"), *args], env=env, stdout=log, stderr=log)


def cpu_seconds_by_process(processes: list[subprocess.Popen[bytes]]) -> dict[str, float]:
    used = {
        name: sum(psutil.Process(process.pid).cpu_times()[:2])
        for name, process in zip(("sandbox", "api", "worker"), processes, strict=True)
    }
    used["load_generator"] = sum(psutil.Process().cpu_times()[:2])
    return used


def postgres_cpu_seconds() -> dict[int, float]:
    """CPU seconds of every Postgres process on this machine, by pid (backends come and go:
    the window's figure counts those alive at its end)."""
    used: dict[int, float] = {}
    for process in psutil.process_iter(["name", "cpu_times"]):
        if process.info["name"] == "postgres" and process.info["cpu_times"] is not None:
            used[process.pid] = sum(process.info["cpu_times"][:2])
    return used


async def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while True:
            try:
                await client.get(url)
                return
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)


async def reset(url: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await connection.execute(
            "TRUNCATE payment_events, payment_attempts, ledger_entries, ledger_accounts, "
            "payments, clients CASCADE"
        )
    finally:
        await connection.close()


async def prepare_client(
    settings: Settings, url: str, payments: int, webhook_url: str | None
) -> str:
    state = build_state(settings, url)
    try:
        async with state.unit_of_work() as session:
            await sync(session, state.providers)
            client, key = await create_client(session, "bench", webhook_url)
            balance = (payments + WARMUP_PAYMENTS) * 2_000_000
            await top_up(session, client.id, balance, "bench balance")
        return key
    finally:
        await state.aclose()


PHONE_PREFIX = "0803"
MIXED: tuple[tuple[str, str | None, dict[str, Any]], ...] = (
    ("mtn-airtime", None, {"amount_kobo": 10_000}),
    ("mtn-data-10gb-30d", None, {}),
    ("dstv-compact", "1212121212", {"subscription_type": "renew"}),
    ("ikeja-electric-prepaid", "1111111111111", {"amount_kobo": 100_000}),
    ("bet9ja-wallet", "BETTOR01", {"amount_kobo": 10_000}),
)


def payment_body(index: int, workload: str) -> dict[str, Any]:
    phone = f"{PHONE_PREFIX}{index % 10_000_000:07d}"
    reference = f"bench-{index}-{uuid.uuid4().hex[:8]}"
    if workload == "airtime":
        plan, customer, extra = MIXED[0]
    else:
        plan, customer, extra = MIXED[index % len(MIXED)]
    return {
        "request_reference": reference,
        "plan": plan,
        "customer_id": customer or phone,
        "phone": phone,
        **extra,
    }


async def create_load(
    api_url: str,
    key: str,
    payments: int,
    concurrency: int,
    workload: str,
    rate: float | None = None,
) -> tuple[list[float], float]:
    """Create ``payments`` over HTTP from ``concurrency`` clients, as fast as they can or,
    with ``rate``, each one due at its slot in a steady ``rate`` per second."""
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(payments):
        queue.put_nowait(index)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        base_url=api_url, headers={"Authorization": f"Bearer {key}"}, limits=limits, timeout=60
    ) as client:
        load_started = time.perf_counter()

        async def one_client() -> None:
            while not queue.empty():
                index = queue.get_nowait()
                if rate:
                    due = load_started + index / rate
                    await asyncio.sleep(max(0.0, due - time.perf_counter()))
                body = payment_body(index, workload)
                started = time.perf_counter()
                response = await client.post("/v1/payments", json=body)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 201:
                    raise RuntimeError(f"create failed: {response.status_code} {response.text}")

        await asyncio.gather(*(one_client() for _ in range(concurrency)))
        return latencies, time.perf_counter() - load_started


async def wait_finished(
    url: str, payments: int, timeout: float, worker: psutil.Process, since: float = 0.0
) -> dict[str, Any]:
    """Wait for every payment created after ``since`` (epoch seconds) to finish, sampling the
    worker's memory as they do."""
    connection = await asyncpg.connect(asyncpg_dsn(url))
    rss_by_progress: dict[str, float] = {}
    try:
        deadline = time.monotonic() + timeout
        while True:
            done = await connection.fetchval(
                "SELECT count(*) FROM payments WHERE created_at >= to_timestamp($1) "
                "AND status IN ('paid', 'refunded', 'needs_review')",
                since,
            )
            tenth = f"{min(10, done * 10 // payments) * 10}%"
            rss_by_progress.setdefault(tenth, round(worker.memory_info().rss / 2**20, 1))
            if done >= payments or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2 if payments <= 10_000 else 1.0)  # counting costs Postgres
        rows = await connection.fetch(
            "SELECT status, extract(epoch FROM completed_at - created_at) AS seconds, "
            "extract(epoch FROM created_at) AS created, extract(epoch FROM completed_at) AS done "
            "FROM payments WHERE created_at >= to_timestamp($1)",
            since,
        )
    finally:
        await connection.close()
    paid = [r for r in rows if r["status"] == "paid"]
    first = min(float(r["created"]) for r in rows)
    last = max(float(r["done"]) for r in paid) if paid else first
    return {
        "worker_rss_mb_by_progress": rss_by_progress,
        "paid": len(paid),
        "not_paid": len(rows) - len(paid),
        "time_to_paid": [float(r["seconds"]) for r in paid],
        "wall_seconds": last - first,
        "last_done": last,
    }


def pgbench_tps(url: str, seconds: int = 10) -> float | None:
    binary = shutil.which("pgbench") or str(
        Path(__import__("pgserver").__file__).parent / "pginstall" / "bin" / "pgbench"
    )
    if not Path(binary).exists():
        return None
    env = dict(os.environ)
    dsn = asyncpg_dsn(url)
    host = socket_dir(url)
    if host:
        env["PGHOST"] = host
        dsn = dsn.split("?")[0]
    subprocess.run([binary, "-i", "-s", "5", "-q", dsn], env=env, check=True, capture_output=True)
    result = subprocess.run(
        [binary, "-c", "8", "-j", "2", "-T", str(seconds), dsn],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    for line in result.stdout.splitlines():
        if line.startswith("tps"):
            return float(line.split("=")[1].split()[0])
    return None


class Receivers:
    """A merchant webhook endpoint, an SMS hook and an SMTP server, all counting what arrives."""

    def __init__(self) -> None:
        self.webhooks = 0
        self.sms = 0
        self.emails = 0
        receivers = self

        async def hook(request: Request) -> Response:
            await request.body()
            if request.url.path == "/sms":
                receivers.sms += 1
            else:
                receivers.webhooks += 1
            return Response(status_code=204)

        class Mailbox:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                receivers.emails += 1
                return "250 OK"

        self.http = ThreadedServer(
            Starlette(routes=[Route("/{path:path}", hook, methods=["POST"])])
        )
        self.smtp = Controller(Mailbox(), hostname="127.0.0.1", port=free_port())

    def __enter__(self) -> Receivers:
        self.http.start()
        self.smtp.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.http.stop()
        self.smtp.stop()

    def env(self) -> dict[str, str]:
        return {
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(self.smtp.port),
            "SMTP_FROM": "billpay@bench.local",
            "SMTP_STARTTLS": "false",
            "SMS_WEBHOOK_URL": f"{self.http.url}/sms",
            "SMS_WEBHOOK_TOKEN": "bench-sms-token",
        }


async def inject_primary_failures(sandbox_url: str, count: int) -> None:
    """The primary (Interswitch) definitely fails ``count`` purchases: each falls back."""
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{sandbox_url}/interswitch/_sandbox/faults",
            json={"fault": "definite_failure", "count": count},
        )
        response.raise_for_status()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.notifications:
        with Receivers() as receivers:
            result = await run_once(args, receivers)
            await asyncio.sleep(5)  # let the outbox drain before counting
            result.update(
                webhooks_received=receivers.webhooks,
                emails_received=receivers.emails,
                sms_received=receivers.sms,
            )
            return result
    return await run_once(args, None)


async def run_once(args: argparse.Namespace, receivers: Receivers | None) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="billpay-bench-"))
    url = os.environ.get("DATABASE_URL") or start_embedded_postgres(data_dir)
    upgrade(url)
    await reset(url)
    sandbox_port, api_port = free_port(), free_port()
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    provider_env = {key.upper(): str(value) for key, value in sandbox_settings(sandbox_url).items()}
    env = {
        **os.environ,
        **provider_env,
        "DATABASE_URL": url,
        "BILLPAY_API_PORT": str(api_port),
        "BILLPAY_LOG_LEVEL": "WARNING",
        "BILL_PROCESSOR_CONCURRENCY": str(args.worker_concurrency),
        "BILL_PROCESSOR_BATCH_SIZE": str(args.batch_size),
        "BILLPAY_DATA_DIR": str(data_dir),
        "BILLPAY_ALLOW_PRIVATE_WEBHOOK_URLS": "true",  # the receivers listen on loopback
        **(receivers.env() if receivers else {}),
    }
    processes = [spawn(["sandbox", "--port", str(sandbox_port)], env, data_dir)]
    try:
        await wait_http(f"{sandbox_url}/vtpass/api/service-categories")
        settings = Settings.model_validate({**sandbox_settings(sandbox_url), "database_url": url})
        webhook_url = f"{receivers.http.url}/webhook" if receivers else None
        key = await prepare_client(settings, url, args.payments, webhook_url)
        if args.primary_failures:
            await inject_primary_failures(sandbox_url, args.primary_failures)
        processes.append(spawn(["api"], env, data_dir))
        api_url = f"http://127.0.0.1:{api_port}"
        await wait_http(f"{api_url}/healthz")
        worker = spawn(["worker"], env, data_dir)
        processes.append(worker)
        # Warm up (imports, connection pools, plan cache) so figures describe a running
        # service, not its start-up; warm-up payments are left out of every figure.
        await create_load(api_url, key, WARMUP_PAYMENTS, 2, args.workload)
        await wait_finished(url, WARMUP_PAYMENTS, 120, psutil.Process(worker.pid))
        since = time.time()
        cpu_before = cpu_seconds_by_process(processes)
        postgres_before = postgres_cpu_seconds()
        worker_rss_start = psutil.Process(worker.pid).memory_info().rss
        if args.drain:
            psutil.Process(worker.pid).suspend()
        # Watched from the start, so worker memory is sampled across the whole run.
        finishing = asyncio.create_task(
            wait_finished(
                url, args.payments, args.payments / 10 + 60, psutil.Process(worker.pid), since
            )
        )
        latencies, create_seconds = await create_load(
            api_url, key, args.payments, args.concurrency, args.workload, args.rate
        )
        drain_started = time.time()
        if args.drain:
            psutil.Process(worker.pid).resume()
        finished = await finishing
        worker_rss_end = psutil.Process(worker.pid).memory_info().rss
        cpu_after = cpu_seconds_by_process(processes)
        cpu_seconds = {name: round(cpu_after[name] - cpu_before[name], 1) for name in cpu_after}
        postgres_after = postgres_cpu_seconds()
        cpu_seconds["postgres"] = round(
            sum(used - postgres_before.get(pid, 0.0) for pid, used in postgres_after.items()), 1
        )
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
    tps = pgbench_tps(url, args.pgbench_seconds) if args.pgbench_seconds else None
    ttp = finished["time_to_paid"]
    drain: dict[str, Any] = {}
    if args.drain:
        drain_seconds = finished["last_done"] - drain_started
        drain["worker_alone_payments_per_second"] = round(finished["paid"] / drain_seconds, 1)
    return {
        **drain,
        "payments": args.payments,
        "concurrency": args.concurrency,
        "rate": args.rate,
        "workload": args.workload,
        "primary_failures": args.primary_failures,
        "notifications": args.notifications,
        "paid": finished["paid"],
        "not_paid": finished["not_paid"],
        "create_p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "create_p99_ms": round(percentile(latencies, 99) * 1000, 2),
        "creates_per_second": round(args.payments / create_seconds, 1),
        "payments_per_second_end_to_end": round(finished["paid"] / finished["wall_seconds"], 1)
        if finished["wall_seconds"]
        else None,
        "time_to_paid_p50_ms": round(percentile(ttp, 50) * 1000, 2),
        "time_to_paid_p99_ms": round(percentile(ttp, 99) * 1000, 2),
        "time_to_paid_mean_ms": round(statistics.fmean(ttp) * 1000, 2) if ttp else None,
        "worker_rss_mb_start": round(worker_rss_start / 2**20, 1),
        "worker_rss_mb_end": round(worker_rss_end / 2**20, 1),
        "worker_rss_mb_by_progress": finished["worker_rss_mb_by_progress"],
        "cpu_seconds_by_process": cpu_seconds,
        "pgbench_tps": tps,
        "database": "DATABASE_URL" if os.environ.get("DATABASE_URL") else "embedded",
        "logs": str(data_dir),
        "cpus": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--payments", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--workload",
        choices=("airtime", "mixed"),
        default="airtime",
        help="airtime only, or all five bill types across the three providers",
    )
    parser.add_argument(
        "--primary-failures",
        type=int,
        default=0,
        help="purchases the primary provider definitely fails (each falls back)",
    )
    parser.add_argument(
        "--notifications",
        action="store_true",
        help="merchant webhooks, payer emails and SMS on, to local receivers",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="create at this steady rate (payments/s) instead of as fast as possible",
    )
    parser.add_argument(
        "--drain",
        action="store_true",
        help="hold the worker while creating, then time it alone on the queue it finds",
    )
    parser.add_argument("--worker-concurrency", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    args = parser.parse_args()
    result = asyncio.run(run(args))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"throughput-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2))
    width = max(len(k) for k in result)
    for name, value in result.items():
        print(f"{name:<{width}}  {value}")
    print(f"written to {out}")


if __name__ == "__main__":
    main()

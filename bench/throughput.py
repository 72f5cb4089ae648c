"""Throughput: billpay end to end and its worker alone, beside two yardsticks measured on the
same Postgres in the same run — procrastinate's no-op job rate and pgbench's TPS.

Each repetition runs, one after the other (so the figures share the machine's state):

1. **end to end**: ``wrk`` (``apt-get install wrk``; without it, the Python generator,
   labelled so) POSTs ``/v1/payments`` with bench/wrk/create_payments.lua against the API
   process(es) while the worker(s) run; merchant webhooks and payer SMS/email go to local
   receivers (unless ``--no-notifications``). The rate is paid payments / (first create → last
   paid), counted in the database, and the run ends only once the outbox holds no pending
   message.
2. **worker alone** (unless ``--no-drain``): the same N payments created with the worker(s)
   suspended (SIGSTOP), then resumed and timed from the first paid to the last.
3. **procrastinate**: N no-op jobs through one procrastinate worker at concurrency 10
   (bench/procrastinate_noop.py), in a scratch database dropped after.
4. **pgbench**: its TPS (-c 8 -j 2), in a scratch database dropped after.

CPU is read per process (API(s), worker(s), provider simulators, this database's Postgres
backends with the server's background processes); "CPU/payment" is their sum over the
window divided by the payments paid. The load generator, the harness (receivers, polling) and
Postgres backends of other databases (someone else's work on a shared server) are reported
apart and not in that sum. Figures are min / median / max over ``--repeat`` repetitions; the
warnings and errors the processes logged are printed with each measure. Every measure starts
its processes afresh on emptied tables and warms them up with payments it leaves out.

    python -m bench.throughput                                   # 3000 payments, 3 repetitions
    python -m bench.throughput --payments 1000 --repeat 1        # a quick look
    python -m bench.throughput --workers 2 --api-processes 2     # one wrk per API process
    python -m bench.throughput --scaling --repeat 1              # workers 1,2,4 × APIs 1,2
    python -m bench.throughput --rate 200 --payments 4000        # latency at a steady rate
    python -m bench.throughput --workload mixed --primary-failures 300   # fallback cost

Postgres is DATABASE_URL if set (its tables are truncated: use a scratch database), else an
embedded server. The last line printed is the summary:
``bench: E payments/s end to end (outbox drained), W worker alone, R× procrastinate, S× pgbench,
C ms CPU/payment``, with E and W medians, R and S the ratios of E to the yardsticks' medians
(with ``--scaling``: of the configuration with the best E, named on the line above). JSON of
every figure goes to bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import multiprocessing
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
from aiosmtpd.controller import Controller
from sqlalchemy.engine import make_url

from bench.scratch import scratch_database
from bench.services import BIN, wait_http
from billpay.bootstrap import build_state
from billpay.catalog.service import sync
from billpay.clients.service import create_client, top_up
from billpay.config import Settings
from billpay.db.embedded import start_embedded_postgres
from billpay.db.engine import asyncpg_dsn, socket_dir
from billpay.db.migrate import upgrade
from billpay.sandbox.app import sandbox_settings
from billpay.sandbox.server import free_port

ROOT = Path(__file__).parent.parent
RESULTS = Path(__file__).parent / "results"
WRK_SCRIPT = Path(__file__).parent / "wrk" / "create_payments.lua"
WARMUP_PAYMENTS = 50
FINISHED = ("paid", "refunded", "failed", "expired", "needs_review")  # won't move on their own
NOTEWORTHY = ("warning", "error", "critical")  # log levels reported with each measure
SCALING_GRID = [(workers, apis) for workers in (1, 2, 4) for apis in (1, 2)]
PROCRASTINATE_CONCURRENCY = 10


# --- small helpers ------------------------------------------------------------------------


class BenchFailed(Exception):
    """A measure could not finish (payments or the outbox never settled): no figure."""


def spread(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` near-equal whole shares."""
    return [total // parts + (1 if index < total % parts else 0) for index in range(parts)]


def min_median_max(values: list[float | None]) -> dict[str, float] | None:
    present = [value for value in values if value is not None]
    if not present:
        return None
    return {"min": min(present), "median": statistics.median(present), "max": max(present)}


def per_payment_ms(seconds: float, payments: int) -> float | None:
    return round(seconds * 1000 / payments, 3) if payments else None


def wait_with_cpu(process: subprocess.Popen[bytes]) -> float:
    """Reap ``process`` and return the CPU seconds it used (exact, from the kernel)."""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime


# --- the payments' database ---------------------------------------------------------------


async def reset(url: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await connection.execute(
            "TRUNCATE payment_events, payment_attempts, ledger_entries, ledger_accounts, "
            "payments, clients CASCADE"
        )
    finally:
        await connection.close()


async def prepare_client(sandbox_url: str, url: str, payments: int, webhook_url: str | None) -> str:
    """The catalog synced and a funded merchant; returns its API key. Done in a process of its
    own: billpay keeps ledger account ids for the life of a process (accounts are never
    deleted), and each measure truncates them."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return await asyncio.get_running_loop().run_in_executor(
            pool, prepare_client_here, sandbox_url, url, payments, webhook_url
        )


def prepare_client_here(sandbox_url: str, url: str, payments: int, webhook_url: str | None) -> str:
    async def prepare() -> str:
        settings = Settings.model_validate({**sandbox_settings(sandbox_url), "database_url": url})
        state = build_state(settings, url)
        try:
            async with state.unit_of_work() as session:
                await sync(session, state.providers)
                client, key = await create_client(session, "bench", webhook_url)
                balance = (payments + WARMUP_PAYMENTS * 4) * 2_000_000
                await top_up(session, client.id, balance, "bench balance")
            return key
        finally:
            await state.aclose()

    return asyncio.run(prepare())


class Watch:
    """The harness's one connection: counts what the database holds. Its backend is left out
    of Postgres's CPU."""

    def __init__(self, connection: asyncpg.Connection, poll_seconds: float) -> None:
        self.connection = connection
        self.poll_seconds = poll_seconds  # counting costs Postgres: less often on long runs

    @classmethod
    @contextlib.asynccontextmanager
    async def open(cls, url: str, payments: int) -> AsyncIterator[Watch]:
        connection = await asyncpg.connect(asyncpg_dsn(url))
        try:
            yield cls(connection, 0.2 if payments <= 10_000 else 1.0)
        finally:
            await connection.close()

    async def now(self) -> dt.datetime:
        return await self.connection.fetchval("SELECT now()")

    async def created(self, since: dt.datetime) -> int:
        return await self.connection.fetchval(
            "SELECT count(*) FROM payments WHERE created_at >= $1", since
        )

    async def finished(self, since: dt.datetime) -> int:
        return await self.connection.fetchval(
            "SELECT count(*) FROM payments WHERE created_at >= $1 AND status = ANY($2)",
            since,
            list(FINISHED),
        )

    async def outbox_pending(self) -> int:
        """Payments' messages not yet sent (operator alerts are no payment's work)."""
        return await self.connection.fetchval(
            "SELECT count(*) FROM outbox_messages "
            "WHERE status = 'pending' AND payment_id IS NOT NULL"
        )

    async def wait_for(self, what: str, done: Any, timeout: float) -> None:
        """Poll the coroutine function ``done`` until it answers true, or fail after
        ``timeout`` seconds saying ``what`` was awaited."""
        deadline = time.monotonic() + timeout
        while not await done():
            if time.monotonic() > deadline:
                raise TimeoutError(f"gave up after {timeout:.0f} s waiting for {what}")
            await asyncio.sleep(self.poll_seconds)

    async def wait_finished(self, since: dt.datetime, payments: int) -> None:
        async def finished() -> bool:
            return await self.finished(since) >= payments

        await self.wait_for(f"{payments} payments to finish", finished, payments / 10 + 120)

    async def wait_outbox_drained(self, payments: int) -> None:
        async def drained() -> bool:
            return await self.outbox_pending() == 0

        await self.wait_for("the outbox to drain", drained, payments / 20 + 120)

    async def outcome(self, since: dt.datetime) -> dict[str, Any]:
        """What became of the payments created since ``since``, from the database's clock."""
        row = await self.connection.fetchrow(
            """
            SELECT min(created_at) AS first_created,
                   min(completed_at) FILTER (WHERE status = 'paid') AS first_paid,
                   max(completed_at) FILTER (WHERE status = 'paid') AS last_paid,
                   percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (
                       ORDER BY extract(epoch FROM completed_at - created_at))
                       FILTER (WHERE status = 'paid') AS time_to_paid
            FROM payments WHERE created_at >= $1
            """,
            since,
        )
        statuses = await self.connection.fetch(
            "SELECT status, count(*) AS n FROM payments WHERE created_at >= $1 GROUP BY status",
            since,
        )
        outbox = await self.connection.fetchrow(
            """
            SELECT count(*) FILTER (WHERE o.status = 'delivered') AS delivered,
                   count(*) FILTER (WHERE o.status = 'pending') AS pending,
                   count(*) FILTER (WHERE o.status = 'failed') AS failed,
                   max(o.delivered_at) AS last_delivered
            FROM outbox_messages o JOIN payments p ON p.id = o.payment_id
            WHERE p.created_at >= $1
            """,
            since,
        )
        return {**dict(row), "statuses": {r["status"]: r["n"] for r in statuses}, **dict(outbox)}


# --- CPU ------------------------------------------------------------------------------------


def process_cpu_seconds(process: psutil.Process) -> float:
    try:
        family = [process, *process.children(recursive=True)]
        return sum(sum(member.cpu_times()[:2]) for member in family)
    except psutil.NoSuchProcess:
        return 0.0


class PostgresCpu:
    """CPU seconds of this Postgres server's processes over a window: those serving the
    benchmark's database, with the server's background processes (WAL writer, checkpointer…),
    apart from those of other databases (other work on a shared server: noise, reported only).

    Sampled every half second because backends come and go: one that starts in the window
    counts from zero, one that ends counts up to its last sample. ``None`` when the server is
    not on this machine. Its own connection and the harness's are left out."""

    def __init__(self, url: str, watch: Watch) -> None:
        self.url = url
        self.database = make_url(url).database
        self.watch = watch
        self.connection: asyncpg.Connection | None = None
        self.postmaster: psutil.Process | None = None
        self.harness_pids: set[int] = set()
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.other_database: set[int] = set()
        self.sampler: asyncio.Task[None] | None = None

    async def __aenter__(self) -> PostgresCpu:
        self.connection = await asyncpg.connect(asyncpg_dsn(self.url))
        own_pid = await self.connection.fetchval("SELECT pg_backend_pid()")
        self.harness_pids = {own_pid, self.watch.connection.get_server_pid()}
        with contextlib.suppress(psutil.Error):
            self.postmaster = psutil.Process(own_pid).parent()
        if self.postmaster is not None:
            await self.sample(first=True)
            self.sampler = asyncio.create_task(self.keep_sampling())
        return self

    async def __aexit__(self, *_: object) -> None:
        if self.sampler is not None:
            self.sampler.cancel()
            await asyncio.gather(self.sampler, return_exceptions=True)
            await self.sample(first=False)
        if self.connection is not None:
            await self.connection.close()

    async def keep_sampling(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            await self.sample(first=False)

    async def sample(self, first: bool) -> None:
        assert self.postmaster is not None and self.connection is not None
        activity = await self.connection.fetch("SELECT pid, datname FROM pg_stat_activity")
        for row in activity:
            if row["datname"] not in (None, self.database):
                self.other_database.add(row["pid"])
        for process in [self.postmaster, *self.postmaster.children()]:
            if process.pid in self.harness_pids:
                continue
            try:
                used = sum(process.cpu_times()[:2])
            except psutil.NoSuchProcess:
                continue
            self.first.setdefault(process.pid, used if first else 0.0)
            self.last[process.pid] = used

    def seconds(self) -> dict[str, float] | None:
        if self.postmaster is None:
            return None
        used = {pid: self.last[pid] - self.first[pid] for pid in self.last}
        other = sum(seconds for pid, seconds in used.items() if pid in self.other_database)
        return {"postgres": sum(used.values()) - other, "postgres_other_databases": other}


# --- the processes under test ---------------------------------------------------------------


@dataclass
class Stack:
    """The provider simulators, M API processes and N workers, each with its own log."""

    env: dict[str, str]
    log_dir: Path
    sandbox_url: str
    api_urls: list[str] = field(default_factory=list)
    roles: dict[str, list[subprocess.Popen[bytes]]] = field(default_factory=dict)
    watched: dict[int, psutil.Process] = field(default_factory=dict)

    def spawn(self, role: str, args: list[str], extra_env: dict[str, str] | None = None) -> None:
        index = len(self.roles.setdefault(role, []))
        log = (self.log_dir / f"{role}-{index}.log").open("ab")
        process = subprocess.Popen(
            [str(BIN / "billpay"), *args],
            env={**self.env, **(extra_env or {})},
            stdout=log,
            stderr=log,
        )
        self.roles[role].append(process)
        self.watched[process.pid] = psutil.Process(process.pid)

    def start_apis(self, count: int) -> None:
        for _ in range(count):
            port = free_port()
            self.spawn("api", ["api"], {"BILLPAY_API_PORT": str(port)})
            self.api_urls.append(f"http://127.0.0.1:{port}")

    def start_workers(self, count: int) -> None:
        for _ in range(count):
            self.spawn("worker", ["worker"])

    def cpu_seconds(self) -> dict[str, float]:
        return {
            role: sum(process_cpu_seconds(self.watched[p.pid]) for p in processes)
            for role, processes in self.roles.items()
        }

    def workers(self) -> list[psutil.Process]:
        return [self.watched[process.pid] for process in self.roles.get("worker", [])]

    def worker_rss_mb(self) -> float:
        return round(sum(worker.memory_info().rss for worker in self.workers()) / 2**20, 1)

    def stop(self) -> None:
        for worker in self.workers():  # a held worker would not act on SIGTERM
            with contextlib.suppress(psutil.Error):
                worker.resume()
        everyone = [process for processes in self.roles.values() for process in processes]
        for process in everyone:
            process.terminate()
        for process in everyone:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def inject_primary_failures(sandbox_url: str, count: int) -> None:
    """The primary (Interswitch) definitely fails ``count`` purchases: each falls back."""
    async with httpx.AsyncClient() as client:
        response = await client.post(
            f"{sandbox_url}/interswitch/_sandbox/faults",
            json={"fault": "definite_failure", "count": count},
        )
        response.raise_for_status()


# --- receivers of webhooks and notifications ------------------------------------------------


class CountingHttp(asyncio.Protocol):
    """Answers every HTTP/1.1 request 204 and counts it by path (``/sms`` or a webhook). A
    bare protocol rather than a web framework: the receivers run in the harness, on the same
    two cores as billpay, and must cost next to nothing (Starlette cost ~5 ms per message)."""

    def __init__(self, counts: dict[str, int]) -> None:
        self.counts = counts
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (request := self.take_request()) is not None:
            self.counts["sms" if request.startswith(b"/sms") else "webhooks"] += 1
            assert self.transport is not None
            self.transport.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")

    def take_request(self) -> bytes | None:
        """The path of the first complete request in the buffer, which then drops it."""
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return None
        head = self.buffer[:head_end].lower()
        body_start = head_end + 4
        if b"transfer-encoding: chunked" in head:
            body_end = self.buffer.find(b"\r\n0\r\n\r\n", body_start - 2)
            if body_end < 0:
                return None
            body_end += 7
        else:
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip() == b"content-length":
                    length = int(value)
            body_end = body_start + length
            if len(self.buffer) < body_end:
                return None
        path = self.buffer[:head_end].split(b" ", 2)[1]
        self.buffer = self.buffer[body_end:]
        return path


class Receivers:
    """A merchant webhook endpoint, an SMS hook and an SMTP server, all counting what arrives."""

    def __init__(self) -> None:
        self.counts = {"webhooks": 0, "sms": 0, "emails": 0}
        counts = self.counts

        class Mailbox:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                counts["emails"] += 1
                return "250 OK"

        self.http_url = f"http://127.0.0.1:{free_port()}"
        self.http: asyncio.Server | None = None
        self.smtp = Controller(Mailbox(), hostname="127.0.0.1", port=free_port())

    async def __aenter__(self) -> Receivers:
        port = int(self.http_url.rpartition(":")[2])
        self.http = await asyncio.get_running_loop().create_server(
            lambda: CountingHttp(self.counts), "127.0.0.1", port
        )
        self.smtp.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self.http is not None
        self.http.close()
        self.smtp.stop()

    def webhook_url(self) -> str:
        return f"{self.http_url}/webhook"

    def env(self) -> dict[str, str]:
        return {
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(self.smtp.port),
            "SMTP_FROM": "billpay@bench.local",
            "SMTP_STARTTLS": "false",
            "SMS_WEBHOOK_URL": f"{self.http_url}/sms",
            "SMS_WEBHOOK_TOKEN": "bench-sms-token",
        }


# --- load generators ------------------------------------------------------------------------

PHONE_PREFIX = "0803"
# Keep in step with MIXED in bench/wrk/create_payments.lua.
MIXED: tuple[tuple[str, str | None, dict[str, Any]], ...] = (
    ("mtn-airtime", None, {"amount_kobo": 10_000}),
    ("mtn-data-10gb-30d", None, {}),
    ("dstv-compact", "1212121212", {"subscription_type": "renew"}),
    ("ikeja-electric-prepaid", "1111111111111", {"amount_kobo": 100_000}),
    ("bet9ja-wallet", "BETTOR01", {"amount_kobo": 10_000}),
)


def payment_body(index: int, workload: str, reference: str) -> dict[str, Any]:
    phone = f"{PHONE_PREFIX}{index % 10_000_000:07d}"
    plan, customer, extra = MIXED[0] if workload == "airtime" else MIXED[index % len(MIXED)]
    return {
        "request_reference": reference,
        "plan": plan,
        "customer_id": customer or phone,
        "phone": phone,
        **extra,
    }


@dataclass
class Load:
    """What is asked of a load generator: ``payments`` creates from ``concurrency``
    connections spread over the API processes, as fast as they go or at ``rate`` per second."""

    api_urls: list[str]
    key: str
    payments: int
    concurrency: int
    workload: str
    rate: float | None = None
    prefix: str = field(default_factory=lambda: f"bench-{uuid.uuid4().hex[:8]}")


@dataclass
class LoadResult:
    generator: str
    cpu_seconds: float
    create_p50_ms: float | None
    create_p99_ms: float | None
    failed: int


def percentile(values: list[float], pct: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


async def python_load(load: Load) -> LoadResult:
    """The fallback generator (httpx, in this process): it caps near 200-270 creates/s on two
    cores and its CPU is the harness's, receivers included."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(load.payments):
        queue.put_nowait(index)
    latencies: list[float] = []
    failed = 0
    cpu_before = time.process_time()
    started = time.perf_counter()
    limits = httpx.Limits(max_connections=load.concurrency)

    async def one_connection(client: httpx.AsyncClient) -> None:
        nonlocal failed
        while not queue.empty():
            index = queue.get_nowait()
            if load.rate:
                due = started + index / load.rate
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
            reference = f"{load.prefix}-{index}"
            sent = time.perf_counter()
            response = await client.post(
                f"{load.api_urls[index % len(load.api_urls)]}/v1/payments",
                json=payment_body(index, load.workload, reference),
                headers={"Idempotency-Key": reference},
            )
            latencies.append(time.perf_counter() - sent)
            failed += response.status_code != 201

    headers = {"Authorization": f"Bearer {load.key}"}
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=60) as client:
        await asyncio.gather(*(one_connection(client) for _ in range(load.concurrency)))
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    return LoadResult(
        generator="python (httpx; wrk not found)",
        cpu_seconds=time.process_time() - cpu_before,
        create_p50_ms=p50 * 1000 if p50 is not None else None,
        create_p99_ms=p99 * 1000 if p99 is not None else None,
        failed=failed,
    )


def spawn_wrk(
    url: str, load: Load, payments: int, connections: int, part: int, out: Path
) -> subprocess.Popen[bytes]:
    threads = min(2, connections)
    rate = (load.rate or 0) / len(load.api_urls)
    args = [load.key, str(payments), str(threads), load.workload, f"{load.prefix}-{part}"]
    command = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{int(payments / 10 + 120)}s",  # a bound only: the harness stops it when done
        "--timeout",
        "60s",
        "-s",
        str(WRK_SCRIPT),
        url,
        "--",
        *args,
        str(rate),
    ]
    return subprocess.Popen(command, stdout=out.open("wb"), stderr=subprocess.STDOUT)


def wrk_figures(out: Path) -> dict[str, Any]:
    for line in out.read_text().splitlines():
        if line.startswith("wrk-json: "):
            return dict(json.loads(line.removeprefix("wrk-json: ")))
    raise RuntimeError(f"wrk printed no figures: see {out}")


async def wrk_load(load: Load, watch: Watch, since: dt.datetime, log_dir: Path) -> LoadResult:
    """One wrk per API process, sharing the creates and connections; each stops issuing at
    its share, and is stopped (SIGINT: it would sleep out its -d) once the database holds
    every payment, or when creates stall."""
    shares = spread(load.payments, len(load.api_urls))
    connections = [max(1, c) for c in spread(load.concurrency, len(load.api_urls))]
    outputs = [log_dir / f"wrk-{load.prefix}-{part}.out" for part in range(len(shares))]
    processes = [
        spawn_wrk(url, load, share, conns, part, out)
        for part, (url, share, conns, out) in enumerate(
            zip(load.api_urls, shares, connections, outputs, strict=True)
        )
    ]
    reaped = [asyncio.create_task(asyncio.to_thread(wait_with_cpu, p)) for p in processes]
    try:
        await wait_created(watch, since, load.payments, reaped)
        await asyncio.sleep(1.0)  # the last answers reach wrk, whose threads then stop
    finally:
        for process, task in zip(processes, reaped, strict=True):
            if not task.done():
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGINT)
    cpu = sum(await asyncio.gather(*reaped))
    figures = [wrk_figures(out) for out in outputs]
    return LoadResult(
        generator=f"wrk ({len(processes)} process{'es' if len(processes) > 1 else ''})",
        cpu_seconds=cpu,
        create_p50_ms=max(f["p50_us"] for f in figures) / 1000,  # the worst process's
        create_p99_ms=max(f["p99_us"] for f in figures) / 1000,
        failed=sum(f["failed"] for f in figures),
    )


async def wait_created(
    watch: Watch, since: dt.datetime, payments: int, generators: list[asyncio.Task[float]]
) -> None:
    """Until the database holds ``payments`` created since ``since``, every generator has
    exited, or nothing new was created for 30 s (failed creates: reported, not waited for)."""
    created, changed_at = -1, time.monotonic()
    while not all(task.done() for task in generators):
        now_created = await watch.created(since)
        if now_created >= payments:
            return
        if now_created != created:
            created, changed_at = now_created, time.monotonic()
        elif time.monotonic() - changed_at > 30:
            return
        await asyncio.sleep(watch.poll_seconds)


async def create_payments(
    load: Load, watch: Watch, since: dt.datetime, log_dir: Path
) -> LoadResult:
    if shutil.which("wrk"):
        return await wrk_load(load, watch, since, log_dir)
    return await python_load(load)


# --- one measure of billpay -----------------------------------------------------------------


@dataclass
class Setup:
    args: argparse.Namespace
    url: str
    data_dir: Path
    workers: int
    apis: int
    receivers: Receivers | None


def stack_env(setup: Setup, sandbox_url: str) -> dict[str, str]:
    args = setup.args
    provider_env = {key.upper(): str(value) for key, value in sandbox_settings(sandbox_url).items()}
    return {
        **os.environ,
        **provider_env,
        "DATABASE_URL": setup.url,
        "BILLPAY_LOG_LEVEL": "WARNING",
        "BILL_PROCESSOR_CONCURRENCY": str(args.worker_concurrency),
        "BILL_PROCESSOR_BATCH_SIZE": str(args.batch_size),
        "BILLPAY_DATA_DIR": str(setup.data_dir),
        "BILLPAY_ALLOW_PRIVATE_WEBHOOK_URLS": "true",  # the receivers listen on loopback
        **(setup.receivers.env() if setup.receivers else {}),
    }


@contextlib.asynccontextmanager
async def running_stack(setup: Setup) -> AsyncIterator[tuple[Stack, str]]:
    """A fresh schema's worth of data, the processes started and warmed up; yields the stack
    and the merchant's API key."""
    await reset(setup.url)
    sandbox_url = f"http://127.0.0.1:{free_port()}"
    log_dir = Path(tempfile.mkdtemp(prefix="logs-", dir=setup.data_dir))
    stack = Stack(stack_env(setup, sandbox_url), log_dir, sandbox_url)
    try:
        stack.spawn("sandbox", ["sandbox", "--port", sandbox_url.rpartition(":")[2]])
        await wait_http(f"{sandbox_url}/vtpass/api/service-categories")
        webhook_url = setup.receivers.webhook_url() if setup.receivers else None
        key = await prepare_client(sandbox_url, setup.url, setup.args.payments, webhook_url)
        if setup.args.primary_failures:
            await inject_primary_failures(sandbox_url, setup.args.primary_failures)
        stack.start_apis(setup.apis)
        for api_url in stack.api_urls:
            await wait_http(f"{api_url}/healthz")
        stack.start_workers(setup.workers)
        await warm_up(setup, stack, key)
        yield stack, key
    except TimeoutError as error:
        raise BenchFailed(f"{error}; logged: {log_warnings(log_dir)}; logs in {log_dir}") from None
    finally:
        stack.stop()


async def warm_up(setup: Setup, stack: Stack, key: str) -> None:
    """Imports, pools and plan caches of every process warmed, so the figures describe a
    running service, not its start; these payments are left out of every figure."""
    async with Watch.open(setup.url, WARMUP_PAYMENTS) as watch:
        since = await watch.now()
        payments = WARMUP_PAYMENTS * setup.apis
        load = Load(stack.api_urls, key, payments, 2 * setup.apis, setup.args.workload)
        await python_load(load)
        await watch.wait_finished(since, payments)
        if setup.receivers:
            await watch.wait_outbox_drained(payments)


def log_warnings(log_dir: Path) -> dict[str, int]:
    """Warnings and errors the processes logged, by process and event: a slow figure often
    has its reason here (a timeout, a retried batch)."""
    counts: dict[str, int] = {}
    for log in sorted(log_dir.glob("*.log")):
        for line in log.read_text(errors="replace").splitlines():
            try:
                event = json.loads(line)
                name = event["event"] if event.get("level") in NOTEWORTHY else None
            except (ValueError, KeyError, TypeError):
                name = "traceback" if line.startswith("Traceback") else None
            if name is not None:
                counts[f"{log.stem}: {name}"] = counts.get(f"{log.stem}: {name}", 0) + 1
    return counts


def cpu_figures(
    before: dict[str, float], after: dict[str, float], postgres: dict[str, float] | None
) -> dict[str, float]:
    used = {role: after[role] - before.get(role, 0.0) for role in after}
    return {**used, **(postgres or {})}


async def measure_billpay(setup: Setup, alone: bool) -> dict[str, Any]:
    """End to end (``alone`` false) or the worker alone on a queue created while it was held."""
    args = setup.args
    async with (
        running_stack(setup) as (stack, key),
        Watch.open(setup.url, args.payments) as watch,
    ):
        load = Load(stack.api_urls, key, args.payments, args.concurrency, args.workload, args.rate)
        counts_before = dict(setup.receivers.counts) if setup.receivers else {}
        rss_start = stack.worker_rss_mb()
        since = await watch.now()
        if alone:
            for worker in stack.workers():
                worker.suspend()
            load_result = await create_payments(load, watch, since, stack.log_dir)
        cpu_before, harness_before = stack.cpu_seconds(), time.process_time()
        async with PostgresCpu(setup.url, watch) as postgres:
            if alone:
                for worker in stack.workers():
                    worker.resume()
            else:
                load_result = await create_payments(load, watch, since, stack.log_dir)
            payments = await watch.created(since)
            await watch.wait_finished(since, payments)
            if setup.receivers:  # without receivers, the outbox is no part of the figures
                await watch.wait_outbox_drained(payments)
        cpu = cpu_figures(cpu_before, stack.cpu_seconds(), postgres.seconds())
        cpu["harness"] = time.process_time() - harness_before  # this process alone
        outcome = await watch.outcome(since)
        rss_end = stack.worker_rss_mb()
    counts_after = dict(setup.receivers.counts) if setup.receivers else {}
    # The worker alone: from its first paid to its last (the queue was there before it woke).
    start = outcome["first_paid" if alone else "first_created"]
    return billpay_figures(
        outcome,
        start,
        cpu,
        load_result,
        received={name: counts_after[name] - counts_before[name] for name in counts_after},
        worker_rss_mb={"start": rss_start, "end": rss_end},
        alone=alone,
    ) | {"log_warnings": log_warnings(stack.log_dir)}


def billpay_figures(
    outcome: dict[str, Any],
    start: dt.datetime,
    cpu: dict[str, float],
    load: LoadResult,
    received: dict[str, int],
    worker_rss_mb: dict[str, float],
    alone: bool,
) -> dict[str, Any]:
    paid = outcome["statuses"].get("paid", 0)
    to_paid = (outcome["last_paid"] - start).total_seconds() if outcome["last_paid"] else None
    last = max(filter(None, (outcome["last_paid"], outcome["last_delivered"])), default=None)
    to_drained = (last - start).total_seconds() if last else None
    billpay_cpu = sum(cpu.get(role, 0.0) for role in ("api", "worker", "sandbox", "postgres"))
    ttp = outcome["time_to_paid"] or [None, None]
    figures: dict[str, Any] = {
        "payments_per_second": round(paid / to_paid, 1) if to_paid else None,
        "payments_per_second_to_outbox_drained": round(paid / to_drained, 1)
        if to_drained
        else None,
        "cpu_ms_per_payment": per_payment_ms(billpay_cpu, paid),
        **{f"cpu_ms_per_payment_{role}": per_payment_ms(s, paid) for role, s in cpu.items()},
        "paid": paid,
        "statuses": outcome["statuses"],
        "seconds_to_last_paid": to_paid,
        "outbox": {k: outcome[k] for k in ("delivered", "pending", "failed")},
        "received": received,
        "worker_rss_mb": worker_rss_mb,
        "load_generator": load.generator,
        "load_generator_cpu_ms_per_payment": per_payment_ms(load.cpu_seconds, paid),
        "creates_failed": load.failed,
    }
    if not alone:  # with the worker held, creates and time to paid say nothing of the service
        figures.update(
            create_p50_ms=load.create_p50_ms,
            create_p99_ms=load.create_p99_ms,
            time_to_paid_p50_ms=ttp[0] * 1000 if ttp[0] is not None else None,
            time_to_paid_p99_ms=ttp[1] * 1000 if ttp[1] is not None else None,
        )
    return figures


# --- the yardsticks -------------------------------------------------------------------------


async def measure_procrastinate(url: str, jobs: int) -> dict[str, Any]:
    async with scratch_database(url) as scratch:
        command = [
            sys.executable,
            "-m",
            "bench.procrastinate_noop",
            asyncpg_dsn(scratch),
            "--jobs",
            str(jobs),
            "--concurrency",
            str(PROCRASTINATE_CONCURRENCY),
        ]
        result = await asyncio.to_thread(
            subprocess.run, command, cwd=ROOT, capture_output=True, text=True, check=True
        )
    figures = json.loads(result.stdout.splitlines()[-1])
    return {"jobs_per_second": round(figures["jobs_per_second"], 1), "jobs": figures["jobs"]}


def pgbench_binary() -> str | None:
    binary = shutil.which("pgbench") or str(
        Path(__import__("pgserver").__file__).parent / "pginstall" / "bin" / "pgbench"
    )
    return binary if Path(binary).exists() else None


def pgbench_tps(url: str, seconds: int) -> float | None:
    binary = pgbench_binary()
    if binary is None:
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


async def measure_pgbench(url: str, seconds: int) -> dict[str, Any]:
    async with scratch_database(url) as scratch:
        tps = await asyncio.to_thread(pgbench_tps, scratch, seconds)
    return {"tps": tps}


# --- the run --------------------------------------------------------------------------------

# The figures summarised as min / median / max: (label, measure, key).
FIGURES: tuple[tuple[str, str, str], ...] = (
    ("end to end, payments/s (to last paid)", "end_to_end", "payments_per_second"),
    ("  to the outbox drained", "end_to_end", "payments_per_second_to_outbox_drained"),
    ("worker alone, payments/s", "worker_alone", "payments_per_second"),
    ("procrastinate no-op c=10, jobs/s", "procrastinate", "jobs_per_second"),
    ("pgbench, TPS", "pgbench", "tps"),
    ("end to end, CPU ms/payment (billpay + Postgres)", "end_to_end", "cpu_ms_per_payment"),
    ("  of which API(s)", "end_to_end", "cpu_ms_per_payment_api"),
    ("  of which worker(s)", "end_to_end", "cpu_ms_per_payment_worker"),
    ("  of which provider simulators", "end_to_end", "cpu_ms_per_payment_sandbox"),
    ("  of which Postgres", "end_to_end", "cpu_ms_per_payment_postgres"),
    ("  apart: load generator", "end_to_end", "load_generator_cpu_ms_per_payment"),
    ("  apart: harness (receivers, polling)", "end_to_end", "cpu_ms_per_payment_harness"),
    ("  apart: Postgres, other DBs", "end_to_end", "cpu_ms_per_payment_postgres_other_databases"),
    ("worker alone, CPU ms/payment", "worker_alone", "cpu_ms_per_payment"),
    ("  of which Postgres", "worker_alone", "cpu_ms_per_payment_postgres"),
    ("create p50, ms", "end_to_end", "create_p50_ms"),
    ("create p99, ms", "end_to_end", "create_p99_ms"),
    ("time to paid p50, ms", "end_to_end", "time_to_paid_p50_ms"),
    ("time to paid p99, ms", "end_to_end", "time_to_paid_p99_ms"),
)


async def one_round(setup: Setup) -> dict[str, Any]:
    """One repetition: billpay's two measures, then the yardsticks, back to back."""
    args = setup.args
    measures: dict[str, Any] = {"end_to_end": await measure_billpay(setup, alone=False)}
    if args.drain:
        measures["worker_alone"] = await measure_billpay(setup, alone=True)
    measures["procrastinate"] = await measure_procrastinate(setup.url, args.payments)
    if args.pgbench_seconds:
        measures["pgbench"] = await measure_pgbench(setup.url, args.pgbench_seconds)
    return measures


def summarise(rounds: list[dict[str, Any]]) -> dict[str, dict[str, float] | None]:
    return {
        key_of(measure, key): min_median_max([r.get(measure, {}).get(key) for r in rounds])
        for _, measure, key in FIGURES
    }


def key_of(measure: str, key: str) -> str:
    return f"{measure}.{key}"


def median_of(summary: dict[str, Any], measure: str, key: str) -> float | None:
    figures = summary.get(key_of(measure, key))
    return figures["median"] if figures else None


async def run(args: argparse.Namespace) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="billpay-bench-"))
    url = os.environ.get("DATABASE_URL") or start_embedded_postgres(data_dir)
    upgrade(url)
    configurations = SCALING_GRID if args.scaling else [(args.workers, args.api_processes)]
    rows = []
    async with Receivers() if args.notifications else contextlib.nullcontext() as receivers:
        for workers, apis in configurations:
            setup = Setup(args, url, data_dir, workers, apis, receivers)
            rounds = []
            for repetition in range(args.repeat):
                print(f"… {workers} worker(s), {apis} API(s): repetition {repetition + 1}")
                rounds.append(await one_round(setup))
            rows.append(
                {"workers": workers, "apis": apis, "rounds": rounds, "summary": summarise(rounds)}
            )
    return {
        "args": vars(args),
        "database": "DATABASE_URL" if os.environ.get("DATABASE_URL") else "embedded",
        "load_generator": "wrk" if shutil.which("wrk") else "python (httpx)",
        "cpus": os.cpu_count(),
        "logs": str(data_dir),
        "rows": rows,
    }


# --- the report -----------------------------------------------------------------------------


def shown(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def print_row(row: dict[str, Any]) -> None:
    print(f"\n{row['workers']} worker(s), {row['apis']} API process(es):")
    width = max(len(label) for label, _, _ in FIGURES)
    print(f"  {'':<{width}}  {'min':>9} {'median':>9} {'max':>9}")
    for label, measure, key in FIGURES:
        figures = row["summary"][key_of(measure, key)]
        if figures is not None:
            cells = " ".join(f"{shown(figures[k]):>9}" for k in ("min", "median", "max"))
            print(f"  {label:<{width}}  {cells}")
    generators = {r["end_to_end"]["load_generator"] for r in row["rounds"]}
    failed = sum(r["end_to_end"]["creates_failed"] for r in row["rounds"])
    print(f"  load generator: {', '.join(sorted(generators))}; failed creates: {failed}")
    for r in row["rounds"]:
        e2e = r["end_to_end"]
        print(f"  statuses {e2e['statuses']}, outbox {e2e['outbox']}, received {e2e['received']}")
        for measure in ("end_to_end", "worker_alone"):
            if warnings := r.get(measure, {}).get("log_warnings"):
                print(f"  {measure} logged: {warnings}")


def print_scaling(rows: list[dict[str, Any]]) -> None:
    columns = (
        ("end to end/s", "end_to_end", "payments_per_second"),
        ("alone/s", "worker_alone", "payments_per_second"),
        ("CPU ms/pay", "end_to_end", "cpu_ms_per_payment"),
        ("PG CPU ms/pay", "end_to_end", "cpu_ms_per_payment_postgres"),
        ("pgbench TPS", "pgbench", "tps"),
        ("procr. jobs/s", "procrastinate", "jobs_per_second"),
    )
    print("\nscaling (medians):")
    print(f"  {'workers':>7} {'APIs':>4} " + " ".join(f"{c[0]:>13}" for c in columns))
    for row in rows:
        cells = " ".join(f"{shown(median_of(row['summary'], m, k)):>13}" for _, m, k in columns)
        print(f"  {row['workers']:>7} {row['apis']:>4} {cells}")


def headline(row: dict[str, Any]) -> str:
    summary = row["summary"]
    # With notifications on, a payment ends when its messages are delivered: E counts to the
    # outbox drained (the table shows the rate to the last paid beside it).
    drained = median_of(summary, "end_to_end", "payments_per_second_to_outbox_drained")
    e2e = (
        drained if drained is not None else median_of(summary, "end_to_end", "payments_per_second")
    )
    scope = "outbox drained" if drained is not None else "notifications off"
    alone = median_of(summary, "worker_alone", "payments_per_second")
    procrastinate = median_of(summary, "procrastinate", "jobs_per_second")
    tps = median_of(summary, "pgbench", "tps")
    cpu = median_of(summary, "end_to_end", "cpu_ms_per_payment")

    def figure(value: float | None, digits: int) -> str:
        return "n/a" if value is None else f"{value:.{digits}f}"

    def ratio(yardstick: float | None) -> str:
        return figure(e2e / yardstick if e2e and yardstick else None, 2)

    return (
        f"bench: {figure(e2e, 0)} payments/s end to end ({scope}), "
        f"{figure(alone, 0)} worker alone, {ratio(procrastinate)}× procrastinate, "
        f"{ratio(tps)}× pgbench, {figure(cpu, 2)} ms CPU/payment"
    )


def best_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return max(
        rows, key=lambda r: median_of(r["summary"], "end_to_end", "payments_per_second") or 0
    )


def report(result: dict[str, Any]) -> None:
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"throughput-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2, default=str))
    for row in result["rows"]:
        print_row(row)
    if len(result["rows"]) > 1:
        print_scaling(result["rows"])
    best = best_row(result["rows"])
    print(f"\nwritten to {out}; logs in {result['logs']}")
    if len(result["rows"]) > 1:
        print(f"the line below: {best['workers']} worker(s), {best['apis']} API(s), the fastest")
    print(headline(best))


def warn_without_wrk() -> None:
    if shutil.which("wrk") is None:
        print(
            "wrk not found (`apt-get install wrk`): falling back to the Python load generator, "
            "which caps near 200-270 creates/s and is labelled so in the results",
            file=sys.stderr,
        )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--payments", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32, help="connections, all wrks")
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
        help="purchases the primary provider definitely fails in each measure (each falls back)",
    )
    parser.add_argument(
        "--notifications",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="merchant webhooks, payer emails and SMS on, to local receivers (default: on)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="create at this steady rate (payments/s, all wrks) instead of as fast as possible",
    )
    parser.add_argument(
        "--drain",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also time the worker alone on a queue created while it was held (default: on)",
    )
    parser.add_argument("--worker-concurrency", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--workers", type=int, default=1, help="`billpay worker` processes")
    parser.add_argument(
        "--api-processes", type=int, default=1, help="`billpay api` processes, one wrk each"
    )
    parser.add_argument("--repeat", type=int, default=3, help="repetitions, interleaved")
    parser.add_argument(
        "--scaling", action="store_true", help="workers 1, 2, 4 × API processes 1, 2"
    )
    parser.add_argument("--pgbench-seconds", type=int, default=10, help="0: no pgbench")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    warn_without_wrk()
    try:
        result = asyncio.run(run(args))
    except BenchFailed as failure:
        sys.exit(f"bench: failed: {failure}")
    report(result)


if __name__ == "__main__":
    main()

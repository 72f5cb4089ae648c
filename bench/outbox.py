"""The outbox's cost: payments moved with merchant webhooks and payer email + SMS on vs off.

Each repetition runs the same ``--payments`` payments twice, one run after the other (so both
share the machine's state), in one process as the worker runs them, the dispatcher on the same
event loop:

- **off**: the merchant has no webhook URL and no SMTP relay or SMS hook is configured, so
  the status changes queue nothing (they still run the enqueue statement);
- **on**: a webhook URL, ``SMTP_*`` and ``SMS_WEBHOOK_*`` set, receivers on loopback (in a
  process of their own, whose CPU is not counted), and the run ends only once the outbox is
  drained: 3 webhooks (pending, processing, paid), 1 email and 1 SMS per payment.

Each payment makes the three status changes of a paid payment (the create's event, pending →
processing, processing → paid), each in its own transaction with its outbox statement, from
``--concurrency`` tasks. CPU is this process plus this database's Postgres backends. Printed:
payments/s, messages/s delivered, CPU per payment, and the cost of "on" as a share of
throughput. The payment path here is only those three changes (no provider calls, no
ledger), so the share overstates the outbox's cost in the full system: compare the added CPU
per payment with the whole system's (bench/throughput.py).

    python -m bench.outbox --payments 2000 --repeat 3

``DATABASE_URL`` (a server billpay may create a database on; a scratch database is made and
dropped) or an embedded Postgres. Writes JSON under ``bench/results/``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import asyncpg
import psutil
from aiosmtpd.smtp import SMTP

from bench.scratch import drop_database, fresh_database
from billpay.bootstrap import build_state
from billpay.clients.service import create_client
from billpay.config import Settings
from billpay.db.embedded import start_embedded_postgres
from billpay.db.engine import asyncpg_dsn
from billpay.db.migrate import upgrade
from billpay.logging import configure_logging
from billpay.outbox.dispatcher import Dispatcher
from billpay.payments.lifecycle import record_event, transition
from billpay.payments.status import Status
from billpay.state import AppState

RESULTS = Path(__file__).parent / "results"
MESSAGES_PER_PAYMENT = 5  # webhooks: pending, processing, paid; the payer's email and SMS

SEED_PAYMENTS = """
INSERT INTO payments (id, short_id, client_id, request_reference, request_fingerprint,
    bill_type, biller, plan, plan_name, customer_id, amount_kobo, fee_kobo, total_kobo,
    funding_method, status, email, phone, created_at, updated_at)
SELECT gen_random_uuid(), $3 || lpad(to_hex(i), 10, '0'), $2, $3 || '-' || i, 'x',
    'airtime', 'mtn', 'mtn-airtime', 'MTN Airtime', '08031234567', 50000, 0, 50000,
    'balance', 'pending', 'payer' || i || '@example.com', '08031234567', now(), now()
FROM generate_series(1, $1) AS i
RETURNING id
"""


# --- receivers: a webhook endpoint and SMS hook (HTTP 204) and an SMTP server ---------------


class _NoContent(asyncio.Protocol):
    """Answers every HTTP/1.1 request on a kept-alive connection with 204."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            head = self.buffer[:end].lower()
            length = 0
            for line in head.split(b"\r\n"):
                if line.startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if len(self.buffer) < end + 4 + length:
                return
            self.buffer = self.buffer[end + 4 + length :]
            self.transport.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")


class _Sink:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 OK"


def _serve_receivers(ready: Connection) -> None:
    async def serve() -> None:
        loop = asyncio.get_running_loop()
        http = await loop.create_server(_NoContent, "127.0.0.1", 0)
        smtp = await loop.create_server(lambda: SMTP(_Sink()), "127.0.0.1", 0)
        ready.send((http.sockets[0].getsockname()[1], smtp.sockets[0].getsockname()[1]))
        await asyncio.Event().wait()

    asyncio.run(serve())


@dataclass
class Receivers:
    process: multiprocessing.Process
    http_port: int
    smtp_port: int

    @classmethod
    def start(cls) -> Receivers:
        mine, theirs = multiprocessing.Pipe()
        process = multiprocessing.Process(target=_serve_receivers, args=(theirs,), daemon=True)
        process.start()
        http_port, smtp_port = mine.recv()
        return cls(process, http_port, smtp_port)

    @property
    def webhook_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/webhook"

    def env(self) -> dict[str, str]:
        return {
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(self.smtp_port),
            "SMTP_FROM": "billpay@bench.example",
            "SMTP_STARTTLS": "false",
            "SMS_WEBHOOK_URL": f"http://127.0.0.1:{self.http_port}/sms",
            "SMS_WEBHOOK_TOKEN": "bench-sms-token",
        }


# --- CPU: this process and this database's Postgres backends --------------------------------


class Cpu:
    def __init__(self, admin: asyncpg.Connection, database: str) -> None:
        self.admin, self.database = admin, database
        self.started: dict[int, float] = {}
        self.own_started = 0.0

    async def _backends(self) -> dict[int, float]:
        pids = await self.admin.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            self.database,
        )
        seconds = {}
        for row in pids:
            try:
                times = psutil.Process(row["pid"]).cpu_times()
            except psutil.Error:
                continue
            seconds[row["pid"]] = times.user + times.system
        return seconds

    async def start(self) -> None:
        self.started = await self._backends()
        self.own_started = time.process_time()

    async def seconds(self) -> tuple[float, float]:
        """(this process, Postgres backends) CPU seconds since ``start``."""
        own = time.process_time() - self.own_started
        now = await self._backends()
        postgres = sum(value - self.started.get(pid, 0.0) for pid, value in now.items())
        return own, postgres


# --- one run -------------------------------------------------------------------------------


async def seed(state: AppState, url: str, payments: int, webhook_url: str | None) -> list[Any]:
    async with state.unit_of_work() as session:
        client, _ = await create_client(session, "bench merchant", webhook_url)
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        prefix = "b" + uuid.uuid4().hex[:5]
        rows = await connection.fetch(SEED_PAYMENTS, payments, client.id, prefix)
        await connection.execute("ANALYZE payments")
    finally:
        await connection.close()
    return [row["id"] for row in rows]


async def pay(state: AppState, payment_id: Any) -> None:
    """The status changes of a paid payment, each in its own transaction."""
    async with state.unit_of_work() as session:
        await record_event(session, payment_id, None, Status.PENDING, "created", "bench")
    async with state.unit_of_work() as session:
        await transition(
            session, payment_id, Status.PENDING, Status.PROCESSING, reason="bench", actor="bench"
        )
    async with state.unit_of_work() as session:
        await transition(
            session,
            payment_id,
            Status.PROCESSING,
            Status.PAID,
            reason="bench",
            actor="bench",
            fields={"provider": "vtpass", "token": "1234-5678"},
        )


async def pay_all(state: AppState, payment_ids: list[Any], concurrency: int) -> None:
    queue = list(reversed(payment_ids))

    async def lane() -> None:
        while queue:
            await pay(state, queue.pop())

    await asyncio.gather(*(lane() for _ in range(concurrency)))


async def pending_messages(connection: asyncpg.Connection) -> int:
    return int(
        await connection.fetchval("SELECT count(*) FROM outbox_messages WHERE status = 'pending'")
    )


async def one_run(
    url: str, admin: asyncpg.Connection, args: argparse.Namespace, receivers: Receivers | None
) -> dict[str, Any]:
    on = receivers is not None
    for name, value in (receivers.env() if receivers else {}).items():
        os.environ[name] = value
    try:
        settings = Settings.model_validate(
            {
                "database_url": url,
                "allow_private_webhook_urls": True,
                "outbox_concurrency": args.outbox_concurrency,
                "batch_size": args.batch_size,
                "db_pool_size": args.concurrency + 4,
                "poll_interval_seconds": 0.5,
            }
        )
        state = build_state(settings, url)
        payment_ids = await seed(state, url, args.payments, receivers and receivers.webhook_url)
        watch = await asyncpg.connect(asyncpg_dsn(url))
        cpu = Cpu(admin, url.rpartition("/")[2])
        stop = asyncio.Event()
        dispatcher = asyncio.create_task(Dispatcher(state).run(stop))
        await asyncio.sleep(0.5)  # listening
        await cpu.start()
        started = time.monotonic()
        await pay_all(state, payment_ids, args.concurrency)
        paid_after = time.monotonic() - started
        while await pending_messages(watch):  # noqa: ASYNC110 -- the database is what is watched
            await asyncio.sleep(0.02)
        seconds = time.monotonic() - started
        own, postgres = await cpu.seconds()
        stop.set()
        await dispatcher
        outcome = await watch.fetchrow(
            "SELECT count(*) FILTER (WHERE status = 'delivered') AS delivered,"
            " count(*) FILTER (WHERE status <> 'delivered') AS undelivered,"
            " count(*) FILTER (WHERE channel = 'webhook') AS webhooks,"
            " count(*) FILTER (WHERE channel = 'email') AS emails,"
            " count(*) FILTER (WHERE channel = 'sms') AS sms,"
            " (SELECT count(*) FROM outbox_attempts) AS tries"
            " FROM outbox_messages"
        )
        await watch.close()
        await state.aclose()
    finally:
        for name in receivers.env() if receivers else {}:
            os.environ.pop(name, None)
    payments = len(payment_ids)
    return {
        "mode": "on" if on else "off",
        "payments": payments,
        "seconds": round(seconds, 3),
        "seconds_to_last_paid": round(paid_after, 3),
        "payments_per_second": round(payments / seconds, 1),
        "messages_per_second": round(outcome["delivered"] / seconds, 1),
        "cpu_ms_per_payment": round((own + postgres) * 1000 / payments, 3),
        "cpu_ms_per_payment_billpay": round(own * 1000 / payments, 3),
        "cpu_ms_per_payment_postgres": round(postgres * 1000 / payments, 3),
        **dict(outcome),
    }


# --- the benchmark -------------------------------------------------------------------------


def min_median_max(values: list[float]) -> dict[str, float]:
    return {
        "min": round(min(values), 3),
        "median": round(statistics.median(values), 3),
        "max": round(max(values), 3),
    }


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    by_mode = {mode: [r for r in runs if r["mode"] == mode] for mode in ("off", "on")}
    figures = {
        mode: {
            key: min_median_max([r[key] for r in mode_runs])
            for key in (
                "payments_per_second",
                "messages_per_second",
                "cpu_ms_per_payment",
                "cpu_ms_per_payment_billpay",
                "cpu_ms_per_payment_postgres",
            )
        }
        for mode, mode_runs in by_mode.items()
    }
    # Paired by repetition: each "on" against the "off" run just before it.
    pairs = list(zip(by_mode["off"], by_mode["on"], strict=True))
    throughput_cost = [
        1 - on["payments_per_second"] / off["payments_per_second"] for off, on in pairs
    ]
    added_cpu = [on["cpu_ms_per_payment"] - off["cpu_ms_per_payment"] for off, on in pairs]
    cpu_share = [
        (on["cpu_ms_per_payment"] - off["cpu_ms_per_payment"]) / on["cpu_ms_per_payment"]
        for off, on in pairs
    ]
    return {
        **figures,
        "throughput_cost_of_on": min_median_max(throughput_cost),
        "added_cpu_ms_per_payment": min_median_max(added_cpu),
        "cpu_share_of_on": min_median_max(cpu_share),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    admin_url = os.environ.get("DATABASE_URL")
    embedded = None
    if admin_url is None:
        embedded = start_embedded_postgres(Path(tempfile.mkdtemp(prefix="billpay-bench-outbox-")))
        admin_url = embedded
    receivers = Receivers.start()
    runs = []
    try:
        for repetition in range(args.repeat):
            for on in (False, True):
                url = await fresh_database(admin_url)
                admin = await asyncpg.connect(asyncpg_dsn(admin_url))
                try:
                    upgrade(url)
                    result = await one_run(url, admin, args, receivers if on else None)
                finally:
                    await admin.close()
                    await drop_database(admin_url, url)
                runs.append({"repetition": repetition + 1, **result})
                print(
                    f"  {result['mode']:>3}: {result['payments_per_second']:7.1f} payments/s, "
                    f"{result['messages_per_second']:7.1f} messages/s, "
                    f"{result['cpu_ms_per_payment']:.2f} ms CPU/payment "
                    f"(billpay {result['cpu_ms_per_payment_billpay']:.2f}, "
                    f"postgres {result['cpu_ms_per_payment_postgres']:.2f}); "
                    f"{result['delivered']} delivered, {result['undelivered']} not",
                    flush=True,
                )
    finally:
        receivers.process.terminate()
    return {
        "payments": args.payments,
        "concurrency": args.concurrency,
        "outbox_concurrency": args.outbox_concurrency,
        "batch_size": args.batch_size,
        "database": "embedded" if embedded else "DATABASE_URL",
        "runs": runs,
        "summary": summarise(runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--payments", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16, help="payment tasks")
    parser.add_argument("--outbox-concurrency", type=int, default=64, help="messages in flight")
    parser.add_argument("--batch-size", type=int, default=64, help="messages claimed at once")
    parser.add_argument("--log-level", default="INFO", help="billpay's logs go to stderr")
    args = parser.parse_args()
    configure_logging(args.log_level)  # as in production: logging is part of the cost
    result = asyncio.run(run(args))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"outbox-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2, default=str))
    summary = result["summary"]
    print(f"{'':24}{'off':>26}{'on':>26}")
    for key in ("payments_per_second", "messages_per_second", "cpu_ms_per_payment"):
        cells = ["{min} / {median} / {max}".format(**summary[mode][key]) for mode in ("off", "on")]
        print(f"{key:24}{cells[0]:>26}{cells[1]:>26}")
    cost = summary["throughput_cost_of_on"]
    print(
        f"outbox on costs {cost['median']:.1%} of throughput (min {cost['min']:.1%}, "
        f"max {cost['max']:.1%}); +{summary['added_cpu_ms_per_payment']['median']:.2f} ms CPU "
        f"per payment ({summary['cpu_share_of_on']['median']:.1%} of the on run's CPU)"
    )
    print(f"written to {out}")


if __name__ == "__main__":
    main()

"""cNGN deposits end to end: the Horizon simulator (``billpay sandbox``), the deposit watcher
(``billpay watch``) and a worker (``billpay worker``) as separate processes on this machine,
real Postgres, payers' transactions signed with stellar-sdk and submitted over HTTP.

Three phases, each on its own Stellar payments (``mtn-airtime``, funded by cNGN):

1. **paid** — ``--paid`` deposits at ``--paid-rate``/s with the watcher and a worker running:
   deposit-to-funded and deposit-to-paid latency (from the moment Horizon answered the payer's
   submission to the payment's ``completed_at``).
2. **live** — ``--live`` deposits submitted as fast as the simulator takes them, watcher only:
   the rate the simulator produced, and how far behind the watcher fell (deposit-to-funded).
3. **backlog** — the watcher is stopped, ``--backlog`` deposits arrive, the watcher restarts
   from its cursor: how many deposits per second it ingests (the watcher's capacity).

"Funded" is the watcher transaction's ``now()`` on the deposit row (its commit follows within
milliseconds); "paid" is the payment's ``completed_at``. Prints the figures and writes them as
JSON under ``bench/results/``.

    python -m bench.stellar_deposits --backlog 5000 --live 3000 --paid 300 --paid-rate 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil
from stellar_sdk import Account, Asset, Keypair, TransactionBuilder

from bench.services import spawn, wait_http
from billpay.bootstrap import build_state
from billpay.catalog.service import sync
from billpay.clients.service import AuthenticatedClient, create_client
from billpay.config import Settings
from billpay.db.embedded import start_embedded_postgres
from billpay.db.engine import asyncpg_dsn
from billpay.db.migrate import upgrade
from billpay.payments.schemas import CreatePayment
from billpay.sandbox.app import sandbox_settings
from billpay.sandbox.server import free_port
from billpay.state import AppState

RESULTS = Path(__file__).parent / "results"
AMOUNT_KOBO = 10_000  # ₦100 of airtime, no fee: the deposit is "100.0000000" cNGN


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()  # the simulator waits for open streams to end before it exits
        process.wait(timeout=15)


async def reset(url: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await connection.execute(
            "TRUNCATE stellar_refunds, stellar_deposits, stellar_cursors, payment_events, "
            "payment_attempts, ledger_entries, ledger_accounts, payments, clients CASCADE"
        )
    finally:
        await connection.close()


async def create_payments(state: AppState, count: int) -> list[dict[str, Any]]:
    """``count`` Stellar-funded payments awaiting funds: their ids and instructions."""
    async with state.unit_of_work() as session:
        await sync(session, state.providers)
        row, _ = await create_client(session, "bench-stellar")
    client = AuthenticatedClient(row.id, row.name)
    created: list[dict[str, Any]] = []

    async def some(n: int) -> None:
        for _ in range(n):
            body = CreatePayment(
                request_reference=uuid.uuid4().hex,
                plan="mtn-airtime",
                customer_id=f"0803{len(created) % 10_000_000:07d}",
                amount_kobo=AMOUNT_KOBO,
                funding_method="stellar",  # type: ignore[arg-type]
            )
            async with state.unit_of_work() as session:
                payment, _ = await state.payments.create(session, client, body)
            assert payment.funding_instructions is not None
            created.append({"id": str(payment.id), **payment.funding_instructions})

    per = count // 8
    await asyncio.gather(*(some(per + (1 if i < count % 8 else 0)) for i in range(8)))
    return created


class Payers:
    """Simulator accounts holding cNGN; each signs its envelopes on its own sequence numbers."""

    def __init__(self, horizon: str, settings: Settings) -> None:
        self.horizon = horizon
        self.passphrase = settings.stellar_network_passphrase
        assert settings.cngn_asset_issuer is not None
        self.asset = Asset(settings.cngn_asset_code, settings.cngn_asset_issuer)
        self.accounts: list[tuple[Keypair, Account]] = []

    async def fund(self, http: httpx.AsyncClient, count: int, balance: str) -> None:
        for _ in range(count):
            answer = await http.post(
                f"{self.horizon}/_sandbox/accounts",
                json={
                    "trustlines": [
                        {
                            "asset_code": self.asset.code,
                            "asset_issuer": self.asset.issuer,
                            "balance": balance,
                        }
                    ]
                },
            )
            answer.raise_for_status()
            body = answer.json()
            keypair = Keypair.from_secret(body["secret"])
            self.accounts.append(
                (keypair, Account(keypair.public_key, int(body["account"]["sequence"])))
            )

    def sign(self, payments: list[dict[str, Any]]) -> list[list[tuple[str, str]]]:
        """Per payer, its (payment id, envelope) in sequence order."""
        chains: list[list[tuple[str, str]]] = [[] for _ in self.accounts]
        for index, payment in enumerate(payments):
            keypair, account = self.accounts[index % len(self.accounts)]
            transaction = (
                TransactionBuilder(account, self.passphrase, 100)
                .append_payment_op(payment["destination"], self.asset, payment["amount"])
                .add_text_memo(payment["memo"])
                .add_time_bounds(0, 0)
                .build()
            )  # build() advances the account's sequence number
            transaction.sign(keypair)
            chains[index % len(self.accounts)].append((payment["id"], transaction.to_xdr()))
        return chains


async def submit(
    http: httpx.AsyncClient, horizon: str, chains: list[list[tuple[str, str]]], rate: float | None
) -> tuple[dict[str, float], float]:
    """Submit every chain (chains in parallel, each in order), at most ``rate`` per second
    overall. Returns when Horizon answered each payment's deposit, and the elapsed seconds."""
    answered: dict[str, float] = {}
    total = sum(len(chain) for chain in chains)
    started = time.time()
    slot = 0

    async def one_chain(chain: list[tuple[str, str]]) -> None:
        nonlocal slot
        for payment_id, envelope in chain:
            if rate:
                due = started + slot / rate
                slot += 1
                if due > time.time():
                    await asyncio.sleep(due - time.time())
            response = await http.post(f"{horizon}/transactions", data={"tx": envelope})
            if response.status_code != 200:
                raise RuntimeError(f"deposit refused: {response.status_code} {response.text}")
            answered[payment_id] = time.time()

    await asyncio.gather(*(one_chain(chain) for chain in chains))
    assert len(answered) == total
    return answered, time.time() - started


async def wait_for(url: str, sql: str, expected: int, timeout: float) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        deadline = time.monotonic() + timeout
        while await connection.fetchval(sql) < expected:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{sql!r} did not reach {expected}")
            await asyncio.sleep(0.1)
    finally:
        await connection.close()


async def timings(url: str, payment_ids: list[str]) -> dict[str, dict[str, float | None]]:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        rows = await connection.fetch(
            "SELECT p.id::text AS id, extract(epoch FROM d.created_at) AS funded, "
            "extract(epoch FROM p.completed_at) AS paid, d.state "
            "FROM payments p JOIN stellar_deposits d ON d.payment_id = p.id "
            "WHERE p.id = ANY($1::uuid[])",
            payment_ids,
        )
    finally:
        await connection.close()
    return {
        r["id"]: {
            "funded": float(r["funded"]),
            "paid": float(r["paid"]) if r["paid"] is not None else None,
            "state": r["state"],
        }
        for r in rows
    }


def latencies(
    answered: dict[str, float], found: dict[str, dict[str, Any]], key: str
) -> list[float]:
    return [
        found[pid][key] - at
        for pid, at in answered.items()
        if found.get(pid, {}).get(key) is not None
    ]


async def ingest_rate(url: str, payment_ids: list[str]) -> dict[str, float]:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        first, last, count = await connection.fetchrow(
            "SELECT extract(epoch FROM min(created_at)), extract(epoch FROM max(created_at)), "
            "count(*) FROM stellar_deposits WHERE payment_id = ANY($1::uuid[]) "
            "AND state = 'funded'",
            payment_ids,
        )
    finally:
        await connection.close()
    span = float(last) - float(first)
    return {
        "funded": int(count),
        "span_seconds": round(span, 3),
        "per_second": round((count - 1) / span, 1) if span else float("inf"),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="billpay-bench-stellar-"))
    url = os.environ.get("DATABASE_URL") or start_embedded_postgres(data_dir)
    upgrade(url)
    await reset(url)
    sandbox_url = f"http://127.0.0.1:{free_port()}"
    horizon = f"{sandbox_url}/horizon"
    overlay = sandbox_settings(sandbox_url)
    env = {
        **os.environ,
        **{key.upper(): str(value) for key, value in overlay.items()},
        "DATABASE_URL": url,
        "BILLPAY_LOG_LEVEL": "WARNING",
        "BILLPAY_DATA_DIR": str(data_dir),
        "BILL_PROCESSOR_PERIODIC_SECONDS": "1",
    }
    settings = Settings.model_validate({**overlay, "database_url": url})
    sandbox = spawn(["sandbox", "--port", sandbox_url.rsplit(":", 1)[1]], env, data_dir)
    processes = [sandbox]
    result: dict[str, Any] = {"cpus": os.cpu_count(), "logs": str(data_dir)}
    limits = httpx.Limits(max_connections=args.payers, max_keepalive_connections=args.payers)
    try:
        await wait_http(f"{horizon}/")
        state = build_state(settings, url)
        try:
            total = args.paid + args.live + args.backlog
            payments = await create_payments(state, total)
        finally:
            await state.aclose()
        paid_set = payments[: args.paid]
        live_set = payments[args.paid : args.paid + args.live]
        backlog_set = payments[args.paid + args.live :]
        async with httpx.AsyncClient(timeout=60, limits=limits, trust_env=False) as http:
            payers = Payers(horizon, settings)
            await payers.fund(http, args.payers, str(total * 100))
            chains = {
                name: payers.sign(chosen)
                for name, chosen in (
                    ("paid", paid_set),
                    ("live", live_set),
                    ("backlog", backlog_set),
                )
            }
            watcher = spawn(["watch"], env, data_dir)
            processes.append(watcher)
            await wait_for(url, "SELECT count(*) FROM stellar_cursors", 1, 60)

            # 1. paid: watcher + worker, deposits at a rate the vending keeps up with
            worker = spawn(["worker"], env, data_dir)
            processes.append(worker)
            await asyncio.sleep(2.0)
            answered, seconds = await submit(http, horizon, chains["paid"], args.paid_rate)
            ids = [p["id"] for p in paid_set]
            await wait_for(
                url,
                "SELECT count(*) FROM payments WHERE status = 'paid'",
                len(ids),
                args.paid / 5 + 120,
            )
            found = await timings(url, ids)
            funded = latencies(answered, found, "funded")
            to_paid = latencies(answered, found, "paid")
            result["paid_phase"] = {
                "deposits": len(ids),
                "submitted_per_second": round(len(ids) / seconds, 1),
                "deposit_to_funded_p50_ms": ms(percentile(funded, 50)),
                "deposit_to_funded_p99_ms": ms(percentile(funded, 99)),
                "deposit_to_paid_p50_ms": ms(percentile(to_paid, 50)),
                "deposit_to_paid_p99_ms": ms(percentile(to_paid, 99)),
                "paid": len(to_paid),
            }
            stop(worker)
            processes.remove(worker)

            # 2. live: watcher only, deposits as fast as the simulator takes them
            watcher_rss = psutil.Process(watcher.pid).memory_info().rss
            answered, seconds = await submit(http, horizon, chains["live"], args.live_rate)
            ids = [p["id"] for p in live_set]
            await wait_for(
                url,
                "SELECT count(*) FROM stellar_deposits WHERE state = 'funded'",
                args.paid + len(ids),
                120,
            )
            found = await timings(url, ids)
            funded = latencies(answered, found, "funded")
            result["live_phase"] = {
                "deposits": len(ids),
                "simulator_applied_per_second": round(len(ids) / seconds, 1),
                "watcher_funded_per_second": (await ingest_rate(url, ids))["per_second"],
                "deposit_to_funded_p50_ms": ms(percentile(funded, 50)),
                "deposit_to_funded_p99_ms": ms(percentile(funded, 99)),
                "deposit_to_funded_max_ms": ms(max(funded)),
            }

            # 3. backlog: deposits pile up while the watcher is down; it restarts from its cursor
            stop(watcher)
            processes.remove(watcher)
            answered, seconds = await submit(http, horizon, chains["backlog"], None)
            ids = [p["id"] for p in backlog_set]
            restarted = time.time()
            watcher = spawn(["watch"], env, data_dir)
            processes.append(watcher)
            await wait_for(
                url,
                "SELECT count(*) FROM stellar_deposits WHERE state = 'funded'",
                args.paid + args.live + len(ids),
                600,
            )
            caught_up = time.time() - restarted
            rate = await ingest_rate(url, ids)
            result["backlog_phase"] = {
                "deposits": len(ids),
                "watcher_ingest_per_second": rate["per_second"],
                "ingest_span_seconds": rate["span_seconds"],
                "restart_to_caught_up_seconds": round(caught_up, 2),
                "watcher_rss_mb": round(
                    max(watcher_rss, psutil.Process(watcher.pid).memory_info().rss) / 2**20, 1
                ),
            }
            connection = await asyncpg.connect(asyncpg_dsn(url))
            try:
                result["deposits_stored"] = await connection.fetchval(
                    "SELECT count(*) FROM stellar_deposits"
                )
                result["distinct_operations"] = await connection.fetchval(
                    "SELECT count(DISTINCT operation_id) FROM stellar_deposits"
                )
                result["funds_received_entries"] = await connection.fetchval(
                    "SELECT count(*) FROM ledger_entries WHERE kind = 'funds_received'"
                )
            finally:
                await connection.close()
    finally:
        for process in reversed(processes):
            stop(process)
    result["database"] = "DATABASE_URL" if os.environ.get("DATABASE_URL") else "embedded"
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backlog", type=int, default=5000)
    parser.add_argument("--live", type=int, default=3000)
    parser.add_argument(
        "--live-rate", type=float, default=None, help="default: as fast as possible"
    )
    parser.add_argument("--paid", type=int, default=300)
    parser.add_argument("--paid-rate", type=float, default=20.0)
    parser.add_argument("--payers", type=int, default=32)
    args = parser.parse_args()
    result = asyncio.run(run(args))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"stellar-deposits-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    print(f"written to {out}")


if __name__ == "__main__":
    main()

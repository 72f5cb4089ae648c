"""Reconciliation over many payments: how fast the ledger checks of ``billpay reconcile`` go.

Seeds ``--payments`` payments (default 100,000) with set-based inserts into a fresh database:
balance-funded payments that were paid (reserve, vend, fee), refunded (reserve, refund) or
are still pending (reserve), and Stellar-funded paid ones (funds received, vend, fee), spread
over ``--clients`` merchants, with the merchants' stored balances set from their entries. The
books are consistent, so a run must find nothing. Then it times the ledger side of a recorded
run (``--runs`` times, in-process) and ``billpay reconcile --ledger-only --json`` as a
process, and prints payments checked per second.

Provider lookups and Horizon are left out on purpose: they are rate-limited by design
(``BILLPAY_RECONCILE_REQUERIES_PER_SECOND``), so their speed is a setting, not a figure.

    python -m bench.reconcile --payments 100000

``DATABASE_URL`` (a server billpay may create a database on) or an embedded Postgres in a
temporary folder. Writes JSON under ``bench/results/``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg

from bench.scratch import drop_database, fresh_database
from billpay.bootstrap import build_state
from billpay.clients.service import create_client
from billpay.config import Settings
from billpay.db.embedded import start_embedded_postgres
from billpay.db.engine import asyncpg_dsn
from billpay.db.migrate import upgrade
from billpay.ledger import accounts
from billpay.ledger import service as ledger
from billpay.reconciliation import service
from billpay.reconciliation.schemas import Side

RESULTS = Path(__file__).parent / "results"
BIN = Path(sys.executable).parent

# One statement per table: payments from generate_series, then every entry they imply.
SEED_PAYMENTS = """
INSERT INTO payments (id, short_id, client_id, request_reference, request_fingerprint,
    bill_type, biller, plan, plan_name, customer_id, amount_kobo, fee_kobo, total_kobo,
    funding_method, status, provider, created_at, updated_at)
SELECT gen_random_uuid(), 'b' || lpad(to_hex(i), 11, '0'), clients[1 + i % cardinality(clients)],
    'bench-' || i, 'x', kind.bill_type, kind.biller, kind.plan, kind.plan, kind.customer,
    kind.amount, kind.fee, kind.amount + kind.fee,
    CASE WHEN i % 10 = 0 THEN 'stellar' ELSE 'balance' END,
    CASE WHEN i % 10 = 0 THEN 'paid' WHEN i % 20 = 1 THEN 'refunded'
         WHEN i % 100 = 3 THEN 'pending' ELSE 'paid' END,
    'vtpass', now() - (i || ' seconds')::interval, now()
FROM generate_series(1, $1) AS i,
     LATERAL (SELECT $2::uuid[] AS clients) c,
     LATERAL (SELECT CASE WHEN i % 4 = 0 THEN 'electricity' ELSE 'airtime' END AS bill_type,
                     CASE WHEN i % 4 = 0 THEN 'ikeja-electric' ELSE 'mtn' END AS biller,
                     CASE WHEN i % 4 = 0 THEN 'ikeja-electric-prepaid' ELSE 'mtn-airtime' END
                         AS plan,
                     CASE WHEN i % 4 = 0 THEN '1111111111111' ELSE '08011111111' END
                         AS customer,
                     10000 + (i % 500) * 100 AS amount,
                     CASE WHEN i % 4 = 0 THEN 3000 ELSE 0 END AS fee) kind
"""

SEED_ENTRIES = """
WITH ids AS (SELECT code, id FROM ledger_accounts),
p AS (
    SELECT pay.*,
        (SELECT id FROM ids WHERE code = 'client:' || pay.client_id || ':available') AS available,
        (SELECT id FROM ids WHERE code = 'client:' || pay.client_id || ':reserved') AS reserved
    FROM payments pay
), legs AS (
    -- balance: reserve, then vend + fee (paid) or refund (refunded); pending keeps its reserve
    SELECT id, 'reserve' AS kind, available AS debit, reserved AS credit, total_kobo AS kobo
    FROM p WHERE funding_method = 'balance'
    UNION ALL
    SELECT id, 'vend', reserved, (SELECT id FROM ids WHERE code = 'provider:vtpass:payable'),
           amount_kobo FROM p WHERE funding_method = 'balance' AND status = 'paid'
    UNION ALL
    SELECT id, 'fee', reserved, (SELECT id FROM ids WHERE code = 'revenue:fees'), fee_kobo
    FROM p WHERE funding_method = 'balance' AND status = 'paid' AND fee_kobo > 0
    UNION ALL
    SELECT id, 'refund', reserved, available, total_kobo
    FROM p WHERE funding_method = 'balance' AND status = 'refunded'
    UNION ALL
    -- Stellar: funds received, then vend + fee
    SELECT id, 'funds_received', (SELECT id FROM ids WHERE code = 'external:stellar'),
           (SELECT id FROM ids WHERE code = 'funding:stellar:held'), total_kobo
    FROM p WHERE funding_method = 'stellar'
    UNION ALL
    SELECT id, 'vend', (SELECT id FROM ids WHERE code = 'funding:stellar:held'),
           (SELECT id FROM ids WHERE code = 'provider:vtpass:payable'), amount_kobo
    FROM p WHERE funding_method = 'stellar'
    UNION ALL
    SELECT id, 'fee', (SELECT id FROM ids WHERE code = 'funding:stellar:held'),
           (SELECT id FROM ids WHERE code = 'revenue:fees'), fee_kobo
    FROM p WHERE funding_method = 'stellar' AND fee_kobo > 0
)
INSERT INTO ledger_entries (journal_id, payment_id, kind, debit_account_id, credit_account_id,
    amount_kobo)
SELECT gen_random_uuid(), id, kind, debit, credit, kobo FROM legs
"""

# Merchants' stored balances follow their entries (top-up, reservations, refunds).
SYNC_GUARDED = """
UPDATE ledger_accounts a SET balance_kobo = sums.balance
FROM (
    SELECT a.id, COALESCE(SUM(CASE WHEN e.credit_account_id = a.id THEN e.amount_kobo
                                   ELSE -e.amount_kobo END), 0) AS balance
    FROM ledger_accounts a
    JOIN ledger_entries e ON a.id IN (e.credit_account_id, e.debit_account_id)
    WHERE a.code LIKE 'client:%:available' GROUP BY a.id
) sums WHERE sums.id = a.id
"""


async def seed(url: str, payments: int, clients: int) -> dict[str, float]:
    settings = Settings.model_validate({"database_url": url})
    state = build_state(settings, url)
    started = time.monotonic()
    client_ids = []
    async with state.unit_of_work() as session:
        for n in range(clients):
            client, _ = await create_client(session, f"bench merchant {n}")
            await ledger.top_up(session, client.id, 10**12, "bench balance")
            client_ids.append(client.id)
    await state.aclose()
    codes = [
        *(accounts.client_reserved(client_id) for client_id in client_ids),
        accounts.provider_payable("vtpass"),
        accounts.FEE_REVENUE,
        accounts.funding_held("stellar"),
        accounts.external_funding("stellar"),
    ]
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await connection.execute(
            "INSERT INTO ledger_accounts (code) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING",
            codes,
        )
        await connection.execute(SEED_PAYMENTS, payments, client_ids)
        await connection.execute(SEED_ENTRIES)
        await connection.execute(SYNC_GUARDED)
        await connection.execute("ANALYZE")
        entries = await connection.fetchval("SELECT count(*) FROM ledger_entries")
    finally:
        await connection.close()
    return {"seconds": round(time.monotonic() - started, 2), "ledger_entries": int(entries)}


async def time_runs(url: str, runs: int) -> list[dict[str, Any]]:
    settings = Settings.model_validate({"database_url": url})
    state = build_state(settings, url)
    results = []
    try:
        for _ in range(runs):
            started = time.monotonic()
            run_id, report = await service.reconcile_and_record(
                state, "bench", sides=frozenset({Side.LEDGER})
            )
            seconds = time.monotonic() - started
            results.append(
                {
                    "run_id": run_id,
                    "seconds": round(seconds, 3),
                    "payments_checked": report.payments_checked,
                    "payments_per_second": round(report.payments_checked / seconds),
                    "discrepancies": len(report.discrepancies),
                    "kinds": sorted({d.kind for d in report.discrepancies}),
                }
            )
    finally:
        await state.aclose()
    return results


def time_cli(url: str) -> dict[str, Any]:
    env = {**os.environ, "DATABASE_URL": url}
    started = time.monotonic()
    done = subprocess.run(
        [str(BIN / "billpay"), "reconcile", "--ledger-only", "--json"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    seconds = time.monotonic() - started
    report = json.loads(done.stdout) if done.stdout.strip() else {}
    return {
        "exit_status": done.returncode,
        "seconds": round(seconds, 3),
        "payments_checked": report.get("payments_checked"),
        "payments_per_second": round(report.get("payments_checked", 0) / seconds),
        "seconds_in_checks": report.get("seconds"),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    admin = os.environ.get("DATABASE_URL")
    url = (
        await fresh_database(admin)
        if admin
        else start_embedded_postgres(Path(tempfile.mkdtemp(prefix="billpay-bench-reconcile-")))
    )
    try:
        upgrade(url)
        seeded = await seed(url, args.payments, args.clients)
        print(
            f"seeded {args.payments} payments, {seeded['ledger_entries']} entries "
            f"in {seeded['seconds']} s"
        )
        runs = await time_runs(url, args.runs)
        cli = time_cli(url)
    finally:
        if admin:
            await drop_database(admin, url)
    best = min(runs, key=lambda r: r["seconds"])
    return {
        "payments": args.payments,
        "clients": args.clients,
        "database": "DATABASE_URL" if admin else "embedded",
        "seed": seeded,
        "runs": runs,
        "median_seconds": statistics.median(r["seconds"] for r in runs),
        "best_payments_per_second": best["payments_per_second"],
        "cli": cli,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--payments", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    result = asyncio.run(run(args))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"reconcile-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    print(
        f"ledger checks over {args.payments} payments: median {result['median_seconds']} s, "
        f"best {result['best_payments_per_second']} payments/s; "
        f"`billpay reconcile --ledger-only` {result['cli']['seconds']} s "
        f"(exit {result['cli']['exit_status']})"
    )
    print(f"written to {out}")


if __name__ == "__main__":
    main()

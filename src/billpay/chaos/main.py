"""``python -m bench.chaos`` / ``billpay chaos``: options, the database, the report."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
from pathlib import Path

from billpay.chaos.checks import Verdict
from billpay.chaos.soak import (
    Options,
    Soak,
    Tally,
    drop_database,
    fresh_database,
    scratch_dir,
)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="chaos", description=__doc__)
    parser.add_argument("--payments", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL"),
        help="A Postgres server to create the soak's own database on (default: embedded)",
    )
    parser.add_argument("--json", type=Path, default=None, help="Write the figures here")
    parser.add_argument("--keep", action="store_true", help="Keep the logs folder")
    return parser.parse_args(argv)


def summary_line(verdict: Verdict, tally: Tally, kills: int, clean: bool, found: int) -> str:
    faults = sum(tally.faults.values()) + tally.db_cuts + tally.stream_drops
    reconciled = "reconcile clean" if clean else f"reconcile {found} discrepancies"
    return (
        f"chaos: {verdict.payments} payments, {faults} faults, {kills} kills, "
        f"{verdict.double_vends} double vends, {verdict.lost_deposits} lost deposits, "
        f"{verdict.lost_tokens} lost tokens, {verdict.in_review} in review, {reconciled}"
    )


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    work_dir = scratch_dir()
    embedded = None
    server_url = args.database_url
    if server_url is None:
        from billpay.db.embedded import embedded_postgres

        embedded = embedded_postgres(work_dir / "data")
        server_url = embedded.url
    database_url = fresh_database(server_url)
    options = Options(args.payments, args.seed, database_url, concurrency=args.concurrency)
    soak = Soak(options, work_dir)
    try:
        verdict, clean, found = asyncio.run(soak.run())
    finally:
        if not args.keep:
            drop_database(server_url, database_url)
        if embedded is not None:
            embedded.stop()
    for problem in verdict.problems[:50]:
        print(f"  ✗ {problem}")
    print(f"statuses: {dict(verdict.by_status)}; paid by provider: {dict(verdict.by_provider)}")
    print(
        f"faults: {dict(soak.tally.faults)}; database cuts {soak.tally.db_cuts}, stream drops "
        f"{soak.tally.stream_drops}, forged webhooks refused {soak.tally.forgeries_refused} / "
        f"accepted {soak.tally.forgeries_accepted}, storm webhooks {soak.tally.storm_webhooks}, "
        f"duplicate creates {soak.tally.duplicate_creates}, "
        f"Stellar payers who gave up {soak.tally.payer_gave_up}, "
        f"create retries {soak.tally.create_retries}; logs in {work_dir}"
    )
    ok = clean and not verdict.problems and soak.tally.forgeries_accepted == 0
    if args.json is not None:
        args.json.write_text(
            json.dumps(
                {
                    "payments": verdict.payments,
                    "seed": args.seed,
                    "kills": soak.fleet.kills,
                    "faults": dict(soak.tally.faults),
                    "db_cuts": soak.tally.db_cuts,
                    "stream_drops": soak.tally.stream_drops,
                    "double_vends": verdict.double_vends,
                    "lost_deposits": verdict.lost_deposits,
                    "lost_tokens": verdict.lost_tokens,
                    "in_review": verdict.in_review,
                    "statuses": dict(verdict.by_status),
                    "paid_by_provider": dict(verdict.by_provider),
                    "reconcile_clean": clean,
                    "problems": verdict.problems,
                    "ok": ok,
                },
                indent=2,
            )
        )
    if ok and not args.keep:
        shutil.rmtree(work_dir, ignore_errors=True)
    print(summary_line(verdict, soak.tally, soak.fleet.kills, clean, found))
    return 0 if ok else 1

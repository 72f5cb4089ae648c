"""The yardstick for billpay's worker: procrastinate's rate on a no-op job, same Postgres.

Defers N no-op jobs into a database that must be empty (procrastinate's schema is applied to
it), then times one worker at concurrency 10 until the queue is empty. Run as its own process
by bench/throughput.py, so that its CPU is measured apart; it prints one JSON line:

    python -m bench.procrastinate_noop postgresql://postgres@127.0.0.1:5432/scratch --jobs 2000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

import procrastinate

DEFER_BATCH = 1_000


def noop_app(dsn: str, concurrency: int) -> procrastinate.App:
    # A pool as large as the worker's concurrency, as billpay's pools are sized to theirs.
    connector = procrastinate.PsycopgConnector(conninfo=dsn, min_size=2, max_size=concurrency + 2)
    app = procrastinate.App(connector=connector)

    @app.task(name="noop")
    async def noop() -> None:
        return None

    return app


async def jobs_per_second(dsn: str, jobs: int, concurrency: int) -> dict[str, float]:
    app = noop_app(dsn, concurrency)
    async with app.open_async():
        await app.schema_manager.apply_schema_async()
        noop = app.tasks["noop"]
        for start in range(0, jobs, DEFER_BATCH):
            await noop.batch_defer_async(*({} for _ in range(min(DEFER_BATCH, jobs - start))))
        started = time.perf_counter()
        # wait=False: the worker stops once the queue is empty, so the wall time is the drain.
        await app.run_worker_async(
            concurrency=concurrency, wait=False, install_signal_handlers=False
        )
        seconds = time.perf_counter() - started
        done = await app.connector.execute_query_one_async(
            "SELECT count(*) AS done FROM procrastinate_jobs WHERE status = 'succeeded'"
        )
    return {"jobs": done["done"], "seconds": seconds, "jobs_per_second": done["done"] / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("dsn")
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(jobs_per_second(args.dsn, args.jobs, args.concurrency))))


if __name__ == "__main__":
    main()

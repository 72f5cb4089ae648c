"""Create throughput alone: ``POST /v1/payments`` at concurrency C from ``wrk``, against a
running ``billpay api`` on a scratch database, with no worker (the route's own ceiling).

Every create is a balance-funded airtime payment of one merchant, so all of them debit the
same ``client:…:available`` row: the figure shows how long that row stays locked.

    python -m bench.create --seconds 10 --concurrency 32

Needs ``wrk`` on PATH and an admin URL for the Postgres that holds the scratch database
(``TEST_DATABASE_URL`` or ``--admin-url``). Prints creates/s and p50/p99 and writes JSON to
``bench/results/``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg

from bench.scratch import drop_database, fresh_database
from bench.services import spawn, wait_http
from billpay.bootstrap import build_state
from billpay.catalog.service import sync
from billpay.clients.service import create_client, top_up
from billpay.config import Settings
from billpay.db.engine import asyncpg_dsn
from billpay.db.migrate import upgrade
from billpay.sandbox.app import sandbox_settings
from billpay.sandbox.server import free_port

RESULTS = Path(__file__).parent / "results"
AMOUNT_KOBO = 10_000

# Each wrk thread numbers its own requests; thread ids keep references unique across threads.
WRK_SCRIPT = """
local counter = 0
local threads = {}
local thread_id = 0
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function init(args)
  run = args[1]
  key = args[2]
  amount = args[3]
end
request = function()
  counter = counter + 1
  local phone = string.format("0803%07d", (tid * 1000000 + counter) % 10000000)
  local body = string.format(
    '{"request_reference":"%s-%d-%d","plan":"mtn-airtime","customer_id":"%s",'
    .. '"phone":"%s","amount_kobo":%s}', run, tid, counter, phone, phone, amount)
  return wrk.format("POST", "/v1/payments",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key}, body)
end
function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'RESULT {"requests":%d,"seconds":%.3f,"non_2xx":%d,"socket_errors":%d,'
    .. '"p50_ms":%.2f,"p90_ms":%.2f,"p99_ms":%.2f,"max_ms":%.2f}\\n',
    summary.requests, summary.duration / 1e6, errors.status,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
"""


async def prepare_client(settings: Settings, url: str) -> str:
    state = build_state(settings, url)
    try:
        async with state.unit_of_work() as session:
            await sync(session, state.providers)
            client, key = await create_client(session, "bench", None)
            await top_up(session, client.id, 10**15, "bench balance")
        return key
    finally:
        await state.aclose()


def run_wrk(
    api_url: str, key: str, run: str, seconds: int, concurrency: int, log_dir: Path
) -> dict[str, Any]:
    script = log_dir / "create.lua"
    script.write_text(WRK_SCRIPT)
    threads = min(2, concurrency)
    completed = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{concurrency}",
            f"-d{seconds}s",
            "--timeout",
            "30s",
            "-s",
            str(script),
            api_url,
            "--",
            run,
            key,
            str(AMOUNT_KOBO),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    line = next(ln for ln in completed.stdout.splitlines() if ln.startswith("RESULT "))
    result: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
    return result


async def count_payments(url: str, run: str) -> int:
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        count = await connection.fetchval(
            "SELECT count(*) FROM payments WHERE request_reference LIKE $1", f"{run}-%"
        )
        return int(count)
    finally:
        await connection.close()


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    url = await fresh_database(args.admin_url)
    log_dir = Path(tempfile.mkdtemp(prefix="billpay-bench-create-"))
    processes: list[subprocess.Popen[bytes]] = []
    try:
        upgrade(url)
        sandbox_port, api_port = free_port(), free_port()
        sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        provider_env = {k.upper(): str(v) for k, v in sandbox_settings(sandbox_url).items()}
        env = {
            **os.environ,
            **provider_env,
            "DATABASE_URL": url,
            "BILLPAY_API_PORT": str(api_port),
            "BILLPAY_LOG_LEVEL": "WARNING",
            # Pools hold up to 2 × this many connections: as many as the load has requests.
            "BILLPAY_DB_POOL_SIZE": str(max(1, args.concurrency // 2)),
        }
        processes.append(spawn(["sandbox", "--port", str(sandbox_port)], env, log_dir))
        await wait_http(f"{sandbox_url}/vtpass/api/service-categories")
        settings = Settings.model_validate({**sandbox_settings(sandbox_url), "database_url": url})
        key = await prepare_client(settings, url)
        processes.append(spawn(["api"], env, log_dir))
        api_url = f"http://127.0.0.1:{api_port}"
        await wait_http(f"{api_url}/healthz")
        # Warm up (imports, pools, plan and key caches): not counted.
        await asyncio.to_thread(run_wrk, api_url, key, "warm", 2, args.concurrency, log_dir)
        runs = []
        for index in range(args.repeat):
            run = f"run{index}"
            figures = await asyncio.to_thread(
                run_wrk, api_url, key, run, args.seconds, args.concurrency, log_dir
            )
            created = await count_payments(url, run)
            figures["created"] = created
            figures["creates_per_second"] = round(created / figures["seconds"], 1)
            runs.append(figures)
        return {
            "concurrency": args.concurrency,
            "seconds": args.seconds,
            "label": args.label,
            "runs": runs,
            "cpus": os.cpu_count(),
        }
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        await drop_database(args.admin_url, url)
        if args.keep_logs:
            print(f"logs in {log_dir}")
        else:
            shutil.rmtree(log_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--label", default="", help="a name for this run in the JSON")
    parser.add_argument("--keep-logs", action="store_true", help="keep the processes' logs")
    parser.add_argument(
        "--admin-url",
        default=os.environ.get(
            "TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
        ),
    )
    args = parser.parse_args()
    result = asyncio.run(bench(args))
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"create-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2))
    for figures in result["runs"]:
        print(
            f"creates/s {figures['creates_per_second']:>7}  p50 {figures['p50_ms']:>7} ms  "
            f"p99 {figures['p99_ms']:>7} ms  non-2xx {figures['non_2xx']}  "
            f"errors {figures['socket_errors']}"
        )
    print(f"written to {out}")


if __name__ == "__main__":
    main()

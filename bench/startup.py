"""Start-up time of billpay's long-running processes: from spawn to ready, for the worker,
the API and the deposit watcher, beside two references measured in the same run (an empty
interpreter, and one importing SQLAlchemy and FastAPI: the floor every billpay process pays).

Ready is what each process signals: the worker logs ``worker_started`` once it listens for
work (its first claim follows at once), the API answers ``/readyz`` with 200 (the database
reached), the watcher logs ``stellar_watcher_started`` once it holds the account's lock.
Every process is configured as in production: every provider (Stellar included) pointed at
the simulators, served from this process. Runs are interleaved, so a busy CPU slows every
figure alike: compare each process with the references rather than the absolute seconds.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres python -m bench.startup --runs 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import IO, Any

import httpx

from bench.scratch import drop_database, fresh_database
from billpay.config import Settings
from billpay.db.embedded import start_embedded_postgres
from billpay.db.migrate import upgrade
from billpay.sandbox.app import create_sandbox_app, sandbox_settings
from billpay.sandbox.server import ThreadedServer, free_port

RESULTS = Path(__file__).parent / "results"
BIN = Path(sys.executable).parent
READY_DEADLINE_SECONDS = 120.0  # generous: the CPU is shared; a process that never gets ready fails
REFERENCES = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "python -c 'import sqlalchemy, fastapi'": [sys.executable, "-c", "import sqlalchemy, fastapi"],
}
LOG_MARKERS = {"worker": "worker_started", "watch": "stellar_watcher_started"}


def provider_environment(sandbox_url: str) -> dict[str, str]:
    """The environment variables that point every provider at the simulators."""
    env = {}
    for field, value in sandbox_settings(sandbox_url).items():
        alias = Settings.model_fields[field].validation_alias
        names = getattr(alias, "choices", [field.upper()])
        env[str(names[0])] = str(value)
    return env


def _lines(stream: IO[str], into: queue.Queue[str | None]) -> None:
    for line in stream:
        into.put(line)
    into.put(None)


def time_to_log_line(args: list[str], env: dict[str, str], marker: str) -> float:
    """Seconds from spawn to the first log line containing ``marker``."""
    started = time.monotonic()
    process = subprocess.Popen(
        args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    lines: queue.Queue[str | None] = queue.Queue()
    assert process.stderr is not None
    threading.Thread(target=_lines, args=(process.stderr, lines), daemon=True).start()
    seen: list[str] = []
    try:
        while True:
            line = lines.get(timeout=max(0.0, started + READY_DEADLINE_SECONDS - time.monotonic()))
            if line is None:
                raise RuntimeError(f"{args[1:]} exited before {marker!r}: {''.join(seen[-5:])}")
            if marker in line:
                return time.monotonic() - started
            seen.append(line)
    finally:
        _stop(process)


def time_to_ready_endpoint(args: list[str], env: dict[str, str], url: str) -> float:
    """Seconds from spawn to ``url`` answering 200."""
    started = time.monotonic()
    process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        with httpx.Client(timeout=1.0) as client:
            while time.monotonic() < started + READY_DEADLINE_SECONDS:
                if process.poll() is not None:
                    error = process.stderr.read() if process.stderr else b""
                    raise RuntimeError(f"{args[1:]} exited: {error.decode()[-500:]}")
                try:
                    if client.get(url).status_code == 200:
                        return time.monotonic() - started
                except httpx.TransportError:
                    pass  # not listening yet
                time.sleep(0.02)
        raise RuntimeError(f"{url} did not answer 200 within {READY_DEADLINE_SECONDS} s")
    finally:
        _stop(process)


def time_to_exit(args: list[str]) -> float:
    started = time.monotonic()
    subprocess.run(args, check=True)
    return time.monotonic() - started


def _stop(process: subprocess.Popen[Any]) -> None:
    process.kill()  # as a crash would: what a restart follows
    process.wait(timeout=30)


def summary(seconds: list[float]) -> dict[str, float]:
    return {
        "min": round(min(seconds), 3),
        "median": round(statistics.median(seconds), 3),
        "max": round(max(seconds), 3),
    }


def measurements(url: str, sandbox_url: str) -> dict[str, Callable[[], float]]:
    env = {
        **os.environ,
        **provider_environment(sandbox_url),
        "DATABASE_URL": url,
        "BILLPAY_DATA_DIR": tempfile.mkdtemp(prefix="billpay-bench-startup-"),
    }
    api_port = free_port()
    api_env = {**env, "BILLPAY_API_PORT": str(api_port)}
    billpay = str(BIN / "billpay")
    measure: dict[str, Callable[[], float]] = {
        name: partial(time_to_exit, args) for name, args in REFERENCES.items()
    }
    measure["worker"] = partial(time_to_log_line, [billpay, "worker"], env, LOG_MARKERS["worker"])
    measure["api"] = partial(
        time_to_ready_endpoint, [billpay, "api"], api_env, f"http://127.0.0.1:{api_port}/readyz"
    )
    measure["watch"] = partial(time_to_log_line, [billpay, "watch"], env, LOG_MARKERS["watch"])
    return measure


def run_all(url: str, runs: int) -> dict[str, list[float]]:
    sandbox = ThreadedServer(create_sandbox_app()).start()
    try:
        measure = measurements(url, sandbox.url)
        seconds: dict[str, list[float]] = {name: [] for name in measure}
        for _ in range(runs):
            for name, once in measure.items():  # interleaved: load drifts alike for all
                seconds[name].append(once())
        return seconds
    finally:
        sandbox.stop()


def run(args: argparse.Namespace) -> dict[str, Any]:
    admin = os.environ.get("DATABASE_URL")
    url = (
        asyncio.run(fresh_database(admin))
        if admin
        else start_embedded_postgres(Path(tempfile.mkdtemp(prefix="billpay-bench-startup-")))
    )
    try:
        upgrade(url)  # the processes refuse a schema that is behind; they never migrate
        seconds = run_all(url, args.runs)
    finally:
        if admin:
            asyncio.run(drop_database(admin, url))
    floor = statistics.median(seconds["python -c 'import sqlalchemy, fastapi'"])
    return {
        "runs": args.runs,
        "database": "DATABASE_URL" if admin else "embedded",
        "cpus": os.cpu_count(),
        "load_average": [round(load, 2) for load in os.getloadavg()],
        "ready_when": {
            "worker": f"log line {LOG_MARKERS['worker']!r}",
            "api": "/readyz answers 200",
            "watch": f"log line {LOG_MARKERS['watch']!r}",
        },
        "seconds": {name: summary(values) for name, values in seconds.items()},
        "median_over_sqlalchemy_fastapi": {
            name: round(statistics.median(values) / floor, 2)
            for name, values in seconds.items()
            if name in ("worker", "api", "watch")
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    result = run(args)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"startup-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    for name, figures in result["seconds"].items():
        print(
            f"{name:<40} min {figures['min']:.2f} s  median {figures['median']:.2f} s  "
            f"max {figures['max']:.2f} s"
        )
    print(f"written to {out}")


if __name__ == "__main__":
    main()

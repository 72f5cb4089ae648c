"""Provider-client cost: CPU µs and calls/s per HTTP client, posting VTpass purchases to the
real sandbox (``billpay sandbox``, its own process), side by side in one run.

Rows: each client on its own (httpx, httpcore — httpx's own connection pool without httpx's
models — and aiohttp), then ``ProviderTransport`` over httpx (a lent client, as tests do) and
over its own aiohttp session (what connectors get): the figure the worker pays per call.
Each cell is a fixed number of purchases at concurrency 1, 16 and 64; cells are interleaved
over ``--repeats`` rounds and the median is reported (the machine is shared and noisy).

CPU is this process's user+system time per call, so the sandbox's own cost is not in it;
calls/s is bounded by the sandbox as well and is only comparable within one run.

    python -m bench.transport --calls 2000 --repeats 3

Last line: ``transport: aiohttp X µs/call, httpx Y µs/call (Z× cheaper)``, for
``ProviderTransport`` at concurrency 64 (the batched worker's shape).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import httpcore
import httpx

from billpay.config import Settings
from billpay.providers.http import HttpxSender, ProviderTransport
from billpay.providers.vtpass.transformers import encode_json, new_request_id
from billpay.sandbox.app import sandbox_settings
from billpay.sandbox.server import free_port

RESULTS = Path(__file__).parent / "results"
BIN = Path(sys.executable).parent
CONCURRENCIES = (1, 16, 64)
WARMUP_CALLS = 100
HEADLINE_CONCURRENCY = 64

# What the raw clients raise for a failed call (the transports report it instead): counted.
CLIENT_ERRORS = (
    httpx.HTTPError,
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.TimeoutException,
    aiohttp.ClientError,
    TimeoutError,
)
Post = Callable[[bytes], Awaitable[int]]  # sends one purchase body, returns the HTTP status


@dataclass(frozen=True)
class Cell:
    client: str
    concurrency: int
    calls: int
    cpu_us_per_call: float
    calls_per_second: float
    non_200: int


class Clients:
    """Every client under test, opened once per run with pools sized to the top concurrency."""

    def __init__(self, url: str, headers: dict[str, str], settings: Settings) -> None:
        self.url = url
        self.headers = headers
        limit = settings.provider_max_connections
        limits = httpx.Limits(max_connections=limit, max_keepalive_connections=limit)
        self.httpx = httpx.AsyncClient(timeout=30, limits=limits)
        self.httpcore = httpcore.AsyncConnectionPool(max_connections=limit)
        self.aiohttp = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=limit), cookie_jar=aiohttp.DummyCookieJar()
        )
        lent = httpx.AsyncClient(timeout=30, limits=limits)
        self.httpx_transport = ProviderTransport(
            "vtpass", HttpxSender(lent, timeout=30, owns_client=True)
        )
        self.aiohttp_transport = ProviderTransport.for_provider("vtpass", settings)

    def posts(self) -> dict[str, Post]:
        return {
            "httpx": self._httpx,
            "httpcore": self._httpcore,
            "aiohttp": self._aiohttp,
            "ProviderTransport/httpx": self._over(self.httpx_transport),
            "ProviderTransport/aiohttp": self._over(self.aiohttp_transport),
        }

    async def _httpx(self, body: bytes) -> int:
        response = await self.httpx.post(self.url, content=body, headers=self.headers)
        json.loads(response.content)
        return response.status_code

    async def _httpcore(self, body: bytes) -> int:
        response = await self.httpcore.request(
            "POST", self.url, headers=list(self.headers.items()), content=body
        )
        json.loads(response.content)
        return response.status

    async def _aiohttp(self, body: bytes) -> int:
        async with self.aiohttp.post(self.url, data=body, headers=self.headers) as response:
            json.loads(await response.read())
            return response.status

    def _over(self, transport: ProviderTransport) -> Post:
        async def post(body: bytes) -> int:
            exchange = await transport.send("POST", self.url, content=body, headers=self.headers)
            if exchange.answer is None:
                return 0
            assert exchange.answer.json_object is not None  # parsed, as a connector does
            return exchange.answer.status

        return post

    async def aclose(self) -> None:
        await self.httpx.aclose()
        await self.httpcore.aclose()
        await self.aiohttp.close()
        await self.httpx_transport.aclose()
        await self.aiohttp_transport.aclose()


def purchase_body() -> bytes:
    """A VTpass airtime purchase under a fresh request_id (the sandbox refuses duplicates)."""
    reference = new_request_id(datetime.now(UTC))
    return encode_json(
        {"request_id": reference, "serviceID": "mtn", "amount": 100, "phone": "08011111111"}
    )


async def run_cell(name: str, post: Post, calls: int, concurrency: int) -> Cell:
    bodies = [purchase_body() for _ in range(calls)]  # made before the clock starts
    statuses: list[int] = []

    async def caller(share: list[bytes]) -> None:
        for body in share:
            try:
                statuses.append(await post(body))
            except CLIENT_ERRORS:  # e.g. a kept-alive connection the sandbox had just closed
                statuses.append(0)

    shares = [bodies[i::concurrency] for i in range(concurrency)]
    cpu_before, wall_before = time.process_time(), time.perf_counter()
    await asyncio.gather(*(caller(share) for share in shares))
    cpu, wall = time.process_time() - cpu_before, time.perf_counter() - wall_before
    return Cell(
        client=name,
        concurrency=concurrency,
        calls=calls,
        cpu_us_per_call=cpu / calls * 1e6,
        calls_per_second=calls / wall,
        non_200=sum(status != 200 for status in statuses),
    )


async def measure(url: str, headers: dict[str, str], args: argparse.Namespace) -> list[Cell]:
    settings = Settings.model_validate(
        {"provider_max_connections": max(CONCURRENCIES), "provider_timeout_seconds": 30}
    )
    clients = Clients(url, headers, settings)
    try:
        posts = clients.posts()
        for name, post in posts.items():
            await run_cell(name, post, WARMUP_CALLS, 16)
        cells: list[Cell] = []
        for repeat in range(args.repeats):
            for concurrency in CONCURRENCIES:
                # the order rotates each round so that no client always runs first
                names = list(posts)[repeat % len(posts) :] + list(posts)[: repeat % len(posts)]
                for name in names:
                    cells.append(await run_cell(name, posts[name], args.calls, concurrency))
        return cells
    finally:
        await clients.aclose()


def medians(cells: list[Cell]) -> dict[tuple[str, int], dict[str, float]]:
    grouped: dict[tuple[str, int], list[Cell]] = {}
    for cell in cells:
        grouped.setdefault((cell.client, cell.concurrency), []).append(cell)
    return {
        key: {
            "cpu_us_per_call": statistics.median(c.cpu_us_per_call for c in group),
            "cpu_us_min": min(c.cpu_us_per_call for c in group),
            "cpu_us_max": max(c.cpu_us_per_call for c in group),
            "calls_per_second": statistics.median(c.calls_per_second for c in group),
            "non_200": sum(c.non_200 for c in group),
        }
        for key, group in grouped.items()
    }


def print_table(summary: dict[tuple[str, int], dict[str, float]]) -> None:
    clients = list(dict.fromkeys(client for client, _ in summary))
    head = "".join(f"{'c=' + str(c) + ' µs':>12}{'calls/s':>9}" for c in CONCURRENCIES)
    print(f"{'client':<27}{head}   (CPU µs/call median [min–max], calls/s median)")
    for client in clients:
        row = ""
        for concurrency in CONCURRENCIES:
            figures = summary[(client, concurrency)]
            row += f"{figures['cpu_us_per_call']:>12.0f}{figures['calls_per_second']:>9.0f}"
        spread = ", ".join(
            f"{summary[(client, c)]['cpu_us_min']:.0f}–{summary[(client, c)]['cpu_us_max']:.0f}"
            for c in CONCURRENCIES
        )
        print(f"{client:<27}{row}   [{spread}]")
    failures = sum(figures["non_200"] for figures in summary.values())
    if failures:
        print(f"warning: {failures} calls were not answered 200 (transport errors count)")


def wait_ready(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass  # not listening yet
        time.sleep(0.1)
    raise RuntimeError(f"the sandbox did not come up at {url}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=2000, help="purchases per cell")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds")
    args = parser.parse_args()

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    provider = sandbox_settings(base_url)
    sandbox = subprocess.Popen(
        [str(BIN / "billpay"), "sandbox", "--port", str(port)],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(f"{base_url}/vtpass/api/service-categories")
        headers = {
            "api-key": provider["vtpass_api_key"],
            "secret-key": provider["vtpass_secret_key"],
            "content-type": "application/json",
        }
        cells = asyncio.run(measure(f"{provider['vtpass_base_url']}/pay", headers, args))
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)

    summary = medians(cells)
    print_table(summary)
    write_results(args, cells, summary)
    cheap = summary[("ProviderTransport/aiohttp", HEADLINE_CONCURRENCY)]["cpu_us_per_call"]
    dear = summary[("ProviderTransport/httpx", HEADLINE_CONCURRENCY)]["cpu_us_per_call"]
    figures = f"aiohttp {cheap:.0f} µs/call, httpx {dear:.0f} µs/call"
    print(f"transport: {figures} ({dear / cheap:.1f}× cheaper)")


def write_results(
    args: argparse.Namespace, cells: list[Cell], summary: dict[tuple[str, int], dict[str, float]]
) -> None:
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    path = RESULTS / f"transport-{stamp}.json"
    document: dict[str, Any] = {
        "calls_per_cell": args.calls,
        "repeats": args.repeats,
        "cpu_count": os.cpu_count(),
        "versions": {
            "httpx": httpx.__version__,
            "httpcore": httpcore.__version__,
            "aiohttp": aiohttp.__version__,
        },
        "median": [
            {"client": client, "concurrency": concurrency, **figures}
            for (client, concurrency), figures in summary.items()
        ],
        "cells": [asdict(cell) for cell in cells],
    }
    path.write_text(json.dumps(document, indent=2))
    print(f"results: {path}")


if __name__ == "__main__":
    main()

"""Starting billpay's own processes for a benchmark, and waiting until they answer."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent  # the venv's ``billpay``


def spawn(args: list[str], env: dict[str, str], log_dir: Path) -> subprocess.Popen[bytes]:
    """``billpay <args>``, its output appended to ``<log_dir>/<command>.log``."""
    log = (log_dir / f"{args[0]}.log").open("ab")
    return subprocess.Popen([str(BIN / "billpay"), *args], env=env, stdout=log, stderr=log)


async def wait_http(url: str, timeout: float = 60.0) -> None:
    """Until ``url`` answers at all (any status), or raise after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(trust_env=False) as client:
        while True:
            try:
                await client.get(url)
                return
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)

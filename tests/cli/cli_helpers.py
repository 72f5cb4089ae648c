"""Running the installed ``billpay`` as a user would: a subprocess with a clean environment,
its exit status and its stderr read back."""

from __future__ import annotations

import asyncio
import os
import selectors
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from billpay.config import env_name
from billpay.db.engine import asyncpg_dsn
from billpay.sandbox.app import sandbox_settings

BILLPAY = str(Path(sys.executable).parent / "billpay")
# Variables a developer's shell may hold that would change what a command sees.
_OWN_PREFIXES = (
    "BILLPAY_",
    "BILL_PROCESSOR_",
    "DATABASE_URL",
    "VTPASS_",
    "FLUTTERWAVE_",
    "INTERSWITCH_",
    "PAYSTACK_",
    "STELLAR_",
    "CNGN_",
)


def clean_env(tmp_path: Path, **env: str) -> dict[str, str]:
    """The parent's environment without billpay's settings, plus ``env``; a data folder and a
    runtime folder of the test's own (pgserver keeps its lock under XDG_RUNTIME_DIR)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_PREFIXES)}
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700, exist_ok=True)
    return {
        **base,
        "BILLPAY_DATA_DIR": str(tmp_path / "data"),
        "XDG_RUNTIME_DIR": os.environ.get("XDG_RUNTIME_DIR", str(runtime)),
        "COLUMNS": "200",
        **env,
    }


def billpay(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BILLPAY, *args],
        env=clean_env(tmp_path, **env),
        cwd=tmp_path,  # no .env of the working tree
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


async def billpay_async(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(billpay, tmp_path, *args, **env)


def start_billpay(tmp_path: Path, *args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [BILLPAY, *args],
        env=clean_env(tmp_path, **env),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def provider_env(sandbox_url: str, *providers: str) -> dict[str, str]:
    """The environment variables configuring ``providers`` (all when none are named) on the
    simulators at ``sandbox_url``, as an operator would set them."""
    from billpay.config import PROVIDER_FIELDS

    wanted = providers or tuple(PROVIDER_FIELDS)
    fields = {field for name in wanted for field in PROVIDER_FIELDS[name].all}
    return {
        env_name(field): str(value)
        for field, value in sandbox_settings(sandbox_url).items()
        if field in fields
    }


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The failure as the user sees it: exactly one line on stderr, no traceback."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: "), lines
    return lines[0]


async def empty_database(database_url: str, name: str) -> str:
    """A new, never-migrated database on the same server: its URL."""
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    parts = urlsplit(database_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def drop_database(database_url: str, name: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def wait_for_line(process: subprocess.Popen[str], needle: str, timeout: float = 120) -> str:
    """Read the process's stdout until a line containing ``needle`` (or it exits)."""
    assert process.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not selector.select(timeout=1):
                if process.poll() is not None:
                    break
                continue
            line = process.stdout.readline()
            if not line:
                break
            seen.append(line)
            if needle in line:
                return "".join(seen)
    raise AssertionError(f"no {needle!r} from billpay; got {''.join(seen)!r}")

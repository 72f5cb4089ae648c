"""``billpay api-keys create|list|revoke --client ID``, run as the installed command against
the test database, as an operator would."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

from billpay.clients.service import find_by_api_key
from billpay.state import AppState

BILLPAY = str(Path(sys.executable).parent / "billpay")


async def _billpay(database_url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("BILLPAY_")}
    runtime = cwd / "run"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env.update(
        {
            "DATABASE_URL": database_url,
            "BILLPAY_DATA_DIR": str(cwd / "data"),
            "BILLPAY_LOG_LEVEL": "WARNING",
            "XDG_RUNTIME_DIR": str(runtime),
            "COLUMNS": "250",  # the list's table unwrapped
        }
    )
    return await asyncio.to_thread(
        subprocess.run,
        [BILLPAY, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def _active(state: AppState, key: str) -> bool:
    async with state.unit_of_work() as session:
        return await find_by_api_key(session, key) is not None


async def test_an_operator_rotates_a_merchants_key_from_the_cli(
    state: AppState, merchant: tuple[uuid.UUID, str], database_url: str, tmp_path: Path
) -> None:
    client_id, old_key = merchant
    client = str(client_id)

    created = await _billpay(
        database_url, tmp_path, "api-keys", "create", "--client", client, "--name", "rotated"
    )

    assert created.returncode == 0, created
    new_key = created.stdout.strip().splitlines()[-1]
    assert new_key.startswith("bp_live_")
    assert await _active(state, new_key)

    listed = await _billpay(database_url, tmp_path, "api-keys", "list", "--client", client)
    assert listed.returncode == 0, listed
    assert "rotated" in listed.stdout and "first key" in listed.stdout
    assert new_key not in listed.stdout and old_key not in listed.stdout  # prefixes only
    old_id = next(line.split()[1] for line in listed.stdout.splitlines() if "first key" in line)

    revoked = await _billpay(
        database_url, tmp_path, "api-keys", "revoke", "--client", client, old_id
    )
    assert revoked.returncode == 0, revoked
    assert not await _active(state, old_key)
    assert await _active(state, new_key)

    new_id = next(
        line.split()[1]
        for line in (
            await _billpay(database_url, tmp_path, "api-keys", "list", "--client", client)
        ).stdout.splitlines()
        if "rotated" in line
    )
    last = await _billpay(database_url, tmp_path, "api-keys", "revoke", "--client", client, new_id)
    assert last.returncode == 1
    assert last.stderr.strip().startswith("error: key_id:")
    assert "last active live key" in last.stderr
    assert await _active(state, new_key)
    forced = await _billpay(
        database_url, tmp_path, "api-keys", "revoke", "--client", client, new_id, "--force"
    )
    assert forced.returncode == 0, forced
    assert not await _active(state, new_key)

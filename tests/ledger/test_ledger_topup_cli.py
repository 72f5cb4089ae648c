"""``billpay clients topup`` credits only a client that exists: an unknown id is one clear line
on stderr and a non-zero exit, and nothing is written (no ledger account for nobody). Run as
the installed command, as an operator would, against the test database."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from billpay.clients.service import top_up
from billpay.errors import NotFound, ValidationFailed
from billpay.state import AppState
from flows import account_balance, ledger_ok, row_count

BILLPAY = str(Path(sys.executable).parent / "billpay")


async def _billpay(database_url: str, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("BILLPAY_")}
    runtime = cwd / "run"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env.update(
        {
            "DATABASE_URL": database_url,
            "BILLPAY_DATA_DIR": str(cwd / "data"),
            "BILLPAY_LOG_LEVEL": "WARNING",  # the migration's info lines are not for this
            "XDG_RUNTIME_DIR": str(runtime),  # else platformdirs warns on bare hosts
        }
    )
    return await asyncio.to_thread(
        subprocess.run,
        [BILLPAY, *args],
        env=env,
        cwd=cwd,  # no .env of the working tree
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_topup_of_an_unknown_client_is_refused_and_writes_nothing(
    state: AppState, database_url: str, tmp_path: Path
) -> None:
    nobody = uuid.uuid4()

    result = await _billpay(database_url, tmp_path, "clients", "topup", str(nobody), "100000")

    assert result.returncode == 1, result
    assert result.stderr.splitlines() == [f"error: client_id: no client {nobody}"]
    assert "balance" not in result.stdout
    assert await row_count(state, "ledger_accounts") == 0
    assert await row_count(state, "ledger_entries") == 0


async def test_topup_of_a_client_credits_its_balance(
    state: AppState, database_url: str, tmp_path: Path, merchant: tuple[uuid.UUID, str]
) -> None:
    client_id, _ = merchant

    result = await _billpay(database_url, tmp_path, "clients", "topup", str(client_id), "2500")

    assert result.returncode == 0, result
    assert "available balance: ₦1,000,025" in result.stdout
    assert await account_balance(state, f"client:{client_id}:available") == 100_002_500
    await ledger_ok(state)


async def test_resolving_an_unknown_payment_is_one_line_and_a_non_zero_exit(
    state: AppState, database_url: str, tmp_path: Path
) -> None:
    nothing = uuid.uuid4()

    result = await _billpay(
        database_url,
        tmp_path,
        "payments",
        "resolve",
        str(nothing),
        "--outcome",
        "paid",
        "--reason",
        "checked",
    )

    assert result.returncode == 1, result
    assert result.stderr.splitlines() == [f"error: no payment {nothing}"]


async def test_the_service_refuses_an_unknown_client_and_a_non_positive_amount(
    state: AppState, merchant: tuple[uuid.UUID, str]
) -> None:
    with pytest.raises(NotFound, match="no client"):
        async with state.unit_of_work() as session:
            await top_up(session, uuid.uuid4(), 100, "mistyped")
    with pytest.raises(ValidationFailed, match="amount_kobo"):
        async with state.unit_of_work() as session:
            await top_up(session, merchant[0], 0, "nothing")
    # Only the merchant fixture's own account and top-up exist.
    assert await row_count(state, "ledger_accounts") == 2
    assert await row_count(state, "ledger_entries") == 1

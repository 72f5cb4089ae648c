"""A user's mistake is one line on stderr and a non-zero exit (2 for the command line itself,
1 for a refusal), never a traceback; library logs stay out of the way; the command line
loads no web framework, ORM or Stellar SDK before it knows what it is asked."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

from cli_helpers import billpay, billpay_async, clean_env, one_line_error

from billpay.state import AppState
from flows import row_count


async def test_a_zero_top_up_is_one_line_and_exit_1(
    state: AppState, database_url: str, tmp_path: Path, merchant: tuple[uuid.UUID, str]
) -> None:
    client_id, _ = merchant

    result = await billpay_async(
        tmp_path, "clients", "topup", str(client_id), "0", DATABASE_URL=database_url
    )

    assert result.returncode == 1
    assert "amount_kobo" in one_line_error(result)
    assert result.stdout == ""


def test_a_bad_resolve_outcome_is_a_usage_error(tmp_path: Path) -> None:
    result = billpay(
        tmp_path, "payments", "resolve", str(uuid.uuid4()), "--outcome", "maybe", "--reason", "x"
    )

    assert result.returncode == 2
    line = one_line_error(result)
    assert "--outcome" in line and "'maybe'" in line and "paid" in line


def test_a_bad_date_or_id_is_a_usage_error(tmp_path: Path) -> None:
    bad_date = billpay(
        tmp_path, "statement", "--provider", "vtpass", "--from", "2025-13-01", "--to", "2025-01-31"
    )
    bad_id = billpay(tmp_path, "payments", "show", "not-a-payment-id")

    assert bad_date.returncode == 2 and "--from" in one_line_error(bad_date)
    assert bad_id.returncode == 2 and "payment_id" in one_line_error(bad_id).lower()


async def test_an_unknown_payment_is_one_line_and_exit_1(
    state: AppState, database_url: str, tmp_path: Path
) -> None:
    nothing = uuid.uuid4()

    result = await billpay_async(
        tmp_path, "payments", "show", str(nothing), DATABASE_URL=database_url
    )

    assert result.returncode == 1
    assert str(nothing) in one_line_error(result)


def test_pay_with_no_api_listening_says_so_in_one_line(tmp_path: Path) -> None:
    result = billpay(
        tmp_path,
        "pay",
        "--api",
        "http://127.0.0.1:9",  # discard: nothing listens there
        "--key",
        "bp_test_nothing",
        "--plan",
        "mtn-airtime",
        "--customer",
        "08011111111",
        "--amount",
        "50000",
    )

    assert result.returncode == 1
    line = one_line_error(result)
    assert "cannot reach the billpay API at http://127.0.0.1:9" in line


async def test_a_command_prints_no_library_logs(
    state: AppState, database_url: str, tmp_path: Path
) -> None:
    result = await billpay_async(tmp_path, "clients", "create", "quiet", DATABASE_URL=database_url)

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no migration chatter, no JSON log lines (--verbose shows them)
    assert "API key (shown once)" in result.stdout
    assert await row_count(state, "clients") == 1


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = billpay(
        tmp_path,
        "--debug",
        "pay",
        "--api",
        "http://127.0.0.1:9",
        "--key",
        "k",
        "--plan",
        "p",
        "--customer",
        "c",
    )

    assert result.returncode == 1
    assert "Traceback" in result.stderr


def test_the_command_line_loads_no_heavy_library_before_a_command_runs(tmp_path: Path) -> None:
    # `billpay --help` and each command's start: FastAPI, SQLAlchemy, stellar-sdk and uvicorn
    # are imported by the commands that use them, not by the command line itself.
    probe = (
        "import sys, billpay.cli.main; "
        "print(sorted(m for m in ('fastapi', 'sqlalchemy', 'stellar_sdk', 'uvicorn', "
        "'billpay.models', 'billpay.app') if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe],
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )

    assert loaded.stdout.strip() == "[]"

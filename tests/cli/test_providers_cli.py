"""``billpay providers disable|enable|list``: an operator's switch from the shell, recorded with
who and why, and refusals in one line."""

from __future__ import annotations

from pathlib import Path

from cli_helpers import billpay_async, one_line_error

from billpay.state import AppState
from flows import query


async def test_disable_list_enable_from_the_command_line(
    state: AppState, database_url: str, tmp_path: Path
) -> None:
    off = await billpay_async(
        tmp_path,
        "providers",
        "disable",
        "vtpass",
        "--biller",
        "mtn",
        "--reason",
        "MTN float empty",
        "--actor",
        "ops:tunde",
        DATABASE_URL=database_url,
    )
    assert off.returncode == 0, off.stderr
    assert off.stdout.strip() == "vtpass disabled for mtn by ops:tunde: MTN float empty"
    listing = await billpay_async(tmp_path, "providers", "list", DATABASE_URL=database_url)
    assert listing.returncode == 0, listing.stderr
    [mtn_row] = [line for line in listing.stdout.splitlines() if "vtpass" in line and "mtn" in line]
    assert "disabled for mtn by ops:tunde" in mtn_row
    on = await billpay_async(
        tmp_path, "providers", "enable", "vtpass", "--biller", "mtn", DATABASE_URL=database_url
    )
    assert on.returncode == 0, on.stderr
    rows = await query(state, "SELECT provider, biller, enabled, reason FROM provider_switches")
    assert rows == [
        {"provider": "vtpass", "biller": "mtn", "enabled": True, "reason": "enabled again"}
    ]


async def test_an_unknown_provider_is_one_line_and_exit_1(
    state: AppState, database_url: str, tmp_path: Path
) -> None:
    result = await billpay_async(
        tmp_path, "providers", "disable", "paypal", "--reason", "x", DATABASE_URL=database_url
    )
    assert result.returncode == 1
    assert "'paypal' is not a provider billpay knows" in one_line_error(result)
    assert await query(state, "SELECT * FROM provider_switches") == []

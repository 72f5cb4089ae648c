"""Operators from the command line (the installed ``billpay``, as a subprocess): add, list,
rotate; a weak admin token refused at startup; the admin's token stable across restarts."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from operator_flows import dashboard, sign_in

from billpay.cli.operators import sign_in_hint
from billpay.ops.settings import ADMIN_TOKEN_ENV, ensure_admin_token, get_ops_settings
from billpay.state import AppState

BILLPAY = str(Path(sys.executable).parent / "billpay")


def billpay(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BILLPAY_")}
    data_dir = tempfile.mkdtemp(prefix="billpay-operators-cli-")  # never the repository's
    return subprocess.run(
        [BILLPAY, *args],
        env={**clean, "BILLPAY_LOG_LEVEL": "WARNING", "BILLPAY_DATA_DIR": data_dir, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def fresh_ops_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(ADMIN_TOKEN_ENV, "")  # restored afterwards, whatever the test sets
    get_ops_settings.cache_clear()
    yield
    get_ops_settings.cache_clear()


@pytest.mark.parametrize("token", ["x", "short-but-not-32-chars", "a" * 40])
def test_a_weak_admin_token_is_refused_at_startup(token: str, database_url: str) -> None:
    result = billpay("api", DATABASE_URL=database_url, BILLPAY_ADMIN_TOKEN=token)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]  # one sentence
    assert line.startswith("error: operator access is misconfigured: BILLPAY_ADMIN_TOKEN:")
    assert "at least 32" in line or "distinct characters" in line
    assert token not in line or token == "x"


async def test_operators_are_added_listed_and_rotated(database_url: str, state: AppState) -> None:
    added = billpay("operators", "add", "grace", DATABASE_URL=database_url)
    assert added.returncode == 0, added.stderr
    token = added.stdout.strip().splitlines()[-1]
    assert len(token) >= 32

    listed = billpay("operators", "list", DATABASE_URL=database_url)
    assert listed.returncode == 0, listed.stderr
    assert "grace" in listed.stdout and token not in listed.stdout

    again = billpay("operators", "add", "grace", DATABASE_URL=database_url)
    assert again.returncode == 1
    assert (
        again.stderr.strip().splitlines()[-1] == "error: there is already an operator named grace"
    )

    async with dashboard(state) as client:
        assert (await sign_in(client, "grace", token)).status_code == 303
        rotated = billpay("operators", "rotate", "grace", DATABASE_URL=database_url)
        assert rotated.returncode == 0, rotated.stderr
        new_token = rotated.stdout.strip().splitlines()[-1]
        assert (await client.get("/dashboard")).status_code == 303  # the session ended
        assert (await sign_in(client, "grace", token)).status_code == 401
        assert (await sign_in(client, "grace", new_token)).status_code == 303

    unknown = billpay("operators", "rotate", "nobody", DATABASE_URL=database_url)
    assert unknown.returncode == 1
    assert "no operator named nobody" in unknown.stderr


def test_the_admin_token_is_created_once_and_kept(tmp_path: Path, fresh_ops_settings: None) -> None:
    first = ensure_admin_token(tmp_path)
    assert first == tmp_path / "admin-token"
    token = first.read_text().strip()
    assert stat.S_IMODE(first.stat().st_mode) == 0o600
    assert get_ops_settings().admin_secret() == token

    os.environ[ADMIN_TOKEN_ENV] = ""  # a restart: nothing configured, the file is still there
    get_ops_settings.cache_clear()
    assert ensure_admin_token(tmp_path) == first
    assert get_ops_settings().admin_secret() == token
    hint = sign_in_hint("http://127.0.0.1:8000", first)
    assert "http://127.0.0.1:8000/dashboard" in hint and str(first) in hint
    assert token not in hint


def test_a_configured_admin_token_is_used_as_it_is(
    tmp_path: Path, fresh_ops_settings: None
) -> None:
    configured = "configured-admin-token-0f1e2d3c4b5a69788796"
    os.environ[ADMIN_TOKEN_ENV] = configured
    get_ops_settings.cache_clear()
    assert ensure_admin_token(tmp_path) is None
    assert not (tmp_path / "admin-token").exists()
    assert get_ops_settings().admin_secret() == configured
    assert "$BILLPAY_ADMIN_TOKEN" in sign_in_hint("http://127.0.0.1:8000", None)

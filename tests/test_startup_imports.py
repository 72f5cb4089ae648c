"""A killed worker or API is back in seconds: what a process imports at start-up is most of its
start, so the heavy libraries are loaded only by the work that uses them. Each check runs a
fresh interpreter, as a restart does, and lists what it loaded that it should not have."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from billpay.sandbox.app import sandbox_settings

# From a fifth of a second to over half a second each; none needed to serve or claim work.
STELLAR = "stellar_sdk"
SIMULATORS = "billpay.sandbox"
DEV_TOOLS = ("playwright", "schemathesis", "hypothesis")
MIGRATIONS = "alembic"  # only `billpay db upgrade` and `billpay up` migrate


def build_configured_state() -> str:
    """Code that builds a process's state as at start-up, with every provider and Stellar
    configured (pointed at simulators that need not run: nothing is called)."""
    simulated = json.dumps(sandbox_settings("http://127.0.0.1:9"))
    return (
        "import json\n"
        "from billpay.bootstrap import build_state\n"
        "from billpay.config import Settings\n"
        "url = 'postgresql://postgres@127.0.0.1:9/none'\n"
        "settings = Settings.model_validate({'database_url': url})\n"
        f"settings = settings.model_copy(update=json.loads({simulated!r}))\n"
        "build_state(settings, url)\n"
    )


def loaded_after(code: str, watched: tuple[str, ...]) -> list[str]:
    """Which of ``watched`` (packages) a fresh interpreter has loaded after running ``code``."""
    report = (
        "import json, sys\n"
        f"watched = {watched!r}\n"
        "print(json.dumps(sorted(w for w in watched if any("
        "m == w or m.startswith(w + '.') for m in sys.modules))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\n{report}"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(done.stdout.splitlines()[-1])
    return loaded


def test_the_worker_loads_no_stellar_sdk_web_framework_or_simulators() -> None:
    watched = (STELLAR, SIMULATORS, MIGRATIONS, "fastapi", "uvicorn", *DEV_TOOLS)
    assert loaded_after("import billpay.worker.runner, billpay.bootstrap", watched) == []


def test_the_api_loads_no_stellar_sdk_or_simulators() -> None:
    watched = (STELLAR, SIMULATORS, MIGRATIONS, *DEV_TOOLS)
    assert loaded_after("import billpay.app, billpay.bootstrap", watched) == []


def test_a_process_configured_for_stellar_loads_the_sdk_only_when_it_does_stellar_work() -> None:
    # The worker's Stellar job (refunds) and the API's Stellar instructions load it on first
    # use; building the process's state at start-up must not.
    assert loaded_after(build_configured_state(), (STELLAR, SIMULATORS)) == []
    assert loaded_after("import billpay.funding.stellar.refunder", (STELLAR,)) == [STELLAR]


@pytest.mark.parametrize("module", ["billpay.cli.main", "billpay.cli.runtime"])
def test_the_command_line_loads_no_heavy_library_before_a_command_runs(module: str) -> None:
    watched = (STELLAR, SIMULATORS, MIGRATIONS, "sqlalchemy", "fastapi", "uvicorn", *DEV_TOOLS)
    assert loaded_after(f"import {module}", watched) == []


def test_checking_the_schema_at_start_loads_no_migration_tool(database_url: str) -> None:
    check = (
        "from billpay.db.migrate import require_current_schema\n"
        f"require_current_schema({database_url!r})\n"
    )
    assert loaded_after(check, (MIGRATIONS,)) == []

"""Reconciliation as the operator meets it: the worker's periodic run recorded in its table,
``billpay reconcile`` and ``billpay statement`` as processes (exit status, JSON, CSV), the
API and the dashboard page."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from books_flows import LEDGER_ONLY, run

from billpay.app import create_app
from billpay.clients.service import create_client
from billpay.ledger import accounts
from billpay.ledger import service as ledger
from billpay.ledger.repository import Posting
from billpay.ops.settings import OpsSettings, get_ops_settings
from billpay.reconciliation import repository, service
from billpay.sandbox.vtpass.state import VTpassSandboxState
from billpay.state import AppState
from billpay.worker.runner import Worker
from flows import airtime, pay, query, query_until

BILLPAY = Path(sys.executable).with_name("billpay")
ADMIN_TOKEN = "books-test-token-1f3a-5c0e8d2b7a964f31"
LAGOS = timezone(timedelta(hours=1))


@pytest.fixture
def settings_overrides(settings_overrides: dict[str, Any]) -> dict[str, Any]:
    return {
        **settings_overrides,
        "reconcile_interval_seconds": 0.3,
        "periodic_interval_seconds": 0.1,
    }


async def plant_orphan(state: AppState) -> str:
    ghost = uuid.uuid4()
    async with state.unit_of_work() as session:
        await ledger.top_up(session, ghost, 100, "a client id nobody has")
    return accounts.client_available(ghost)


def billpay(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("VTPASS_", "FLUTTERWAVE_", "INTERSWITCH_", "STELLAR_", "PAYSTACK_"))
    }
    env["DATABASE_URL"] = database_url
    return subprocess.run(
        [str(BILLPAY), *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


async def test_the_worker_reconciles_on_its_interval_and_records_each_run(
    state: AppState, worker: Worker
) -> None:
    orphan = await plant_orphan(state)
    rows = await query_until(
        state,
        "SELECT * FROM reconciliation_runs WHERE trigger = 'worker' AND finished_at IS NOT NULL",
        lambda found: bool(found),
        timeout=60,
    )
    recorded = rows[0]
    assert recorded["ok"] is False
    assert recorded["discrepancy_count"] >= 1
    found = [d for side in recorded["report"]["sides"] for d in side["discrepancies"]]
    assert {"side": "ledger", "kind": "orphan_account"} in [
        {"side": d["side"], "kind": d["kind"]} for d in found
    ]
    assert {"account": orphan} in [d["evidence"] for d in found]


async def test_billpay_reconcile_exits_non_zero_on_a_discrepancy_and_prints_its_evidence(
    state: AppState, database_url: str
) -> None:
    clean = billpay(database_url, "reconcile", "--ledger-only", "--json")
    assert clean.returncode == 0, clean.stderr
    assert json.loads(clean.stdout)["ok"] is True

    orphan = await plant_orphan(state)
    found = billpay(database_url, "reconcile", "--ledger-only", "--json")
    assert found.returncode == 1, found.stderr
    report = json.loads(found.stdout)
    [discrepancy] = report["sides"][0]["discrepancies"]
    assert (discrepancy["kind"], discrepancy["evidence"]) == ("orphan_account", {"account": orphan})
    table = billpay(database_url, "reconcile", "--ledger-only")
    assert table.returncode == 1
    assert "orphan_account" in table.stdout and "books have discrepancies" in table.stdout
    triggers = await query(state, "SELECT trigger, ok FROM reconciliation_runs ORDER BY id")
    assert triggers == [
        {"trigger": "cli", "ok": True},
        {"trigger": "cli", "ok": False},
        {"trigger": "cli", "ok": False},
    ]


async def test_the_statement_lists_each_reference_with_what_the_ledger_owes_for_it(
    state: AppState,
    api: httpx.AsyncClient,
    worker: Worker,
    vtpass: VTpassSandboxState,
    database_url: str,
    tmp_path: Path,
) -> None:
    delivered = await pay(api, airtime("08011111111", 70_000))
    vtpass.options.strict_magic_numbers = True  # any other phone fails, as on VTpass's sandbox
    failed = await pay(api, airtime("08031234567", 20_000))
    assert (delivered["status"], failed["status"]) == ("paid", "refunded")
    attempts = {
        row["payment_id"]: row
        for row in await query(
            state,
            "SELECT payment_id::text, provider_reference, provider_transaction_id "
            "FROM payment_attempts",
        )
    }
    owed = await query(
        state,
        "SELECT COALESCE(SUM(e.amount_kobo), 0) AS kobo FROM ledger_entries e "
        "JOIN ledger_accounts a ON a.id = e.credit_account_id "
        "WHERE a.code = 'provider:vtpass:payable' AND e.payment_id = :p",
        p=delivered["id"],
    )
    today = datetime.now(LAGOS).date()
    async with state.unit_of_work() as session:
        body = await service.statement_csv(session, "vtpass", today, today)
    rows = {row["payment_id"]: row for row in csv.DictReader(io.StringIO(body))}
    assert set(rows) == {delivered["id"], failed["id"]}
    paid_row, failed_row = rows[delivered["id"]], rows[failed["id"]]
    assert paid_row["reference"] == attempts[delivered["id"]]["provider_reference"]
    assert (
        paid_row["provider_transaction_id"] == attempts[delivered["id"]]["provider_transaction_id"]
    )
    assert int(paid_row["amount_paid_to_provider_kobo"]) == owed[0]["kobo"] > 0
    assert (paid_row["billpay_outcome"], paid_row["payment_status"]) == ("delivered", "paid")
    assert (failed_row["amount_paid_to_provider_kobo"], failed_row["billpay_outcome"]) == (
        "0",
        "failed",
    )
    assert datetime.fromisoformat(paid_row["time"]).utcoffset() == timedelta(hours=1)

    out = tmp_path / "vtpass.csv"
    written = billpay(
        database_url,
        "statement",
        "--provider",
        "vtpass",
        "--from",
        f"{today}",
        "--to",
        f"{today}",
        "--output",
        str(out),
    )
    assert written.returncode == 0, written.stderr
    assert out.read_text() == body
    refused = billpay(
        database_url, "statement", "--provider", "paypal", "--from", f"{today}", "--to", f"{today}"
    )
    assert refused.returncode == 1
    assert "provider: 'paypal' is not one of" in refused.stderr


@pytest.fixture
async def operator_api(state: AppState) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(state)
    app.dependency_overrides[get_ops_settings] = lambda: OpsSettings(
        admin_token=ADMIN_TOKEN, admin_name="ada"
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://billpay.test"
    ) as client:
        yield client


async def test_the_api_shows_the_latest_run_and_its_history_to_operators_only(
    state: AppState, operator_api: httpx.AsyncClient
) -> None:
    assert (await operator_api.get("/v1/ops/reconciliation")).status_code == 401
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    empty = (await operator_api.get("/v1/ops/reconciliation", headers=auth)).json()
    assert empty == {"latest": None, "runs": [], "adjustments": []}
    orphan = await plant_orphan(state)
    made = await operator_api.post(
        "/v1/ops/reconciliation/runs", params={"ledger_only": "true"}, headers=auth
    )
    assert made.status_code == 201
    body = (await operator_api.get("/v1/ops/reconciliation", headers=auth)).json()
    assert body["latest"]["id"] == made.json()["id"]
    assert body["latest"]["ok"] is False
    [side] = body["latest"]["report"]["sides"]
    assert side["discrepancies"][0]["evidence"] == {"account": orphan}
    assert [r["trigger"] for r in body["runs"]] == ["api"]
    missing = await operator_api.get("/v1/ops/reconciliation/runs/999999", headers=auth)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "run_not_found")


async def test_the_dashboard_page_shows_discrepancies_posts_adjustments_and_serves_statements(
    state: AppState, operator_api: httpx.AsyncClient
) -> None:
    stranger = await operator_api.get("/dashboard/reconciliation/statement")
    assert stranger.status_code == 303
    assert stranger.headers["location"].startswith("/dashboard/login")
    login = await operator_api.post(
        "/dashboard/login", data={"name": "ada", "token": ADMIN_TOKEN, "next": "/dashboard"}
    )
    assert login.status_code == 303
    async with state.unit_of_work() as session:  # a real client, one kobo reserved for nothing
        client_id = (await create_client(session, "books merchant"))[0].id
        await ledger.top_up(session, client_id, 10, "seed")
        await ledger.post(
            session,
            [
                Posting(
                    accounts.client_available(client_id),
                    accounts.client_reserved(client_id),
                    1,
                    "reserve",
                )
            ],
        )
    await run(state, LEDGER_ONLY)
    page = await operator_api.get("/dashboard/reconciliation")
    assert page.status_code == 200
    assert "clearing_unattached" in page.text and "reserved_mismatch" in page.text
    csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    forged = await operator_api.post(
        "/dashboard/reconciliation/adjust",
        data={"csrf": "forged", "debit_account": "a", "credit_account": "b", "amount_kobo": "1"},
    )
    assert forged.status_code == 403
    assert await query(state, "SELECT * FROM ledger_adjustments") == []
    posted = await operator_api.post(
        "/dashboard/reconciliation/adjust",
        data={
            "csrf": csrf,
            "debit_account": accounts.client_reserved(client_id),
            "credit_account": accounts.client_available(client_id),
            "amount_kobo": "1",
            "reason": "one kobo reserved for no payment",
        },
    )
    assert posted.status_code == 303
    rerun = await operator_api.post(
        "/dashboard/reconciliation/run", data={"csrf": csrf, "ledger_only": "1"}
    )
    assert rerun.status_code == 303
    after = await operator_api.get(rerun.headers["location"])
    assert "Books reconcile" in after.text
    assert "operator:ada" in after.text and "one kobo reserved for no payment" in after.text
    refused = await operator_api.post(
        "/dashboard/reconciliation/adjust",
        data={
            "csrf": csrf,
            "debit_account": "client:x:available",
            "credit_account": "equity:adjustments",
            "amount_kobo": "5",
            "reason": "r",
        },
    )
    assert refused.status_code == 422 and "no ledger account client:x:available" in refused.text
    today = datetime.now(LAGOS).date().isoformat()
    statement = await operator_api.get(
        "/dashboard/reconciliation/statement",
        params={"provider": "vtpass", "from": today, "to": today},
    )
    assert statement.status_code == 200
    assert statement.headers["content-type"].startswith("text/csv")
    assert statement.text.splitlines()[0].startswith("reference,provider_transaction_id")


async def test_billpay_ledger_adjust_posts_a_balanced_entry_or_refuses_with_one_line(
    state: AppState, database_url: str
) -> None:
    async with state.unit_of_work() as session:
        client_id = (await create_client(session, "books merchant"))[0].id
        await ledger.top_up(session, client_id, 500, "seed")
    available = accounts.client_available(client_id)
    refused = billpay(
        database_url,
        "ledger",
        "adjust",
        "--debit",
        "client:nobody:available",
        "--credit",
        available,
        "--amount",
        "5",
        "--reason",
        "typo",
        "--actor",
        "ada",
    )
    assert refused.returncode == 1
    assert "no ledger account client:nobody:available" in refused.stderr
    made = billpay(
        database_url,
        "ledger",
        "adjust",
        "--debit",
        available,
        "--credit",
        "equity:adjustments",
        "--amount",
        "200",
        "--reason",
        "duplicate top-up",
        "--actor",
        "ada",
    )
    assert made.returncode == 0, made.stderr
    [row] = await query(state, "SELECT debit_account, amount_kobo, actor FROM ledger_adjustments")
    assert row == {"debit_account": available, "amount_kobo": 200, "actor": "ada"}
    async with state.unit_of_work() as session:
        assert await ledger.available_balance(session, client_id) == 300
    report = await run(state, LEDGER_ONLY)
    assert report.ok, report.discrepancies


async def test_workers_racing_for_the_periodic_run_start_one_per_interval(
    state: AppState,
) -> None:
    async def claim() -> int | None:
        async with state.unit_of_work() as session:
            return await repository.claim_periodic_run(session, "worker", 3600)

    claims = await asyncio.gather(*(claim() for _ in range(8)))
    assert len([c for c in claims if c is not None]) == 1
    assert await claim() is None  # and none again within the interval
    assert len(await query(state, "SELECT id FROM reconciliation_runs")) == 1

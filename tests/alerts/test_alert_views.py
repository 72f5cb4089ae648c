"""Where operators see the alerts: ``GET /v1/ops/alerts``, the dashboard's Alerts page and
``billpay alerts`` — open incidents first, with how the operators were told."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from alert_helpers import ALERT_SECRET
from sqlalchemy import text

from billpay.alerts.jobs import evaluate_now
from billpay.app import create_app
from billpay.ops.settings import OpsSettings, get_ops_settings
from billpay.sandbox.server import ThreadedServer
from billpay.sandbox.vtpass.state import VTpassSandboxState
from billpay.state import AppState
from flows import airtime, create_payment, query_until

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))

from cli_helpers import billpay_async, provider_env

OPERATOR_TOKEN = "alerts-test-operator-token-0b7e5d2c91"


@pytest.fixture
async def two_incidents(state: AppState, dispatcher: None, vtpass: VTpassSandboxState) -> None:
    """A breaker opened and closed again (resolved), and VTpass's float low (open)."""
    async with state.unit_of_work() as session:
        await session.execute(
            text(
                "INSERT INTO provider_breakers (provider, biller, state, reason, open_until) "
                "VALUES ('interswitch', '', 'open', 'unreachable after 3 tries', "
                "now() + interval '1 hour')"
            )
        )
    await evaluate_now(state)
    async with state.unit_of_work() as session:
        await session.execute(text("DELETE FROM provider_breakers"))
    vtpass.balance_kobo = 2_500_000  # ₦25,000
    await evaluate_now(state)
    await query_until(
        state,
        "SELECT status FROM outbox_messages WHERE alert_id IS NOT NULL",
        lambda rows: [row["status"] for row in rows] == ["delivered"] * 6,
    )


@pytest.fixture
async def operator_api(state: AppState) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(state)
    app.dependency_overrides[get_ops_settings] = lambda: OpsSettings(
        admin_token=OPERATOR_TOKEN, admin_name="ada"
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://billpay.test"
    ) as client:
        yield client


async def test_the_ops_api_lists_open_incidents_first_with_their_deliveries(
    two_incidents: None, operator_api: httpx.AsyncClient
) -> None:
    headers = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}
    assert (await operator_api.get("/v1/ops/alerts")).status_code == 401

    listed = (await operator_api.get("/v1/ops/alerts", headers=headers)).json()["data"]

    assert [(a["key"], a["state"]) for a in listed] == [
        ("provider_float_low:vtpass", "open"),
        ("breaker_open:interswitch", "resolved"),
    ]
    assert listed[0]["summary"] == "vtpass float is ₦25,000, below ₦50,000"
    assert listed[0]["details"] == {"balance_kobo": 2_500_000, "threshold_kobo": 5_000_000}
    assert [(d["event_type"], d["channel"], d["status"]) for d in listed[1]["deliveries"]] == [
        ("alert.opened", "webhook", "delivered"),
        ("alert.opened", "email", "delivered"),
        ("alert.resolved", "webhook", "delivered"),
        ("alert.resolved", "email", "delivered"),
    ]
    only_open = await operator_api.get(
        "/v1/ops/alerts", params={"include_resolved": "false"}, headers=headers
    )
    assert [a["key"] for a in only_open.json()["data"]] == ["provider_float_low:vtpass"]
    refused = await operator_api.get("/v1/ops/alerts", params={"limit": 0}, headers=headers)
    assert refused.status_code == 422 and "limit" in refused.text


async def test_the_dashboard_shows_open_and_resolved_alerts(
    two_incidents: None, operator_api: httpx.AsyncClient, state: AppState, api: httpx.AsyncClient
) -> None:
    payment = await create_payment(api, airtime())
    async with state.unit_of_work() as session:
        await session.execute(
            text("UPDATE payments SET created_at = now() - interval '1 hour' WHERE id = :id"),
            {"id": payment["id"]},
        )
    await evaluate_now(state)
    signed_in = await operator_api.post(
        "/dashboard/login", data={"name": "ada", "token": OPERATOR_TOKEN, "next": "/dashboard"}
    )
    assert signed_in.status_code == 303

    page = await operator_api.get("/dashboard/alerts")

    assert page.status_code == 200
    open_part, resolved_part = page.text.split("Resolved in the last")
    assert "vtpass float is ₦25,000, below ₦50,000" in open_part
    assert "interswitch: circuit breaker open (unreachable after 3 tries)" in resolved_part
    stuck = f'<a href="/dashboard/payments/{payment["id"]}">{payment["short_id"]}</a>'
    assert stuck in open_part  # a payment's alert links to its page
    assert 'href="/dashboard/alerts"' in page.text  # in the navigation
    assert ALERT_SECRET not in page.text


async def test_billpay_alerts_lists_them(
    two_incidents: None, tmp_path: Path, database_url: str, sandbox: ThreadedServer
) -> None:
    result = await billpay_async(
        tmp_path,
        "alerts",
        "--json",
        DATABASE_URL=database_url,
        **provider_env(sandbox.url),
    )

    assert result.returncode == 0, result.stderr
    listed = json.loads(result.stdout)["data"]
    assert [(a["kind"], a["subject"], a["state"]) for a in listed] == [
        ("provider_float_low", "vtpass", "open"),
        ("breaker_open", "interswitch", "resolved"),
    ]
    table = await billpay_async(
        tmp_path, "alerts", "--open", DATABASE_URL=database_url, **provider_env(sandbox.url)
    )
    assert table.returncode == 0, table.stderr
    assert "provider_float_low" in table.stdout and "breaker_open" not in table.stdout

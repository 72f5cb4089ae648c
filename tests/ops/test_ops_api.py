"""``/v1/ops``: the figures match payments driven through the worker against the VTpass
simulator; the operator token guards every endpoint."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
import pytest
from ops_flows import ADMIN_TOKEN, operator_client
from rich.console import Console
from sqlalchemy import text

from billpay.ops import service as ops_service
from billpay.ops.console import print_stats
from billpay.sandbox.vtpass.faults import FaultKind, FaultRule, Faults
from billpay.sandbox.vtpass.state import VTpassSandboxState
from billpay.state import AppState
from billpay.worker.runner import Worker
from flows import airtime, create, electricity, pay, wait_for_status

ONLY_VTPASS = {"flutterwave_base_url": None, "interswitch_base_url": None}
ENDPOINTS = ["/v1/ops/stats", "/v1/ops/providers", "/v1/ops/stuck", "/v1/ops/reconcile"]
REVIEW_PHONE = "08030000003"


@pytest.fixture
def settings_overrides() -> dict[str, Any]:
    # A 1 s deadline sends an unresolvable payment to review quickly; VTpass alone sells.
    return {"payment_deadline_seconds": 1.0, **ONLY_VTPASS}


async def drive_mixed_outcomes(
    api: httpx.AsyncClient, vtpass: VTpassSandboxState
) -> dict[str, dict[str, Any]]:
    """Two delivered (airtime, electricity), one left unknown (→ review), one failed (→ refund)."""
    vtpass.set_faults(
        Faults(rules=[FaultRule(kind=FaultKind.PENDING_FOREVER, target=REVIEW_PHONE)])
    )
    payments = {
        "paid_airtime": await pay(api, airtime("08011111111")),
        "paid_electricity": await pay(api, electricity()),
        "review": await pay(api, airtime(REVIEW_PHONE)),
    }
    vtpass.options.strict_magic_numbers = True  # VTpass's own rule: other numbers fail
    payments["failed"] = await pay(api, airtime("08031112222"))
    assert {name: p["status"] for name, p in payments.items()} == {
        "paid_airtime": "paid",
        "paid_electricity": "paid",
        "review": "needs_review",
        "failed": "refunded",
    }
    return payments


async def test_figures_match_payments_driven_through_the_worker(
    api: httpx.AsyncClient, state: AppState, worker: Worker, vtpass: VTpassSandboxState
) -> None:
    payments = await drive_mixed_outcomes(api, vtpass)
    async with operator_client(state) as ops:
        stats = (await ops.get("/v1/ops/stats")).json()
        providers = (await ops.get("/v1/ops/providers", params={"health_minutes": 15})).json()
        stuck = (await ops.get("/v1/ops/stuck")).json()
        ledger = (await ops.get("/v1/ops/reconcile")).json()

    expected = Counter(p["status"] for p in payments.values())
    assert stats["total_payments"] == 4
    assert {s: n for s, n in stats["payments_by_status"].items() if n} == dict(expected)
    assert stats["payments_by_status"]["processing"] == 0
    by_type = {row["bill_type"]: row for row in stats["by_bill_type"]}
    assert by_type["airtime"] | {"success_rate": None} == {
        "bill_type": "airtime",
        "total": 3,
        "paid": 1,
        "failed": 1,
        "needs_review": 1,
        "in_progress": 0,
        "expired": 0,
        "success_rate": None,
    }
    assert by_type["airtime"]["success_rate"] == pytest.approx(1 / 3)
    assert (by_type["electricity"]["total"], by_type["electricity"]["success_rate"]) == (1, 1.0)

    [vtpass_figures] = stats["providers"]
    assert vtpass_figures["provider"] == "vtpass"
    assert (
        vtpass_figures["attempts"],
        vtpass_figures["succeeded"],
        vtpass_figures["failed"],
        vtpass_figures["unknown"],
        vtpass_figures["in_flight"],
    ) == (4, 2, 1, 1, 0)
    assert vtpass_figures["success_rate"] == pytest.approx(0.5)
    assert 0 <= vtpass_figures["latency_p50_ms"] <= vtpass_figures["latency_p95_ms"]
    assert providers["performance"] == stats["providers"]

    health = {h["provider"]: h for h in providers["health"]}
    assert health["vtpass"]["configured"] is True
    # The review payment's pending answers are not ill health: only the definite failure is.
    assert (health["vtpass"]["attempts"], health["vtpass"]["bad"]) == (4, 1)
    assert health["vtpass"]["bad_rate"] == pytest.approx(0.25)
    assert health["vtpass"]["status"] == "degraded"
    assert health["vtpass"]["last_success_at"] is not None
    routing = {(r["provider"], r["biller"]): r for r in providers["routing"]}
    overall = routing[("vtpass", None)]
    assert (overall["succeeded"], overall["failed"], overall["unknown"]) == (2, 1, 1)
    assert overall["unknown_rate"] == pytest.approx(0.25)
    assert (overall["breaker_state"], overall["disabled"]) == ("closed", False)
    assert routing[("vtpass", "mtn")]["attempts"] == 3  # the airtime ones, by network
    assert routing[("interswitch", None)]["attempts"] == 0  # every provider is listed

    review_id = payments["review"]["id"]
    assert [p["id"] for p in stuck["needs_review"]["payments"]] == [review_id]
    assert stuck["needs_review"]["count"] == 1
    assert "unknown" in stuck["needs_review"]["payments"][0]["failure_reason"]
    assert stuck["processing"]["count"] == stuck["refunding"]["count"] == 0
    assert stuck["oldest_unresolved_payment_id"] == review_id  # the only one holding money
    assert stuck["oldest_unresolved_seconds"] > 0

    assert ledger["ok"] is True
    assert ledger["lines"] == ["ledger OK"]


async def test_the_window_counts_payments_by_creation(
    api: httpx.AsyncClient, state: AppState, worker: Worker
) -> None:
    recent = await pay(api, airtime("08011111111"))
    old = await pay(api, airtime("08011111111"))
    async with state.unit_of_work() as session:
        await session.execute(
            text("UPDATE payments SET created_at = now() - interval '2 days' WHERE id = :id"),
            {"id": old["id"]},
        )
    async with operator_client(state) as ops:
        day = (await ops.get("/v1/ops/stats")).json()
        three_days = (await ops.get("/v1/ops/stats", params={"window_hours": 72})).json()
        invalid = await ops.get("/v1/ops/stats", params={"window_hours": 0})
    assert recent["status"] == "paid"
    assert day["payments_by_status"]["paid"] == 1
    assert three_days["payments_by_status"]["paid"] == 2
    assert invalid.status_code == 422
    assert invalid.json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize("settings_overrides", [ONLY_VTPASS])
async def test_a_payment_processing_past_the_threshold_is_stuck(
    api: httpx.AsyncClient,
    state: AppState,
    worker: Worker,
    vtpass: VTpassSandboxState,
    settings_overrides: dict[str, Any],
) -> None:
    vtpass.set_faults(
        Faults(rules=[FaultRule(kind=FaultKind.PENDING_FOREVER, target=REVIEW_PHONE)])
    )
    payment_id = await create(api, airtime(REVIEW_PHONE))
    await wait_for_status(api, payment_id, {"processing"})
    async with operator_client(state) as ops:
        now = (await ops.get("/v1/ops/stuck", params={"processing_minutes": 0})).json()
        later = (await ops.get("/v1/ops/stuck")).json()
    assert [p["id"] for p in now["processing"]["payments"]] == [payment_id]
    assert now["processing"]["payments"][0]["provider"] == "vtpass"
    assert now["processing"]["older_than_minutes"] == 0
    assert later["processing"]["count"] == 0  # not yet 15 minutes
    assert later["oldest_unresolved_payment_id"] == payment_id


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize(
    ("token", "configured", "code"),
    [
        (None, ADMIN_TOKEN, "unauthorized"),
        ("not-the-token", ADMIN_TOKEN, "invalid_operator_token"),
        (ADMIN_TOKEN, None, "operator_access_disabled"),
        ("", "", "operator_access_disabled"),
    ],
)
async def test_operator_token_is_required(
    state: AppState, path: str, token: str | None, configured: str | None, code: str
) -> None:
    async with operator_client(state, token=token, configured=configured) as ops:
        response = await ops.get(path)
    assert response.status_code == 401
    body = response.json()
    assert body["error"]["code"] == code
    assert set(body["error"]) == {"code", "message", "details"}
    assert ADMIN_TOKEN not in response.text


async def test_a_merchant_api_key_is_not_an_operator_token(
    state: AppState, merchant: tuple[Any, str]
) -> None:
    async with operator_client(state, token=merchant[1]) as ops:
        response = await ops.get("/v1/ops/stats")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_operator_token"


async def test_ops_endpoints_are_documented_with_the_operator_scheme(state: AppState) -> None:
    async with operator_client(state) as ops:
        schema = (await ops.get("/openapi.json")).json()
    for path in ENDPOINTS:
        assert schema["paths"][path]["get"]["security"] == [{"OperatorToken": []}]


async def test_billpay_stats_prints_the_same_figures(
    api: httpx.AsyncClient, state: AppState, worker: Worker
) -> None:
    await pay(api, airtime("08011111111"))
    async with state.unit_of_work() as session:
        report = await ops_service.report(
            session, timedelta(hours=24), timedelta(minutes=15), ["vtpass"]
        )
    console = Console(record=True, width=200)
    print_stats(console, report)
    output = console.export_text()
    assert re.search(r"│ paid\s+│ 1\s+│", output)
    assert re.search(r"│ airtime\s+│ 1\s+│ 1\s+│ 0 .*100\.0%", output)
    assert re.search(r"│ vtpass\s+│ 1\s+│ 1\s+│ 0\s+│ 0\s+│ 100\.0%", output)
    assert "healthy" in output
    assert "0 needs_review" in output
    assert output.rstrip().endswith("ledger OK")

"""Operators switch providers off and on through ``/v1/ops/providers``: recorded with who and
why, shown with the shared health, and bad input refused without a change."""

from __future__ import annotations

from ops_flows import operator_client

from billpay.state import AppState
from flows import query


async def test_disable_then_enable_records_the_operator_and_shows_in_the_report(
    state: AppState,
) -> None:
    async with operator_client(state) as ops:
        off = await ops.post(
            "/v1/ops/providers/vtpass/disable", json={"biller": "dstv", "reason": "DStv outage"}
        )
        assert off.status_code == 200, off.text
        assert off.json() | {"changed_at": None} == {
            "provider": "vtpass",
            "biller": "dstv",
            "enabled": False,
            "actor": "admin",
            "reason": "DStv outage",
            "changed_at": None,
        }
        report = (await ops.get("/v1/ops/providers")).json()
        routing = {(r["provider"], r["biller"]): r for r in report["routing"]}
        assert routing[("vtpass", "dstv")]["disabled"] is True
        assert routing[("vtpass", "dstv")]["disabled_reason"] == (
            "disabled for dstv by admin: DStv outage"
        )
        assert routing[("vtpass", None)]["disabled"] is False  # the other billers still sell
        on = await ops.post(
            "/v1/ops/providers/vtpass/enable", json={"biller": "dstv", "reason": "ok"}
        )
        assert on.json()["enabled"] is True
    rows = await query(state, "SELECT provider, biller, enabled, actor FROM provider_switches")
    assert rows == [{"provider": "vtpass", "biller": "dstv", "enabled": True, "actor": "admin"}]


async def test_unknown_providers_and_missing_reasons_are_refused_unchanged(
    state: AppState,
) -> None:
    async with operator_client(state) as ops:
        unknown = await ops.post("/v1/ops/providers/paypal/disable", json={"reason": "x"})
        blank = await ops.post("/v1/ops/providers/vtpass/disable", json={"reason": "  "})
        missing = await ops.post("/v1/ops/providers/vtpass/disable", json={})
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "unknown_provider")
    assert "provider" in unknown.json()["error"]["message"]
    assert (blank.status_code, blank.json()["error"]["code"]) == (422, "reason_required")
    assert missing.status_code == 422
    assert await query(state, "SELECT * FROM provider_switches") == []


async def test_switching_needs_an_operator(state: AppState) -> None:
    async with operator_client(state, token="wrong-token-0000000000000000") as ops:
        response = await ops.post("/v1/ops/providers/vtpass/disable", json={"reason": "x"})
    assert response.status_code == 401
    assert await query(state, "SELECT * FROM provider_switches") == []


async def test_metrics_carry_provider_health_and_breaker_state(state: AppState) -> None:
    async with operator_client(state) as ops:
        await ops.post("/v1/ops/providers/flutterwave/disable", json={"reason": "float empty"})
        body = (await ops.get("/metrics")).text
    assert 'billpay_provider_disabled{biller="",provider="flutterwave"} 1.0' in body
    assert 'billpay_provider_breaker_state{biller="",provider="vtpass",state="closed"} 1.0' in body

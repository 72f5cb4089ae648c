"""Shared provider health through the worker, over the simulators (issue #13): pending answers
never open a breaker, payments wait out open breakers instead of being refunded, every worker
reads one breaker state, routing follows recent success rates, and operator switches apply
within seconds without a restart."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from billpay.bootstrap import build_state
from billpay.config import ConfigurationError, Settings
from billpay.routing import switches
from billpay.routing.health import provider_health
from billpay.sandbox.interswitch.state import Fault as InterswitchFault
from billpay.sandbox.interswitch.state import FaultName, InterswitchSandboxState
from billpay.sandbox.vtpass.faults import FaultKind, FaultRule, Faults
from billpay.sandbox.vtpass.state import VTpassSandboxState
from billpay.state import AppState
from billpay.worker.runner import Worker
from flows import (
    FINAL,
    PHONE,
    airtime,
    create,
    electricity,
    query,
    routed_only_to,
    wait_for_status,
    wait_until,
)

pytestmark = pytest.mark.usefixtures("worker")


@pytest.fixture
def settings_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    return dict(getattr(request, "param", {}))


@pytest.fixture
async def other_process(settings: Settings, database_url: str) -> AsyncIterator[AppState]:
    """A second process's state (another worker, the CLI): its own routes and caches."""
    other = build_state(settings, database_url)
    yield other
    await other.aclose()


async def attempts_of(state: AppState, payment_id: str) -> list[dict[str, Any]]:
    return await query(
        state,
        "SELECT provider, outcome, route_reason, requeries FROM payment_attempts "
        "WHERE payment_id = :id ORDER BY number",
        id=payment_id,
    )


async def breaker_rows(state: AppState) -> list[dict[str, Any]]:
    return await query(state, "SELECT provider, biller, state, reason FROM provider_breakers")


async def paid_via(api: httpx.AsyncClient, state: AppState, body: dict[str, Any]) -> list[str]:
    """Pay one bill; the providers its attempts went to, in order."""
    payment = await wait_for_status(api, await create(api, body), FINAL, timeout=60)
    assert payment["status"] == "paid", payment
    return [a["provider"] for a in await attempts_of(state, payment["id"])]


@pytest.mark.parametrize(
    "settings_overrides",
    [{**routed_only_to("vtpass"), "breaker_consecutive_failures": 3}],
    indirect=True,
)
async def test_five_pending_answers_leave_the_breaker_closed_and_later_payments_paid(
    api: httpx.AsyncClient, state: AppState, vtpass: VTpassSandboxState
) -> None:
    # VTpass documents 099 TRANSACTION IS PROCESSING as a normal answer; each is then
    # delivered on a later requery.
    vtpass.set_faults(
        Faults(rules=[FaultRule(kind=FaultKind.PENDING_THEN_DELIVERED, pending_requeries=2)])
    )
    pending = [await create(api, airtime(f"0803111000{i}")) for i in range(5)]
    for payment_id in pending:
        payment = await wait_for_status(api, payment_id, FINAL, timeout=60)
        assert payment["status"] == "paid", payment
        [attempt] = await attempts_of(state, payment_id)
        assert attempt["requeries"] >= 1  # it was pending first
    assert await breaker_rows(state) == []
    vtpass.set_faults(Faults())
    # The next payment, another biller: paid, not refunded for a breaker that never opened.
    assert await paid_via(api, state, electricity()) == ["vtpass"]


@pytest.mark.parametrize(
    "settings_overrides",
    [{"routing_base_order": ["vtpass", "interswitch"], "breaker_consecutive_failures": 3}],
    indirect=True,
)
async def test_purchases_that_time_out_open_the_breaker_and_are_requeried_not_refunded(
    api: httpx.AsyncClient, state: AppState, vtpass: VTpassSandboxState
) -> None:
    # An outage looks like this: VTpass takes every purchase and never answers.
    vtpass.set_faults(Faults(rules=[FaultRule(kind=FaultKind.TIMEOUT, endpoint="pay")]))
    timed_out = []
    for i in range(3):  # one after another, so each verdict sees the ones before
        payment_id = await create(api, airtime(f"0803222000{i}"))
        await wait_until(lambda p=payment_id: _sent_without_answer(state, p), timeout=60)
        timed_out.append(payment_id)
    [row] = [r for r in await breaker_rows(state) if r["biller"] == ""]
    assert row["provider"] == "vtpass" and row["state"] == "open"
    assert "3 failures in a row" in row["reason"]
    # The next payment is not sent into the outage.
    assert await paid_via(api, state, airtime()) == ["interswitch"]
    for payment_id in timed_out:  # unknown is never failed: each waits on its requeries
        payment = (await api.get(f"/v1/payments/{payment_id}")).json()
        assert payment["status"] in ("pending", "processing"), payment
        assert [a["provider"] for a in await attempts_of(state, payment_id)] == ["vtpass"]


async def _sent_without_answer(state: AppState, payment_id: str) -> bool:
    found = await query(
        state,
        "SELECT count(*) AS n FROM provider_calls WHERE payment_id = :id "
        "AND kind = 'purchase' AND delivery = 'sent_unknown'",
        id=payment_id,
    )
    return int(found[0]["n"]) >= 1


@pytest.mark.parametrize(
    "settings_overrides",
    [{"routing_wait_min_seconds": 0.2, "routing_wait_max_seconds": 0.5}],
    indirect=True,
)
async def test_an_open_breaker_on_every_route_makes_payments_wait_then_pay(
    api: httpx.AsyncClient, state: AppState
) -> None:
    reopens = datetime.now(UTC) + timedelta(seconds=3)
    async with state.unit_of_work() as session:
        for provider in ("interswitch", "vtpass", "flutterwave"):
            await session.execute(
                text(
                    "INSERT INTO provider_breakers (provider, biller, state, reason, open_until) "
                    "VALUES (:p, '', 'open', '5 definite failures in a row', :until)"
                ),
                {"p": provider, "until": reopens},
            )
    waiting = [await create(api, airtime()) for _ in range(3)]
    # The worker has looked at them (and rescheduled them) while every breaker is open.
    await asyncio.sleep(1.0)
    for payment_id in waiting:
        rows = await query(state, "SELECT status FROM payments WHERE id = :id", id=payment_id)
        assert rows == [{"status": "pending"}]
        assert await attempts_of(state, payment_id) == []
    for payment_id in waiting:
        payment = await wait_for_status(api, payment_id, FINAL, timeout=60)
        assert payment["status"] == "paid", payment
        assert "refunding" not in [e["to_status"] for e in payment["events"]]
    first_attempts = [(await attempts_of(state, p))[0] for p in waiting]
    assert any("trial: half-open" in a["route_reason"] for a in first_attempts)
    interswitch = [r for r in await breaker_rows(state) if r["provider"] == "interswitch"]
    assert interswitch == [
        {
            "provider": "interswitch",
            "biller": "",
            "state": "closed",
            "reason": "trial purchase succeeded",
        }
    ]


@pytest.mark.parametrize("settings_overrides", [{"breaker_consecutive_failures": 2}], indirect=True)
async def test_two_workers_see_one_breaker_state(
    api: httpx.AsyncClient,
    state: AppState,
    other_process: AppState,
    sandbox_states: dict[str, Any],
) -> None:
    interswitch: InterswitchSandboxState = sandbox_states["interswitch"]
    interswitch.add_fault(InterswitchFault(fault=FaultName.DEFINITE_FAILURE, count=2))
    for _ in range(2):  # two definite failures, each rescued by the fallback
        assert await paid_via(api, state, airtime()) == ["interswitch", "vtpass"]
    # Another process never saw those answers, yet routes around Interswitch...
    async with other_process.unit_of_work() as session:
        plan = await other_process.plans.any(session, "mtn-airtime")
        route = await other_process.routes.route(session, plan, [])
        health = await provider_health(session, window=timedelta(minutes=15))
    [skipped] = [choice for choice in route if choice.provider.value == "interswitch"]
    assert not skipped.eligible and skipped.temporary
    assert skipped.reason.startswith("skipped: circuit open until")
    assert "2 failures in a row" in skipped.reason
    # ...and reports the same breaker, with why and since.
    [overall] = [h for h in health if h.provider == "interswitch" and h.biller is None]
    assert (overall.breaker_state, overall.failed) == ("open", 2)
    assert overall.breaker_reason is not None and overall.breaker_since is not None
    # A second worker (the other process) pays around it too.
    stop = asyncio.Event()
    second = asyncio.create_task(Worker(other_process).run(stop))
    try:
        for _ in range(3):
            assert await paid_via(api, state, airtime()) == ["vtpass"]
    finally:
        stop.set()
        await asyncio.wait_for(second, timeout=30)


@pytest.mark.parametrize(
    "settings_overrides",
    [
        {
            "routing_min_attempts": 3,
            "routing_refresh_seconds": 0.05,
            "breaker_consecutive_failures": 50,
            "breaker_failure_rate": 1.0,
        }
    ],
    indirect=True,
)
async def test_routing_prefers_the_better_recent_success_rate_and_records_why(
    api: httpx.AsyncClient, state: AppState, sandbox_states: dict[str, Any]
) -> None:
    interswitch: InterswitchSandboxState = sandbox_states["interswitch"]
    interswitch.add_fault(
        InterswitchFault(fault=FaultName.DEFINITE_FAILURE, customer_id=PHONE, count=3)
    )
    for _ in range(3):  # Interswitch is primary by the catalog, and fails
        assert await paid_via(api, state, airtime()) == ["interswitch", "vtpass"]
    payment_id = await create(api, airtime())
    payment = await wait_for_status(api, payment_id, FINAL, timeout=60)
    assert payment["status"] == "paid"
    [attempt] = await attempts_of(state, payment_id)
    assert (attempt["provider"], attempt["route_reason"]) == (
        "vtpass",
        "best success rate 100.0 % over 15 min",
    )


@pytest.mark.parametrize("settings_overrides", [{"routing_refresh_seconds": 1.0}], indirect=True)
async def test_a_disabled_provider_gets_no_new_attempts_within_seconds(
    api: httpx.AsyncClient, state: AppState, other_process: AppState
) -> None:
    assert await paid_via(api, state, airtime()) == ["interswitch"]
    # The switch comes from another process (the CLI): this worker is not told, it reads it.
    async with other_process.unit_of_work() as session:
        await switches.switch(
            session, "interswitch", enabled=False, actor="cli:ops", reason="provider incident"
        )
    await asyncio.sleep(1.0)  # the worker's refresh: it has read the switch by now
    for _ in range(3):
        assert await paid_via(api, state, airtime()) == ["vtpass"]
    async with other_process.unit_of_work() as session:
        await switches.switch(
            session, "interswitch", enabled=True, actor="cli:ops", reason="resolved"
        )
    await asyncio.sleep(1.0)
    assert await paid_via(api, state, airtime()) == ["interswitch"]


@pytest.mark.parametrize("settings_overrides", [{"routing_refresh_seconds": 1.0}], indirect=True)
async def test_a_provider_switched_off_for_one_biller_still_sells_the_others(
    api: httpx.AsyncClient, state: AppState, other_process: AppState
) -> None:
    async with other_process.unit_of_work() as session:
        await switches.switch(
            session,
            "interswitch",
            enabled=False,
            actor="cli:ops",
            reason="MTN outage",
            biller="mtn",
        )
    await asyncio.sleep(1.0)
    assert await paid_via(api, state, airtime()) == ["vtpass"]
    assert await paid_via(api, state, electricity()) == ["interswitch"]


@pytest.mark.parametrize(
    "settings_overrides", [{"routing_base_order": ["flutterwave", "vtpass"]}], indirect=True
)
async def test_the_base_order_is_configurable(api: httpx.AsyncClient, state: AppState) -> None:
    payment_id = await create(api, airtime())
    payment = await wait_for_status(api, payment_id, FINAL, timeout=60)
    assert payment["status"] == "paid"
    [attempt] = await attempts_of(state, payment_id)
    assert (attempt["provider"], attempt["route_reason"]) == ("flutterwave", "primary")


def test_a_base_order_naming_an_unknown_provider_is_refused(
    settings: Settings, database_url: str
) -> None:
    wrong = settings.model_copy(update={"routing_base_order": ["vtpass", "paypal"]})
    with pytest.raises(ConfigurationError, match="BILLPAY_ROUTING_BASE_ORDER names paypal"):
        build_state(wrong, database_url)

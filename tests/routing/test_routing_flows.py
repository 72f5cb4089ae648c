"""Routing across the three providers over their simulators: every bill type through every
provider that sells it, fallback only after a definite failure, and circuit breakers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from billpay.catalog.service import sync
from billpay.sandbox.interswitch.state import Fault as InterswitchFault
from billpay.sandbox.interswitch.state import FaultName, InterswitchSandboxState
from billpay.state import AppState
from billpay.worker.runner import Worker
from flows import FINAL, PHONE, airtime, betting, cable, data, electricity, wait_for_status

PROVIDERS = ("vtpass", "flutterwave", "interswitch")

BILLS: dict[str, Callable[[], dict[str, Any]]] = {
    "airtime": airtime,
    "data": data,
    "cable_tv": cable,
    "electricity-prepaid": electricity,
    # The simulators' documented valid postpaid meter.
    "electricity-postpaid": partial(electricity, "1010101010101", plan="ikeja-electric-postpaid"),
    "betting": betting,
}
SELLERS = {
    "airtime": PROVIDERS,
    "data": PROVIDERS,
    "cable_tv": PROVIDERS,
    "electricity-prepaid": PROVIDERS,
    "electricity-postpaid": PROVIDERS,
    "betting": ("flutterwave", "interswitch"),  # VTpass sells no betting top-ups
}
CASES = [(bill, provider) for bill, sellers in SELLERS.items() for provider in sellers]
# VTpass sells the data bundle above its advertised price (the lowest provider's): a loss
# route, which it sells only where loss routes are allowed (tests/ledger/test_ledger_one_price).
LOSS_ROUTES = {("data", "vtpass")}


def only(provider: str, bill: str | None = None) -> dict[str, Any]:
    overrides: dict[str, Any] = {
        f"{other}_base_url": None for other in PROVIDERS if other != provider
    }
    if (bill, provider) in LOSS_ROUTES:
        overrides["allow_loss_routes"] = True
    return overrides


def body_for(bill: str) -> dict[str, Any]:
    return BILLS[bill]()


async def attempts(state: AppState, payment_id: str) -> list[dict[str, Any]]:
    async with state.unit_of_work() as session:
        rows = await session.execute(
            text(
                "SELECT provider, provider_reference, outcome, route_reason, requeries, created_at "
                "FROM payment_attempts WHERE payment_id = :id ORDER BY number"
            ),
            {"id": payment_id},
        )
        return [dict(row._mapping) for row in rows]


def vends_of(provider: str, states: dict[str, Any], reference: str) -> int:
    """How many times the provider's own record says it vended this reference."""
    if provider == "vtpass":
        return int(states["vtpass"].vend_count(reference))
    if provider == "interswitch":
        vend = states["interswitch"].find_vend(reference)
        return 1 if vend is not None and vend.as_json()["delivered"] else 0
    vend = states["flutterwave"].vends().get(reference)
    return 1 if vend is not None and vend.status.value == "success" else 0


@pytest.fixture
def settings_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    return dict(getattr(request, "param", {}))


@pytest.mark.parametrize(
    ("bill", "settings_overrides"),
    [(bill, only(provider, bill)) for bill, provider in CASES],
    ids=[f"{bill}-via-{provider}" for bill, provider in CASES],
    indirect=["settings_overrides"],
)
async def test_every_bill_type_is_paid_through_every_provider_that_sells_it(
    bill: str,
    settings_overrides: dict[str, Any],
    api: httpx.AsyncClient,
    state: AppState,
    worker: Worker,
    sandbox_states: dict[str, Any],
) -> None:
    [provider] = [p for p in PROVIDERS if f"{p}_base_url" not in settings_overrides]
    response = await api.post("/v1/payments", json=body_for(bill))
    assert response.status_code == 201, response.text
    payment = await wait_for_status(api, response.json()["id"], FINAL)
    assert payment["status"] == "paid", payment
    assert payment["provider"] == provider
    [attempt] = await attempts(state, payment["id"])
    assert vends_of(provider, sandbox_states, attempt["provider_reference"]) == 1
    if bill == "electricity-prepaid":
        assert payment["token"]
        # Flutterwave's bill response carries the token but no units.
        assert payment["units"] or provider == "flutterwave"
    if bill in ("cable_tv", "electricity-prepaid", "electricity-postpaid", "betting"):
        assert payment["customer_name"]  # the provider named the customer before money moved


async def test_definite_failure_of_the_primary_falls_back_and_vends_once(
    api: httpx.AsyncClient,
    state: AppState,
    worker: Worker,
    sandbox_states: dict[str, Any],
) -> None:
    interswitch: InterswitchSandboxState = sandbox_states["interswitch"]
    interswitch.add_fault(InterswitchFault(fault=FaultName.DEFINITE_FAILURE, customer_id=PHONE))
    response = await api.post("/v1/payments", json=body_for("airtime"))
    payment = await wait_for_status(api, response.json()["id"], FINAL)
    assert payment["status"] == "paid"
    first, second = await attempts(state, payment["id"])
    assert (first["provider"], first["outcome"]) == ("interswitch", "failed")
    assert (second["provider"], second["outcome"]) == ("vtpass", "succeeded")
    # The reason names the failure that made the fallback safe: Interswitch's own code.
    assert second["route_reason"] == "fallback after interswitch failed: 90006/FAILED"
    assert vends_of("interswitch", sandbox_states, first["provider_reference"]) == 0
    assert vends_of("vtpass", sandbox_states, second["provider_reference"]) == 1


@pytest.mark.parametrize(
    "settings_overrides", [{"retry_schedule_seconds": [0.6, 0.6, 0.6]}], indirect=True
)
async def test_no_fallback_while_unknown_only_after_requery_says_failed(
    api: httpx.AsyncClient,
    state: AppState,
    worker: Worker,
    sandbox_states: dict[str, Any],
    settings_overrides: dict[str, Any],
) -> None:
    interswitch: InterswitchSandboxState = sandbox_states["interswitch"]
    # Advice answers PENDING; the first query then says FAILED.
    interswitch.add_fault(
        InterswitchFault(fault=FaultName.QUERY_GROUPING_FAILED, customer_id=PHONE, queries=0)
    )
    response = await api.post("/v1/payments", json=body_for("airtime"))
    payment_id = response.json()["id"]
    await asyncio.sleep(0.3)  # the advice has been answered, the requery is not due yet
    during = await attempts(state, payment_id)
    assert [(a["provider"], a["outcome"]) for a in during] == [("interswitch", "unknown")]
    payment = await wait_for_status(api, payment_id, FINAL)
    assert payment["status"] == "paid"
    first, second = await attempts(state, payment_id)
    assert (first["provider"], first["outcome"], first["requeries"]) == ("interswitch", "failed", 1)
    assert second["provider"] == "vtpass"
    assert vends_of("vtpass", sandbox_states, second["provider_reference"]) == 1


@pytest.mark.parametrize(
    "settings_overrides",
    [{"payment_deadline_seconds": 1.5, "provider_timeout_seconds": 0.5}],
    indirect=True,
)
async def test_a_timeout_never_falls_back_it_waits_for_an_answer(
    api: httpx.AsyncClient,
    state: AppState,
    worker: Worker,
    sandbox_states: dict[str, Any],
    settings_overrides: dict[str, Any],
) -> None:
    interswitch: InterswitchSandboxState = sandbox_states["interswitch"]
    interswitch.add_fault(
        InterswitchFault(fault=FaultName.VEND_THEN_TIMEOUT, customer_id=PHONE, seconds=1.0)
    )
    interswitch.add_fault(
        InterswitchFault(fault=FaultName.TIMEOUT, customer_id=PHONE, count=None, seconds=1.0)
    )
    response = await api.post("/v1/payments", json=body_for("airtime"))
    payment = await wait_for_status(api, response.json()["id"], FINAL)
    # Interswitch vended but never answered in time: a human decides, nobody vends again.
    assert payment["status"] == "needs_review"
    [attempt] = await attempts(state, payment["id"])
    assert attempt["provider"] == "interswitch"
    assert sandbox_states["vtpass"].vends() == []
    assert sandbox_states["flutterwave"].vend_count == 0


@pytest.mark.parametrize(
    "settings_overrides",
    [{"breaker_consecutive_failures": 3, "breaker_cooldown_seconds": 1.0}],
    indirect=True,
)
async def test_breaker_opens_routes_around_and_closes_after_a_good_trial(
    api: httpx.AsyncClient,
    state: AppState,
    worker: Worker,
    sandbox_states: dict[str, Any],
    settings_overrides: dict[str, Any],
) -> None:
    interswitch: InterswitchSandboxState = sandbox_states["interswitch"]
    interswitch.add_fault(InterswitchFault(fault=FaultName.DEFINITE_FAILURE, count=3))

    async def pay_one() -> list[dict[str, Any]]:
        response = await api.post("/v1/payments", json=body_for("airtime"))
        payment = await wait_for_status(api, response.json()["id"], FINAL)
        assert payment["status"] == "paid"
        return await attempts(state, payment["id"])

    for _ in range(3):  # three definite failures, each rescued by the fallback
        tried = await pay_one()
        assert [a["provider"] for a in tried] == ["interswitch", "vtpass"]
    routed_around = await pay_one()
    assert [a["provider"] for a in routed_around] == ["vtpass"]
    assert routed_around[0]["route_reason"] == "primary"
    await asyncio.sleep(1.1)  # cool-down over: one trial request goes to Interswitch
    trial = await pay_one()
    assert [a["provider"] for a in trial] == ["interswitch"]
    assert "trial" in trial[0]["route_reason"]
    closed = await pay_one()
    assert [(a["provider"], a["route_reason"]) for a in closed] == [("interswitch", "primary")]


async def test_catalog_merges_products_and_deactivates_what_vanished(state: AppState) -> None:
    async with state.unit_of_work() as session:
        meta = await session.scalar(
            text("SELECT provider_meta FROM biller_plans WHERE slug = 'dstv-compact'")
        )
        assert sorted(m["provider"] for m in meta) == sorted(PROVIDERS)
        only_vtpass = {name: p for name, p in state.providers.items() if name.value == "vtpass"}
        report = await sync(session, only_vtpass)
        assert report.deactivated > 0
        gone = await session.scalar(
            text("SELECT active FROM biller_plans WHERE slug = 'gotv-supa'")  # Interswitch only
        )
        assert gone is False
        await sync(session, state.providers)
        back = await session.scalar(
            text("SELECT active FROM biller_plans WHERE slug = 'gotv-supa'")
        )
        assert back is True


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"plan": "dstv-compact", "customer_id": PHONE, "phone": PHONE}, "invalid_smartcard"),
        ({"plan": "ikeja-electric-prepaid", "customer_id": PHONE, "phone": PHONE}, None),
        ({"plan": "mtn-airtime", "biller": "glo"}, "plan_biller_mismatch"),
        ({"plan": "mtn-data-10gb-30d", "amount_kobo": 1}, "amount_mismatch"),
        ({"plan": "mtn-airtime", "amount_kobo": 100}, "amount_out_of_range"),
        (
            {"plan": "bet9ja-wallet", "customer_id": "a b", "phone": PHONE},
            "invalid_betting_account",
        ),
    ],
)
async def test_bad_input_per_bill_type_writes_nothing(
    api: httpx.AsyncClient, state: AppState, change: dict[str, Any], code: str | None
) -> None:
    body = {**body_for("airtime"), **change}
    response = await api.post("/v1/payments", json=body)
    assert response.status_code == 422, response.text
    if code is not None:
        assert response.json()["error"]["code"] == code
    async with state.unit_of_work() as session:
        assert await session.scalar(text("SELECT count(*) FROM payments")) == 0

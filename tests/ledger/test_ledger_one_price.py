"""One price, booked truthfully: a fixed-price plan sold by providers at different prices
charges the payer its one advertised price; each provider is asked for, and owed, its own
price — what its simulator records it debited — and the difference is margin (or, only where
allowed, a booked loss). Over the simulators, through the worker.

``mtn-data-10gb-30d`` is sold by Interswitch and Flutterwave at ₦4,500 and by VTpass at
₦5,000 in the simulators' catalogs.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from billpay.bootstrap import build_state
from billpay.catalog.service import sync
from billpay.config import Settings
from billpay.payments.review import resolve
from billpay.sandbox.app import sandbox_settings
from billpay.sandbox.interswitch.state import Fault, FaultName, InterswitchSandboxState
from billpay.sandbox.server import ThreadedServer
from billpay.state import AppState
from billpay.worker.runner import Worker
from flows import PHONE, account_balance, data, insert_payment, ledger_ok, pay, query

PLAN = "mtn-data-10gb-30d"
CHEAP_KOBO = 450_000  # Interswitch's and Flutterwave's price
DEAR_KOBO = 500_000  # VTpass's price
START_KOBO = 100_000_000  # the merchant fixture's balance


async def _resync(
    state: AppState, sandbox: ThreadedServer, database_url: str, list_prices: dict[str, int]
) -> None:
    """The catalog from every simulator, as the session's first sync made it, with these
    advertised prices (a sync from fewer providers would deactivate the others' plans)."""
    every_simulator = Settings.model_validate(
        {**sandbox_settings(sandbox.url), "database_url": database_url}
    )
    full = build_state(every_simulator, database_url)
    try:
        async with full.unit_of_work() as session:
            await sync(session, full.providers, list_prices=list_prices)
    finally:
        await full.aclose()
    state.plans.forget()


@pytest.fixture
async def list_price(
    request: pytest.FixtureRequest, state: AppState, sandbox: ThreadedServer, database_url: str
) -> AsyncIterator[int | None]:
    """The operator's advertised price for ``PLAN`` (by indirect parametrization; none = the
    default rule). The catalog is shared by the session's tests: restored afterwards."""
    price: int | None = getattr(request, "param", None)
    if price is not None:
        await _resync(state, sandbox, database_url, {PLAN: price})
    yield price
    if price is not None:
        await _resync(state, sandbox, database_url, {})


async def _plan_in_catalog(api: httpx.AsyncClient) -> dict[str, Any]:
    plans = (await api.get("/v1/billers/mtn/plans")).json()
    found: dict[str, Any] = next(plan for plan in plans if plan["slug"] == PLAN)
    return found


async def _attempts(state: AppState, payment_id: str) -> list[dict[str, Any]]:
    return await query(
        state,
        "SELECT provider, provider_reference, outcome, amount_kobo, route_reason "
        "FROM payment_attempts WHERE payment_id = :id ORDER BY number",
        id=payment_id,
    )


def _debited(provider: str, states: dict[str, Any], reference: str) -> int:
    """What the provider's own records say it took for this reference."""
    if provider == "interswitch":
        vend = states["interswitch"].find_vend(reference)
        return int(vend.amount_kobo)
    if provider == "flutterwave":
        return int(states["flutterwave"].vends()[reference].amount_kobo)
    [record] = [v for v in states["vtpass"].vends() if v.request_id == reference]
    return int(record.amount_kobo)


async def _available(state: AppState, client_id: uuid.UUID) -> int:
    return await account_balance(state, f"client:{client_id}:available")


@pytest.mark.parametrize("list_price", [480_000], indirect=True)
async def test_the_payer_pays_the_advertised_price_and_the_cheaper_route_leaves_a_margin(
    list_price: int,
    api: httpx.AsyncClient,
    state: AppState,
    worker: Worker,
    merchant: tuple[uuid.UUID, str],
    sandbox_states: dict[str, Any],
) -> None:
    catalog = await _plan_in_catalog(api)
    assert catalog["price_kobo"] == list_price  # what the catalog shows is what is charged

    payment = await pay(api, data())

    assert payment["status"] == "paid", payment
    assert (payment["amount_kobo"], payment["total_kobo"]) == (list_price, list_price)
    [attempt] = await _attempts(state, payment["id"])
    assert attempt["provider"] == "interswitch"
    debited = _debited("interswitch", sandbox_states, attempt["provider_reference"])
    assert debited == attempt["amount_kobo"] == CHEAP_KOBO
    assert await account_balance(state, "provider:interswitch:payable") == debited
    assert await account_balance(state, "revenue:margin") == list_price - CHEAP_KOBO
    assert await account_balance(state, "expense:route_losses") == 0
    assert await _available(state, merchant[0]) == START_KOBO - list_price
    assert await account_balance(state, f"client:{merchant[0]}:reserved") == 0
    await ledger_ok(state)


async def test_by_default_the_advertised_price_is_the_lowest_provider_price(
    list_price: None, api: httpx.AsyncClient, state: AppState, worker: Worker
) -> None:
    assert (await _plan_in_catalog(api))["price_kobo"] == CHEAP_KOBO

    payment = await pay(api, data())

    assert (payment["status"], payment["amount_kobo"]) == ("paid", CHEAP_KOBO)
    assert await account_balance(state, "provider:interswitch:payable") == CHEAP_KOBO
    assert await account_balance(state, "revenue:margin") == 0


async def test_a_route_dearer_than_the_price_is_skipped_by_the_fallback(
    list_price: None,
    api: httpx.AsyncClient,
    state: AppState,
    worker: Worker,
    sandbox_states: dict[str, Any],
) -> None:
    interswitch: InterswitchSandboxState = sandbox_states["interswitch"]
    interswitch.add_fault(Fault(fault=FaultName.DEFINITE_FAILURE, customer_id=PHONE))

    payment = await pay(api, data())

    assert payment["status"] == "paid", payment
    first, second = await _attempts(state, payment["id"])
    assert (first["provider"], first["outcome"]) == ("interswitch", "failed")
    # VTpass (next by priority) would cost ₦500 more than the payer pays: not routed to.
    assert (second["provider"], second["outcome"]) == ("flutterwave", "succeeded")
    assert sandbox_states["vtpass"].vends() == []
    debited = _debited("flutterwave", sandbox_states, second["provider_reference"])
    assert await account_balance(state, "provider:flutterwave:payable") == debited == CHEAP_KOBO
    assert await account_balance(state, "provider:interswitch:payable") == 0
    assert await account_balance(state, "expense:route_losses") == 0


@pytest.fixture
def settings_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    return dict(getattr(request, "param", {}))


@pytest.mark.parametrize(
    "settings_overrides",
    [{"flutterwave_base_url": None, "interswitch_base_url": None}],
    indirect=True,
)
async def test_a_loss_route_alone_is_not_sold_by_default(
    list_price: None,
    settings_overrides: dict[str, Any],
    api: httpx.AsyncClient,
    state: AppState,
    worker: Worker,
    merchant: tuple[uuid.UUID, str],
    sandbox_states: dict[str, Any],
) -> None:
    payment = await pay(api, data())

    assert payment["status"] == "refunded", payment
    assert await _attempts(state, payment["id"]) == []
    assert sandbox_states["vtpass"].vends() == []
    assert await _available(state, merchant[0]) == START_KOBO
    await ledger_ok(state)


@pytest.mark.parametrize(
    "settings_overrides",
    [{"flutterwave_base_url": None, "interswitch_base_url": None, "allow_loss_routes": True}],
    indirect=True,
)
async def test_allowed_loss_routes_are_sold_and_the_loss_is_booked(
    list_price: None,
    settings_overrides: dict[str, Any],
    settings: Settings,
    api: httpx.AsyncClient,
    state: AppState,
    worker: Worker,
    merchant: tuple[uuid.UUID, str],
    sandbox_states: dict[str, Any],
) -> None:
    assert settings.allow_loss_routes
    payment = await pay(api, data())

    assert (payment["status"], payment["amount_kobo"]) == ("paid", CHEAP_KOBO)
    [attempt] = await _attempts(state, payment["id"])
    assert attempt["route_reason"] == f"primary, at a loss of {DEAR_KOBO - CHEAP_KOBO} kobo"
    debited = _debited("vtpass", sandbox_states, attempt["provider_reference"])
    assert await account_balance(state, "provider:vtpass:payable") == debited == DEAR_KOBO
    # An expense: a debit balance of what billpay paid above what the payer paid.
    assert await account_balance(state, "expense:route_losses") == CHEAP_KOBO - DEAR_KOBO
    assert await account_balance(state, "revenue:margin") == 0
    assert await _available(state, merchant[0]) == START_KOBO - CHEAP_KOBO
    assert await account_balance(state, f"client:{merchant[0]}:reserved") == 0
    await ledger_ok(state)


async def test_an_operator_marking_paid_books_the_delivering_attempts_cost(
    state: AppState, merchant: tuple[uuid.UUID, str]
) -> None:
    """A payment resolved by hand: the provider is owed what its attempt asked it to take."""
    payment_id = await insert_payment(state, "needs_review", merchant[0], total_kobo=480_000)
    await query(
        state,
        "UPDATE payments SET provider = 'interswitch' WHERE id = :id RETURNING id",
        id=payment_id,
    )
    await query(
        state,
        "INSERT INTO payment_attempts (id, payment_id, number, provider, provider_reference, "
        "route_reason, outcome, amount_kobo) VALUES (:id, :payment, 1, 'interswitch', "
        "'145399990001', 'primary', 'unknown', :cost) RETURNING id",
        id=uuid.uuid4(),
        payment=payment_id,
        cost=CHEAP_KOBO,
    )

    async with state.unit_of_work() as session:
        assert await resolve(session, payment_id, "paid", "Interswitch confirmed", "ada") == "paid"

    assert await account_balance(state, "provider:interswitch:payable") == CHEAP_KOBO
    assert await account_balance(state, "revenue:margin") == 480_000 - CHEAP_KOBO

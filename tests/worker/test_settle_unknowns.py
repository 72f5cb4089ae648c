"""Unknowns that settle themselves (issue #11): a reference the provider has no record of is
sent again under the same reference after a grace period, bounded; a duplicate-reference
answer is requeried, never refunded; a worker killed between commit and send is paid within
the grace period, not held until the deadline. Against the simulators over HTTP."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from billpay.ledger.service import available_balance
from billpay.models import Payment
from billpay.payments.attempts.requests import vend_request
from billpay.providers.base import Outcome, ProviderName
from billpay.sandbox.flutterwave.state import Fault as FlutterwaveFault
from billpay.sandbox.flutterwave.state import FaultKind as FlutterwaveFaultKind
from billpay.sandbox.flutterwave.state import FlutterwaveSandboxState
from billpay.sandbox.interswitch.state import Fault as InterswitchFault
from billpay.sandbox.interswitch.state import FaultName, InterswitchSandboxState
from billpay.sandbox.vtpass.faults import FaultKind, FaultRule, Faults
from billpay.sandbox.vtpass.state import VTpassSandboxState
from billpay.state import AppState
from billpay.worker.runner import Worker
from flows import (
    airtime,
    create,
    ledger_ok,
    pay,
    query,
    routed_only_to,
    running_worker,
    wait_for_status,
    wait_until,
)

START_BALANCE = 100_000_000
GRACE = 1.0
ALL = ("vtpass", "flutterwave", "interswitch")


def only(provider: str, **extra: Any) -> dict[str, Any]:
    """Settings routing to ``provider`` alone."""
    return {**routed_only_to(provider), "resend_grace_seconds": GRACE, "max_resends": 2, **extra}


@pytest.fixture
def provider(request: pytest.FixtureRequest) -> str:
    """The one provider a test routes to (parametrize indirectly)."""
    name: str = getattr(request, "param", "vtpass")
    return name


@pytest.fixture
def settings_overrides(provider: str) -> dict[str, Any]:
    return only(provider)


@pytest.fixture
def flutterwave(sandbox_states: dict[str, Any]) -> FlutterwaveSandboxState:
    state: FlutterwaveSandboxState = sandbox_states["flutterwave"]
    return state


@pytest.fixture
def interswitch(sandbox_states: dict[str, Any]) -> InterswitchSandboxState:
    state: InterswitchSandboxState = sandbox_states["interswitch"]
    return state


async def the_attempt(state: AppState, payment_id: str) -> dict[str, Any]:
    [attempt] = await query(
        state, "SELECT * FROM payment_attempts WHERE payment_id = :id", id=payment_id
    )
    return attempt


async def calls_of(state: AppState, payment_id: str) -> list[dict[str, Any]]:
    return await query(
        state,
        "SELECT kind, http_status, delivery, started_at FROM provider_calls "
        "WHERE payment_id = :id ORDER BY started_at, id",
        id=payment_id,
    )


async def refunds_of(state: AppState, payment_id: str) -> int:
    rows = await query(
        state,
        "SELECT count(*) AS n FROM payment_events WHERE payment_id = :id "
        "AND to_status IN ('refunding', 'refunded')",
        id=payment_id,
    )
    return int(rows[0]["n"])


async def stage_attempt(
    state: AppState,
    payment_id: str,
    provider: ProviderName,
    *,
    outcome: str,
    last_sent_at: datetime,
    prevend: bool = False,
) -> str:
    """Put a funded payment where a worker left it: processing, its attempt committed with
    ``outcome`` and no answer recorded, its lease run out. With ``prevend`` the provider
    already holds a purchase under that reference (its first send did arrive)."""
    async with state.unit_of_work() as session:
        payment = await session.get(Payment, uuid.UUID(payment_id))
        assert payment is not None
        plan = await state.plans.any(session, payment.plan)
    assert plan is not None
    offer = next(o for o in plan.provider_meta if o.provider is provider)
    connector = state.providers[provider]
    reference = connector.new_reference(datetime.now(UTC))
    if prevend:
        request = vend_request(payment, offer, reference)
        assert (await connector.pay(request)).outcome is Outcome.SUCCEEDED
    async with state.unit_of_work() as session:
        await session.execute(
            text(
                "INSERT INTO payment_attempts (id, payment_id, number, provider, "
                "provider_reference, route_reason, outcome, amount_kobo, last_sent_at) VALUES "
                "(:id, :payment, 1, :provider, :reference, 'staged', :outcome, :amount, :sent)"
            ),
            {
                "id": uuid.uuid4(),
                "payment": payment_id,
                "provider": provider.value,
                "reference": reference,
                "outcome": outcome,
                "amount": offer.price_kobo or payment.amount_kobo,
                "sent": last_sent_at,
            },
        )
        await session.execute(
            text(
                "UPDATE payments SET status = 'processing', provider = :provider, "
                "lease_owner = 'killed-worker', lease_expires_at = now() - interval '1 second', "
                "next_run_at = now() WHERE id = :id"
            ),
            {"id": payment_id, "provider": provider.value},
        )
    return reference


# --- a worker killed between commit and send ---------------------------------------------------


class TestKilledBeforeSend:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        # One long schedule step: paid within the grace period means the step was not waited.
        return only("vtpass", resend_grace_seconds=2.0, retry_schedule_seconds=[600.0])

    async def test_is_paid_once_within_the_grace_period(
        self, api: httpx.AsyncClient, state: AppState, vtpass: VTpassSandboxState
    ) -> None:
        payment_id = await create(api, airtime("08030001201"))
        committed_at = datetime.now(UTC)
        reference = await stage_attempt(
            state, payment_id, ProviderName.VTPASS, outcome="in_flight", last_sent_at=committed_at
        )
        async with running_worker(state):
            paid = await wait_for_status(api, payment_id, {"paid", "refunded", "needs_review"})
        assert paid["status"] == "paid"
        assert vtpass.vend_count(reference) == 1
        attempt = await the_attempt(state, payment_id)
        assert attempt["provider_reference"] == reference  # never a new reference
        assert attempt["sends"] == 1
        kinds = [call["kind"] for call in await calls_of(state, payment_id)]
        assert kinds[-1] == "purchase" and set(kinds[:-1]) == {"requery"}
        resend = (await calls_of(state, payment_id))[-1]
        assert resend["started_at"] >= committed_at + timedelta(seconds=2.0)  # not before grace
        await ledger_ok(state)

    async def test_an_old_commit_is_resent_on_the_first_look(
        self, api: httpx.AsyncClient, state: AppState, vtpass: VTpassSandboxState
    ) -> None:
        payment_id = await create(api, airtime("08030001202"))
        reference = await stage_attempt(
            state,
            payment_id,
            ProviderName.VTPASS,
            outcome="in_flight",
            last_sent_at=datetime.now(UTC) - timedelta(hours=1),
        )
        async with running_worker(state):
            paid = await wait_for_status(api, payment_id, {"paid", "refunded", "needs_review"})
        assert paid["status"] == "paid"
        assert vtpass.vend_count(reference) == 1
        attempt = await the_attempt(state, payment_id)
        assert (attempt["requeries"], attempt["sends"]) == (1, 1)


# --- a purchase lost on the way ----------------------------------------------------------------


async def test_a_lost_vtpass_purchase_is_resent_under_the_same_reference_and_vends_once(
    api: httpx.AsyncClient, state: AppState, worker: Worker, vtpass: VTpassSandboxState
) -> None:
    vtpass.set_faults(Faults(rules=[FaultRule(kind=FaultKind.LOST_PURCHASE, times=1)]))
    payment = await pay(api, airtime("08030001203"))
    assert payment["status"] == "paid"
    attempt = await the_attempt(state, payment["id"])
    assert attempt["sends"] == 2  # the lost one and its resend
    assert vtpass.vend_count(attempt["provider_reference"]) == 1
    assert len(vtpass.vends()) == 1
    kinds = [call["kind"] for call in await calls_of(state, payment["id"])]
    assert kinds[0] == "purchase" and kinds[-1] == "purchase" and "requery" in kinds


@pytest.mark.parametrize("provider", ["interswitch"], indirect=True)
async def test_a_lost_interswitch_purchase_is_resent_and_vends_once(
    api: httpx.AsyncClient,
    state: AppState,
    worker: Worker,
    interswitch: InterswitchSandboxState,
) -> None:
    interswitch.add_fault(InterswitchFault(fault=FaultName.LOST_PURCHASE, count=1))
    payment = await pay(api, airtime("08030001204"))
    assert payment["status"] == "paid"
    attempt = await the_attempt(state, payment["id"])
    assert attempt["sends"] == 2
    snapshot = interswitch.vends_snapshot()
    assert snapshot["count"] == 1
    assert list(snapshot["vends"]) == [attempt["provider_reference"]]


class TestResendsAreBounded:
    @pytest.fixture
    def settings_overrides(self) -> dict[str, Any]:
        return only(
            "vtpass",
            resend_grace_seconds=0.2,
            max_resends=1,
            payment_deadline_seconds=4.0,
        )

    async def test_past_the_bound_it_stays_unknown_and_ends_in_review(
        self,
        api: httpx.AsyncClient,
        state: AppState,
        worker: Worker,
        vtpass: VTpassSandboxState,
        merchant: tuple[uuid.UUID, str],
    ) -> None:
        vtpass.set_faults(Faults(rules=[FaultRule(kind=FaultKind.LOST_PURCHASE)]))
        payment = await pay(api, airtime("08030001205"))
        assert payment["status"] == "needs_review"  # never refunded: it may yet surface
        attempt = await the_attempt(state, payment["id"])
        assert attempt["sends"] == 2  # the first send and one resend
        assert attempt["outcome"] == "unknown"
        assert vtpass.vends() == []
        assert await refunds_of(state, payment["id"]) == 0
        async with state.unit_of_work() as session:
            assert await available_balance(session, merchant[0]) < START_BALANCE  # still held


# --- a duplicate-reference answer is requeried, never refunded ---------------------------------


@pytest.mark.parametrize("provider", ALL, indirect=True)
async def test_a_duplicate_reference_answer_is_requeried_never_refunded(
    api: httpx.AsyncClient,
    state: AppState,
    provider: str,
    sandbox_states: dict[str, Any],
    merchant: tuple[uuid.UUID, str],
) -> None:
    """The first send arrived and vended, but billpay believed it never left: sending it again
    meets the provider's duplicate-reference guard (VTpass 014, Interswitch 10001, Flutterwave's
    "duplicate reference" 400). That answer says nothing about the first send: requery."""
    payment_id = await create(api, airtime("08030001206"))
    reference = await stage_attempt(
        state,
        payment_id,
        ProviderName(provider),
        outcome="not_sent",
        last_sent_at=datetime.now(UTC),
        prevend=True,
    )
    async with running_worker(state):
        settled = await wait_for_status(api, payment_id, {"paid", "refunded", "needs_review"})
    assert settled["status"] == "paid"
    assert await refunds_of(state, payment_id) == 0
    calls = await calls_of(state, payment_id)
    assert [call["kind"] for call in calls][:2] == ["purchase", "requery"]
    assert _vends(ProviderName(provider), sandbox_states, reference) == 1
    await ledger_ok(state)


@pytest.mark.parametrize("provider", ["interswitch"], indirect=True)
async def test_interswitch_10001_on_a_fresh_reference_is_queried_then_resent(
    api: httpx.AsyncClient,
    state: AppState,
    worker: Worker,
    interswitch: InterswitchSandboxState,
) -> None:
    """10001 grouped FAILED, for a reference Interswitch then has no record of (90025): never a
    refund; after the grace period the same reference is sent again and vends."""
    interswitch.add_fault(InterswitchFault(fault=FaultName.UNKNOWN_ERROR, count=1))
    payment = await pay(api, airtime("08030001207"))
    assert payment["status"] == "paid"
    assert await refunds_of(state, payment["id"]) == 0
    attempt = await the_attempt(state, payment["id"])
    assert attempt["sends"] == 2
    assert interswitch.vends_snapshot()["count"] == 1


@pytest.mark.parametrize("provider", ["flutterwave"], indirect=True)
async def test_a_lost_flutterwave_purchase_is_not_resent(
    api: httpx.AsyncClient,
    state: AppState,
    worker: Worker,
    flutterwave: FlutterwaveSandboxState,
) -> None:
    """Flutterwave's "not found" does not prove the purchase never arrived (the docs do not
    say the lookup takes our reference): it stays unknown, requeried, never resent."""
    flutterwave.add_fault(FlutterwaveFault(FlutterwaveFaultKind.LOST_PURCHASE))
    payment_id = await create(api, airtime("08030001208"))

    async def asked_past_the_grace_period() -> bool:
        calls = await calls_of(state, payment_id)
        purchase_at = calls[0]["started_at"] if calls else None
        return purchase_at is not None and any(
            call["kind"] == "requery"
            and call["started_at"] >= purchase_at + timedelta(seconds=GRACE * 2)
            for call in calls
        )

    await wait_until(asked_past_the_grace_period, "requeries past the grace period", 30)
    attempt = await the_attempt(state, payment_id)
    assert attempt["sends"] == 1
    assert attempt["outcome"] == "unknown"
    assert flutterwave.vend_count == 0


def _vends(provider: ProviderName, states: dict[str, Any], reference: str) -> int:
    if provider is ProviderName.VTPASS:
        vtpass: VTpassSandboxState = states["vtpass"]
        return vtpass.vend_count(reference)
    if provider is ProviderName.INTERSWITCH:
        snapshot = states["interswitch"].vends_snapshot()
        return sum(1 for ref in snapshot["vends"] if ref == reference)
    vends = states["flutterwave"].vends()
    return sum(1 for ref in vends if ref == reference)

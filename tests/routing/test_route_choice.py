"""Choosing providers for a payment: order, reasons, and no fallback while unknown (DESIGN §1.3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billpay.catalog.merge import normalize
from billpay.catalog.plan import ProviderMeta
from billpay.providers.base import BillType, Outcome, ProviderName, ProviderPlan
from billpay.routing.breaker import BreakerPolicy, CircuitBreaker
from billpay.routing.router import (
    RouteChoice,
    choose_route,
    first_eligible,
    next_provider_after,
)

VTPASS, FLUTTERWAVE, INTERSWITCH = (
    ProviderName.VTPASS,
    ProviderName.FLUTTERWAVE,
    ProviderName.INTERSWITCH,
)
ALL = frozenset(ProviderName)
START = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
POLICY = BreakerPolicy(consecutive_failures=1, cooldown_seconds=30, trial_timeout_seconds=60)


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def meta(provider: ProviderName, priority: int) -> ProviderMeta:
    return ProviderMeta(
        provider, f"{provider}-biller", f"{provider}-plan", 100, None, None, None, priority
    )


META = (meta(INTERSWITCH, 0), meta(VTPASS, 1), meta(FLUTTERWAVE, 2))


def opened(clock: FakeClock, provider: ProviderName) -> CircuitBreaker:
    breaker = CircuitBreaker(provider, POLICY, clock)
    permit = breaker.acquire()
    assert permit is not None
    breaker.record(permit, Outcome.FAILED)
    return breaker


def summary(route: list[RouteChoice]) -> list[tuple[ProviderName, bool, str]]:
    return [(choice.provider, choice.eligible, choice.reason) for choice in route]


def test_a_fresh_payment_goes_to_the_primary_then_the_fallbacks_in_priority_order() -> None:
    route = choose_route(reversed(META), ALL, {}, already_tried=[])
    assert summary(route) == [
        (INTERSWITCH, True, "primary"),
        (VTPASS, True, "fallback after interswitch failed"),
        (FLUTTERWAVE, True, "fallback after vtpass failed"),
    ]
    assert route[0].meta == META[0]


def test_providers_without_credentials_are_skipped() -> None:
    route = choose_route(META, {VTPASS, FLUTTERWAVE}, {}, already_tried=[])
    assert summary(route) == [
        (INTERSWITCH, False, "skipped: not configured"),
        (VTPASS, True, "primary"),
        (FLUTTERWAVE, True, "fallback after vtpass failed"),
    ]


def test_an_open_circuit_is_skipped_with_its_reopening_time() -> None:
    clock = FakeClock()
    breakers = {INTERSWITCH: opened(clock, INTERSWITCH)}
    route = choose_route(META, ALL, breakers, already_tried=[])
    assert summary(route)[0] == (
        INTERSWITCH,
        False,
        "skipped: circuit open until 2025-03-10T09:00:30+00:00",
    )
    assert summary(route)[1] == (VTPASS, True, "primary")


def test_a_half_open_provider_is_offered_as_a_trial() -> None:
    clock = FakeClock()
    breakers = {INTERSWITCH: opened(clock, INTERSWITCH), VTPASS: opened(clock, VTPASS)}
    clock.now += timedelta(seconds=30)
    route = choose_route(META, ALL, breakers, already_tried=[])
    assert summary(route) == [
        (INTERSWITCH, True, "primary, trial: half-open"),
        (VTPASS, True, "fallback after interswitch failed, trial: half-open"),
        (FLUTTERWAVE, True, "fallback after vtpass failed"),
    ]
    # Reading the route does not take the trial: the caller still can.
    assert breakers[INTERSWITCH].acquire() is not None


def test_a_half_open_provider_whose_trial_is_out_is_skipped() -> None:
    clock = FakeClock()
    breakers = {INTERSWITCH: opened(clock, INTERSWITCH)}
    clock.now += timedelta(seconds=30)
    assert breakers[INTERSWITCH].acquire() is not None  # another payment is the trial
    route = choose_route(META, ALL, breakers, already_tried=[])
    assert summary(route)[:2] == [
        (INTERSWITCH, False, "skipped: half-open trial in progress"),
        (VTPASS, True, "primary"),
    ]


def test_tried_providers_are_never_returned() -> None:
    route = choose_route(META, ALL, {}, already_tried=[INTERSWITCH])
    assert summary(route) == [
        (VTPASS, True, "fallback after interswitch failed"),
        (FLUTTERWAVE, True, "fallback after vtpass failed"),
    ]
    assert choose_route(META, ALL, {}, already_tried=[VTPASS, INTERSWITCH, FLUTTERWAVE]) == []


def test_the_fallback_reason_names_the_last_provider_that_failed() -> None:
    route = choose_route(META, {FLUTTERWAVE, INTERSWITCH}, {}, already_tried=[INTERSWITCH])
    assert summary(route) == [
        (VTPASS, False, "skipped: not configured"),
        (FLUTTERWAVE, True, "fallback after interswitch failed"),
    ]


def test_a_provider_listed_twice_is_routed_once_at_its_best_priority() -> None:
    route = choose_route([meta(VTPASS, 5), meta(FLUTTERWAVE, 1), meta(VTPASS, 0)], ALL, {}, [])
    assert [(c.provider, c.meta.priority) for c in route] == [(VTPASS, 0), (FLUTTERWAVE, 1)]


def test_first_eligible() -> None:
    route = choose_route(META, {FLUTTERWAVE}, {}, already_tried=[])
    choice = first_eligible(route)
    assert choice is not None and choice.provider is FLUTTERWAVE
    assert first_eligible(choose_route(META, set(), {}, already_tried=[])) is None


# --- after an outcome -------------------------------------------------------------------------


def test_a_definite_failure_falls_back_to_the_next_provider() -> None:
    choice = next_provider_after(Outcome.FAILED, META, ALL, {}, already_tried=[INTERSWITCH])
    assert choice is not None
    assert (choice.provider, choice.reason) == (VTPASS, "fallback after interswitch failed")


def test_an_unknown_outcome_never_falls_back() -> None:
    """The seed's successor fell back on timeouts and vended twice: requery instead."""
    assert next_provider_after(Outcome.UNKNOWN, META, ALL, {}, already_tried=[INTERSWITCH]) is None


def test_success_needs_no_next_provider() -> None:
    assert next_provider_after(Outcome.SUCCEEDED, META, ALL, {}, already_tried=[VTPASS]) is None


def test_no_next_provider_when_the_route_is_exhausted() -> None:
    tried = [INTERSWITCH, VTPASS]
    assert next_provider_after(Outcome.FAILED, META, {INTERSWITCH, VTPASS}, {}, tried) is None


def test_a_failure_must_name_the_provider_that_failed() -> None:
    with pytest.raises(ValueError, match="already_tried"):
        next_provider_after(Outcome.FAILED, META, ALL, {}, already_tried=[])


def test_routes_over_a_normalized_plan() -> None:
    plans = [
        ProviderPlan(
            provider, BillType.CABLE_TV, code, "DStv", f"{code}-c", "DStv Compact", 1_570_000
        )
        for provider, code in [(VTPASS, "dstv"), (FLUTTERWAVE, "BIL119"), (INTERSWITCH, "104")]
    ]
    (compact,) = normalize(plans)
    route = choose_route(compact.provider_meta, {VTPASS, FLUTTERWAVE}, {}, already_tried=[])
    assert [(c.provider, c.meta.plan_code, c.reason) for c in route] == [
        (INTERSWITCH, "104-c", "skipped: not configured"),
        (VTPASS, "dstv-c", "primary"),
        (FLUTTERWAVE, "BIL119-c", "fallback after vtpass failed"),
    ]


# --- properties ----------------------------------------------------------------------------------

_providers = st.sampled_from(list(ProviderName))


@st.composite
def routing_situations(
    draw: st.DrawFn,
) -> tuple[
    list[ProviderMeta], set[ProviderName], dict[ProviderName, CircuitBreaker], list[ProviderName]
]:
    metas = draw(st.lists(st.builds(meta, _providers, st.integers(0, 5)), max_size=6))
    configured = draw(st.sets(_providers))
    tried = draw(st.lists(_providers, unique=True))
    clock = FakeClock()
    breakers: dict[ProviderName, CircuitBreaker] = {}
    for provider in draw(st.sets(_providers)):
        breakers[provider] = opened(clock, provider)
        if draw(st.booleans()):
            # Half-open, with or without its trial taken.
            clock.now = START + timedelta(seconds=30)
            if draw(st.booleans()):
                breakers[provider].acquire()
    return metas, configured, breakers, tried


@settings(max_examples=300)
@given(routing_situations(), st.sampled_from(list(Outcome)))
def test_the_router_never_returns_a_tried_provider_nor_anything_after_unknown(
    situation: tuple[
        list[ProviderMeta],
        set[ProviderName],
        dict[ProviderName, CircuitBreaker],
        list[ProviderName],
    ],
    outcome: Outcome,
) -> None:
    metas, configured, breakers, tried = situation
    route = choose_route(metas, configured, breakers, tried)
    assert not {choice.provider for choice in route} & set(tried)
    assert {choice.provider for choice in route} <= {m.provider for m in metas}
    assert len({choice.provider for choice in route}) == len(route)
    assert all(choice.provider in configured for choice in route if choice.eligible)
    if tried:
        after = next_provider_after(outcome, metas, configured, breakers, tried)
        if outcome is not Outcome.FAILED:
            assert after is None
        elif after is not None:
            assert after.provider not in tried
            assert after == first_eligible(route)

"""Choosing providers for a payment: order, reasons, and no fallback while unknown (DESIGN §1.3)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billpay.catalog.merge import normalize
from billpay.catalog.plan import ProviderMeta
from billpay.providers.base import BillType, Outcome, ProviderName, ProviderPlan
from billpay.routing.router import (
    Ranking,
    RouteChoice,
    Standing,
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
OPEN = Standing(skip="skipped: circuit open until 2025-03-10T09:00:30+00:00 (3 failures)")
HALF_OPEN = Standing(trial=True)
TRIAL_OUT = Standing(skip="skipped: half-open trial in progress")
FIFTEEN = Ranking(window_minutes=15)


def meta(provider: ProviderName, priority: int) -> ProviderMeta:
    return ProviderMeta(
        provider, f"{provider}-biller", f"{provider}-plan", 100, None, None, None, priority
    )


META = (meta(INTERSWITCH, 0), meta(VTPASS, 1), meta(FLUTTERWAVE, 2))


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


def test_an_open_circuit_is_skipped_for_now_with_its_reason() -> None:
    route = choose_route(META, ALL, {INTERSWITCH: OPEN}, already_tried=[])
    assert summary(route)[0] == (INTERSWITCH, False, OPEN.skip)
    assert route[0].temporary  # it may close: a payment with nothing else waits for it
    assert summary(route)[1] == (VTPASS, True, "primary")


def test_a_half_open_provider_is_offered_as_a_trial() -> None:
    route = choose_route(META, ALL, {INTERSWITCH: HALF_OPEN, VTPASS: HALF_OPEN}, [])
    assert summary(route) == [
        (INTERSWITCH, True, "primary, trial: half-open"),
        (VTPASS, True, "fallback after interswitch failed, trial: half-open"),
        (FLUTTERWAVE, True, "fallback after vtpass failed"),
    ]


def test_a_half_open_provider_whose_trial_is_out_is_skipped() -> None:
    route = choose_route(META, ALL, {INTERSWITCH: TRIAL_OUT}, already_tried=[])
    assert summary(route)[:2] == [
        (INTERSWITCH, False, "skipped: half-open trial in progress"),
        (VTPASS, True, "primary"),
    ]


def test_unconfigured_and_loss_routes_are_skipped_for_good() -> None:
    route = choose_route(META, {VTPASS}, {}, already_tried=[], price_kobo=50)
    assert [(c.provider, c.eligible, c.temporary) for c in route] == [
        (INTERSWITCH, False, False),
        (VTPASS, False, False),  # costs 100 kobo, sold at 50: a loss route
        (FLUTTERWAVE, False, False),
    ]


# --- ranking by recent figures ------------------------------------------------------------------


def test_the_better_recent_success_rate_goes_first_and_says_why() -> None:
    standings = {
        INTERSWITCH: Standing(success_rate=2 / 3, latency_ms=80),
        VTPASS: Standing(success_rate=0.982, latency_ms=300),
    }
    route = choose_route(META, ALL, standings, already_tried=[], ranking=FIFTEEN)
    assert summary(route)[0] == (VTPASS, True, "best success rate 98.2 % over 15 min")
    # Flutterwave has too few attempts to judge: presumed good (95 %), ahead of Interswitch.
    assert [c.provider for c in route] == [VTPASS, FLUTTERWAVE, INTERSWITCH]


def test_close_rates_tie_and_latency_then_the_base_order_decides() -> None:
    standings = {
        INTERSWITCH: Standing(success_rate=0.99, latency_ms=2_400),
        VTPASS: Standing(success_rate=0.995, latency_ms=200),
        FLUTTERWAVE: Standing(success_rate=0.991, latency_ms=300),
    }
    route = choose_route(META, ALL, standings, already_tried=[], ranking=FIFTEEN)
    assert [c.provider for c in route] == [VTPASS, FLUTTERWAVE, INTERSWITCH]


def test_without_ranking_the_base_order_stands() -> None:
    standings = {INTERSWITCH: Standing(success_rate=0.1), VTPASS: Standing(success_rate=1.0)}
    route = choose_route(META, ALL, standings, already_tried=[])
    assert summary(route)[0] == (INTERSWITCH, True, "primary")


def test_the_fallback_reason_carries_the_failure_code() -> None:
    route = choose_route(META, ALL, {}, already_tried=[VTPASS], last_failure="016")
    assert summary(route)[0] == (INTERSWITCH, True, "fallback after vtpass failed: 016")
    assert summary(route)[1] == (FLUTTERWAVE, True, "fallback after interswitch failed")


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


_standings = st.sampled_from([Standing(), OPEN, HALF_OPEN, TRIAL_OUT, Standing(success_rate=0.5)])


@st.composite
def routing_situations(
    draw: st.DrawFn,
) -> tuple[list[ProviderMeta], set[ProviderName], dict[ProviderName, Standing], list[ProviderName]]:
    metas = draw(st.lists(st.builds(meta, _providers, st.integers(0, 5)), max_size=6))
    configured = draw(st.sets(_providers))
    tried = draw(st.lists(_providers, unique=True))
    standings = draw(st.dictionaries(_providers, _standings))
    return metas, configured, standings, tried


@settings(max_examples=300)
@given(routing_situations(), st.sampled_from(list(Outcome)), st.booleans())
def test_the_router_never_returns_a_tried_provider_nor_anything_after_unknown(
    situation: tuple[
        list[ProviderMeta],
        set[ProviderName],
        dict[ProviderName, Standing],
        list[ProviderName],
    ],
    outcome: Outcome,
    ranked: bool,
) -> None:
    metas, configured, standings, tried = situation
    route = choose_route(metas, configured, standings, tried, ranking=FIFTEEN if ranked else None)
    assert not {choice.provider for choice in route} & set(tried)
    assert {choice.provider for choice in route} <= {m.provider for m in metas}
    assert len({choice.provider for choice in route}) == len(route)
    assert all(choice.provider in configured for choice in route if choice.eligible)
    assert not any(choice.eligible and choice.temporary for choice in route)
    if tried:
        after = next_provider_after(outcome, metas, configured, standings, tried)
        if outcome is not Outcome.FAILED:
            assert after is None
        elif after is not None:
            assert after.provider not in tried
            assert after == first_eligible(choose_route(metas, configured, standings, tried))

"""The shared circuit breaker: what opens it (definite failures only), and its one half-open
trial taken once across workers, through Postgres."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from billpay.providers.base import Outcome, ProviderName
from billpay.routing import breaker
from billpay.routing import repository as repo
from billpay.routing.breaker import BreakerPolicy, BreakerState, trip_reason, view_of
from billpay.routing.repository import BreakerRow
from billpay.state import AppState

VTPASS = ProviderName.VTPASS
NOW = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
POLICY = BreakerPolicy(window_size=10, min_samples=4, consecutive_failures=3, cooldown_seconds=30)
FAIL, OK = (True, "016"), (False, "000")


def test_k_definite_failures_in_a_row_open_it_and_say_so() -> None:
    assert trip_reason([FAIL, FAIL, FAIL, OK], POLICY) == ("3 failures in a row (last: 016)")
    assert trip_reason([FAIL, FAIL, OK], POLICY) is None  # a success broke the run


def test_the_failure_rate_opens_it_once_there_are_enough_verdicts() -> None:
    assert trip_reason([FAIL, OK, FAIL, OK], POLICY) == (
        "2 of the last 4 attempts failed (last: 016)"
    )
    assert trip_reason([FAIL, OK, FAIL], POLICY) is None  # 3 verdicts: too few to judge
    assert trip_reason([OK, FAIL, OK, OK, OK], POLICY) is None


def row(state: str, open_until: datetime | None) -> BreakerRow:
    return BreakerRow("vtpass", "", state, "3 definite failures in a row", NOW, open_until)


def test_open_until_the_cooldown_then_half_open_waiting_for_its_trial() -> None:
    shut = view_of(row("open", NOW + timedelta(seconds=30)), NOW)
    assert (shut.state, shut.takes_payments) == (BreakerState.OPEN, False)
    cooled = view_of(row("open", NOW), NOW)
    assert (cooled.state, cooled.trial_in_flight, cooled.takes_payments) == (
        BreakerState.HALF_OPEN,
        False,
        True,
    )


def test_a_live_trial_keeps_others_out_until_its_leave_lapses() -> None:
    trial = view_of(row("half_open", NOW + timedelta(seconds=120)), NOW)
    assert (trial.state, trial.trial_in_flight, trial.takes_payments) == (
        BreakerState.HALF_OPEN,
        True,
        False,
    )
    lapsed = view_of(row("half_open", NOW - timedelta(seconds=1)), NOW)
    assert (lapsed.trial_in_flight, lapsed.takes_payments) == (False, True)


@pytest.mark.parametrize(
    "policy",
    [
        {"window_size": 5, "min_samples": 6},
        {"failure_rate": 0},
        {"consecutive_failures": 0},
        {"cooldown_seconds": 0},
        {"lookback_seconds": -1},
    ],
)
def test_nonsense_policies_are_refused(policy: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        BreakerPolicy(**policy)  # type: ignore[arg-type]


# --- shared through Postgres ----------------------------------------------------------------


async def open_cooled_breaker(state: AppState) -> datetime:
    """An open vtpass breaker whose cool-down is over: the next purchase is its trial."""
    now = datetime.now(UTC)
    async with state.unit_of_work() as session:
        assert await repo.open_breaker(session, "vtpass", "", "3 failures", now)
    return now


async def take(state: AppState) -> breaker.Permit | None:
    async with state.unit_of_work() as session:
        now = datetime.now(UTC)
        known = await breaker.views(session, now)
        return await breaker.acquire(session, VTPASS, "mtn", known, now, POLICY)


async def current(state: AppState) -> breaker.BreakerView:
    async with state.unit_of_work() as session:
        return (await breaker.views(session, datetime.now(UTC)))[("vtpass", "")]


async def test_the_half_open_trial_is_taken_once_across_workers(state: AppState) -> None:
    await open_cooled_breaker(state)
    first = await take(state)
    assert first is not None and first.is_trial
    # Another worker, another session: the trial is out, no permit.
    assert await take(state) is None
    assert (await current(state)).trial_in_flight


@pytest.mark.parametrize(
    ("outcome", "after"),
    [
        (Outcome.SUCCEEDED, BreakerState.CLOSED),
        (Outcome.FAILED, BreakerState.OPEN),
        # A pending answer decides nothing: the trial is released for the next purchase.
        (Outcome.UNKNOWN, BreakerState.HALF_OPEN),
    ],
)
async def test_the_trial_answer_decides(
    state: AppState, outcome: Outcome, after: BreakerState
) -> None:
    await open_cooled_breaker(state)
    permit = await take(state)
    assert permit is not None
    async with state.unit_of_work() as session:
        await breaker.record(session, permit, outcome, "099", datetime.now(UTC), POLICY)
    view = await current(state)
    assert view.state is after
    assert not view.trial_in_flight


async def test_a_lapsed_trial_answering_late_decides_nothing(state: AppState) -> None:
    await open_cooled_breaker(state)
    stale = await take(state)
    assert stale is not None
    async with state.unit_of_work() as session:  # its leave lapses; another trial starts
        await session.execute(
            text("UPDATE provider_breakers SET open_until = now() - interval '1 second'")
        )
    fresh = await take(state)
    assert fresh is not None and fresh != stale
    async with state.unit_of_work() as session:
        await breaker.record(session, stale, Outcome.SUCCEEDED, "000", datetime.now(UTC), POLICY)
    assert (await current(state)).trial_in_flight  # still the fresh trial's to decide

"""The per-provider circuit breaker: closed → open → half-open (one trial) → closed/open."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billpay.providers.base import Outcome, ProviderName
from billpay.routing.breaker import (
    BreakerPolicy,
    BreakerSnapshot,
    BreakerState,
    CircuitBreaker,
    Permit,
)

VTPASS = ProviderName.VTPASS
OK, FAILED, UNKNOWN = Outcome.SUCCEEDED, Outcome.FAILED, Outcome.UNKNOWN
START = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def breaker(clock: FakeClock, **policy: float) -> CircuitBreaker:
    defaults: dict[str, float] = {
        "window_size": 10,
        "min_samples": 4,
        "failure_rate": 0.5,
        "consecutive_failures": 3,
        "cooldown_seconds": 30,
        "trial_timeout_seconds": 60,
    }
    defaults.update(policy)
    return CircuitBreaker(
        VTPASS,
        BreakerPolicy(
            window_size=int(defaults["window_size"]),
            min_samples=int(defaults["min_samples"]),
            failure_rate=defaults["failure_rate"],
            consecutive_failures=int(defaults["consecutive_failures"]),
            cooldown_seconds=defaults["cooldown_seconds"],
            trial_timeout_seconds=defaults["trial_timeout_seconds"],
        ),
        clock,
    )


def call(b: CircuitBreaker, outcome: Outcome) -> None:
    permit = b.acquire()
    assert permit is not None
    b.record(permit, outcome)


def trip(b: CircuitBreaker) -> None:
    while b.snapshot().state is BreakerState.CLOSED:
        call(b, FAILED)


def test_a_new_breaker_is_closed_and_lets_requests_through() -> None:
    b = breaker(FakeClock())
    assert b.snapshot() == BreakerSnapshot(BreakerState.CLOSED, None, trial_in_flight=False)
    permit = b.acquire()
    assert permit == Permit(VTPASS) and not permit.is_trial


@pytest.mark.parametrize("bad", [FAILED, UNKNOWN])
def test_k_consecutive_failures_or_unknowns_open_it(bad: Outcome) -> None:
    clock = FakeClock()
    b = breaker(clock, consecutive_failures=3, min_samples=10)
    call(b, bad)
    call(b, bad)
    assert b.snapshot().state is BreakerState.CLOSED
    call(b, bad)
    assert b.snapshot() == BreakerSnapshot(
        BreakerState.OPEN, START + timedelta(seconds=30), trial_in_flight=False
    )
    assert b.acquire() is None


def test_a_success_resets_the_consecutive_count() -> None:
    b = breaker(FakeClock(), consecutive_failures=3, min_samples=10)
    for outcome in [FAILED, UNKNOWN, OK, FAILED, FAILED, OK, UNKNOWN, FAILED]:
        call(b, outcome)
    assert b.snapshot().state is BreakerState.CLOSED


def test_the_failure_rate_opens_it_once_the_window_has_enough_samples() -> None:
    b = breaker(
        FakeClock(), window_size=10, min_samples=6, failure_rate=0.5, consecutive_failures=99
    )
    for outcome in [FAILED, OK, FAILED, OK, FAILED]:  # 60% bad, but only 5 samples
        call(b, outcome)
    assert b.snapshot().state is BreakerState.CLOSED
    call(b, OK)  # 6 samples, 3 bad: 50% reaches the threshold
    assert b.snapshot().state is BreakerState.OPEN


def test_the_rate_is_over_the_last_n_outcomes_only() -> None:
    b = breaker(
        FakeClock(), window_size=4, min_samples=4, failure_rate=0.75, consecutive_failures=99
    )
    for outcome in [FAILED, FAILED, OK, OK, OK]:  # 50% of the first four, then rolling out
        call(b, outcome)
    assert b.snapshot().state is BreakerState.CLOSED
    call(b, FAILED)  # window: OK OK OK F — 25%
    call(b, FAILED)  # window: OK OK F F — 50%
    assert b.snapshot().state is BreakerState.CLOSED
    call(b, FAILED)  # window: OK F F F — 75%
    assert b.snapshot().state is BreakerState.OPEN


def test_after_the_cooldown_it_is_half_open_and_allows_exactly_one_trial() -> None:
    clock = FakeClock()
    b = breaker(clock, cooldown_seconds=30)
    trip(b)
    clock.advance(29.9)
    assert b.acquire() is None
    clock.advance(0.1)
    assert b.snapshot() == BreakerSnapshot(BreakerState.HALF_OPEN, None, trial_in_flight=False)
    trial = b.acquire()
    assert trial is not None and trial.is_trial
    assert b.snapshot() == BreakerSnapshot(BreakerState.HALF_OPEN, None, trial_in_flight=True)
    assert b.acquire() is None
    assert b.acquire() is None


def test_a_successful_trial_closes_it_with_a_clean_slate() -> None:
    clock = FakeClock()
    b = breaker(clock, consecutive_failures=3)
    trip(b)
    clock.advance(30)
    trial = b.acquire()
    assert trial is not None
    b.record(trial, OK)
    assert b.snapshot().state is BreakerState.CLOSED
    # The outage's failures are forgotten: two new failures do not re-open it.
    call(b, FAILED)
    call(b, FAILED)
    assert b.snapshot().state is BreakerState.CLOSED


@pytest.mark.parametrize("bad", [FAILED, UNKNOWN])
def test_a_failed_or_unknown_trial_reopens_it_for_another_cooldown(bad: Outcome) -> None:
    clock = FakeClock()
    b = breaker(clock, cooldown_seconds=30)
    trip(b)
    clock.advance(45)
    trial = b.acquire()
    assert trial is not None
    b.record(trial, bad)
    assert b.snapshot() == BreakerSnapshot(
        BreakerState.OPEN, clock.now + timedelta(seconds=30), trial_in_flight=False
    )
    assert b.acquire() is None


def test_late_answers_to_requests_sent_before_it_opened_decide_nothing() -> None:
    clock = FakeClock()
    b = breaker(clock)
    in_flight = [b.acquire() for _ in range(5)]
    trip(b)
    for permit in in_flight:
        assert permit is not None
        b.record(permit, OK)  # while open: ignored
    assert b.snapshot().state is BreakerState.OPEN
    clock.advance(30)
    trial = b.acquire()
    assert trial is not None
    b.record(Permit(VTPASS), OK)  # while half-open, only the trial counts
    assert b.snapshot().trial_in_flight
    b.record(trial, OK)
    assert b.snapshot().state is BreakerState.CLOSED


def test_an_abandoned_trial_times_out_and_its_late_answer_is_ignored() -> None:
    clock = FakeClock()
    b = breaker(clock, cooldown_seconds=30, trial_timeout_seconds=60)
    trip(b)
    clock.advance(30)
    abandoned = b.acquire()
    assert abandoned is not None
    clock.advance(59)
    assert b.acquire() is None
    clock.advance(1)
    assert not b.snapshot().trial_in_flight
    second = b.acquire()
    assert second is not None and second.trial_id != abandoned.trial_id
    b.record(abandoned, OK)  # too late: the second trial owns the verdict
    assert b.snapshot() == BreakerSnapshot(BreakerState.HALF_OPEN, None, trial_in_flight=True)
    b.record(second, FAILED)
    assert b.snapshot().state is BreakerState.OPEN


def test_a_trial_answer_after_it_already_closed_changes_nothing() -> None:
    clock = FakeClock()
    b = breaker(clock)
    trip(b)
    clock.advance(30)
    trial = b.acquire()
    assert trial is not None
    b.record(trial, OK)
    b.record(trial, FAILED)  # recorded twice by mistake
    assert b.snapshot().state is BreakerState.CLOSED


def test_a_permit_for_another_provider_is_refused() -> None:
    b = breaker(FakeClock())
    with pytest.raises(ValueError, match="flutterwave"):
        b.record(Permit(ProviderName.FLUTTERWAVE), OK)


@pytest.mark.parametrize(
    "policy",
    [
        {"window_size": 5, "min_samples": 6},
        {"min_samples": 0},
        {"failure_rate": 0},
        {"failure_rate": 1.5},
        {"consecutive_failures": 0},
        {"cooldown_seconds": 0},
        {"trial_timeout_seconds": -1},
    ],
)
def test_nonsense_policies_are_refused(policy: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        BreakerPolicy(**policy)  # type: ignore[arg-type]


def test_threads_racing_for_the_half_open_trial_get_exactly_one() -> None:
    clock = FakeClock()
    b = breaker(clock)
    trip(b)
    clock.advance(30)
    start = threading.Barrier(16)
    permits: list[Permit | None] = []
    lock = threading.Lock()

    def contend() -> None:
        start.wait()
        permit = b.acquire()
        with lock:
            permits.append(permit)

    threads = [threading.Thread(target=contend) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(permit is not None for permit in permits) == 1


_operations = st.lists(
    st.one_of(
        st.tuples(st.just("acquire"), st.just(0)),
        st.tuples(st.just("record"), st.integers(0, 50), st.sampled_from(list(Outcome))),
        st.tuples(st.just("advance"), st.sampled_from([1, 10, 29, 30, 31, 60, 61])),
    ),
    max_size=80,
)


@settings(max_examples=400)
@given(_operations)
def test_never_more_than_one_live_trial_in_half_open(
    operations: list[tuple[str, int] | tuple[str, int, Outcome]],
) -> None:
    """Whatever happens, at most one trial is out and unexpired at any moment, and no permit
    at all is handed out while the circuit is open."""
    clock = FakeClock()
    b = breaker(clock, cooldown_seconds=30, trial_timeout_seconds=60)
    held: list[Permit] = []
    trials_started_at: dict[int, datetime] = {}
    for operation in operations:
        kind = operation[0]
        if kind == "advance":
            clock.advance(operation[1])
        elif kind == "acquire":
            state = b.snapshot().state
            permit = b.acquire()
            if state is BreakerState.OPEN:
                assert permit is None
            if permit is not None:
                held.append(permit)
                if permit.trial_id is not None:
                    trials_started_at[permit.trial_id] = clock.now
        elif held:
            permit = held.pop(operation[1] % len(held))
            b.record(permit, operation[2])  # type: ignore[misc]
            if permit.trial_id is not None:
                trials_started_at.pop(permit.trial_id, None)
        live = [
            trial_id
            for trial_id, started in trials_started_at.items()
            if clock.now < started + timedelta(seconds=60)
        ]
        assert len(live) <= 1

"""Webhook retry schedule: exponential with jitter and a cap, ≥ 24 h of retrying, bounded."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billpay.outbox.backoff import (
    FIRST_DELAY_SECONDS,
    JITTER,
    MAX_DELAY_SECONDS,
    RETRY_WINDOW,
    delivery_deadline,
    next_attempt_at,
    next_delay_seconds,
)

FIRST_ATTEMPT = datetime(2026, 2, 18, 10, 0, tzinfo=UTC)
# The module promises at most 14 attempts; the worst case is every wait at its shortest.
MAX_ATTEMPTS = 14


class _Extreme(random.Random):
    """Always the lowest (or highest) jitter."""

    def __init__(self, highest: bool) -> None:
        super().__init__()
        self.highest = highest

    def uniform(self, a: float, b: float) -> float:
        return b if self.highest else a


def attempt_times(rng: random.Random, attempt_duration: timedelta = timedelta(0)) -> list[datetime]:
    """When each attempt starts, for a delivery that always fails."""
    started = [FIRST_ATTEMPT]
    while True:
        failed_at = started[-1] + attempt_duration
        retry_at = next_attempt_at(len(started), FIRST_ATTEMPT, failed_at, rng)
        if retry_at is None:
            return started
        assert retry_at > started[-1]
        started.append(retry_at)
        assert len(started) <= 1000, "the schedule never gives up"


def test_delays_double_from_a_minute_up_to_the_cap() -> None:
    exact = _Extreme(highest=False)
    delays = [next_delay_seconds(attempt, exact) / (1 - JITTER) for attempt in range(1, 12)]
    assert delays[:4] == pytest.approx([60, 120, 240, 480])
    assert max(next_delay_seconds(attempt, _Extreme(True)) for attempt in range(1, 50)) == (
        MAX_DELAY_SECONDS
    )


@given(attempt=st.integers(min_value=1, max_value=10_000), seed=st.integers())
def test_every_delay_is_jittered_within_bounds(attempt: int, seed: int) -> None:
    step = min(MAX_DELAY_SECONDS, FIRST_DELAY_SECONDS * 2.0 ** min(attempt - 1, 60))
    delay = next_delay_seconds(attempt, random.Random(seed))
    assert step * (1 - JITTER) <= delay <= min(MAX_DELAY_SECONDS, step * (1 + JITTER))


def test_jitter_spreads_deliveries_even_at_the_cap() -> None:
    delays = {round(next_delay_seconds(30, random.Random(seed))) for seed in range(20)}
    assert len(delays) > 10


def test_attempts_are_numbered_from_one() -> None:
    with pytest.raises(ValueError):
        next_delay_seconds(0)


def test_the_deadline_is_a_day_after_the_first_attempt() -> None:
    assert timedelta(hours=24) <= RETRY_WINDOW
    assert delivery_deadline(FIRST_ATTEMPT) == FIRST_ATTEMPT + timedelta(hours=24)


@given(seed=st.integers())
def test_the_schedule_covers_a_day_with_a_bounded_number_of_attempts(seed: int) -> None:
    times = attempt_times(random.Random(seed))
    assert times[-1] - times[0] >= timedelta(hours=24)
    assert times[-1] == delivery_deadline(FIRST_ATTEMPT)  # the last try is at the deadline
    assert len(times) <= MAX_ATTEMPTS
    gaps = [later - earlier for earlier, later in pairwise(times)]
    assert max(gaps) <= timedelta(seconds=MAX_DELAY_SECONDS)


@pytest.mark.parametrize("highest", [False, True], ids=["shortest-waits", "longest-waits"])
def test_extreme_jitter_still_covers_a_day_within_the_bound(highest: bool) -> None:
    times = attempt_times(_Extreme(highest))
    assert times[-1] - times[0] >= timedelta(hours=24)
    assert len(times) <= MAX_ATTEMPTS


def test_slow_attempts_only_reduce_the_number_of_attempts() -> None:
    quick = attempt_times(_Extreme(False))
    slow = attempt_times(_Extreme(False), attempt_duration=timedelta(seconds=30))
    assert len(slow) <= len(quick)
    assert slow[-1] == delivery_deadline(FIRST_ATTEMPT)


def test_no_retry_once_the_deadline_has_passed() -> None:
    deadline = delivery_deadline(FIRST_ATTEMPT)
    assert next_attempt_at(9, FIRST_ATTEMPT, deadline) is None
    assert next_attempt_at(9, FIRST_ATTEMPT, deadline + timedelta(hours=3)) is None
    almost = deadline - timedelta(seconds=5)
    assert next_attempt_at(9, FIRST_ATTEMPT, almost) == deadline

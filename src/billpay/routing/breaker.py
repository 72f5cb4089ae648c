"""A per-provider circuit breaker: stop sending payments to a provider that is failing (DESIGN §4).

closed ──(failure/unknown rate over the last N outcomes, or K in a row)──▶ open
open ──(cool-down elapsed)──▶ half-open: exactly ONE trial request is let through
half-open ──trial succeeded──▶ closed;  ──trial failed or unknown──▶ open again

``unknown`` counts against a provider's health (timeouts are what an outage looks like), even
though the payment itself is requeried, never failed over (DESIGN §1.3).

Use: ``permit = breaker.acquire()``; no permit → do not call the provider; otherwise call it and
``breaker.record(permit, outcome)``. Record only outcomes that speak about the provider's
health — a customer's invalid meter is not the provider's fault. Methods are synchronous and
take a lock, so they are safe from asyncio tasks and threads of one process.
"""

from __future__ import annotations

import enum
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from billpay.providers.base import Outcome, ProviderName


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True)
class BreakerPolicy:
    window_size: int = 20  # the rolling window: the last N recorded outcomes
    min_samples: int = 10  # no rate judgement on fewer outcomes than this
    failure_rate: float = 0.5  # share of failed + unknown in the window that opens the circuit
    consecutive_failures: int = 5  # ... or this many failed/unknown in a row
    cooldown_seconds: float = 60.0
    # A trial whose outcome is never recorded (its task was cancelled) must not keep the
    # provider shut forever: after this long another trial may start.
    trial_timeout_seconds: float = 120.0

    def __post_init__(self) -> None:
        if not 1 <= self.min_samples <= self.window_size:
            raise ValueError("need 1 <= min_samples <= window_size")
        if not 0 < self.failure_rate <= 1:
            raise ValueError("failure_rate must be in (0, 1]")
        if self.consecutive_failures < 1:
            raise ValueError("consecutive_failures must be at least 1")
        if self.cooldown_seconds <= 0 or self.trial_timeout_seconds <= 0:
            raise ValueError("cooldown_seconds and trial_timeout_seconds must be positive")


DEFAULT_BREAKER_POLICY = BreakerPolicy()


@dataclass(frozen=True)
class Permit:
    """Leave to call a provider once; hand it back with the outcome."""

    provider: ProviderName
    trial_id: int | None = None  # set only for the half-open trial

    @property
    def is_trial(self) -> bool:
        return self.trial_id is not None


@dataclass(frozen=True)
class BreakerSnapshot:
    state: BreakerState
    open_until: datetime | None  # set while OPEN
    trial_in_flight: bool  # HALF_OPEN and its one trial is taken


@dataclass(frozen=True)
class _Trial:
    trial_id: int
    started_at: datetime


def _utc_now() -> datetime:
    return datetime.now(UTC)


class CircuitBreaker:
    def __init__(
        self,
        provider: ProviderName,
        policy: BreakerPolicy = DEFAULT_BREAKER_POLICY,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.provider = provider
        self._policy = policy
        self._clock = clock
        self._lock = threading.Lock()
        self._state = BreakerState.CLOSED
        self._recent_bad: deque[bool] = deque(maxlen=policy.window_size)
        self._bad_in_a_row = 0
        self._open_until: datetime | None = None
        self._trial: _Trial | None = None
        self._trials_started = 0

    def snapshot(self) -> BreakerSnapshot:
        """The state as of now, without taking the half-open trial."""
        with self._lock:
            now = self._clock()
            state = self._state_at(now)
            return BreakerSnapshot(
                state=state,
                open_until=self._open_until if state is BreakerState.OPEN else None,
                trial_in_flight=state is BreakerState.HALF_OPEN and self._trial_live(now),
            )

    def acquire(self) -> Permit | None:
        """A permit to call the provider, or None while it is open or its trial is out."""
        with self._lock:
            now = self._clock()
            state = self._state_at(now)
            if state is BreakerState.CLOSED:
                return Permit(self.provider)
            if state is BreakerState.OPEN or self._trial_live(now):
                return None
            self._state = BreakerState.HALF_OPEN
            self._trials_started += 1
            self._trial = _Trial(self._trials_started, now)
            return Permit(self.provider, self._trials_started)

    def record(self, permit: Permit, outcome: Outcome) -> None:
        if permit.provider is not self.provider:
            raise ValueError(f"a {permit.provider} permit recorded on the {self.provider} breaker")
        bad = outcome is not Outcome.SUCCEEDED
        with self._lock:
            now = self._clock()
            if permit.is_trial:
                # An abandoned trial's late answer decides nothing: a newer trial owns the verdict.
                if self._trial is None or self._trial.trial_id != permit.trial_id:
                    return
                if bad:
                    self._open(now)
                else:
                    self._close()
                return
            # While open or half-open, answers to requests admitted before the circuit opened
            # are old news; only the trial may close it.
            if self._state is BreakerState.CLOSED:
                self._observe(bad, now)

    def _state_at(self, now: datetime) -> BreakerState:
        if self._state is BreakerState.OPEN and self._open_until is not None:
            return BreakerState.OPEN if now < self._open_until else BreakerState.HALF_OPEN
        return self._state

    def _trial_live(self, now: datetime) -> bool:
        timeout = timedelta(seconds=self._policy.trial_timeout_seconds)
        return self._trial is not None and now < self._trial.started_at + timeout

    def _observe(self, bad: bool, now: datetime) -> None:
        self._recent_bad.append(bad)
        self._bad_in_a_row = self._bad_in_a_row + 1 if bad else 0
        samples = len(self._recent_bad)
        too_many_in_a_row = self._bad_in_a_row >= self._policy.consecutive_failures
        rate_too_high = (
            samples >= self._policy.min_samples
            and sum(self._recent_bad) >= self._policy.failure_rate * samples
        )
        if too_many_in_a_row or rate_too_high:
            self._open(now)

    def _open(self, now: datetime) -> None:
        self._state = BreakerState.OPEN
        self._open_until = now + timedelta(seconds=self._policy.cooldown_seconds)
        self._trial = None
        self._forget_outcomes()

    def _close(self) -> None:
        self._state = BreakerState.CLOSED
        self._open_until = None
        self._trial = None
        # Outcomes from before the outage must not re-open a provider that just recovered.
        self._forget_outcomes()

    def _forget_outcomes(self) -> None:
        self._recent_bad.clear()
        self._bad_in_a_row = 0

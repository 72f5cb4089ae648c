"""Per-provider circuit breakers shared by every worker through Postgres (DESIGN §4, issue #13).

closed ──(K failures in a row, or a failure rate over the last N verdicts)──▶ open
open ──(cool-down elapsed)──▶ half-open: exactly ONE trial purchase is let through
half-open ──trial succeeded──▶ closed;  ──trial failed──▶ open again

Only failures count against a provider: definite ones (the provider said no, or it stayed
unreachable after every retry) and calls that got no usable answer (a timeout, a broken
connection, a 5xx, a body that is not JSON: what an outage looks like; the payment itself stays
unknown and is requeried, never failed over). A readable pending or processing answer is
normal — VTpass documents ``099 TRANSACTION IS PROCESSING`` — and decides nothing; its rate is
shown and alerted on separately (``routing.health``).

One row per (provider, biller) in ``provider_breakers``, biller '' for the provider overall, so
every worker and the API read one state. The verdicts come from the attempts themselves, in the
same transaction that records an attempt's outcome.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from billpay.providers.base import Outcome, ProviderName
from billpay.routing import repository as repo
from billpay.routing.repository import BreakerRow

OVERALL = ""  # the biller key of a provider's own breaker


class BreakerState(enum.StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True)
class BreakerPolicy:
    window_size: int = 20  # the rolling window: the last N definite verdicts
    min_samples: int = 10  # no rate judgement on fewer verdicts than this
    failure_rate: float = 0.5  # share of failures among them that opens the circuit
    consecutive_failures: int = 5  # ... or this many failures in a row
    cooldown_seconds: float = 60.0
    # A trial whose answer is never recorded (its worker died) must not keep the provider shut
    # forever: after this long another trial may start.
    trial_timeout_seconds: float = 120.0
    # Verdicts older than this never open a breaker.
    lookback_seconds: float = 900.0

    def __post_init__(self) -> None:
        if not 1 <= self.min_samples <= self.window_size:
            raise ValueError("need 1 <= min_samples <= window_size")
        if not 0 < self.failure_rate <= 1:
            raise ValueError("failure_rate must be in (0, 1]")
        if self.consecutive_failures < 1:
            raise ValueError("consecutive_failures must be at least 1")
        if min(self.cooldown_seconds, self.trial_timeout_seconds, self.lookback_seconds) <= 0:
            raise ValueError("cooldown, trial timeout and lookback must be positive")


DEFAULT_BREAKER_POLICY = BreakerPolicy()


@dataclass(frozen=True)
class BreakerView:
    """A breaker as of one moment."""

    provider: str
    biller: str
    state: BreakerState
    reason: str | None
    since: datetime | None
    open_until: datetime | None  # while OPEN: when a trial may start
    trial_in_flight: bool  # HALF_OPEN and its one trial is taken

    @property
    def takes_payments(self) -> bool:
        return self.state is BreakerState.CLOSED or (
            self.state is BreakerState.HALF_OPEN and not self.trial_in_flight
        )


def view_of(row: BreakerRow, now: datetime) -> BreakerView:
    state = BreakerState(row.state)
    lapsed = row.open_until is None or row.open_until <= now
    trial_in_flight = state is BreakerState.HALF_OPEN and not lapsed
    if state is BreakerState.OPEN and lapsed:
        state = BreakerState.HALF_OPEN
    return BreakerView(
        provider=row.provider,
        biller=row.biller,
        state=state,
        reason=row.reason,
        since=row.since,
        open_until=row.open_until if state is BreakerState.OPEN else None,
        trial_in_flight=trial_in_flight,
    )


def closed(provider: str, biller: str) -> BreakerView:
    return BreakerView(provider, biller, BreakerState.CLOSED, None, None, None, False)


async def views(session: AsyncSession, now: datetime) -> dict[tuple[str, str], BreakerView]:
    """Every breaker that is not plainly closed, by (provider, biller)."""
    return {(row.provider, row.biller): view_of(row, now) for row in await repo.breakers(session)}


@dataclass(frozen=True)
class Trial:
    biller: str  # the key of the breaker on trial
    started: datetime


@dataclass(frozen=True)
class Permit:
    """Leave to send one purchase to a provider; hand it back with the outcome."""

    provider: ProviderName
    biller: str  # the payment's biller
    trials: tuple[Trial, ...] = ()  # the half-open trials this purchase is

    @property
    def is_trial(self) -> bool:
        return bool(self.trials)


async def acquire(
    session: AsyncSession,
    provider: ProviderName,
    biller: str,
    known: dict[tuple[str, str], BreakerView],
    now: datetime,
    policy: BreakerPolicy,
) -> Permit | None:
    """A permit for a provider the route found eligible, taking the half-open trial of each of
    its breakers that waits for one; None when another worker took a trial first."""
    trials: list[Trial] = []
    trial_ends = now + timedelta(seconds=policy.trial_timeout_seconds)
    for key in (OVERALL, biller):
        view = known.get((provider.value, key))
        if view is None or view.state is BreakerState.CLOSED:
            continue
        started = await repo.take_trial(session, provider.value, key, now, trial_ends)
        if started is None:
            return None
        trials.append(Trial(key, started))
    return Permit(provider, biller, tuple(trials))


async def record(
    session: AsyncSession,
    permit: Permit,
    outcome: Outcome,
    provider_status: str,
    now: datetime,
    policy: BreakerPolicy,
) -> None:
    """Judge the provider after a purchase answer; call it once the attempt's outcome is
    written in ``session`` (the verdicts are read back from the attempts)."""
    provider = permit.provider.value
    if permit.is_trial:
        await _settle_trials(session, permit, outcome, provider_status, now, policy)
        return
    if outcome is not Outcome.FAILED:
        return
    since = now - timedelta(seconds=policy.lookback_seconds)
    known = await views(session, now)
    for key in (OVERALL, permit.biller):
        view = known.get((provider, key))
        if view is not None and view.state is not BreakerState.CLOSED:
            continue  # answers to purchases sent before it opened are old news
        verdicts = await repo.recent_verdicts(
            session,
            provider,
            key,
            max(since, view.since) if view is not None and view.since else since,
            policy.window_size,
        )
        reason = trip_reason(verdicts, policy)
        if reason is not None:
            where = f" for {key}" if key else ""
            until = now + timedelta(seconds=policy.cooldown_seconds)
            await repo.open_breaker(session, provider, key, reason + where, until)


def trip_reason(verdicts: Sequence[tuple[bool, str | None]], policy: BreakerPolicy) -> str | None:
    """Why these verdicts (failed?, provider status; newest first) open a breaker, or None."""
    in_a_row = next((i for i, (failed, _) in enumerate(verdicts) if not failed), len(verdicts))
    last = next((status for failed, status in verdicts if failed), None)
    detail = f" (last: {last})" if last else ""
    if in_a_row >= policy.consecutive_failures:
        return f"{in_a_row} failures in a row{detail}"
    failures = sum(failed for failed, _ in verdicts)
    if len(verdicts) >= policy.min_samples and failures >= policy.failure_rate * len(verdicts):
        return f"{failures} of the last {len(verdicts)} attempts failed{detail}"
    return None


async def _settle_trials(
    session: AsyncSession,
    permit: Permit,
    outcome: Outcome,
    provider_status: str,
    now: datetime,
    policy: BreakerPolicy,
) -> None:
    provider = permit.provider.value
    for trial in permit.trials:
        if outcome is Outcome.SUCCEEDED:
            state, reason, until = BreakerState.CLOSED, "trial purchase succeeded", None
        elif outcome is Outcome.FAILED:
            state = BreakerState.OPEN
            reason = f"trial purchase failed ({provider_status})"
            until = now + timedelta(seconds=policy.cooldown_seconds)
        else:
            # A pending answer says nothing either way: the next purchase may be the trial.
            state, reason, until = BreakerState.OPEN, f"trial answered {provider_status}", now
        await repo.settle_trial(
            session, provider, trial.biller, trial.started, state.value, reason, until
        )

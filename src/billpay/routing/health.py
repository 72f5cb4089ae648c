"""Provider and provider×biller health from the attempts in Postgres (issue #13).

Every worker, the API, the dashboard, ``/metrics`` and the alerts read this one computation, so
they agree. ``failed`` counts failed attempts (the provider said no, or stayed unreachable
after every retry); ``unknown`` counts attempts still being requeried (pending answers,
timeouts). The breaker judges calls, not only attempts: one that got no usable answer counts
against the provider there, a readable pending answer never does (``routing.breaker``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from billpay.providers.base import ProviderName
from billpay.routing import repository as repo
from billpay.routing.breaker import OVERALL, BreakerView, closed, views
from billpay.routing.repository import OutcomeFigures, SwitchRow


@dataclass(frozen=True)
class ProviderHealth:
    provider: str  # ProviderName value
    biller: str | None  # None = the provider overall
    attempts: int  # attempts that reached an outcome in the window
    succeeded: int
    failed: int  # definite failures + transport failures (what counts against health)
    unknown: int  # pending/processing/unknown answers (do NOT count against health)
    success_rate: float | None  # 0..1, None with no attempts
    failure_rate: float | None
    unknown_rate: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    breaker_state: str  # "closed" | "open" | "half_open"
    breaker_reason: str | None
    breaker_since: datetime | None
    disabled: bool  # operator switch
    disabled_reason: str | None


@dataclass(frozen=True)
class Disabled:
    """Why an operator switched a provider off (for every biller or one)."""

    actor: str
    reason: str
    biller: str  # '' = every biller

    def describe(self) -> str:
        where = f" for {self.biller}" if self.biller else ""
        return f"disabled{where} by {self.actor}: {self.reason}"


def disabled_switches(rows: Iterable[SwitchRow]) -> dict[tuple[str, str], Disabled]:
    return {
        (row.provider, row.biller): Disabled(row.actor, row.reason, row.biller)
        for row in rows
        if not row.enabled
    }


def disabled_for(
    switches: dict[tuple[str, str], Disabled], provider: str, biller: str | None
) -> Disabled | None:
    """The switch keeping ``provider`` off for ``biller`` (None: the provider overall)."""
    overall = switches.get((provider, OVERALL))
    if overall is not None or biller is None:
        return overall
    return switches.get((provider, biller))


async def provider_health(
    session: AsyncSession, *, window: timedelta, now: datetime | None = None
) -> list[ProviderHealth]:
    """Every provider overall (whether or not it had attempts), then each provider×biller with
    attempts, a breaker or a switch; sorted by provider, then biller."""
    now = now or datetime.now(UTC)
    figures = {(f.provider, f.biller): f for f in await repo.outcome_figures(session, now - window)}
    breakers = await views(session, now)
    switches = disabled_switches(await repo.switches(session))
    keys: set[tuple[str, str | None]] = {(name.value, None) for name in ProviderName}
    keys |= set(figures)
    keys |= {(p, b or None) for p, b in breakers}
    keys |= {(p, b or None) for p, b in switches}
    return [
        _health(provider, biller, figures.get((provider, biller)), breakers, switches)
        for provider, biller in sorted(keys, key=lambda key: (key[0], key[1] or ""))
    ]


def _health(
    provider: str,
    biller: str | None,
    figures: OutcomeFigures | None,
    breakers: dict[tuple[str, str], BreakerView],
    switches: dict[tuple[str, str], Disabled],
) -> ProviderHealth:
    succeeded = figures.succeeded if figures else 0
    failed = figures.failed if figures else 0
    unknown = figures.unknown if figures else 0
    attempts = succeeded + failed + unknown
    breaker = breakers.get((provider, biller or OVERALL)) or closed(provider, biller or OVERALL)
    off = disabled_for(switches, provider, biller)
    return ProviderHealth(
        provider=provider,
        biller=biller,
        attempts=attempts,
        succeeded=succeeded,
        failed=failed,
        unknown=unknown,
        success_rate=_rate(succeeded, attempts),
        failure_rate=_rate(failed, attempts),
        unknown_rate=_rate(unknown, attempts),
        latency_p50_ms=figures.latency_p50_ms if figures else None,
        latency_p95_ms=figures.latency_p95_ms if figures else None,
        breaker_state=breaker.state.value,
        breaker_reason=breaker.reason,
        breaker_since=breaker.since,
        disabled=off is not None,
        disabled_reason=off.describe() if off else None,
    )


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None

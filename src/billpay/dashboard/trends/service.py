"""The Charts page's figures: payments by bill type and attempts by provider, per time bucket,
with the overview's definitions of success. Never commits."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from billpay.dashboard.trends import repository as repo
from billpay.dashboard.trends.charts import (
    Buckets,
    LineChart,
    Measure,
    Series,
    buckets_for,
    in_buckets,
    line_chart,
    step_label,
)
from billpay.ops.service import bill_type_stats
from billpay.payments.attempts.outcome import AttemptOutcome
from billpay.providers.base import BillType, ProviderName

# An attempt's success rate, as on the overview: succeeded ÷ those with an answer.
ANSWERED = frozenset({AttemptOutcome.SUCCEEDED, AttemptOutcome.FAILED, AttemptOutcome.UNKNOWN})

Counts = dict[str, dict[datetime, dict[str, int]]]  # key → bucket → status/outcome → count
PerKey = Mapping[str, Mapping[datetime, float]]  # key → bucket → value


@dataclass(frozen=True)
class Trends:
    window_hours: float
    buckets: Buckets
    step: str  # "hour", "15 min"
    by_bill_type: tuple[LineChart, ...]
    by_provider: tuple[LineChart, ...]


async def trends(session: AsyncSession, window: timedelta) -> Trends:
    now = datetime.now(UTC)
    buckets = buckets_for(now - window, now)
    span = (session, buckets.first, buckets.end, buckets.step)
    payments = _counts(await repo.payments_per_bucket(*span))
    attempts = _counts(await repo.attempts_per_bucket(*span))
    latency = await repo.latency_per_bucket(*span)
    return Trends(
        window_hours=window.total_seconds() / 3600,
        buckets=buckets,
        step=step_label(buckets.step),
        by_bill_type=bill_type_charts(buckets, payments),
        by_provider=provider_charts(buckets, attempts, latency),
    )


def _counts(rows: Iterable[tuple[datetime, str, str, int]]) -> Counts:
    counts: Counts = defaultdict(lambda: defaultdict(dict))
    for bucket, key, status, count in rows:
        counts[key][bucket][status] = count
    return counts


def bill_type_charts(buckets: Buckets, payments: Counts) -> tuple[LineChart, ...]:
    keys = _ordered(payments, [b.value for b in BillType])
    volume = [_series(buckets, key, slot, _totals(payments[key]), 0.0) for key, slot in keys]
    success = [
        _series(buckets, key, slot, _bill_type_success(key, payments[key]), None)
        for key, slot in keys
    ]
    return (
        line_chart("Payments by bill type", "payments", Measure.COUNT, buckets, volume),
        line_chart("Success rate by bill type", "success rate", Measure.RATE, buckets, success),
    )


def provider_charts(
    buckets: Buckets, attempts: Counts, latency: Sequence[tuple[datetime, str, float, float]]
) -> tuple[LineChart, ...]:
    p50: dict[str, dict[datetime, float]] = defaultdict(dict)
    p95: dict[str, dict[datetime, float]] = defaultdict(dict)
    for bucket, provider, median, tail in latency:
        p50[provider][bucket], p95[provider][bucket] = median, tail
    keys = _ordered({**attempts, **p50}, [p.value for p in ProviderName])

    def lines(
        values: Mapping[str, Mapping[datetime, float]], missing: float | None
    ) -> list[Series]:
        return [_series(buckets, key, slot, values.get(key, {}), missing) for key, slot in keys]

    totals = {key: _totals(attempts.get(key, {})) for key, _ in keys}
    success = {key: _provider_success(attempts.get(key, {})) for key, _ in keys}
    return (
        line_chart("Attempts by provider", "attempts", Measure.COUNT, buckets, lines(totals, 0.0)),
        line_chart(
            "Success rate by provider", "success rate", Measure.RATE, buckets, lines(success, None)
        ),
        line_chart(
            "Median latency by provider",
            "p50 latency (ms)",
            Measure.MILLISECONDS,
            buckets,
            lines(p50, None),
        ),
        line_chart(
            "p95 latency by provider",
            "p95 latency (ms)",
            Measure.MILLISECONDS,
            buckets,
            lines(p95, None),
        ),
    )


def _ordered(found: Mapping[str, object], known: Sequence[str]) -> list[tuple[str, int]]:
    """The keys with data, each with its palette slot: known ones in their fixed order (the
    same colour whatever the window shows), then any others by name."""
    others = sorted(set(found) - set(known))
    slots = {key: slot for slot, key in enumerate([*known, *others])}
    return [(key, slots[key]) for key in [*known, *others] if key in found]


def _series(
    buckets: Buckets, key: str, slot: int, values: Mapping[datetime, float], missing: float | None
) -> Series:
    return Series(
        key=key,
        label=key.replace("_", " "),
        values=in_buckets(buckets, values, missing),
        slot=slot,
    )


def _totals(per_bucket: Mapping[datetime, Mapping[str, int]]) -> dict[datetime, float]:
    return {bucket: float(sum(counts.values())) for bucket, counts in per_bucket.items()}


def _bill_type_success(
    bill_type: str, per_bucket: Mapping[datetime, Mapping[str, int]]
) -> dict[datetime, float]:
    """Paid ÷ decided (paid, not delivered, in review), as the overview counts it."""
    rates = {}
    for bucket, counts in per_bucket.items():
        [stats] = bill_type_stats((bill_type, status, n) for status, n in counts.items())
        if stats.success_rate is not None:
            rates[bucket] = stats.success_rate
    return rates


def _provider_success(per_bucket: Mapping[datetime, Mapping[str, int]]) -> dict[datetime, float]:
    rates = {}
    for bucket, counts in per_bucket.items():
        answered = sum(n for outcome, n in counts.items() if outcome in ANSWERED)
        if answered:
            rates[bucket] = counts.get(AttemptOutcome.SUCCEEDED, 0) / answered
    return rates

"""Prometheus gauges of provider health, set from ``routing.health`` at each scrape, so
``/metrics`` says what the API, the dashboard and every worker see."""

from __future__ import annotations

from datetime import timedelta

from prometheus_client import Gauge
from sqlalchemy.ext.asyncio import AsyncSession

from billpay.routing.breaker import BreakerState
from billpay.routing.health import ProviderHealth, provider_health

LABELS = ["provider", "biller"]  # biller "" = the provider overall
RATES = Gauge(
    "billpay_provider_rate",
    "Share of a provider's recent attempts by kind: success, failure (definite and transport), "
    "unknown (pending answers, not counted against it)",
    [*LABELS, "kind"],
)
ATTEMPTS = Gauge("billpay_provider_attempts", "Attempts in the health window", LABELS)
LATENCY = Gauge(
    "billpay_provider_latency_ms", "Recent attempt latency by quantile", [*LABELS, "quantile"]
)
BREAKER = Gauge(
    "billpay_provider_breaker_state",
    "1 for the breaker's current state (closed, open, half_open), 0 for the others",
    [*LABELS, "state"],
)
DISABLED = Gauge("billpay_provider_disabled", "1 while an operator has switched it off", LABELS)
GAUGES = (RATES, ATTEMPTS, LATENCY, BREAKER, DISABLED)


async def refresh(session: AsyncSession, window: timedelta) -> None:
    rows = await provider_health(session, window=window)
    for gauge in GAUGES:
        gauge.clear()  # a provider×biller gone from the window leaves no stale series
    for row in rows:
        _set(row)


def _set(row: ProviderHealth) -> None:
    labels = (row.provider, row.biller or "")
    ATTEMPTS.labels(*labels).set(row.attempts)
    for kind, rate in (
        ("success", row.success_rate),
        ("failure", row.failure_rate),
        ("unknown", row.unknown_rate),
    ):
        if rate is not None:
            RATES.labels(*labels, kind).set(rate)
    for quantile, latency in (("0.5", row.latency_p50_ms), ("0.95", row.latency_p95_ms)):
        if latency is not None:
            LATENCY.labels(*labels, quantile).set(latency)
    for state in BreakerState:
        BREAKER.labels(*labels, state.value).set(1 if row.breaker_state == state.value else 0)
    DISABLED.labels(*labels).set(1 if row.disabled else 0)

"""Prometheus metrics of the payment path (DESIGN §6)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

from billpay.providers.base import VendResult

PROVIDER_CALLS = Counter(
    "billpay_provider_calls_total",
    "Provider calls by provider, kind (pay/requery) and outcome",
    ["provider", "kind", "outcome"],
)
PROVIDER_LATENCY = Histogram(
    "billpay_provider_call_seconds",
    "Provider call latency",
    ["provider", "kind"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
PAYMENTS_BY_STATUS = Gauge(
    "billpay_payments",
    "Payments by status, bill type and provider",
    ["status", "bill_type", "provider"],
)
QUEUE_DEPTH = Gauge("billpay_queue_depth", "Payments due for work now")
OLDEST_UNRESOLVED_SECONDS = Gauge(
    "billpay_oldest_unresolved_payment_seconds",
    "Age of the oldest payment not yet paid, refunded, failed or expired",
)


def observe_provider_call(
    provider: str, is_requery: bool, result: VendResult, seconds: float
) -> None:
    kind = "requery" if is_requery else "pay"
    PROVIDER_CALLS.labels(provider, kind, result.outcome.value).inc()
    PROVIDER_LATENCY.labels(provider, kind).observe(seconds)

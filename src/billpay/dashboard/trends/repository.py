"""SQL behind the Charts page: payments and attempts counted per time bucket.

Each row's bucket is ``date_bin(step, created_at, ORIGIN)``, the start of the bucket it was
created in, on the same grid as ``charts.Buckets``; buckets with no rows are simply absent.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import ColumnElement, DateTime, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.types import Interval

from billpay.dashboard.trends.charts import ORIGIN
from billpay.models import Payment, PaymentAttempt


def _bucket(column: InstrumentedAttribute[datetime], step: timedelta) -> ColumnElement[datetime]:
    return func.date_bin(
        literal(step, Interval()),
        column,
        literal(ORIGIN, DateTime(timezone=True)),
        type_=DateTime(timezone=True),
    )


async def payments_per_bucket(
    session: AsyncSession, start: datetime, end: datetime, step: timedelta
) -> list[tuple[datetime, str, str, int]]:
    """(bucket, bill type, status, payments) of live payments created in [start, end) (test
    mode's are not business)."""
    bucket = _bucket(Payment.created_at, step).label("bucket")
    rows = await session.execute(
        select(bucket, Payment.bill_type, Payment.status, func.count())
        .where(Payment.created_at >= start, Payment.created_at < end, Payment.livemode)
        .group_by(bucket, Payment.bill_type, Payment.status)
    )
    return [(at, bill_type, status, int(count)) for at, bill_type, status, count in rows]


async def attempts_per_bucket(
    session: AsyncSession, start: datetime, end: datetime, step: timedelta
) -> list[tuple[datetime, str, str, int]]:
    """(bucket, provider, outcome, attempts) of attempts created in [start, end)."""
    bucket = _bucket(PaymentAttempt.created_at, step).label("bucket")
    rows = await session.execute(
        select(bucket, PaymentAttempt.provider, PaymentAttempt.outcome, func.count())
        .where(PaymentAttempt.created_at >= start, PaymentAttempt.created_at < end)
        .group_by(bucket, PaymentAttempt.provider, PaymentAttempt.outcome)
    )
    return [(at, provider, outcome, int(count)) for at, provider, outcome, count in rows]


async def latency_per_bucket(
    session: AsyncSession, start: datetime, end: datetime, step: timedelta
) -> list[tuple[datetime, str, float, float]]:
    """(bucket, provider, p50, p95) of the last call's latency of attempts created in
    [start, end), where one was measured."""
    latency = PaymentAttempt.last_latency_ms
    bucket = _bucket(PaymentAttempt.created_at, step).label("bucket")
    rows = await session.execute(
        select(
            bucket,
            PaymentAttempt.provider,
            func.percentile_cont(0.5).within_group(latency),
            func.percentile_cont(0.95).within_group(latency),
        )
        .where(
            PaymentAttempt.created_at >= start,
            PaymentAttempt.created_at < end,
            latency.is_not(None),
        )
        .group_by(bucket, PaymentAttempt.provider)
    )
    return [(at, provider, _float(p50), _float(p95)) for at, provider, p50, p95 in rows]


def _float(value: float | Decimal) -> float:
    return float(value)

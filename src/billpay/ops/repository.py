"""SQL behind the operator views: the seed's monitoring queries, payment search, stuck payments.

The per-provider attempt figures live with the attempts (``payments.attempts.repository``).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from billpay.models import Payment, PaymentAttempt, PaymentEvent


@dataclass(frozen=True)
class PaymentFilters:
    status: str | None = None
    bill_type: str | None = None
    provider: str | None = None  # any attempt with this provider
    biller: str | None = None
    search: str | None = None  # reference, short id, id, or a provider's reference / txn id


async def count_by_status(session: AsyncSession, since: datetime) -> dict[str, int]:
    """The seed's "active payments": live payments created since ``since``, by status (test
    mode's are not business)."""
    rows = await session.execute(
        select(Payment.status, func.count())
        .where(Payment.created_at >= since, Payment.livemode)
        .group_by(Payment.status)
    )
    return {status: int(count) for status, count in rows}


async def count_by_bill_type_and_status(
    session: AsyncSession, since: datetime
) -> list[tuple[str, str, int]]:
    rows = await session.execute(
        select(Payment.bill_type, Payment.status, func.count())
        .where(Payment.created_at >= since, Payment.livemode)
        .group_by(Payment.bill_type, Payment.status)
    )
    return [(bill_type, status, int(count)) for bill_type, status, count in rows]


def _status_since() -> ColumnElement[datetime]:
    """When the payment entered its current status (its latest event into it)."""
    entered = (
        select(func.max(PaymentEvent.at))
        .where(PaymentEvent.payment_id == Payment.id, PaymentEvent.to_status == Payment.status)
        .correlate(Payment)
        .scalar_subquery()
    )
    return func.coalesce(entered, Payment.updated_at)


async def in_status_before(
    session: AsyncSession, status: str, cutoff: datetime | None, limit: int
) -> tuple[list[tuple[Payment, datetime]], int]:
    """Payments in ``status`` since before ``cutoff`` (any time when None), oldest first, and
    how many there are in all."""
    since = _status_since().label("status_since")
    conditions: list[ColumnElement[bool]] = [Payment.status == status]
    if cutoff is not None:
        conditions.append(since < cutoff)
    rows = await session.execute(
        select(Payment, since).where(*conditions).order_by(since, Payment.id).limit(limit)
    )
    total = await session.scalar(select(func.count()).select_from(Payment).where(*conditions))
    return [(payment, entered) for payment, entered in rows], int(total or 0)


async def oldest_in(
    session: AsyncSession, statuses: Collection[str]
) -> tuple[uuid.UUID, datetime] | None:
    row = (
        await session.execute(
            select(Payment.id, Payment.created_at)
            .where(Payment.status.in_(list(statuses)))
            .order_by(Payment.created_at, Payment.id)
            .limit(1)
        )
    ).first()
    return (row[0], row[1]) if row is not None else None


async def search_payments(
    session: AsyncSession,
    filters: PaymentFilters,
    *,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> list[Payment]:
    """All clients' payments, newest first, keyset-paginated on (created_at, id)."""
    query = select(Payment).order_by(Payment.created_at.desc(), Payment.id.desc()).limit(limit)
    if after is not None:
        created_at, last_id = after
        query = query.where(
            (Payment.created_at < created_at)
            | ((Payment.created_at == created_at) & (Payment.id < last_id))
        )
    for column, value in (
        (Payment.status, filters.status),
        (Payment.bill_type, filters.bill_type),
        (Payment.biller, filters.biller),
    ):
        if value is not None:
            query = query.where(column == value)
    if filters.provider is not None:
        query = query.where(
            exists().where(
                PaymentAttempt.payment_id == Payment.id,
                PaymentAttempt.provider == filters.provider,
            )
        )
    if filters.search:
        query = query.where(_matches(filters.search))
    return list((await session.scalars(query)).all())


def _matches(search: str) -> ColumnElement[bool]:
    by_provider_reference = exists().where(
        PaymentAttempt.payment_id == Payment.id,
        or_(
            PaymentAttempt.provider_reference == search,
            PaymentAttempt.provider_transaction_id == search,
        ),
    )
    conditions: list[ColumnElement[bool]] = [
        Payment.request_reference.icontains(search, autoescape=True),
        func.lower(Payment.short_id) == search.lower(),
        Payment.provider_transaction_id == search,
        by_provider_reference,
    ]
    with contextlib.suppress(ValueError):
        conditions.append(Payment.id == uuid.UUID(search))
    return or_(*conditions)

"""Every statement on ``payment_attempts``.

The worker's statements are its hot path and run straight on asyncpg (``billpay.db.raw``);
the payment detail page and the operators' provider figures read through SQLAlchemy.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from billpay.db import raw
from billpay.models import PaymentAttempt
from billpay.models.tables import ATTEMPTS
from billpay.payments.attempts.outcome import AttemptOutcome

# What a new attempt is written with; the rest starts at the columns' defaults.
_INSERTED_COLUMNS = (
    "id",
    "payment_id",
    "number",
    "provider",
    "provider_reference",
    "route_reason",
    "outcome",
    "amount_kobo",
)


# --- the worker ------------------------------------------------------------------------------


async def insert(session: AsyncSession, attempt: PaymentAttempt) -> bool:
    """False when another attempt already holds this provider reference (nothing written, and
    the transaction stays usable)."""
    return attempt.id in await insert_many(session, [attempt])


async def update(session: AsyncSession, attempt_id: uuid.UUID, values: dict[str, Any]) -> None:
    """Record an attempt's outcome and the evidence behind it (``values`` are its columns)."""
    assignments, args = raw.set_clause(ATTEMPTS, values, first=2)
    await (await raw.connection(session)).execute(
        f"UPDATE payment_attempts SET {assignments} WHERE id = $1",  # noqa: S608 -- column names from the table
        attempt_id,
        *args,
    )


async def latest(session: AsyncSession, payment_id: uuid.UUID) -> PaymentAttempt | None:
    return await session.scalar(
        select(PaymentAttempt)
        .where(PaymentAttempt.payment_id == payment_id)
        .order_by(PaymentAttempt.number.desc())
        .limit(1)
        .execution_options(populate_existing=True)
    )


async def providers_tried(session: AsyncSession, payment_id: uuid.UUID) -> list[str]:
    """Providers of this payment's attempts, in attempt order."""
    rows = await session.scalars(
        select(PaymentAttempt.provider)
        .where(PaymentAttempt.payment_id == payment_id)
        .order_by(PaymentAttempt.number)
    )
    return list(rows.all())


async def cost_of(session: AsyncSession, payment_id: uuid.UUID, provider: str) -> int | None:
    """What ``provider`` was asked to take for this payment (one attempt per provider), or
    None when the attempt predates that record."""
    cost: int | None = await session.scalar(
        select(PaymentAttempt.amount_kobo).where(
            PaymentAttempt.payment_id == payment_id, PaymentAttempt.provider == provider
        )
    )
    return cost


# --- the payment detail page -----------------------------------------------------------------


async def of_payment(session: AsyncSession, payment_id: uuid.UUID) -> list[PaymentAttempt]:
    """A payment's attempts by number."""
    return list(
        (
            await session.scalars(
                select(PaymentAttempt)
                .where(PaymentAttempt.payment_id == payment_id)
                .order_by(PaymentAttempt.number)
            )
        ).all()
    )


# --- the operators' provider figures ---------------------------------------------------------


async def outcome_counts(
    session: AsyncSession, since: datetime, *, by_activity: bool = False
) -> list[tuple[str, str, int]]:
    """(provider, outcome, attempts) for attempts created since ``since`` — or, ``by_activity``,
    touched since then (a send, a requery, a verdict)."""
    column = PaymentAttempt.updated_at if by_activity else PaymentAttempt.created_at
    rows = await session.execute(
        select(PaymentAttempt.provider, PaymentAttempt.outcome, func.count())
        .where(column >= since)
        .group_by(PaymentAttempt.provider, PaymentAttempt.outcome)
    )
    return [(provider, outcome, int(count)) for provider, outcome, count in rows]


async def latency_percentiles(
    session: AsyncSession, since: datetime
) -> dict[str, tuple[float | None, float | None]]:
    """provider → (p50, p95) of the last call's latency of attempts created since ``since``."""
    latency = PaymentAttempt.last_latency_ms
    rows = await session.execute(
        select(
            PaymentAttempt.provider,
            func.percentile_cont(0.5).within_group(latency),
            func.percentile_cont(0.95).within_group(latency),
        )
        .where(PaymentAttempt.created_at >= since, latency.is_not(None))
        .group_by(PaymentAttempt.provider)
    )
    return {provider: (_float(p50), _float(p95)) for provider, p50, p95 in rows}


async def provider_activity(
    session: AsyncSession, since: datetime
) -> dict[str, tuple[datetime | None, datetime | None]]:
    """provider → (last attempt activity, last success), over attempts touched since ``since``."""
    succeeded = PaymentAttempt.outcome == AttemptOutcome.SUCCEEDED
    rows = await session.execute(
        select(
            PaymentAttempt.provider,
            func.max(PaymentAttempt.updated_at),
            func.max(PaymentAttempt.finished_at).filter(succeeded),
        )
        .where(PaymentAttempt.updated_at >= since)
        .group_by(PaymentAttempt.provider)
    )
    return {provider: (last, success) for provider, last, success in rows}


def _float(value: float | Decimal | None) -> float | None:
    return None if value is None else float(value)


# --- the worker's batches --------------------------------------------------------------------

_UPDATE_FINISHED = """
    UPDATE payment_attempts AS a SET
        sends = coalesce(d.sends, a.sends), requeries = coalesce(d.requeries, a.requeries),
        provider_status = d.provider_status, provider_transaction_id = d.provider_transaction_id,
        last_error = d.last_error, request = d.request::jsonb, response = d.response::jsonb,
        last_latency_ms = d.last_latency_ms, outcome = d.outcome, finished_at = d.finished_at,
        updated_at = now()
    FROM unnest($1::uuid[], $2::int[], $3::int[], $4::varchar[], $5::varchar[], $6::varchar[],
                $7::text[], $8::text[], $9::int[], $10::varchar[], $11::timestamptz[])
        AS d(id, sends, requeries, provider_status, provider_transaction_id, last_error,
             request, response, last_latency_ms, outcome, finished_at)
    WHERE a.id = d.id
"""


async def update_many(session: AsyncSession, evidence: dict[uuid.UUID, dict[str, Any]]) -> None:
    """``update`` for many attempts (attempt id → its evidence) in one statement. Each
    evidence has the columns an answer writes (``worker.processor._evidence``, outcome and
    finish included); of ``sends`` and ``requeries`` only the one it counts."""
    ids = list(evidence)
    rows = [evidence[attempt_id] for attempt_id in ids]
    await (await raw.connection(session)).execute(
        _UPDATE_FINISHED,
        ids,
        [row.get("sends") for row in rows],
        [row.get("requeries") for row in rows],
        [row["provider_status"] for row in rows],
        [row["provider_transaction_id"] for row in rows],
        [row["last_error"] for row in rows],
        [raw.jsonb(row["request"]) for row in rows],
        [raw.jsonb(row["response"]) for row in rows],
        [row["last_latency_ms"] for row in rows],
        [str(row["outcome"]) for row in rows],
        [row.get("finished_at") for row in rows],
    )


_INSERT_MANY = """
    INSERT INTO payment_attempts
        (id, payment_id, number, provider, provider_reference, route_reason, outcome, amount_kobo)
    SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::varchar[], $5::varchar[],
                         $6::varchar[], $7::varchar[], $8::bigint[])
    ON CONFLICT ON CONSTRAINT uq_attempts_provider_reference DO NOTHING
    RETURNING id
"""


async def insert_many(session: AsyncSession, attempts: list[PaymentAttempt]) -> set[uuid.UUID]:
    """``insert`` for many attempts in one statement; the ids of those written (one whose
    reference another attempt holds is not, and needs another draw)."""
    rows = await (await raw.connection(session)).fetch(
        _INSERT_MANY,
        *([getattr(attempt, column) for attempt in attempts] for column in _INSERTED_COLUMNS),
    )
    return {row["id"] for row in rows}

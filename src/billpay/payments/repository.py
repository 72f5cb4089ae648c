"""SQL for payments and their events (attempts: ``payments.attempts.repository``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from billpay.db import raw
from billpay.models import Payment, PaymentEvent
from billpay.models.tables import PAYMENTS

WORK_CHANNEL = "billpay_work"
# Wakes the worker's periodic jobs (an inbound webhook to process, a refund to chase).
JOBS_CHANNEL = "billpay_jobs"


async def insert_if_new(
    session: AsyncSession, values: dict[str, Any], *, wake: bool = False
) -> Payment | None:
    """Insert unless ``(client_id, request_reference)`` exists; a concurrent twin waits, skips.

    Returns the new row as a detached ``Payment`` (database defaults filled in), so the
    caller needs no second read. With ``wake``, an inserted row also wakes the workers when
    the transaction commits (``wake_workers`` without its own round trip).
    """
    columns, args = raw.insert_clause(PAYMENTS, values)
    insert = (
        f"INSERT INTO payments {columns} "
        "ON CONFLICT ON CONSTRAINT uq_payments_client_reference DO NOTHING RETURNING *"
    )
    if wake:
        insert = (
            f"WITH inserted AS ({insert}) SELECT inserted.* FROM inserted "  # noqa: S608 -- a constant
            f"CROSS JOIN LATERAL (SELECT pg_notify('{WORK_CHANNEL}', '')) AS woken"
        )
    row = await (await raw.connection(session)).fetchrow(insert, *args)
    return None if row is None else Payment(**dict(row.items()))


async def reference_exists(
    session: AsyncSession, client_id: uuid.UUID, request_reference: str
) -> bool:
    found = await (await raw.connection(session)).fetchval(
        "SELECT 1 FROM payments WHERE client_id = $1 AND request_reference = $2",
        client_id,
        request_reference,
    )
    return found is not None


async def snapshot(session: AsyncSession, payment_id: uuid.UUID) -> Payment | None:
    """The row as a detached ``Payment``: for readers that change it only through conditional
    statements (the worker), without the ORM's per-row bookkeeping."""
    row = await (await raw.connection(session)).fetchrow(
        "SELECT * FROM payments WHERE id = $1", payment_id
    )
    return None if row is None else Payment(**dict(row.items()))


async def get(session: AsyncSession, payment_id: uuid.UUID) -> Payment | None:
    return await session.get(Payment, payment_id, populate_existing=True)


async def get_for_client(
    session: AsyncSession, client_id: uuid.UUID, payment_id: uuid.UUID
) -> Payment | None:
    return await session.scalar(
        select(Payment).where(Payment.id == payment_id, Payment.client_id == client_id)
    )


async def get_by_reference(
    session: AsyncSession, client_id: uuid.UUID, request_reference: str
) -> Payment | None:
    return await session.scalar(
        select(Payment)
        .where(Payment.client_id == client_id, Payment.request_reference == request_reference)
        .execution_options(populate_existing=True)
    )


async def list_for_client(
    session: AsyncSession,
    client_id: uuid.UUID | None,
    *,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
    status: str | None,
    bill_type: str | None,
    biller: str | None,
) -> list[Payment]:
    """Newest first; keyset pagination on (created_at, id) so pages never shift."""
    query = select(Payment).order_by(Payment.created_at.desc(), Payment.id.desc()).limit(limit)
    if client_id is not None:
        query = query.where(Payment.client_id == client_id)
    if after is not None:
        created_at, last_id = after
        query = query.where(
            (Payment.created_at < created_at)
            | ((Payment.created_at == created_at) & (Payment.id < last_id))
        )
    for column, value in (
        (Payment.status, status),
        (Payment.bill_type, bill_type),
        (Payment.biller, biller),
    ):
        if value is not None:
            query = query.where(column == value)
    return list((await session.scalars(query)).all())


async def events_of(session: AsyncSession, payment_id: uuid.UUID) -> list[PaymentEvent]:
    return list(
        (
            await session.scalars(
                select(PaymentEvent)
                .where(PaymentEvent.payment_id == payment_id)
                .order_by(PaymentEvent.id)
            )
        ).all()
    )


async def wake_workers(session: AsyncSession) -> None:
    """Delivered to listening workers when the surrounding transaction commits."""
    await (await raw.connection(session)).execute(f"NOTIFY {WORK_CHANNEL}")


async def wake_jobs(session: AsyncSession) -> None:
    """Run the workers' periodic jobs now rather than on their next beat (after commit)."""
    await (await raw.connection(session)).execute(f"NOTIFY {JOBS_CHANNEL}")


async def set_fields(session: AsyncSession, payment_id: uuid.UUID, fields: dict[str, Any]) -> None:
    """Non-status columns only: ``status`` belongs to ``lifecycle``."""
    assert "status" not in fields
    assignments, args = raw.set_clause(PAYMENTS, fields, first=2)
    await (await raw.connection(session)).execute(
        f"UPDATE payments SET {assignments} WHERE id = $1",  # noqa: S608 -- column names from the table
        payment_id,
        *args,
    )

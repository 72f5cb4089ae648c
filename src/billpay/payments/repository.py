"""SQL for payments and their events (attempts: ``payments.attempts.repository``)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Final

import asyncpg
from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from billpay.customers.repository import client_choice_cte
from billpay.db import raw
from billpay.ledger.repository import reserve_ctes
from billpay.models import Payment, PaymentEvent
from billpay.models.tables import PAYMENTS
from billpay.outbox.repository import queue_for_created, wake_if_queued
from billpay.payments.attempts.calls import validations_cte
from billpay.payments.lifecycle import created_event_cte

WORK_CHANNEL = "billpay_work"
# Wakes the worker's periodic jobs (an inbound webhook to process, a refund to chase).
JOBS_CHANNEL = "billpay_jobs"


async def insert_if_new(session: AsyncSession, values: dict[str, Any]) -> Payment | None:
    """Insert unless ``(client_id, request_reference)`` exists; a concurrent twin waits, skips.

    Returns the new row as a detached ``Payment`` (database defaults filled in), so the
    caller needs no second read.
    """
    columns, args = raw.insert_clause(PAYMENTS, values)
    row = await (await raw.connection(session)).fetchrow(
        f"INSERT INTO payments {columns} "
        "ON CONFLICT ON CONSTRAINT uq_payments_client_reference DO NOTHING RETURNING *",
        *args,
    )
    return None if row is None else Payment(**dict(row.items()))


# Every column of a payment, named once: ``insert_reserved``'s row carries more than these.
_PAYMENT_FIELDS: Final = tuple(PAYMENTS.c.keys())
# The columns ``insert_reserved`` writes; the rest are the table's defaults.
CREATED_COLUMNS: Final = (
    "id",
    "short_id",
    "client_id",
    "request_reference",
    "request_fingerprint",
    "bill_type",
    "biller",
    "plan",
    "plan_name",
    "customer_id",
    "customer_name",
    "phone",
    "email",
    "meter_type",
    "subscription_type",
    "validity_days",
    "amount_kobo",
    "fee_kobo",
    "total_kobo",
    "funding_method",
    "livemode",
    "status",
    "next_run_at",
    "deadline_at",
)


@dataclass(frozen=True)
class Reserved:
    """What the statement that creates a balance payment writes besides the payment."""

    event_reason: str
    created_channels: list[str]  # the channels its creation event may owe a message on
    accounts: dict[str, int]  # ``ledger.service.reserve_accounts``
    choice_network: str | None  # the client's explicit network for the number, if any
    choice_evidence: str
    validation_calls: str  # ``calls.calls_json`` of the lookups that vetted it


class BalanceShort(Exception):
    """The merchant's available balance does not cover the payment: nothing was written."""


async def insert_reserved(
    session: AsyncSession, values: dict[str, Any], reserved: Reserved
) -> Payment | None:
    """Create a payment funded from its merchant's balance, in one statement
    (``_reserved_create``): the payment, its creation event and that event's messages, the
    client's network choice, the lookups that vetted it, the posting that holds its total
    and the guarded debit of the balance, and the wake-up of the workers and dispatchers.

    On a session in autocommit (the create route's) it is its own transaction, so the
    merchant's balance row is locked only while Postgres commits it. None when
    ``(client_id, request_reference)`` exists (nothing written); ``BalanceShort`` when the
    balance does not cover the total.
    """
    assert values.keys() == set(CREATED_COLUMNS)
    statement = _reserved_create()
    params = {
        **values,
        "bonus_tokens": [],  # the column's Python default, which a compiled statement skips
        **reserved.accounts,
        "reserve_journal_id": uuid.uuid4(),
        "event_reason": reserved.event_reason,
        "created_channels": reserved.created_channels,
        "choice_network": reserved.choice_network,
        "choice_evidence": reserved.choice_evidence[:300],
        "validation_calls": reserved.validation_calls,
    }
    try:
        row = await (await raw.connection(session)).fetchrow(statement.sql, *statement.args(params))
    except asyncpg.DivisionByZeroError as exc:  # the statement's only division: see below
        raise BalanceShort from exc
    if row is None:
        return None
    return Payment(**{name: row[name] for name in _PAYMENT_FIELDS})


@cache
def _reserved_create() -> raw.Compiled:
    """``insert_reserved``'s statement. Every part hangs off the insert's RETURNING (a
    reference that exists inserts nothing, so nothing else happens); a balance that does not
    cover the total debits no row, and the row's ``total / count`` then aborts it all."""
    payment = (
        pg_insert(PAYMENTS)
        .values({name: bindparam(name, type_=PAYMENTS.c[name].type) for name in CREATED_COLUMNS})
        .on_conflict_do_nothing(constraint="uq_payments_client_reference")
        .returning(*PAYMENTS.c)
        .cte("payment")
    )
    event = created_event_cte(payment)
    entry, debit = reserve_ctes(payment)
    debited = select(func.count()).select_from(debit).scalar_subquery()
    statement = select(
        *payment.c,
        # Per row, so only for a payment inserted (a pseudo-constant WHERE would be tested
        # first, even when the reference existed and nothing was to be debited).
        (payment.c.total_kobo // debited).label("covered"),
        func.pg_notify(WORK_CHANNEL, "").label("woken"),
        wake_if_queued(queue_for_created(event, payment)).label("told"),
    ).add_cte(entry, client_choice_cte(payment), validations_cte(payment))
    return raw.compiled(statement)


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

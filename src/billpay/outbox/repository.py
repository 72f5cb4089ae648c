"""SQL of the outbox: enqueue in the payment's transaction, claim under a lease, record tries."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    DateTime,
    String,
    Text,
    Uuid,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import Select
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import CTE, FromClause

from billpay.db import raw
from billpay.models import BillerPlan, Client, OutboxAttempt, OutboxMessage, Payment
from billpay.payments.schemas import PaymentOut

OUTBOX_CHANNEL = "billpay_outbox"
# How the API writes datetimes (pydantic, UTC): 2026-02-18T10:15:02.123456Z
_ISO_UTC = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'


def _iso_utc(value: ColumnElement[Any]) -> ColumnElement[str]:
    return func.to_char(func.timezone("UTC", value), _ISO_UTC)


def _key(name: str) -> ColumnElement[str]:
    assert name.isidentifier()  # our own field names, never input
    return literal_column(f"'{name}'", Text)


def _object(pairs: Sequence[tuple[str, Any]]) -> ColumnElement[Any]:
    """``jsonb_build_object`` of (key, SQL expression) pairs."""
    return func.jsonb_build_object(*(part for name, value in pairs for part in (_key(name), value)))


def _json_value(column: ColumnElement[Any]) -> ColumnElement[Any]:
    return _iso_utc(column) if isinstance(column.type, DateTime) else column


def _payment_json(payments: FromClause) -> ColumnElement[Any]:
    """The payment exactly as ``GET /v1/payments/{id}`` shows it (its ``PaymentOut`` fields)."""
    fields = [name for name in PaymentOut.model_fields if name != "events"]
    return _object([(name, _json_value(payments.c[name])) for name in fields])


def _notice_json(to_status: ColumnElement[str], payments: FromClause) -> ColumnElement[Any]:
    """What a payer message needs (``PaymentNotice`` fields); the token only when paid."""
    p = payments.c
    biller_name = select(BillerPlan.biller_name).where(BillerPlan.slug == p.plan).scalar_subquery()
    return _object(
        [
            ("outcome", to_status),
            ("bill_type", p.bill_type),
            ("biller_name", func.coalesce(biller_name, p.biller)),
            ("customer_id", p.customer_id),
            ("amount_kobo", p.amount_kobo),
            ("total_kobo", p.total_kobo),
            ("payment_short_id", p.short_id),
            ("plan_name", p.plan_name),
            ("failure_reason", p.failure_reason),
            ("token", case((to_status == "paid", p.token))),
            ("units", p.units),
            ("validity_days", p.validity_days),
            ("refund_kobo", case((to_status == "refunded", p.total_kobo))),
        ]
    )


def _destination(channel: ColumnElement[str], payments: FromClause) -> ColumnElement[Any]:
    """Where a message on ``channel`` goes; NULL when it cannot go (then it gets no row)."""
    return case(
        # A webhook is always signed: without a secret it could never be sent.
        (channel == "webhook", case((Client.webhook_secret.is_not(None), Client.webhook_url))),
        (channel == "email", payments.c.email),
        else_=payments.c.phone,
    )


def _message_columns(
    channel: ColumnElement[str],
    event_id: ColumnElement[int],
    key: ColumnElement[str],
    to_status: ColumnElement[str],
    payments: FromClause,
) -> list[ColumnElement[Any]]:
    """The columns of ``_queue``'s rows: a status change's message on ``channel``, its JSON
    built from ``payments`` (the payment as the change left it)."""
    event = _object(
        [
            ("id", func.concat("evt_", cast(event_id, Text))),
            ("type", func.concat("payment.", to_status)),
            ("created_at", _iso_utc(func.now())),
            ("data", _object([("payment", _payment_json(payments))])),
        ]
    )
    return [
        channel,
        payments.c.id,
        payments.c.client_id,
        event_id,
        func.concat("payment.", to_status),
        _destination(channel, payments),
        case((channel == "webhook", event), else_=_notice_json(to_status, payments)),
        key,
        func.now(),
    ]


def _queue(rows: Select[Any]) -> CTE:
    """Insert ``rows`` (``_message_columns``) as messages; a key already queued is skipped."""
    return (
        pg_insert(OutboxMessage)
        .from_select(
            [
                "channel",
                "payment_id",
                "client_id",
                "event_id",
                "event_type",
                "destination",
                "body",
                "idempotency_key",
                "next_attempt_at",
            ],
            rows,
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(OutboxMessage.id)
        .cte("queued")
    )


def wake_if_queued(queued: CTE) -> ColumnElement[Any]:
    """A scalar that wakes the dispatchers (when its transaction commits) if ``queued`` (a
    ``_queue`` or ``queue_for_created``) queued anything."""
    return select(func.pg_notify(OUTBOX_CHANNEL, "")).select_from(queued).limit(1).scalar_subquery()


@cache
def _enqueue_statement() -> Select[tuple[None]]:
    """One statement: the messages of payment events (each to ``:to_status``), then a wake-up
    if any was new.

    One row per (payment, event, channel, key) in ``:payment_ids``/``:event_ids``/
    ``:channels``/``:keys`` says which channels each status change concerns; a channel without
    a destination (no webhook URL or no secret to sign with, no payer email or phone) gets no
    row. The event JSON is built here, from the payment row as this transaction sees it: the
    payment as it was at that change. The JSON is only built for the rows kept.
    """
    to_status = bindparam("to_status", type_=String)
    channels = (
        func.unnest(
            bindparam("payment_ids", type_=ARRAY(Uuid)),
            bindparam("event_ids", type_=ARRAY(BigInteger)),
            bindparam("channels", type_=ARRAY(String)),
            bindparam("keys", type_=ARRAY(String)),
        )
        .table_valued("payment_id", "event_id", "channel", "key", with_ordinality="n")
        .render_derived(name="ch")
    )
    payments = Payment.__table__
    rows = (
        select(
            *_message_columns(
                channels.c.channel, channels.c.event_id, channels.c.key, to_status, payments
            )
        )
        .select_from(channels)
        .join(payments, payments.c.id == channels.c.payment_id)
        .join(Client, Client.id == payments.c.client_id)
        .where(_destination(channels.c.channel, payments).is_not(None))
        # Ids in the order given (each payment's events in order): the joins may reorder rows,
        # and the dispatcher sends a payment's messages in id order.
        .order_by(channels.c.n)
    )
    return select(wake_if_queued(_queue(rows)))


def queue_for_created(events: CTE, payments: CTE) -> CTE:
    """For the statement that creates a payment: the messages of its creation event
    (``events``: the inserted event's ``id``, ``payment_id`` and ``to_status``; ``payments``:
    the new row) on each channel of ``:created_channels``, keyed as ``enqueue.idempotency_key``
    keys them (``idempotency_key_sql``)."""
    channels = (
        func.unnest(bindparam("created_channels", type_=ARRAY(String)))
        .table_valued("channel")
        .render_derived(name="ch")
    )
    channel = channels.c.channel
    key = idempotency_key_sql(channel, payments.c.id, events.c.id, events.c.to_status)
    rows = (
        select(*_message_columns(channel, events.c.id, key, events.c.to_status, payments))
        .select_from(events)
        .join(payments, payments.c.id == events.c.payment_id)
        .join(channels, true())
        .join(Client, Client.id == payments.c.client_id)
        .where(_destination(channel, payments).is_not(None))
    )
    return _queue(rows)


def idempotency_key_sql(
    channel: ColumnElement[str],
    payment_id: ColumnElement[uuid.UUID],
    event_id: ColumnElement[int],
    to_status: ColumnElement[str],
) -> ColumnElement[str]:
    """``enqueue.idempotency_key`` in SQL, for an event whose id the statement makes."""
    return case(
        (channel == "webhook", func.concat("webhook:", cast(event_id, Text))),
        else_=func.concat(channel, ":", cast(payment_id, Text), ":", to_status),
    )


async def insert_for_events(
    session: AsyncSession, to_status: str, messages: Sequence[tuple[uuid.UUID, int, str, str]]
) -> None:
    """Queue the messages ``(payment id, event id, channel, idempotency key)`` of status
    changes to ``to_status``, in one statement."""
    if not messages:
        return
    statement = raw.compiled(_enqueue_statement())
    params = {
        "to_status": to_status,
        "payment_ids": [payment_id for payment_id, _, _, _ in messages],
        "event_ids": [event_id for _, event_id, _, _ in messages],
        "channels": [channel for _, _, channel, _ in messages],
        "keys": [key for _, _, _, key in messages],
    }
    await (await raw.connection(session)).execute(statement.sql, *statement.args(params))


async def insert_for_alert(
    session: AsyncSession,
    alert_id: int,
    event_type: str,
    messages: Sequence[tuple[str, str, dict[str, Any], str]],
) -> None:
    """Queue an operator alert's messages, each ``(channel, destination, body, key)``; a key
    already queued is skipped (the incident is told once per change). Wakes the dispatchers
    when the transaction commits."""
    if not messages:
        return
    await session.execute(
        pg_insert(OutboxMessage)
        .values(
            [
                {
                    "channel": channel,
                    "alert_id": alert_id,
                    "event_id": alert_id,
                    "event_type": event_type,
                    "destination": destination,
                    "body": body,
                    "idempotency_key": key,
                    "next_attempt_at": func.now(),
                }
                for channel, destination, body, key in messages
            ]
        )
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
    )
    await wake_dispatchers(session)


@dataclass(frozen=True)
class ClaimedMessage:
    """A message a dispatcher holds until ``claim_id`` is released by recording a result."""

    id: int
    claim_id: uuid.UUID
    channel: str
    payment_id: uuid.UUID | None  # None for an operator alert's message
    alert_id: int | None
    event_type: str
    destination: str
    body: dict[str, Any]
    idempotency_key: str
    attempt: int  # this try's number in the current delivery round, from 1
    first_attempt_at: datetime
    signing_secrets: tuple[str, ...]  # the client's current then previous webhook secret
    # (none for an alert: the dispatcher signs those with the operators' alert secret)


# A message is claimable when due and when no earlier message of its payment (or of its alert
# incident) on its channel is still pending: events reach each destination in order. Each
# check is guarded by its own column (a payment's message has no alert, and the reverse) and
# stays a per-row probe of a partial index, whatever the planner's statistics say: a backlog
# planned as a join of every pending row with every other one cost seconds per call.
_NOTHING_EARLIER_PENDING = """
    (o.payment_id IS NULL OR NOT EXISTS (
        SELECT 1 FROM outbox_messages AS earlier
        WHERE earlier.payment_id = o.payment_id AND earlier.channel = o.channel
          AND earlier.status = 'pending' AND earlier.id < o.id
    ))
    AND (o.alert_id IS NULL OR NOT EXISTS (
        SELECT 1 FROM outbox_messages AS earlier
        WHERE earlier.alert_id = o.alert_id AND earlier.channel = o.channel
          AND earlier.status = 'pending' AND earlier.id < o.id
    ))
"""

_CLAIM = text(
    f"""
    UPDATE outbox_messages AS m
    SET claim_id = :claim_id,
        attempts = m.attempts + 1,
        first_attempt_at = coalesce(m.first_attempt_at, now()),
        next_attempt_at = now() + make_interval(secs => :lease_seconds)
    FROM (
        SELECT o.id FROM outbox_messages AS o
        WHERE o.status = 'pending' AND o.next_attempt_at <= now()
          AND {_NOTHING_EARLIER_PENDING}
        ORDER BY o.next_attempt_at
        LIMIT :limit
        FOR UPDATE OF o SKIP LOCKED
    ) AS due
    WHERE m.id = due.id
    RETURNING m.id, m.channel, m.payment_id, m.alert_id, m.event_type, m.destination, m.body,
              m.idempotency_key, m.attempts, m.first_attempt_at,
              (SELECT c.webhook_secret FROM clients AS c WHERE c.id = m.client_id)
                  AS webhook_secret,
              (SELECT c.webhook_secret_previous FROM clients AS c WHERE c.id = m.client_id)
                  AS webhook_secret_previous
    """  # noqa: S608 -- our own SQL fragment, no input
)

# The first claimable message in due order (a live lease counts: its message is pending).
_SECONDS_UNTIL_NEXT_DUE = text(
    f"""
    SELECT extract(epoch FROM o.next_attempt_at - now())
    FROM outbox_messages AS o
    WHERE o.status = 'pending' AND {_NOTHING_EARLIER_PENDING}
    ORDER BY o.next_attempt_at
    LIMIT 1
    """  # noqa: S608 -- our own SQL fragment, no input
)


async def claim_due(
    session: AsyncSession, claim_id: uuid.UUID, limit: int, lease_seconds: float
) -> list[ClaimedMessage]:
    """Lease up to ``limit`` due messages; two dispatchers never hold the same one."""
    rows = await session.execute(
        _CLAIM, {"claim_id": claim_id, "limit": limit, "lease_seconds": lease_seconds}
    )
    return [
        ClaimedMessage(
            id=row.id,
            claim_id=claim_id,
            channel=row.channel,
            payment_id=row.payment_id,
            alert_id=row.alert_id,
            event_type=row.event_type,
            destination=row.destination,
            body=row.body,
            idempotency_key=row.idempotency_key,
            attempt=row.attempts,
            first_attempt_at=row.first_attempt_at,
            signing_secrets=tuple(
                secret for secret in (row.webhook_secret, row.webhook_secret_previous) if secret
            ),
        )
        for row in rows
    ]


async def seconds_until_next_due(session: AsyncSession) -> float | None:
    """How long until a message that may be sent now falls due (a live lease counts)."""
    value = await session.scalar(_SECONDS_UNTIL_NEXT_DUE)
    return None if value is None else max(0.0, float(value))


@dataclass(frozen=True)
class TryRecord:
    """One try's log line and where it leaves its message."""

    message_id: int
    claim_id: uuid.UUID
    status: str
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    error: str | None
    status_code: int | None
    duration_ms: int


# Every try is logged; a message moves on only if its claim still holds (a lapsed lease was
# re-claimed by another dispatcher, whose result is the one that counts).
_RECORD_TRIES = """
    WITH tried AS (
        SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::varchar[], $4::timestamptz[],
                             $5::timestamptz[], $6::varchar[], $7::int[], $8::int[])
            AS t(id, claim_id, status, next_attempt_at, delivered_at, error, status_code,
                 duration_ms)
    ), logged AS (
        INSERT INTO outbox_attempts (message_id, status_code, error, duration_ms)
        SELECT id, status_code, error, duration_ms FROM tried
    )
    UPDATE outbox_messages AS m
    SET claim_id = NULL, status = t.status, next_attempt_at = t.next_attempt_at,
        delivered_at = t.delivered_at, last_error = t.error
    FROM tried AS t
    WHERE m.id = t.id AND m.claim_id = t.claim_id
    RETURNING m.id
"""


async def record_tries(session: AsyncSession, tries: Sequence[TryRecord]) -> set[int]:
    """Log a batch of tries and release their messages, in one statement; returns the ids of
    the messages whose claim still held."""
    columns = [
        [getattr(tried, name) for tried in tries]
        for name in (
            "message_id",
            "claim_id",
            "status",
            "next_attempt_at",
            "delivered_at",
            "error",
            "status_code",
            "duration_ms",
        )
    ]
    rows = await (await raw.connection(session)).fetch(_RECORD_TRIES, *columns)
    return {row["id"] for row in rows}


async def get_for_update(
    session: AsyncSession, message_id: int, client_id: uuid.UUID | None
) -> OutboxMessage | None:
    query = select(OutboxMessage).where(OutboxMessage.id == message_id)
    if client_id is not None:
        query = query.where(OutboxMessage.client_id == client_id)
    return await session.scalar(query.with_for_update().execution_options(populate_existing=True))


async def set_fields(session: AsyncSession, message_id: int, values: dict[str, Any]) -> None:
    await session.execute(
        update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values)
    )


async def list_messages(
    session: AsyncSession,
    *,
    client_id: uuid.UUID | None,
    channel: str | None,
    payment_id: uuid.UUID | None,
    status: str | None,
    before_id: int | None,
    limit: int,
) -> list[OutboxMessage]:
    """Newest first, keyset-paginated on id."""
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    for column, value in (
        (OutboxMessage.client_id, client_id),
        (OutboxMessage.channel, channel),
        (OutboxMessage.payment_id, payment_id),
        (OutboxMessage.status, status),
    ):
        if value is not None:
            query = query.where(column == value)
    if before_id is not None:
        query = query.where(OutboxMessage.id < before_id)
    return list((await session.scalars(query)).all())


async def attempts_of(
    session: AsyncSession, message_ids: Sequence[int]
) -> dict[int, list[OutboxAttempt]]:
    """Each message's tries, oldest first."""
    rows = await session.scalars(
        select(OutboxAttempt)
        .where(OutboxAttempt.message_id.in_(message_ids))
        .order_by(OutboxAttempt.id)
    )
    attempts: dict[int, list[OutboxAttempt]] = {message_id: [] for message_id in message_ids}
    for attempt in rows:
        attempts[attempt.message_id].append(attempt)
    return attempts


async def wake_dispatchers(session: AsyncSession) -> None:
    """Delivered to listening dispatchers when the surrounding transaction commits."""
    await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": OUTBOX_CHANNEL})


async def client_webhook(session: AsyncSession, client_id: uuid.UUID) -> Client | None:
    return await session.scalar(
        select(Client)
        .where(Client.id == client_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def set_client_webhook(
    session: AsyncSession, client_id: uuid.UUID, values: dict[str, Any]
) -> None:
    await session.execute(update(Client).where(Client.id == client_id).values(**values))


async def redirect_pending_webhooks(
    session: AsyncSession, client_id: uuid.UUID, webhook_url: str
) -> None:
    """Undelivered webhooks go to the client's new URL, not on failing at the old one."""
    await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.client_id == client_id,
            OutboxMessage.channel == "webhook",
            OutboxMessage.status == "pending",
        )
        .values(destination=webhook_url)
    )

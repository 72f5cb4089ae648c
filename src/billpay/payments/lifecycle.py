"""The payment state machine (DESIGN §2). The only code that writes ``payments.status``.

Every move is a conditional ``UPDATE … WHERE status = :from`` plus an append-only event row,
in the caller's transaction. A move outside the table raises ``IllegalTransition``; a move
whose ``from`` no longer holds (someone else moved it first) raises ``StaleTransition``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, bindparam, insert, literal, null, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import CTE

from billpay.db import raw
from billpay.models import PaymentEvent
from billpay.models.tables import PAYMENTS
from billpay.outbox.enqueue import enqueue_for_event, enqueue_for_events
from billpay.payments.status import ALLOWED, FINAL, Status

_INSERT_EVENT = (
    "INSERT INTO payment_events (payment_id, from_status, to_status, reason, actor, data)"
)


class IllegalTransition(Exception):
    def __init__(self, from_status: Status, to_status: Status) -> None:
        super().__init__(f"a payment cannot move from {from_status} to {to_status}")
        self.from_status = from_status
        self.to_status = to_status


class StaleTransition(Exception):
    """The payment was not in ``from_status`` any more: another actor moved it first."""

    def __init__(self, payment_id: uuid.UUID, from_status: Status) -> None:
        super().__init__(f"payment {payment_id} is no longer {from_status}")
        self.payment_id = payment_id
        self.from_status = from_status


def can_move(from_status: Status, to_status: Status) -> bool:
    return to_status in ALLOWED[from_status]


async def transition(
    session: AsyncSession,
    payment_id: uuid.UUID,
    from_status: Status,
    to_status: Status,
    *,
    reason: str,
    actor: str,
    fields: Mapping[str, Any] | None = None,
    data: Mapping[str, Any] | None = None,
) -> None:
    """Move one payment, writing ``fields`` (token, provider, next_run_at…) in the same UPDATE."""
    if not can_move(from_status, to_status):
        raise IllegalTransition(from_status, to_status)
    values: dict[str, Any] = dict(fields or {})
    values["status"] = to_status.value
    if to_status in FINAL or to_status is Status.PAID:
        values.setdefault("completed_at", raw.DB_NOW)
    if to_status in FINAL or to_status in {Status.PAID, Status.NEEDS_REVIEW}:
        values.setdefault("next_run_at", None)
    assignments, args = raw.set_clause(PAYMENTS, values, first=7)
    connection = await raw.connection(session)
    # The move and its event in one statement (one round trip): no row moved, no event.
    event_id = await connection.fetchval(
        f"WITH moved AS (UPDATE payments SET {assignments} "  # noqa: S608 -- column names from the table
        f"WHERE id = $1 AND status = $2 RETURNING id) {_INSERT_EVENT} "
        "SELECT id, $2, $3::varchar, $4::varchar, $5::varchar, $6::jsonb FROM moved RETURNING id",
        payment_id,
        from_status.value,
        to_status.value,
        reason,
        actor,
        _event_data(data),
        *args,
    )
    if event_id is None:
        raise StaleTransition(payment_id, from_status)
    await enqueue_for_event(session, payment_id, event_id, to_status)


async def record_event(
    session: AsyncSession,
    payment_id: uuid.UUID,
    from_status: Status | None,
    to_status: Status,
    reason: str,
    actor: str,
    data: Mapping[str, Any] | None = None,
) -> None:
    connection = await raw.connection(session)
    event_id = await connection.fetchval(
        f"{_INSERT_EVENT} VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        payment_id,
        from_status.value if from_status else None,
        to_status.value,
        reason,
        actor,
        _event_data(data),
    )
    assert event_id is not None
    await enqueue_for_event(session, payment_id, event_id, to_status)


def created_event_cte(payments: CTE) -> CTE:
    """For the statement that creates a payment (``payments``: the CTE returning the new row):
    its first event, from nothing to the status it was inserted in, for ``:event_reason``;
    returns the event's ``id``, ``payment_id`` and ``to_status``."""
    return (
        insert(PaymentEvent)
        .from_select(
            ["payment_id", "from_status", "to_status", "reason", "actor"],
            select(
                payments.c.id,
                null(),
                payments.c.status,
                bindparam("event_reason", type_=String),
                literal("api", String),
            ),
        )
        .returning(PaymentEvent.id, PaymentEvent.payment_id, PaymentEvent.to_status)
        .cte("created_event")
    )


def _event_data(data: Mapping[str, Any] | None) -> str | None:
    return raw.jsonb(dict(data)) if data else None


@dataclass(frozen=True)
class Delivered:
    """A delivery to record on its payment: the fields ``settlement.mark_paid`` writes."""

    payment_id: uuid.UUID
    provider: str
    provider_transaction_id: str | None
    token: str | None
    bonus_tokens: Sequence[str]
    units: str | None
    reason: str


# processing → paid for many payments with their events, in one statement; the lease is let go
# where ``$8`` holds it (as ``worker.repository.release`` does). Bonus tokens travel as JSON
# text: unnest would flatten an array of arrays.
_DELIVER_MANY = """
    WITH d AS (
        SELECT * FROM unnest($1::uuid[], $2::varchar[], $3::varchar[], $4::varchar[],
                             $5::text[], $6::varchar[], $7::varchar[])
            AS d(id, provider, provider_transaction_id, token, bonus_tokens, units, reason)
    ), moved AS (
        UPDATE payments AS p SET
            status = $10, provider = d.provider,
            provider_transaction_id = d.provider_transaction_id, token = d.token,
            bonus_tokens = ARRAY(SELECT jsonb_array_elements_text(d.bonus_tokens::jsonb)),
            units = d.units, completed_at = now(), next_run_at = NULL, updated_at = now(),
            lease_owner = CASE WHEN p.lease_owner = $8 THEN NULL ELSE p.lease_owner END,
            lease_expires_at = CASE WHEN p.lease_owner = $8 THEN NULL ELSE p.lease_expires_at END
        FROM d WHERE p.id = d.id AND p.status = $9
        RETURNING p.id, d.reason
    )
    INSERT INTO payment_events (payment_id, from_status, to_status, reason, actor, data)
    SELECT id, $9, $10, reason, $11, NULL FROM moved
    RETURNING payment_id, id
"""


async def deliver_many(
    session: AsyncSession, deliveries: Sequence[Delivered], *, actor: str, lease_owner: str
) -> dict[uuid.UUID, int]:
    """``transition`` processing → paid, with each delivery's fields, for many payments at once;
    payment id → event id of those moved. A payment missing from the answer was moved first
    by someone else (the batch's ``StaleTransition``); nothing was written for it."""
    rows = await (await raw.connection(session)).fetch(
        _DELIVER_MANY,
        [d.payment_id for d in deliveries],
        [d.provider for d in deliveries],
        [d.provider_transaction_id for d in deliveries],
        [d.token for d in deliveries],
        [json.dumps(list(d.bonus_tokens)) for d in deliveries],
        [d.units for d in deliveries],
        [d.reason for d in deliveries],
        lease_owner,
        Status.PROCESSING.value,
        Status.PAID.value,
        actor,
    )
    moved = {row["payment_id"]: row["id"] for row in rows}
    await enqueue_for_events(session, list(moved.items()), Status.PAID)
    return moved


# pending → processing for many payments with their events, in one statement.
_START_MANY = """
    WITH d AS (
        SELECT * FROM unnest($1::uuid[], $2::varchar[], $3::varchar[]) AS d(id, provider, reason)
    ), moved AS (
        UPDATE payments AS p SET status = $5, provider = d.provider, updated_at = now()
        FROM d WHERE p.id = d.id AND p.status = $4
        RETURNING p.id, d.reason
    )
    INSERT INTO payment_events (payment_id, from_status, to_status, reason, actor, data)
    SELECT id, $4, $5, reason, $6, NULL FROM moved
    RETURNING payment_id, id
"""


async def start_many(
    session: AsyncSession, starts: Sequence[tuple[uuid.UUID, str, str]], *, actor: str
) -> None:
    """``transition`` pending → processing for many (payment id, provider, reason) at once.
    Raises ``StaleTransition`` for the first payment someone else moved first (the caller's
    transaction then holds writes for it that must not stand)."""
    rows = await (await raw.connection(session)).fetch(
        _START_MANY,
        [payment_id for payment_id, _, _ in starts],
        [provider for _, provider, _ in starts],
        [reason for _, _, reason in starts],
        Status.PENDING.value,
        Status.PROCESSING.value,
        actor,
    )
    moved = {row["payment_id"]: row["id"] for row in rows}
    for payment_id, _, _ in starts:
        if payment_id not in moved:
            raise StaleTransition(payment_id, Status.PENDING)
    await enqueue_for_events(session, list(moved.items()), Status.PROCESSING)

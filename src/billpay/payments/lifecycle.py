"""The payment state machine (DESIGN §2). The only code that writes ``payments.status``.

Every move is a conditional ``UPDATE … WHERE status = :from`` plus an append-only event row,
in the caller's transaction. A move outside the table raises ``IllegalTransition``; a move
whose ``from`` no longer holds (someone else moved it first) raises ``StaleTransition``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from billpay.db import raw
from billpay.models.tables import PAYMENTS
from billpay.outbox.enqueue import enqueue_for_event
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


def _event_data(data: Mapping[str, Any] | None) -> str | None:
    return raw.jsonb(dict(data)) if data else None

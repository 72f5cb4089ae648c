"""SQL of the alerts: what the rules read (payments, the outbox backlog), and the incidents."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from billpay.alerts.schemas import AlertKind, Condition
from billpay.models import AlertIncident, OutboxMessage

# One evaluation at a time across workers: a second one would only find the same incidents.
_EVALUATION_LOCK = text("SELECT pg_try_advisory_xact_lock(hashtextextended('billpay.alerts', 0))")


async def take_evaluation_lock(session: AsyncSession) -> bool:
    """True when this transaction now holds the evaluation (released when it ends)."""
    return bool(await session.scalar(_EVALUATION_LOCK))


# --- what the rules read ---------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentRow:
    id: uuid.UUID
    short_id: str
    status: str
    provider: str | None
    created_at: datetime
    reason: str | None  # the reason of the change into its current status


# Live payments only: a test-mode payment went to a simulator and pages nobody.
_PAYMENTS_IN = text(
    """
    SELECT p.id, p.short_id, p.status, p.provider, p.created_at,
           (SELECT e.reason FROM payment_events AS e
            WHERE e.payment_id = p.id AND e.to_status = p.status
            ORDER BY e.id DESC LIMIT 1) AS reason
    FROM payments AS p
    WHERE p.status = ANY(:statuses) AND p.livemode AND p.created_at < :created_before
    ORDER BY p.created_at
    """
)


async def live_payments_in(
    session: AsyncSession, statuses: Sequence[str], created_before: datetime
) -> list[PaymentRow]:
    rows = await session.execute(
        _PAYMENTS_IN, {"statuses": list(statuses), "created_before": created_before}
    )
    return [PaymentRow(**row._mapping) for row in rows]


@dataclass(frozen=True)
class Backlog:
    pending: int
    oldest_seconds: float | None


_WEBHOOK_BACKLOG = text(
    """
    SELECT count(*) AS pending, extract(epoch FROM now() - min(created_at)) AS oldest_seconds
    FROM outbox_messages
    WHERE channel = 'webhook' AND status = 'pending' AND alert_id IS NULL
    """
)


async def merchant_webhook_backlog(session: AsyncSession) -> Backlog:
    """Merchant webhooks not delivered yet (waiting or being retried), and the oldest's age."""
    row = (await session.execute(_WEBHOOK_BACKLOG)).one()
    oldest = row.oldest_seconds
    return Backlog(int(row.pending), None if oldest is None else float(oldest))


# --- incidents -------------------------------------------------------------------------------


async def open_incident(
    session: AsyncSession, condition: Condition, now: datetime
) -> AlertIncident | None:
    """The new incident, or None when one is already open for the key (raised by this or
    another worker): the partial unique index decides, so two evaluations open it once."""
    statement = (
        pg_insert(AlertIncident)
        .values(
            key=condition.key,
            kind=condition.kind.value,
            subject=condition.subject,
            summary=condition.summary,
            details=condition.details,
            opened_at=now,
            last_seen_at=now,
        )
        .on_conflict_do_nothing(index_elements=["key"], index_where=text("resolved_at IS NULL"))
        .returning(AlertIncident)
    )
    return await session.scalar(statement.execution_options(populate_existing=True))


async def note_still_open(session: AsyncSession, condition: Condition, now: datetime) -> None:
    """The condition persists: record when it was seen and what it looks like now."""
    await session.execute(
        update(AlertIncident)
        .where(AlertIncident.key == condition.key, AlertIncident.resolved_at.is_(None))
        .values(last_seen_at=now, summary=condition.summary, details=condition.details)
    )


async def open_incidents_of(session: AsyncSession, kind: AlertKind) -> list[AlertIncident]:
    rows = await session.scalars(
        select(AlertIncident).where(
            AlertIncident.kind == kind.value, AlertIncident.resolved_at.is_(None)
        )
    )
    return list(rows.all())


async def resolve(session: AsyncSession, incident_id: int, now: datetime) -> AlertIncident | None:
    """The incident, resolved now; None when it was resolved already (by another worker)."""
    statement = (
        update(AlertIncident)
        .where(AlertIncident.id == incident_id, AlertIncident.resolved_at.is_(None))
        .values(resolved_at=now)
        .returning(AlertIncident)
    )
    return await session.scalar(statement.execution_options(populate_existing=True))


async def recent_incidents(
    session: AsyncSession, *, include_resolved: bool, resolved_within: timedelta, limit: int
) -> list[AlertIncident]:
    """Open incidents (oldest first), then — when asked — those resolved within the period,
    newest first."""
    query = select(AlertIncident).order_by(
        AlertIncident.resolved_at.is_not(None),
        AlertIncident.resolved_at.desc(),
        AlertIncident.opened_at,
    )
    if include_resolved:
        query = query.where(
            AlertIncident.resolved_at.is_(None)
            | (AlertIncident.resolved_at >= func.now() - resolved_within)
        )
    else:
        query = query.where(AlertIncident.resolved_at.is_(None))
    return list((await session.scalars(query.limit(limit))).all())


async def deliveries_of(
    session: AsyncSession, incident_ids: Sequence[int]
) -> dict[int, list[OutboxMessage]]:
    """Each incident's outbox messages (operator webhook and email), oldest first."""
    deliveries: dict[int, list[OutboxMessage]] = {incident_id: [] for incident_id in incident_ids}
    if not incident_ids:
        return deliveries
    rows = await session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.alert_id.in_(incident_ids))
        .order_by(OutboxMessage.id)
    )
    for message in rows:
        assert message.alert_id is not None  # selected by it
        deliveries[message.alert_id].append(message)
    return deliveries

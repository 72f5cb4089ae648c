"""SQL of the webhook inbox, and the payment lookups its job needs."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, func, literal, select, text, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from billpay.db.text import json_text
from billpay.models import Payment, PaymentAttempt, WebhookInboxEvent

_CLAIM = text(
    """
    UPDATE webhook_inbox AS w
    SET attempts = w.attempts + 1,
        next_attempt_at = now() + make_interval(secs => :lease_seconds)
    FROM (
        SELECT id FROM webhook_inbox
        WHERE processed_at IS NULL AND next_attempt_at <= now()
        ORDER BY id
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    ) AS due
    WHERE w.id = due.id
    RETURNING w.id
    """
)


async def insert_event(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Store an event unless ``(provider, event_id)`` is already in. True when it is new.

    The payload goes in as JSON text cast to JSONB, so its numbers are kept exactly as the
    provider wrote them (``500.5`` stays ``500.5``, decoded as ``Decimal``).
    """
    payload = cast(literal(json_text(values["payload"]), Text), JSONB)
    result = await session.execute(
        pg_insert(WebhookInboxEvent)
        .values(**{**values, "payload": payload})
        .on_conflict_do_nothing(constraint="uq_webhook_inbox_provider_event")
        .returning(WebhookInboxEvent.id)
    )
    return result.scalar_one_or_none() is not None


async def claim_due(
    session: AsyncSession, limit: int, lease_seconds: float
) -> list[WebhookInboxEvent]:
    """Lease up to ``limit`` unprocessed events, oldest first; two workers never share one."""
    rows = await session.execute(_CLAIM, {"limit": limit, "lease_seconds": lease_seconds})
    ids = [row[0] for row in rows]
    if not ids:
        return []
    events = await session.scalars(
        select(WebhookInboxEvent)
        .where(WebhookInboxEvent.id.in_(ids))
        .order_by(WebhookInboxEvent.id)
        .execution_options(populate_existing=True)
    )
    return list(events.all())


async def mark_processed(session: AsyncSession, event_id: int, outcome: str) -> None:
    await session.execute(
        update(WebhookInboxEvent)
        .where(WebhookInboxEvent.id == event_id)
        .values(processed_at=func.now(), outcome=outcome)
    )


async def retry_later(
    session: AsyncSession, event_id: int, outcome: str, next_attempt_at: datetime
) -> None:
    await session.execute(
        update(WebhookInboxEvent)
        .where(WebhookInboxEvent.id == event_id)
        .values(outcome=outcome, next_attempt_at=next_attempt_at)
    )


async def attempt_and_payment(
    session: AsyncSession, provider: str, provider_reference: str
) -> tuple[PaymentAttempt, Payment] | None:
    row = (
        await session.execute(
            select(PaymentAttempt, Payment)
            .join(Payment, Payment.id == PaymentAttempt.payment_id)
            .where(
                PaymentAttempt.provider == provider,
                PaymentAttempt.provider_reference == provider_reference,
            )
            .execution_options(populate_existing=True)
        )
    ).first()
    return None if row is None else (row[0], row[1])


async def latest_attempt_id(session: AsyncSession, payment_id: uuid.UUID) -> uuid.UUID | None:
    attempt_id: uuid.UUID | None = await session.scalar(
        select(PaymentAttempt.id)
        .where(PaymentAttempt.payment_id == payment_id)
        .order_by(PaymentAttempt.number.desc())
        .limit(1)
    )
    return attempt_id


async def make_due_now(session: AsyncSession, payment_id: uuid.UUID) -> bool:
    """Bring a processing payment's next requery forward to now. False if it moved on."""
    result = await session.execute(
        update(Payment)
        .where(Payment.id == payment_id, Payment.status == "processing")
        .values(next_run_at=func.now())
        .returning(Payment.id)
    )
    return result.first() is not None

"""Periodic jobs the worker runs besides payments: expiry of unfunded payments, metrics."""

from __future__ import annotations

import structlog
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from billpay.models import Payment
from billpay.payments.lifecycle import StaleTransition, transition
from billpay.payments.status import Status
from billpay.worker.metrics import OLDEST_UNRESOLVED_SECONDS, PAYMENTS_BY_STATUS, QUEUE_DEPTH

log = structlog.get_logger(__name__)


async def expire_unfunded(session: AsyncSession, limit: int = 500) -> int:
    """awaiting_funds past its window → expired. A deposit arriving later is refunded."""
    ids = (
        await session.scalars(
            select(Payment.id)
            .where(
                Payment.status == Status.AWAITING_FUNDS.value,
                Payment.funding_expires_at < text("now()"),
            )
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    expired = 0
    for payment_id in ids:
        try:
            await transition(
                session,
                payment_id,
                Status.AWAITING_FUNDS,
                Status.EXPIRED,
                reason="no funds arrived within the payment window",
                actor="worker",
            )
            expired += 1
        except StaleTransition:
            log.info("expiry_raced", payment_id=str(payment_id))
    return expired


async def refresh_metrics(session: AsyncSession) -> None:
    rows = await session.execute(
        text(
            "SELECT status, bill_type, COALESCE(provider, 'none'), count(*) FROM payments "
            "GROUP BY 1, 2, 3"
        )
    )
    PAYMENTS_BY_STATUS.clear()
    for status, bill_type, provider, count in rows.all():
        PAYMENTS_BY_STATUS.labels(status, bill_type, provider).set(count)
    due = await session.scalar(
        text(
            "SELECT count(*) FROM payments WHERE status IN ('pending', 'processing') "
            "AND next_run_at <= now()"
        )
    )
    QUEUE_DEPTH.set(int(due or 0))
    oldest = await session.scalar(
        text(
            "SELECT extract(epoch FROM now() - min(created_at)) FROM payments "
            "WHERE status NOT IN ('paid', 'refunded', 'failed', 'expired')"
        )
    )
    OLDEST_UNRESOLVED_SECONDS.set(float(oldest or 0))

"""SQL of Paystack funding: payments by Paystack reference, and the refunds table."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from billpay.funding.paystack.references import short_id_from
from billpay.models import Payment, PaystackRefund
from billpay.payments.schemas import FundingMethod

# Refunds still on their way: looked at again when ``next_check_at`` falls due.
ACTIVE = ("creating", "pending", "processing")
# Refunds that ended without the money going back.
UNSUCCESSFUL = ("failed", "needs-attention", "rejected")

_QUEUE_MISSING = text(
    """
    INSERT INTO paystack_refunds (payment_id, transaction_reference, amount_kobo, currency,
                                  cause, status, reason, next_check_at)
    SELECT p.id, p.funding_instructions ->> 'reference', p.total_kobo, 'NGN', 'delivery',
           'creating', COALESCE(p.failure_reason, 'payment is refunding'), now()
    FROM payments p
    WHERE p.status = 'refunding' AND p.funding_method = 'paystack'
      AND p.funding_instructions ->> 'reference' IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM paystack_refunds r WHERE r.payment_id = p.id)
    ORDER BY p.updated_at
    LIMIT :limit
    ON CONFLICT (payment_id) DO NOTHING
    """
)

# Due refunds, leased for ``lease_seconds`` so no other worker takes them meanwhile. An
# unsuccessful refund is due again only once an operator has sent its payment back to
# ``refunding`` (``needs_review → refunding``): that asks for a new try.
_LEASE_DUE = text(
    """
    UPDATE paystack_refunds AS r
    SET next_check_at = now() + make_interval(secs => :lease_seconds)
    FROM (
        SELECT r2.id FROM paystack_refunds r2 JOIN payments p ON p.id = r2.payment_id
        WHERE (r2.status IN ('creating', 'pending', 'processing') AND r2.next_check_at <= now())
           OR (r2.status IN ('failed', 'needs-attention', 'rejected') AND p.status = 'refunding'
               AND (r2.next_check_at IS NULL OR r2.next_check_at <= now()))
        ORDER BY r2.next_check_at NULLS FIRST
        LIMIT :limit
        FOR UPDATE OF r2 SKIP LOCKED
    ) AS due
    WHERE r.id = due.id
    RETURNING r.id
    """
)

# Awaiting payments whose webhook may have been lost, verified only at a few moments of their
# life (``ages`` after creation, and ``lead`` before their window closes) so that a crowd of
# abandoned checkouts costs a handful of calls each, not one per beat.
# Due: a check moment (an age, or the lead before expiry) has passed with no check since it.
# Not a window around each moment: a moment missed while every worker was down is caught up.
_TO_VERIFY = text(
    """
    SELECT p.funding_instructions ->> 'reference'
    FROM payments p
    CROSS JOIN LATERAL (
      SELECT max(moment) AS due_since
      FROM (
        SELECT p.created_at + make_interval(secs => age) AS moment
        FROM unnest(CAST(:ages AS double precision[])) AS age
        UNION ALL
        SELECT p.funding_expires_at - make_interval(secs => :lead)
      ) AS moments
      WHERE moment <= now()
    ) AS due
    WHERE p.status = 'awaiting_funds' AND p.funding_method = 'paystack'
      AND p.funding_instructions ->> 'reference' IS NOT NULL
      AND due.due_since IS NOT NULL
      AND (p.funding_checked_at IS NULL OR p.funding_checked_at < due.due_since)
    ORDER BY p.created_at
    LIMIT :limit
    """
)

_MARK_CHECKED = text(
    "UPDATE payments SET funding_checked_at = now()"
    " WHERE funding_method = 'paystack' AND funding_instructions ->> 'reference' = :reference"
)


async def payment_by_reference(
    session: AsyncSession, reference: str, *, for_update: bool = False
) -> Payment | None:
    """The Paystack-funded payment that handed out ``reference``, if it is one of ours."""
    short_id = short_id_from(reference)
    if short_id is None:
        return None
    query = (
        select(Payment)
        .where(
            Payment.short_id == short_id,
            Payment.funding_method == FundingMethod.PAYSTACK.value,
            Payment.funding_instructions["reference"].astext == reference,
        )
        .execution_options(populate_existing=True)
    )
    if for_update:
        query = query.with_for_update()
    payment: Payment | None = await session.scalar(query)
    return payment


async def insert_refund(session: AsyncSession, values: dict[str, Any]) -> bool:
    """Insert a payment's refund unless it has one already. True when this call inserted it."""
    result = await session.execute(
        pg_insert(PaystackRefund)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["payment_id"])
        .returning(PaystackRefund.id)
    )
    return result.scalar_one_or_none() is not None


async def queue_missing_refunds(session: AsyncSession, limit: int) -> None:
    """A refund row for every Paystack payment in ``refunding`` that has none yet."""
    await session.execute(_QUEUE_MISSING, {"limit": limit})


async def lease_due_refunds(
    session: AsyncSession, limit: int, lease_seconds: float
) -> list[PaystackRefund]:
    rows = await session.execute(_LEASE_DUE, {"limit": limit, "lease_seconds": lease_seconds})
    ids = [row[0] for row in rows]
    if not ids:
        return []
    refunds = await session.scalars(
        select(PaystackRefund)
        .where(PaystackRefund.id.in_(ids))
        .order_by(PaystackRefund.id)
        .execution_options(populate_existing=True)
    )
    return list(refunds.all())


async def update_refund(
    session: AsyncSession,
    refund_row_id: int,
    values: dict[str, Any],
    *,
    status_was: str,
    create_attempts_was: int | None = None,
) -> bool:
    """Update a refund row only if it is still as it was read. True when it was."""
    query = update(PaystackRefund).where(
        PaystackRefund.id == refund_row_id, PaystackRefund.status == status_was
    )
    if create_attempts_was is not None:
        query = query.where(PaystackRefund.create_attempts == create_attempts_was)
    result = await session.execute(
        query.values(**values, updated_at=func.now()).returning(PaystackRefund.id)
    )
    return result.first() is not None


async def refund_of(session: AsyncSession, payment_id: uuid.UUID) -> PaystackRefund | None:
    refund: PaystackRefund | None = await session.scalar(
        select(PaystackRefund)
        .where(PaystackRefund.payment_id == payment_id)
        .execution_options(populate_existing=True)
    )
    return refund


async def make_refund_due(session: AsyncSession, payment_id: uuid.UUID) -> bool:
    """Look at this payment's refund now (a ``refund.*`` webhook hinted at news)."""
    result = await session.execute(
        update(PaystackRefund)
        .where(PaystackRefund.payment_id == payment_id, PaystackRefund.status.in_(ACTIVE))
        .values(next_check_at=func.now())
        .returning(PaystackRefund.id)
    )
    return result.first() is not None


async def references_to_verify(
    session: AsyncSession, ages_seconds: Sequence[float], lead_seconds: float, limit: int
) -> list[str]:
    rows = await session.execute(
        _TO_VERIFY,
        {"ages": [float(age) for age in ages_seconds], "lead": lead_seconds, "limit": limit},
    )
    return [row[0] for row in rows]


async def mark_checked(session: AsyncSession, reference: str) -> None:
    await session.execute(_MARK_CHECKED, {"reference": reference})

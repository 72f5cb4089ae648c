"""SQL of the worker: claiming due payments under a lease, scheduling.

An attempt's statements live with the attempts (``payments.attempts.repository``).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from billpay.db import raw
from billpay.models import Payment

_CLAIM = """
    UPDATE payments AS p
    SET lease_owner = $1, lease_expires_at = now() + make_interval(secs => $3)
    FROM (
        SELECT id FROM payments
        WHERE status IN ('pending', 'processing')
          AND next_run_at IS NOT NULL AND next_run_at <= now()
          AND (lease_expires_at IS NULL OR lease_expires_at < now())
        ORDER BY next_run_at
        LIMIT $2
        FOR UPDATE SKIP LOCKED
    ) AS due
    WHERE p.id = due.id
    RETURNING p.*
    """


async def claim_due(
    session: AsyncSession, owner: str, limit: int, lease_seconds: float
) -> list[Payment]:
    """Lease up to ``limit`` due payments. Two workers never lease the same row.

    The rows come back as detached ``Payment``s, as the lease left them: the first step of
    each needs no read of its own."""
    rows = await (await raw.connection(session)).fetch(_CLAIM, owner, limit, lease_seconds)
    return [Payment(**dict(row.items())) for row in rows]


_SECONDS_UNTIL_NEXT_DUE = """
    SELECT extract(epoch FROM min(greatest(next_run_at, coalesce(lease_expires_at, next_run_at)))
                              - now())
    FROM payments
    WHERE status IN ('pending', 'processing') AND next_run_at IS NOT NULL
"""


async def seconds_until_next_due(session: AsyncSession) -> float | None:
    """How long until some unleased payment falls due (a live lease counts until it expires).
    Asked before every sleep: plain SQL, not a statement built each time."""
    value = await (await raw.connection(session)).fetchval(_SECONDS_UNTIL_NEXT_DUE)
    return None if value is None else max(0.0, float(value))


async def release(
    session: AsyncSession, payment_id: uuid.UUID, owner: str, next_run_at: datetime | None
) -> None:
    """Give the lease back and say when the payment is next due (None: nothing left to do)."""
    await (await raw.connection(session)).execute(
        "UPDATE payments SET lease_owner = NULL, lease_expires_at = NULL, next_run_at = $3, "
        "updated_at = now() WHERE id = $1 AND lease_owner = $2",
        payment_id,
        owner,
        next_run_at,
    )

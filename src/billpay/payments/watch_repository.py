"""SQL of the reversal watch: leasing paid payments whose delivery is due another look.

A watched payment is leased like a payment being processed (``lease_owner``), so workers
sharing the job never ask about the same payment twice at once; the worker's own claim only
takes pending and processing payments, so the two never meet.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from billpay.db import raw

# Due: paid within the window, and no exchange with the provider about it for an interval
# (the delivering call counts as the first look). Those looked at longest ago go first.
_LEASE_DUE = """
    UPDATE payments AS p
    SET lease_owner = $1, lease_expires_at = now() + make_interval(secs => $2)
    FROM (
        SELECT q.id FROM payments q
        LEFT JOIN LATERAL (
            SELECT max(c.started_at) AS at FROM provider_calls c WHERE c.payment_id = q.id
        ) AS last_call ON true
        WHERE q.status = 'paid'
          AND q.provider = ANY($3::text[])
          AND q.completed_at >= now() - make_interval(secs => $4)
          AND (q.lease_expires_at IS NULL OR q.lease_expires_at < now())
          AND (last_call.at IS NULL OR last_call.at < now() - make_interval(secs => $5))
        ORDER BY last_call.at NULLS FIRST, q.completed_at
        LIMIT $6
        FOR UPDATE OF q SKIP LOCKED
    ) AS due
    WHERE p.id = due.id
    RETURNING p.id
"""


async def lease_due(
    session: AsyncSession,
    owner: str,
    *,
    providers: Sequence[str],
    window_seconds: float,
    interval_seconds: float,
    lease_seconds: float,
    limit: int,
) -> list[uuid.UUID]:
    rows = await (await raw.connection(session)).fetch(
        _LEASE_DUE,
        owner,
        lease_seconds,
        list(providers),
        window_seconds,
        interval_seconds,
        limit,
    )
    return [row["id"] for row in rows]


async def release(session: AsyncSession, payment_id: uuid.UUID, owner: str) -> None:
    await (await raw.connection(session)).execute(
        "UPDATE payments SET lease_owner = NULL, lease_expires_at = NULL "
        "WHERE id = $1 AND lease_owner = $2",
        payment_id,
        owner,
    )

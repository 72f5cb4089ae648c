"""Every statement on ``provider_calls``: the append-only record of provider exchanges."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import asdict
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from billpay.db import raw
from billpay.models import ProviderCallRecord
from billpay.providers.calls import ProviderCall

CALLS = cast(Table, ProviderCallRecord.__table__)


async def record(
    session: AsyncSession,
    calls: Sequence[ProviderCall],
    *,
    payment_id: uuid.UUID | None = None,
    attempt_id: uuid.UUID | None = None,
) -> None:
    """Append ``calls`` (of this payment and attempt, when they have one), in the order made."""
    await record_many(session, [(calls, payment_id, attempt_id)])


async def record_many(
    session: AsyncSession,
    batches: Sequence[tuple[Sequence[ProviderCall], uuid.UUID | None, uuid.UUID | None]],
) -> None:
    """``record`` for many attempts ((calls, payment id, attempt id) each) in one pipeline."""
    rows = [
        {**asdict(call), "kind": call.kind.value, "payment_id": payment, "attempt_id": attempt}
        for calls, payment, attempt in batches
        for call in calls
    ]
    if not rows:
        return
    columns, _ = raw.insert_clause(CALLS, rows[0])
    await (await raw.connection(session)).executemany(
        f"INSERT INTO provider_calls {columns}",
        [raw.insert_clause(CALLS, row)[1] for row in rows],
    )


async def of_payment(session: AsyncSession, payment_id: uuid.UUID) -> list[ProviderCallRecord]:
    """A payment's calls, oldest first."""
    rows = await session.scalars(
        select(ProviderCallRecord)
        .where(ProviderCallRecord.payment_id == payment_id)
        .order_by(ProviderCallRecord.started_at, ProviderCallRecord.id)
    )
    return list(rows.all())

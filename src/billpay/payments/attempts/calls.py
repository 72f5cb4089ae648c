"""Every statement on ``provider_calls``: the append-only record of provider exchanges."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import asdict
from typing import cast

from sqlalchemy import Table, bindparam, func, insert, literal_column, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import CTE

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


def validations_cte(payments: CTE) -> CTE:
    """For the statement that creates a payment (``payments``: the CTE returning the new row):
    the customer lookups that vetted it (``:validation_calls``, the JSON of ``calls_json``),
    kept with it."""
    names = [column.name for column in CALLS.c if column.name not in ("id", "payment_id")]
    calls = func.jsonb_populate_recordset(
        literal_column("NULL::provider_calls"), bindparam("validation_calls", type_=JSONB)
    ).table_valued(*names, name="call")
    return (
        insert(CALLS)
        .from_select([*names, "payment_id"], select(*calls.c, payments.c.id).select_from(calls))
        .cte("validations")
    )


def calls_json(calls: Sequence[ProviderCall]) -> str:
    """``calls`` as the JSON array ``validations_cte`` takes."""
    return json.dumps([{**asdict(call), "kind": call.kind.value} for call in calls], default=str)

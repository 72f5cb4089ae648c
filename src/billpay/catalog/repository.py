"""SQL for the normalized catalog (``biller_plans``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from billpay.models import BillerPlan


async def upsert(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    statement = pg_insert(BillerPlan).values(list(rows))
    updatable = {column: statement.excluded[column] for column in rows[0] if column != "slug"}
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["slug"], set_={**updatable, "active": True, "synced_at": func.now()}
        )
    )


async def deactivate_except(session: AsyncSession, keep: set[str]) -> int:
    """Plans no provider sells any more are deactivated, never deleted (payments refer to them)."""
    result = await session.execute(
        update(BillerPlan)
        .where(BillerPlan.active.is_(True), BillerPlan.slug.not_in(keep))
        .values(active=False)
        .returning(BillerPlan.slug)
    )
    return len(result.all())


async def get_active(session: AsyncSession, slug: str) -> BillerPlan | None:
    return await session.scalar(
        select(BillerPlan).where(BillerPlan.slug == slug, BillerPlan.active.is_(True))
    )


async def get_any(session: AsyncSession, slug: str) -> BillerPlan | None:
    return await session.get(BillerPlan, slug)


async def list_active(
    session: AsyncSession, *, bill_type: str | None = None, biller: str | None = None
) -> list[BillerPlan]:
    query = select(BillerPlan).where(BillerPlan.active.is_(True))
    if bill_type is not None:
        query = query.where(BillerPlan.bill_type == bill_type)
    if biller is not None:
        query = query.where(BillerPlan.biller == biller)
    return list((await session.scalars(query.order_by(BillerPlan.biller, BillerPlan.slug))).all())

"""Plans by slug, as payments and the worker read them: one process-wide book, TTL-cached."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from billpay.catalog import repository as repo
from billpay.catalog.cache import TTLCache
from billpay.catalog.plan import NormalizedPlan
from billpay.catalog.rows import plan_from_row
from billpay.errors import UnknownPlan

# Plans change only when the catalog syncs; a minute's staleness is harmless.
PLAN_TTL_SECONDS = 60.0


class PlanBook:
    """The catalog's plans, cached per slug; ``forget`` after a sync serves the new ones."""

    def __init__(self, ttl_seconds: float = PLAN_TTL_SECONDS) -> None:
        self._active: TTLCache[str, NormalizedPlan | None] = TTLCache(ttl_seconds)
        self._any: TTLCache[str, NormalizedPlan | None] = TTLCache(ttl_seconds)

    async def active(self, session: AsyncSession, slug: str) -> NormalizedPlan:
        """A plan on sale now, for a new payment; anything else is the client's mistake."""

        async def load() -> NormalizedPlan | None:
            row = await repo.get_active(session, slug)
            return plan_from_row(row) if row else None

        plan = await self._active.get_or_load(slug, load)
        if plan is None:
            raise UnknownPlan(
                f"plan: no active plan named {slug!r}; list plans at /v1/billers/{{biller}}/plans",
                details={"field": "plan"},
            )
        return plan

    async def any(self, session: AsyncSession, slug: str) -> NormalizedPlan | None:
        """A payment's plan even if since deactivated: its provider codes are still needed."""

        async def load() -> NormalizedPlan | None:
            row = await repo.get_any(session, slug)
            return plan_from_row(row) if row else None

        return await self._any.get_or_load(slug, load)

    def forget(self) -> None:
        """After a catalog sync: serve the new plans at once."""
        self._active.clear()
        self._any.clear()

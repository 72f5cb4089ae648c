"""The worker's view of routing: shared breakers, operator switches and recent figures read from
Postgres, turned into ``choose_route`` standings.

Only purchase calls take a breaker permit and report to it; requeries must run whatever a
provider's health, because an unknown outcome can only be settled by asking again.

Test-mode payments (``shared=False``) go to the simulators: the live providers' breakers,
switches and figures say nothing about them, so their route is the base order alone.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from billpay.catalog.plan import NormalizedPlan, ProviderMeta
from billpay.providers.base import Outcome, ProviderName
from billpay.routing import breaker, health
from billpay.routing import repository as repo
from billpay.routing.breaker import DEFAULT_BREAKER_POLICY, BreakerPolicy, BreakerView, Permit
from billpay.routing.health import Disabled
from billpay.routing.repository import OutcomeFigures
from billpay.routing.router import Ranking, RouteChoice, Standing, choose_route


@dataclass(frozen=True)
class Route:
    choice: RouteChoice
    permit: Permit


@dataclass(frozen=True)
class RoutingPolicy:
    window: timedelta = timedelta(minutes=15)
    min_attempts: int = 5
    base_order: tuple[ProviderName, ...] = ()  # empty: the catalog's priority
    refresh_seconds: float = 2.0


@dataclass(frozen=True)
class Board:
    """One moment's standings of every provider, for one biller's route."""

    breakers: dict[tuple[str, str], BreakerView]
    switches: dict[tuple[str, str], Disabled]
    figures: dict[tuple[str, str | None], OutcomeFigures]
    now: datetime


class Routes:
    def __init__(
        self,
        configured: Collection[ProviderName],
        policy: BreakerPolicy = DEFAULT_BREAKER_POLICY,
        allow_loss_routes: bool = False,
        routing: RoutingPolicy | None = None,
        shared: bool = True,
    ) -> None:
        self.configured = frozenset(configured)
        self.policy = policy
        self.allow_loss_routes = allow_loss_routes
        self.routing = routing or RoutingPolicy()
        self.shared = shared
        # (read at, switches, figures): shared by every payment of this process for a moment.
        self._cached: tuple[float, dict[tuple[str, str], Disabled], list[OutcomeFigures]] | None
        self._cached = None
        self._refreshing = asyncio.Lock()

    async def route(
        self,
        session: AsyncSession,
        plan: NormalizedPlan | None,
        tried: Sequence[ProviderName],
        price_kobo: int | None = None,
        last_failure: str | None = None,
    ) -> list[RouteChoice]:
        """The plan's untried providers as ``choose_route`` orders them now (no permit taken).
        ``price_kobo``: what the payer pays for the bill (providers that cost more are loss
        routes, skipped unless ``allow_loss_routes``)."""
        if plan is None:
            return []
        board = await self.board(session)
        return self._choose(plan, tried, price_kobo, last_failure, board)

    async def next_route(
        self,
        session: AsyncSession,
        plan: NormalizedPlan | None,
        tried: Sequence[ProviderName],
        price_kobo: int | None = None,
        last_failure: str | None = None,
        board: Board | None = None,
    ) -> tuple[Route | None, list[RouteChoice]]:
        """The first eligible provider whose breakers grant a permit, with the route it was
        chosen from (to tell waiting from exhausted when there is none). ``board``: the
        standings read for a whole batch (``board()``), else read now."""
        if plan is None:
            return None, []
        board = board or await self.board(session)
        route = self._choose(plan, tried, price_kobo, last_failure, board)
        for choice in route:
            if not choice.eligible:
                continue
            if not self.shared:
                return Route(choice, Permit(choice.provider, plan.biller)), route
            permit = await breaker.acquire(
                session, choice.provider, plan.biller, board.breakers, board.now, self.policy
            )
            if permit is not None:
                return Route(choice, permit), route
        return None, route

    async def record(
        self,
        session: AsyncSession,
        permit: Permit | None,
        outcome: Outcome,
        provider_status: str,
    ) -> None:
        """Report a purchase answer, once its attempt's outcome is written in ``session``."""
        if permit is None or not self.shared:
            return
        now = datetime.now(UTC)
        await breaker.record(session, permit, outcome, provider_status, now, self.policy)

    def _stale(self) -> bool:
        cached = self._cached
        return cached is None or time.monotonic() - cached[0] >= self.routing.refresh_seconds

    def forget(self) -> None:
        """Read switches and figures afresh at the next route (after an operator's change)."""
        self._cached = None

    async def board(self, session: AsyncSession) -> Board:
        """Every provider's standings now: breakers read afresh, switches and figures at
        most ``refresh_seconds`` old."""
        now = datetime.now(UTC)
        if not self.shared:
            return Board({}, {}, {}, now)
        if self._stale():
            # One task reads for all: the others of this process wait for its answer.
            async with self._refreshing:
                if self._stale():
                    switches = health.disabled_switches(await repo.switches(session))
                    recent = await repo.outcome_figures(session, now - self.routing.window)
                    self._cached = (time.monotonic(), switches, recent)
        assert self._cached is not None
        _, switches, rows = self._cached
        figures = {(row.provider, row.biller): row for row in rows}
        return Board(await breaker.views(session, now), switches, figures, now)

    def _choose(
        self,
        plan: NormalizedPlan,
        tried: Sequence[ProviderName],
        price_kobo: int | None,
        last_failure: str | None,
        board: Board,
    ) -> list[RouteChoice]:
        standings = {
            meta.provider: self._standing(meta.provider, plan.biller, board)
            for meta in plan.provider_meta
        }
        ranking = Ranking(self.routing.window.total_seconds() / 60) if self.shared else None
        return choose_route(
            self._base_order(plan.provider_meta),
            self.configured,
            standings,
            tried,
            price_kobo=price_kobo,
            allow_loss=self.allow_loss_routes,
            last_failure=last_failure,
            ranking=ranking,
        )

    def _base_order(self, metas: Sequence[ProviderMeta]) -> list[ProviderMeta]:
        order = self.routing.base_order
        if not order:
            return list(metas)
        rank = {provider: index for index, provider in enumerate(order)}
        return [
            replace(meta, priority=rank.get(meta.provider, len(order) + meta.priority))
            for meta in metas
        ]

    def _standing(self, provider: ProviderName, biller: str, board: Board) -> Standing:
        off = health.disabled_for(board.switches, provider.value, biller)
        if off is not None:
            return Standing(skip=f"skipped: {off.describe()}")
        trial = False
        for key in (breaker.OVERALL, biller):
            view = board.breakers.get((provider.value, key))
            if view is None:
                continue
            skip = _breaker_skip(view)
            if skip is not None:
                return Standing(skip=skip)
            trial = trial or view.state is breaker.BreakerState.HALF_OPEN
        figures = board.figures.get((provider.value, biller))
        return _ranked(figures, self.routing.min_attempts, trial)


def _breaker_skip(view: BreakerView) -> str | None:
    where = f" for {view.biller}" if view.biller else ""
    if view.state is breaker.BreakerState.OPEN and view.open_until is not None:
        until = view.open_until.isoformat(timespec="seconds")
        return f"skipped: circuit open{where} until {until} ({view.reason})"
    if view.state is breaker.BreakerState.HALF_OPEN and view.trial_in_flight:
        return f"skipped: half-open trial in progress{where}"
    return None


def _ranked(figures: OutcomeFigures | None, min_attempts: int, trial: bool) -> Standing:
    if figures is None:
        return Standing(trial=trial)
    attempts = figures.succeeded + figures.failed + figures.unknown
    if attempts < min_attempts:
        return Standing(trial=trial)
    return Standing(
        trial=trial,
        success_rate=figures.succeeded / attempts,
        latency_ms=figures.latency_p50_ms,
    )

"""The worker's view of routing: per-provider circuit breakers plus ``choose_route``.

Only purchase calls take a breaker permit and report to it; requeries must run whatever a
provider's health, because an unknown outcome can only be settled by asking again.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from billpay.catalog.plan import NormalizedPlan
from billpay.providers.base import Outcome, ProviderName
from billpay.routing.breaker import DEFAULT_BREAKER_POLICY, BreakerPolicy, CircuitBreaker, Permit
from billpay.routing.router import RouteChoice, choose_route


@dataclass(frozen=True)
class Route:
    choice: RouteChoice
    permit: Permit


class Routes:
    def __init__(
        self,
        configured: Collection[ProviderName],
        policy: BreakerPolicy = DEFAULT_BREAKER_POLICY,
        allow_loss_routes: bool = False,
    ) -> None:
        self.configured = frozenset(configured)
        self.breakers = {name: CircuitBreaker(name, policy) for name in self.configured}
        self.allow_loss_routes = allow_loss_routes

    def has_next(
        self,
        plan: NormalizedPlan | None,
        tried: Sequence[ProviderName],
        price_kobo: int | None = None,
    ) -> bool:
        """Whether some untried provider could take this payment now (no permit taken).
        ``price_kobo``: what the payer pays for the bill (providers that cost more are loss
        routes, skipped unless ``allow_loss_routes``)."""
        if plan is None:
            return False
        return any(choice.eligible for choice in self._route(plan, tried, price_kobo))

    def next_route(
        self,
        plan: NormalizedPlan | None,
        tried: Sequence[ProviderName],
        price_kobo: int | None = None,
    ) -> Route | None:
        """The first eligible untried provider whose breaker grants a permit (``price_kobo``
        as for ``has_next``)."""
        if plan is None:
            return None
        for choice in self._route(plan, tried, price_kobo):
            if not choice.eligible:
                continue
            permit = self.breakers[choice.provider].acquire()
            if permit is not None:
                return Route(choice, permit)
        return None

    def _route(
        self, plan: NormalizedPlan, tried: Sequence[ProviderName], price_kobo: int | None
    ) -> list[RouteChoice]:
        return choose_route(
            plan.provider_meta,
            self.configured,
            self.breakers,
            tried,
            price_kobo=price_kobo,
            allow_loss=self.allow_loss_routes,
        )

    def record(self, permit: Permit | None, outcome: Outcome) -> None:
        if permit is not None:
            self.breakers[permit.provider].record(permit, outcome)

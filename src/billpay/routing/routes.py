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
    ) -> None:
        self.configured = frozenset(configured)
        self.breakers = {name: CircuitBreaker(name, policy) for name in self.configured}

    def has_next(self, plan: NormalizedPlan | None, tried: Sequence[ProviderName]) -> bool:
        """Whether some untried provider could take this payment now (no permit taken)."""
        if plan is None:
            return False
        route = choose_route(plan.provider_meta, self.configured, self.breakers, tried)
        return any(choice.eligible for choice in route)

    def next_route(
        self, plan: NormalizedPlan | None, tried: Sequence[ProviderName]
    ) -> Route | None:
        """The first eligible untried provider whose breaker grants a permit."""
        if plan is None:
            return None
        for choice in choose_route(plan.provider_meta, self.configured, self.breakers, tried):
            if not choice.eligible:
                continue
            permit = self.breakers[choice.provider].acquire()
            if permit is not None:
                return Route(choice, permit)
        return None

    def record(self, permit: Permit | None, outcome: Outcome) -> None:
        if permit is not None:
            self.breakers[permit.provider].record(permit, outcome)

"""Which providers a payment should be sent to, in order, and why (DESIGN §2 attempts, §4).

``choose_route`` lists a plan's providers by catalog priority, each marked eligible or skipped
with the reason recorded on the attempt. Providers already tried for the payment are left out
entirely: one payment never goes to the same provider twice under a new reference.

Fallback to the next provider happens only after a DEFINITE failure. While an outcome is
``unknown`` the provider may still deliver, so moving on could vend twice (the seed's successor
did exactly that on timeouts): the attempt is requeried instead (DESIGN §1.3).
``next_provider_after`` encodes that rule.

The route reads breaker state without taking a half-open trial; the caller takes the chosen
provider's permit with ``CircuitBreaker.acquire()`` and, if refused (another task took the
trial meanwhile), moves on to the next eligible choice.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from billpay.catalog.plan import ProviderMeta
from billpay.providers.base import Outcome, ProviderName
from billpay.routing.breaker import BreakerState, CircuitBreaker


@dataclass(frozen=True)
class RouteChoice:
    provider: ProviderName
    meta: ProviderMeta  # the provider's codes and price for this plan
    eligible: bool
    reason: str  # "primary", "fallback after vtpass failed", "skipped: not configured", ...


def choose_route(
    plan_provider_meta: Iterable[ProviderMeta],
    configured_providers: Collection[ProviderName],
    breakers: Mapping[ProviderName, CircuitBreaker],
    already_tried: Sequence[ProviderName],
    price_kobo: int | None = None,
    allow_loss: bool = False,
) -> list[RouteChoice]:
    """The plan's untried providers in priority order, eligible or skipped, with reasons.

    ``already_tried`` is in attempt order; its last entry is the provider that just failed.
    A provider without a breaker in ``breakers`` is treated as healthy. With ``price_kobo``
    (what the payer pays for the bill), a provider whose own fixed price is higher would be
    sold at a loss: skipped, unless ``allow_loss``.
    """
    tried = set(already_tried)
    failed_before = already_tried[-1] if already_tried else None
    route: list[RouteChoice] = []
    for meta in _by_priority(plan_provider_meta):
        if meta.provider in tried:
            continue
        skipped, trial = _health(meta.provider, configured_providers, breakers)
        loss = _loss(meta, price_kobo)
        if skipped is None and loss and not allow_loss:
            skipped = f"skipped: costs {meta.price_kobo} kobo, above the price of {price_kobo}"
        if skipped is not None:
            route.append(RouteChoice(meta.provider, meta, eligible=False, reason=skipped))
            continue
        reason = "primary" if failed_before is None else f"fallback after {failed_before} failed"
        if loss:
            trial += f", at a loss of {loss} kobo"
        route.append(RouteChoice(meta.provider, meta, eligible=True, reason=reason + trial))
        failed_before = meta.provider  # the next eligible one is used only if this one fails
    return route


def _loss(meta: ProviderMeta, price_kobo: int | None) -> int:
    """How much selling through this provider at ``price_kobo`` would lose (0: none)."""
    if price_kobo is None or meta.price_kobo is None:
        return 0  # any-amount products: the provider takes exactly what the payer pays
    return max(meta.price_kobo - price_kobo, 0)


def _by_priority(metas: Iterable[ProviderMeta]) -> list[ProviderMeta]:
    """Priority order; a provider listed twice counts once (its best priority)."""
    seen: dict[ProviderName, ProviderMeta] = {}
    for meta in sorted(metas, key=lambda m: (m.priority, m.provider.value)):
        seen.setdefault(meta.provider, meta)
    return list(seen.values())


def _health(
    provider: ProviderName,
    configured_providers: Collection[ProviderName],
    breakers: Mapping[ProviderName, CircuitBreaker],
) -> tuple[str | None, str]:
    """(reason to skip or None, suffix for an eligible provider's reason)."""
    if provider not in configured_providers:
        return "skipped: not configured", ""
    breaker = breakers.get(provider)
    if breaker is None:
        return None, ""
    health = breaker.snapshot()
    if health.state is BreakerState.OPEN and health.open_until is not None:
        return f"skipped: circuit open until {health.open_until.isoformat(timespec='seconds')}", ""
    if health.state is BreakerState.HALF_OPEN:
        if health.trial_in_flight:
            return "skipped: half-open trial in progress", ""
        return None, ", trial: half-open"
    return None, ""


def first_eligible(route: Iterable[RouteChoice]) -> RouteChoice | None:
    return next((choice for choice in route if choice.eligible), None)


def next_provider_after(
    outcome: Outcome,
    plan_provider_meta: Iterable[ProviderMeta],
    configured_providers: Collection[ProviderName],
    breakers: Mapping[ProviderName, CircuitBreaker],
    already_tried: Sequence[ProviderName],
) -> RouteChoice | None:
    """Where to send the payment after the last tried provider answered ``outcome``.

    SUCCEEDED: nowhere, it is delivered. UNKNOWN: nowhere — requery the same attempt; falling
    back while the first provider may still deliver risks two vends (DESIGN §1.3). FAILED
    (definite, nothing charged): the next eligible provider, or None when the route is
    exhausted and the payment should be refunded.
    """
    if outcome is not Outcome.FAILED:
        return None
    if not already_tried:
        raise ValueError("a failed outcome must come from a provider in already_tried")
    return first_eligible(
        choose_route(plan_provider_meta, configured_providers, breakers, already_tried)
    )

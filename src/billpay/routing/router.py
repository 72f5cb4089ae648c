"""Which providers a payment should be sent to, in order, and why (DESIGN §2 attempts, §4).

``choose_route`` lists a plan's providers from the base order (catalog priority), re-ranked by
their recent success rate and latency for this biller (for airtime and data the biller is the
network), each marked eligible or skipped with the reason recorded on the attempt. Providers
already tried for the payment are left out entirely: one payment never goes to the same provider
twice under a new reference.

Fallback to the next provider happens only after a DEFINITE failure. While an outcome is
``unknown`` the provider may still deliver, so moving on could vend twice (the seed's successor
did exactly that on timeouts): the attempt is requeried instead (DESIGN §1.3).
``next_provider_after`` encodes that rule.

A skip is ``temporary`` when it may lift by itself or by an operator (an open breaker, a
half-open trial out, a provider switched off): a payment whose route holds only such skips
waits for them instead of being refunded.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from billpay.catalog.plan import ProviderMeta
from billpay.providers.base import Outcome, ProviderName


@dataclass(frozen=True)
class Standing:
    """What routing knows of one provider for the payment's biller right now."""

    skip: str | None = None  # why it takes no new purchase now (breaker, operator switch)
    trial: bool = False  # half-open: this purchase would be its trial
    success_rate: float | None = None  # recent; None on too few attempts to judge by
    latency_ms: float | None = None  # recent p50


HEALTHY = Standing()


@dataclass(frozen=True)
class Ranking:
    """How recent figures re-rank the base order: rates within one ``rate_step`` (and latencies
    within one ``latency_step_ms``) tie, so noise does not reshuffle the order."""

    window_minutes: float
    rate_step: float = 0.02
    latency_step_ms: float = 500.0
    # What a provider with too few recent attempts is presumed to achieve: good, not perfect,
    # so a proven provider keeps the traffic and a failing one loses it to the unproven.
    presumed_rate: float = 0.95


@dataclass(frozen=True)
class RouteChoice:
    provider: ProviderName
    meta: ProviderMeta  # the provider's codes and price for this plan
    eligible: bool
    reason: str  # "primary", "fallback after vtpass failed: 016", "skipped: not configured", ...
    temporary: bool = False  # skipped for now only (see the module docstring)


def choose_route(
    plan_provider_meta: Iterable[ProviderMeta],
    configured_providers: Collection[ProviderName],
    standings: Mapping[ProviderName, Standing],
    already_tried: Sequence[ProviderName],
    price_kobo: int | None = None,
    allow_loss: bool = False,
    last_failure: str | None = None,
    ranking: Ranking | None = None,
) -> list[RouteChoice]:
    """The plan's untried providers, best first, eligible or skipped, with reasons.

    ``already_tried`` is in attempt order; its last entry is the provider that just failed,
    with ``last_failure`` its status. A provider missing from ``standings`` is healthy and
    unranked. With ``price_kobo`` (what the payer pays for the bill), a provider whose own fixed
    price is higher would be sold at a loss: skipped, unless ``allow_loss``. Without
    ``ranking`` the base order stands.
    """
    tried = set(already_tried)
    failed_before = already_tried[-1] if already_tried else None
    failure_detail = f": {last_failure}" if last_failure else ""
    route: list[RouteChoice] = []
    metas = [meta for meta in _by_priority(plan_provider_meta) if meta.provider not in tried]
    if ranking is not None:
        metas.sort(key=lambda meta: _rank(standings.get(meta.provider, HEALTHY), ranking))
    for meta in metas:
        standing = standings.get(meta.provider, HEALTHY)
        skipped, temporary = _skip(meta, standing, configured_providers, price_kobo, allow_loss)
        if skipped is not None:
            route.append(RouteChoice(meta.provider, meta, False, skipped, temporary))
            continue
        if failed_before is None:
            reason = _first_reason(standing, ranking)
        else:
            reason = f"fallback after {failed_before} failed{failure_detail}"
        if standing.trial:
            reason += ", trial: half-open"
        loss = _loss(meta, price_kobo)
        if loss:
            reason += f", at a loss of {loss} kobo"
        route.append(RouteChoice(meta.provider, meta, eligible=True, reason=reason))
        # The next eligible one is used only if this one fails.
        failed_before, failure_detail = meta.provider, ""
    return route


def _skip(
    meta: ProviderMeta,
    standing: Standing,
    configured_providers: Collection[ProviderName],
    price_kobo: int | None,
    allow_loss: bool,
) -> tuple[str | None, bool]:
    """(reason to skip or None, whether the skip may lift by itself)."""
    if meta.provider not in configured_providers:
        return "skipped: not configured", False
    loss = _loss(meta, price_kobo)
    if loss and not allow_loss:
        return f"skipped: costs {meta.price_kobo} kobo, above the price of {price_kobo}", False
    if standing.skip is not None:
        return standing.skip, True
    return None, False


def _first_reason(standing: Standing, ranking: Ranking | None) -> str:
    if ranking is None or standing.success_rate is None:
        return "primary"
    rate = standing.success_rate * 100
    window = f"{ranking.window_minutes:g}"
    return f"best success rate {rate:.1f} % over {window} min"


def _rank(standing: Standing, ranking: Ranking) -> tuple[int, int]:
    """Lower is better; ``sort`` is stable, so ties keep the base order."""
    rate = ranking.presumed_rate if standing.success_rate is None else standing.success_rate
    latency = standing.latency_ms or 0.0
    return (
        -math.floor(rate / ranking.rate_step + 1e-9),
        math.floor(latency / ranking.latency_step_ms),
    )


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


def first_eligible(route: Iterable[RouteChoice]) -> RouteChoice | None:
    return next((choice for choice in route if choice.eligible), None)


def next_provider_after(
    outcome: Outcome,
    plan_provider_meta: Iterable[ProviderMeta],
    configured_providers: Collection[ProviderName],
    standings: Mapping[ProviderName, Standing],
    already_tried: Sequence[ProviderName],
) -> RouteChoice | None:
    """Where to send the payment after the last tried provider answered ``outcome``.

    SUCCEEDED: nowhere, it is delivered. UNKNOWN: nowhere — requery the same attempt; falling
    back while the first provider may still deliver risks two vends (DESIGN §1.3). FAILED
    (definite, nothing charged): the next eligible provider, or None when none is eligible now.
    """
    if outcome is not Outcome.FAILED:
        return None
    if not already_tried:
        raise ValueError("a failed outcome must come from a provider in already_tried")
    return first_eligible(
        choose_route(plan_provider_meta, configured_providers, standings, already_tried)
    )

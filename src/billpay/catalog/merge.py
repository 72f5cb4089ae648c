"""Merge the providers' catalogs into one plan per product (DESIGN §5).

``normalize`` recognises each provider plan's biller (``billers``), then the product it sells
(``products``). The same product from several providers becomes ONE plan whose
``provider_meta`` has one entry per provider. Anything not recognised is kept as its own plan,
slugged from provider + codes, so a sync never loses a product. The result depends only on the
set of input plans, never on their order.

**One advertised price per fixed-price plan.** The payer pays the plan's ``price_kobo`` (plus
the fee), fixed on the payment at create. It is the operator's list price for the slug when
one is configured (``BILLPAY_PLAN_PRICES``), otherwise the lowest price any provider sells the
product for: billpay never charges a payer more than the cheapest way it can buy the product.
Each provider keeps its own price in ``provider_meta`` — its cost, which is what it is asked
to take and what the ledger owes it; the difference is booked as margin. A provider whose
cost is above the advertised price is a loss route, skipped by routing unless
``BILLPAY_ALLOW_LOSS_ROUTES`` (``routing/router.py``).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from billpay.catalog.billers import Biller, recognize_biller
from billpay.catalog.plan import NormalizedPlan, ProviderMeta
from billpay.catalog.products import Identity, identify
from billpay.providers.base import MeterType, ProviderName, ProviderPlan

# Interswitch first: it is the first seed's primary provider. Lower priority number = tried first.
DEFAULT_PROVIDER_PRIORITY: tuple[ProviderName, ...] = (
    ProviderName.INTERSWITCH,
    ProviderName.VTPASS,
    ProviderName.FLUTTERWAVE,
)


def normalize(
    plans: Iterable[ProviderPlan],
    provider_priority: Sequence[ProviderName] = DEFAULT_PROVIDER_PRIORITY,
    list_prices: Mapping[str, int] | None = None,
) -> list[NormalizedPlan]:
    """The providers' plans as billpay's catalog, sorted by slug. See the module docstring.

    ``provider_priority`` orders each plan's providers (first = primary); providers missing from
    it come after, alphabetically. ``list_prices`` (slug → kobo) sets the advertised price of
    fixed-price plans; it is ignored for any-amount plans, which have no single price.
    """
    groups: dict[str, list[tuple[ProviderPlan, Biller, Identity]]] = {}
    unmatched: list[tuple[ProviderPlan, Biller | None]] = []
    for plan in _distinct(plans):
        biller = recognize_biller(plan)
        identity = identify(plan, biller) if biller else None
        if biller is None or identity is None:
            unmatched.append((plan, biller))
        else:
            groups.setdefault(identity.slug, []).append((plan, biller, identity))
    merged: list[NormalizedPlan] = []
    for members in groups.values():
        kept, extras = _one_per_provider(members)
        merged.append(_merge(kept, provider_priority))
        unmatched.extend((plan, biller) for plan, biller, _ in extras)
    singles = _with_unique_slugs(
        [_single(plan, biller, provider_priority) for plan, biller in unmatched]
    )
    listed = [_advertised(plan, list_prices or {}) for plan in merged + singles]
    return sorted(listed, key=lambda normalized: normalized.slug)


def _advertised(plan: NormalizedPlan, list_prices: Mapping[str, int]) -> NormalizedPlan:
    list_price = list_prices.get(plan.slug)
    if plan.price_kobo is None or list_price is None:
        return plan
    return replace(plan, price_kobo=list_price)


def _sort_key(plan: ProviderPlan) -> tuple[str | int, ...]:
    """A total order over a plan's fields (not ``raw``), so every choice below is order-free."""
    return (
        plan.provider.value,
        plan.biller_code,
        plan.plan_code,
        plan.bill_type.value,
        plan.name,
        plan.biller_name,
        -1 if plan.price_kobo is None else plan.price_kobo,
        -1 if plan.min_kobo is None else plan.min_kobo,
        -1 if plan.max_kobo is None else plan.max_kobo,
        -1 if plan.validity_days is None else plan.validity_days,
        plan.meter_type.value if plan.meter_type else "",
    )


def _distinct(plans: Iterable[ProviderPlan]) -> list[ProviderPlan]:
    """One plan per (provider, biller code, plan code): a code listed twice is one product."""
    seen: dict[tuple[ProviderName, str, str], ProviderPlan] = {}
    for plan in sorted(plans, key=_sort_key):
        seen.setdefault((plan.provider, plan.biller_code, plan.plan_code), plan)
    return list(seen.values())


def _one_per_provider(
    members: list[tuple[ProviderPlan, Biller, Identity]],
) -> tuple[
    list[tuple[ProviderPlan, Biller, Identity]], list[tuple[ProviderPlan, Biller, Identity]]
]:
    """A provider selling the product twice keeps its cheapest code in the merged plan; the
    others stay listed on their own rather than being dropped."""
    kept: dict[ProviderName, tuple[ProviderPlan, Biller, Identity]] = {}
    extras: list[tuple[ProviderPlan, Biller, Identity]] = []
    for member in sorted(members, key=lambda m: _cheapest_first(m[0])):
        if member[0].provider in kept:
            extras.append(member)
        else:
            kept[member[0].provider] = member
    return list(kept.values()), extras


def _cheapest_first(plan: ProviderPlan) -> tuple[str | int, ...]:
    price = -1 if plan.price_kobo is None else plan.price_kobo
    return (plan.provider.value, price, *_sort_key(plan))


def _priority_of(provider: ProviderName, priority: Sequence[ProviderName]) -> int:
    if provider in priority:
        return priority.index(provider)
    return len(priority) + sorted(ProviderName).index(provider)


def _meta(
    plan: ProviderPlan, priority: Sequence[ProviderName], meter_type: MeterType | None
) -> ProviderMeta:
    return ProviderMeta(
        provider=plan.provider,
        biller_code=plan.biller_code,
        plan_code=plan.plan_code,
        price_kobo=plan.price_kobo,
        min_kobo=plan.min_kobo,
        max_kobo=plan.max_kobo,
        meter_type=plan.meter_type or meter_type,
        priority=_priority_of(plan.provider, priority),
    )


def _by_priority(metas: Iterable[ProviderMeta]) -> tuple[ProviderMeta, ...]:
    return tuple(sorted(metas, key=lambda meta: (meta.priority, meta.provider.value)))


def _merge(
    members: list[tuple[ProviderPlan, Biller, Identity]], priority: Sequence[ProviderName]
) -> NormalizedPlan:
    """One plan from every provider's version of it.

    Fixed price: the LOWEST provider price (the module docstring says why; dearer providers
    are loss routes). Any amount: the range every provider accepts, so a fallback can take the
    same amount.
    """
    plan, biller, identity = members[0]
    metas = _by_priority(_meta(p, priority, i.meter_type) for p, _, i in members)
    fixed_prices = [meta.price_kobo for meta in metas if meta.price_kobo is not None]
    low, high = (None, None) if fixed_prices else _common_range(metas)
    return NormalizedPlan(
        slug=identity.slug,
        bill_type=plan.bill_type,
        biller=biller.slug,
        biller_name=biller.name,
        name=identity.name,
        price_kobo=min(fixed_prices) if fixed_prices else None,
        min_kobo=low,
        max_kobo=high,
        # A provider that promises less wins: never tell a payer more than every route delivers.
        validity_days=min(
            (i.validity_days for _, _, i in members if i.validity_days is not None), default=None
        ),
        meter_type=identity.meter_type,
        provider_meta=metas,
    )


def _common_range(metas: Sequence[ProviderMeta]) -> tuple[int | None, int | None]:
    """The intersection of the providers' limits (None = no limit). Providers whose ranges do
    not overlap at all cannot share one range; the primary provider's limits win then."""
    lows = [meta.min_kobo for meta in metas if meta.min_kobo is not None]
    highs = [meta.max_kobo for meta in metas if meta.max_kobo is not None]
    low = max(lows) if lows else None
    high = min(highs) if highs else None
    if low is not None and high is not None and low > high:
        return metas[0].min_kobo, metas[0].max_kobo
    return low, high


def _slugify(text: str) -> str:
    return "-".join(re.findall(r"[a-z0-9]+", text.lower()))


def _single(
    plan: ProviderPlan, biller: Biller | None, priority: Sequence[ProviderName]
) -> NormalizedPlan:
    """An unrecognised product, kept as sold by its one provider under a code-derived slug."""
    fallback_slug = "-".join(
        part
        for part in (plan.provider.value, _slugify(plan.biller_code), _slugify(plan.plan_code))
        if part
    )
    return NormalizedPlan(
        slug=fallback_slug,
        bill_type=plan.bill_type,
        biller=biller.slug if biller else (_slugify(plan.biller_name) or fallback_slug),
        biller_name=biller.name if biller else (plan.biller_name.strip() or plan.biller_code),
        name=plan.name.strip() or plan.plan_code,
        price_kobo=plan.price_kobo,
        min_kobo=plan.min_kobo,
        max_kobo=plan.max_kobo,
        validity_days=plan.validity_days,
        meter_type=plan.meter_type,
        provider_meta=(_meta(plan, priority, None),),
    )


def _with_unique_slugs(singles: list[NormalizedPlan]) -> list[NormalizedPlan]:
    """Codes that differ only in punctuation or case slug alike; a digest of the exact codes
    tells them apart."""
    counts = Counter(single.slug for single in singles)
    return [
        replace(single, slug=f"{single.slug}-{_code_digest(single.provider_meta[0])}")
        if counts[single.slug] > 1
        else single
        for single in singles
    ]


def _code_digest(meta: ProviderMeta) -> str:
    exact = "\x00".join((meta.provider.value, meta.biller_code, meta.plan_code))
    return hashlib.sha256(exact.encode()).hexdigest()[:8]

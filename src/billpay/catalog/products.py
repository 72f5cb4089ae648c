"""What one provider plan is, in billpay's terms: the product it sells, by what it *is*.

- airtime: one any-amount plan per network (``mtn-airtime``);
- data: network + bundle size + validity (``mtn-data-1gb-30d``), plus qualifiers such as
  ``sme`` or ``night`` that make two bundles of the same size different products;
- cable TV: the bouquet name without the biller, price or filler words (``dstv-compact``);
- electricity: disco + meter type (``ikeja-electric-prepaid``);
- betting: one any-amount plan per bookmaker (``bet9ja-wallet``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from billpay.catalog.billers import Biller, tokens
from billpay.catalog.sizes import bundle_size_mb, size_label
from billpay.catalog.validity import (
    MONTHLY_BOUQUET_HOURS,
    plan_validity_hours,
    validity_days,
    validity_label,
    validity_slug,
)
from billpay.providers.base import BillType, MeterType, ProviderPlan

# Words that make a bundle a different product from a plain one of the same size and validity
# (SME and gifting bundles are priced differently; night/social bundles only work sometimes or
# for some apps). Plans are merged only when their qualifiers agree.
_DATA_QUALIFIERS = frozenset(
    {
        "sme",
        "gifting",
        "corporate",
        "cg",
        "night",
        "weekend",
        "social",
        "awoof",
        "youtube",
        "whatsapp",
        "instagram",
        "tiktok",
        "router",
        "mifi",
        "broadband",
    }
)

# Prices inside bouquet names ("DStv Compact N15,700") change; the bouquet does not.
_PRICE_IN_NAME = re.compile(
    r"(?:₦|\bngn\b|\bn)\s?\d[\d,]*(?:\.\d+)?|(?<![\d.])\d{1,3}(?:,\d{3})+(?:\.\d+)?|\b\d{4,}\b"
)
_BOUQUET_FILLER = frozenset(
    {"bouquet", "subscription", "package", "plan", "renewal", "payment", "tv", "cable"}
)


@dataclass(frozen=True)
class Identity:
    """What a provider plan is, in billpay's terms; plans with the same slug are one product."""

    slug: str
    name: str
    validity_days: int | None
    meter_type: MeterType | None


def identify(plan: ProviderPlan, biller: Biller) -> Identity | None:
    """Airtime, electricity and betting are any-amount products; data and TV have fixed prices.

    A plan of the wrong pricing kind (a ₦100 airtime voucher) is a different product: left
    unmatched rather than merged into the any-amount plan.
    """
    fixed = plan.price_kobo is not None
    match plan.bill_type:
        case BillType.AIRTIME if not fixed:
            return Identity(f"{biller.slug}-airtime", f"{biller.name} Airtime", None, None)
        case BillType.BETTING if not fixed:
            return Identity(f"{biller.slug}-wallet", f"{biller.name} Wallet Funding", None, None)
        case BillType.ELECTRICITY if not fixed:
            return _electricity(plan, biller)
        case BillType.DATA if fixed:
            return _data_bundle(plan, biller)
        case BillType.CABLE_TV if fixed:
            return _bouquet(plan, biller)
        case _:
            return None


def _electricity(plan: ProviderPlan, biller: Biller) -> Identity | None:
    meter_type = plan.meter_type or _stated_meter_type(plan)
    if meter_type is None:
        return None
    return Identity(
        f"{biller.slug}-{meter_type.value}",
        f"{biller.name} {meter_type.value.capitalize()}",
        None,
        meter_type,
    )


def _stated_meter_type(plan: ProviderPlan) -> MeterType | None:
    words = set(tokens(" ".join((plan.name, plan.plan_code, plan.biller_name, plan.biller_code))))
    stated = {meter_type for meter_type in MeterType if meter_type.value in words}
    return stated.pop() if len(stated) == 1 else None


def _data_bundle(plan: ProviderPlan, biller: Biller) -> Identity | None:
    """Merged only when size and validity are both certain: guessing merges different bundles."""
    size_mb = bundle_size_mb(plan.name)
    hours, _, _ = plan_validity_hours(plan)
    if size_mb is None or hours is None:
        return None
    words = tokens(" ".join((plan.name, plan.biller_name, plan.biller_code)))
    qualifiers = sorted(_DATA_QUALIFIERS.intersection(words))
    size = size_label(size_mb)
    slug = "-".join([biller.slug, "data", *qualifiers, size.lower(), validity_slug(hours)])
    qualifier_labels = [q.upper() if len(q) <= 3 else q.capitalize() for q in qualifiers]
    label = " ".join([biller.name, "Data", *qualifier_labels, size])
    return Identity(slug, f"{label} - {validity_label(hours)}", validity_days(hours), None)


def _bouquet(plan: ProviderPlan, biller: Biller) -> Identity | None:
    """``DStv Compact``, ``dstv-compact``, ``DSTV COMPACT N15,700`` → ``dstv-compact``.

    A monthly bouquet is the default and gets no suffix; other periods do (``startimes-nova-7d``).
    """
    hours, ambiguous, rest = plan_validity_hours(plan)
    biller_words = {word for alias in biller.aliases for word in alias}
    words = [
        word
        for word in tokens(_PRICE_IN_NAME.sub(" ", rest))
        if word not in biller_words and word not in _BOUQUET_FILLER
    ]
    if ambiguous or not words:
        return None
    label = " ".join([biller.name, *(word.capitalize() for word in words)])
    if hours is not None and hours not in MONTHLY_BOUQUET_HOURS:
        words.append(validity_slug(hours))
        label += f" - {validity_label(hours)}"
    return Identity("-".join([biller.slug, *words]), label, validity_days(hours), None)

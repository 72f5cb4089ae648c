"""A product as billpay sells it, and how each provider sells it (DESIGN §5)."""

from __future__ import annotations

from dataclasses import dataclass

from billpay.providers.base import BillType, MeterType, ProviderName


@dataclass(frozen=True)
class ProviderMeta:
    """How one provider sells a plan: its own codes, price or limits, and its route priority.

    ``price_kobo`` is the provider's own price — billpay's cost on this route, what the
    provider is asked to take and owed — not what the payer pays (``NormalizedPlan``)."""

    provider: ProviderName
    biller_code: str
    plan_code: str
    price_kobo: int | None
    min_kobo: int | None
    max_kobo: int | None
    meter_type: MeterType | None
    priority: int


@dataclass(frozen=True)
class NormalizedPlan:
    """One product as billpay sells it: fixed ``price_kobo``, or any amount in min/max.

    ``price_kobo`` is the one advertised price the payer pays (``merge`` says how it is set).
    """

    slug: str
    bill_type: BillType
    biller: str  # biller slug, e.g. "mtn", "dstv", "ikeja-electric"
    biller_name: str
    name: str
    price_kobo: int | None
    min_kobo: int | None
    max_kobo: int | None
    validity_days: int | None
    meter_type: MeterType | None
    provider_meta: tuple[ProviderMeta, ...]  # ordered by priority, one entry per provider

"""Stored ``biller_plans`` rows ↔ ``NormalizedPlan``: one mapping each way."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from billpay.catalog.plan import NormalizedPlan, ProviderMeta
from billpay.models import BillerPlan
from billpay.providers.base import BillType, MeterType, ProviderName


def plan_from_row(row: BillerPlan) -> NormalizedPlan:
    """A stored plan as the rest of billpay uses it (the inverse of ``plan_row``)."""
    return NormalizedPlan(
        slug=row.slug,
        bill_type=BillType(row.bill_type),
        biller=row.biller,
        biller_name=row.biller_name,
        name=row.name,
        price_kobo=row.price_kobo,
        min_kobo=row.min_kobo,
        max_kobo=row.max_kobo,
        validity_days=row.validity_days,
        meter_type=MeterType(row.meter_type) if row.meter_type else None,
        provider_meta=tuple(_meta(meta) for meta in row.provider_meta),
    )


def _meta(meta: Mapping[str, Any]) -> ProviderMeta:
    meter = meta.get("meter_type")
    return ProviderMeta(
        provider=ProviderName(meta["provider"]),
        biller_code=str(meta["biller_code"]),
        plan_code=str(meta["plan_code"]),
        price_kobo=meta.get("price_kobo"),
        min_kobo=meta.get("min_kobo"),
        max_kobo=meta.get("max_kobo"),
        meter_type=MeterType(meter) if meter else None,
        priority=int(meta.get("priority", 100)),
    )


def plan_row(plan: NormalizedPlan) -> dict[str, Any]:
    return {
        "slug": plan.slug,
        "bill_type": plan.bill_type.value,
        "biller": plan.biller,
        "biller_name": plan.biller_name,
        "name": plan.name,
        "price_kobo": plan.price_kobo,
        "min_kobo": plan.min_kobo,
        "max_kobo": plan.max_kobo,
        "validity_days": plan.validity_days,
        "meter_type": plan.meter_type.value if plan.meter_type else None,
        "provider_meta": [
            {
                "provider": meta.provider.value,
                "biller_code": meta.biller_code,
                "plan_code": meta.plan_code,
                "price_kobo": meta.price_kobo,
                "min_kobo": meta.min_kobo,
                "max_kobo": meta.max_kobo,
                "meter_type": meta.meter_type.value if meta.meter_type else None,
                "priority": meta.priority,
            }
            for meta in plan.provider_meta
        ],
    }

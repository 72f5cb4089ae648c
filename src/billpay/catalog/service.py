"""The catalog as the rest of billpay sees it: plans by slug (TTL-cached) and provider sync."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from billpay.catalog import repository as repo
from billpay.catalog.normalize import NormalizedPlan, ProviderMeta, normalize
from billpay.models import BillerPlan
from billpay.providers.base import BillProvider, BillType, MeterType, ProviderName, ProviderPlan

log = structlog.get_logger(__name__)


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


@dataclass(frozen=True)
class SyncReport:
    plans: int
    deactivated: int
    per_provider: dict[str, int]
    failed_providers: dict[str, str]


async def sync(
    session: AsyncSession,
    providers: Mapping[ProviderName, BillProvider],
    on_provider_done: Callable[[ProviderName, int], None] | None = None,
) -> SyncReport:
    """Pull every configured provider's catalog, merge, upsert, deactivate what vanished.

    A provider whose catalog cannot be fetched keeps its plans as they were: an outage must
    not deactivate what it sells.
    """
    fetched: list[ProviderPlan] = []
    per_provider: dict[str, int] = {}
    failed: dict[str, str] = {}
    for name, provider in providers.items():
        try:
            plans = await provider.catalog()
        except Exception as exc:  # any provider failure: report it, keep the old plans
            failed[name.value] = type(exc).__name__
            log.warning("catalog_sync_provider_failed", provider=name.value, error=str(exc))
            plans = []
        per_provider[name.value] = len(plans)
        fetched.extend(plans)
        if on_provider_done:
            on_provider_done(name, len(plans))
    normalized = normalize(fetched)
    await repo.upsert(session, [plan_row(plan) for plan in normalized])
    deactivated = 0
    if not failed:
        deactivated = await repo.deactivate_except(session, {plan.slug for plan in normalized})
    return SyncReport(len(normalized), deactivated, per_provider, failed)

"""The catalog as the rest of billpay sees it: what is on sale, and the sync from providers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from billpay.catalog import repository as repo
from billpay.catalog.merge import normalize
from billpay.catalog.rows import plan_row
from billpay.models import BillerPlan
from billpay.providers.base import BillProvider, BillType, ProviderName, ProviderPlan

log = structlog.get_logger(__name__)


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
    list_prices: Mapping[str, int] | None = None,
) -> SyncReport:
    """Pull every configured provider's catalog, merge, upsert, deactivate what vanished.

    A provider whose catalog cannot be fetched keeps its plans as they were: an outage must
    not deactivate what it sells. ``list_prices``: the operator's advertised prices by slug
    (``BILLPAY_PLAN_PRICES``; see ``merge``).
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
    normalized = normalize(fetched, list_prices=list_prices)
    await repo.upsert(session, [plan_row(plan) for plan in normalized])
    deactivated = 0
    if not failed:
        deactivated = await repo.deactivate_except(session, {plan.slug for plan in normalized})
    return SyncReport(len(normalized), deactivated, per_provider, failed)


# What ``customer_id`` is, per bill type (its shape is checked by ``customers.identifiers``).
CUSTOMER_ID_KINDS = {
    BillType.AIRTIME: "phone_number",
    BillType.DATA: "phone_number",
    BillType.ELECTRICITY: "meter_number",
    BillType.CABLE_TV: "smartcard_number",
    BillType.BETTING: "betting_account",
}
# Bill types whose ``customer_id`` is the payer's phone already: no separate ``phone``.
_PHONE_IS_CUSTOMER = frozenset({BillType.AIRTIME, BillType.DATA})


@dataclass(frozen=True)
class PlanTerms:
    """What a plan costs the payer and what a payment for it must carry."""

    fee_kobo: int
    total_kobo: int | None  # price + fee, for a fixed-price plan
    customer_id_kind: str
    required_fields: tuple[str, ...]  # of ``POST /v1/payments``


def plan_terms(bill_type: BillType, price_kobo: int | None, fee_kobo: int) -> PlanTerms:
    """The same rules ``PaymentService.create`` applies: a fixed price is charged as is, any
    other amount must be sent; a phone is required unless the customer id is one."""
    required = ["plan", "customer_id", "request_reference"]
    if price_kobo is None:
        required.append("amount_kobo")
    if bill_type not in _PHONE_IS_CUSTOMER:
        required.append("phone")
    return PlanTerms(
        fee_kobo=fee_kobo,
        total_kobo=None if price_kobo is None else price_kobo + fee_kobo,
        customer_id_kind=CUSTOMER_ID_KINDS[bill_type],
        required_fields=tuple(required),
    )


async def active_plans(
    session: AsyncSession, *, bill_type: BillType | None = None, biller: str | None = None
) -> list[BillerPlan]:
    """What is on sale, by biller then slug."""
    return await repo.list_active(
        session, bill_type=bill_type.value if bill_type else None, biller=biller
    )

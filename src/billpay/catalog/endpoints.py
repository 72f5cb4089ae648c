"""``/v1/billers`` and ``/v1/customers/validate``."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

from billpay.catalog.schemas import (
    BillerOut,
    CustomerOut,
    NetworkOut,
    PlanOut,
    ValidateCustomer,
)
from billpay.catalog.service import active_plans, plan_terms
from billpay.config import Settings
from billpay.customers.networks import NetworkDetection
from billpay.deps import CurrentClient, State
from billpay.errors import (
    API_KEY_ERRORS,
    CUSTOMER_ERRORS,
    NotFound,
    ValidationFailed,
    error_responses,
)
from billpay.models import BillerPlan
from billpay.payments.attempts.calls import record as record_calls
from billpay.payments.networks import ChosenPlan, checked_phone, choose_plan
from billpay.providers.base import BillType
from billpay.providers.calls import CallKind, collect_calls

router = APIRouter(prefix="/v1", tags=["catalog"])


def _plan_out(row: BillerPlan, settings: Settings) -> PlanOut:
    terms = plan_terms(
        BillType(row.bill_type), row.price_kobo, settings.fee_kobo_for(row.bill_type)
    )
    return PlanOut(
        slug=row.slug,
        bill_type=row.bill_type,
        biller=row.biller,
        name=row.name,
        price_kobo=row.price_kobo,
        min_kobo=row.min_kobo,
        max_kobo=row.max_kobo,
        validity_days=row.validity_days,
        meter_type=row.meter_type,
        providers=[meta["provider"] for meta in row.provider_meta],
        fee_kobo=terms.fee_kobo,
        total_kobo=terms.total_kobo,
        customer_id_kind=terms.customer_id_kind,
        required_fields=list(terms.required_fields),
    )


@router.get(
    "/billers",
    response_model=list[BillerOut],
    responses=error_responses(*API_KEY_ERRORS, ValidationFailed),
)
async def list_billers(
    _: CurrentClient, state: State, bill_type: BillType | None = None
) -> list[BillerOut]:
    async with state.unit_of_work() as session:
        rows = await active_plans(session, bill_type=bill_type)
    billers: dict[tuple[str, str], BillerOut] = {}
    for row in rows:
        key = (row.biller, row.bill_type)
        if key not in billers:
            billers[key] = BillerOut(
                biller=row.biller, name=row.biller_name, bill_type=row.bill_type, plans=0
            )
        billers[key].plans += 1
    return list(billers.values())


@router.get(
    "/billers/{biller}/plans",
    response_model=list[PlanOut],
    responses=error_responses(*API_KEY_ERRORS, NotFound, ValidationFailed),
)
async def list_plans(biller: str, _: CurrentClient, state: State) -> list[PlanOut]:
    async with state.unit_of_work() as session:
        rows = await active_plans(session, biller=biller)
    if not rows:
        raise NotFound(f"no biller named {biller!r}; list billers at /v1/billers")
    return [_plan_out(row, state.settings) for row in rows]


@router.post(
    "/customers/validate",
    response_model=CustomerOut,
    responses=error_responses(*API_KEY_ERRORS, ValidationFailed, *CUSTOMER_ERRORS),
)
async def validate_customer(
    body: ValidateCustomer, client: CurrentClient, state: State
) -> CustomerOut:
    async with state.unit_of_work() as session:
        chosen = await choose_plan(
            session, state.plans, body.plan, body.customer_id, livemode=client.livemode
        )
        plans = await _network_plans(session, chosen)
    network = _network_out(chosen.detection)
    if chosen.plan is None:  # bare "data": the bundles are the answer
        return CustomerOut(
            plan=body.plan,
            customer_id=checked_phone(body.customer_id),
            customer_name=None,
            valid=True,
            network=network,
            plans=[_plan_out(row, state.settings) for row in plans],
        )
    plan = chosen.plan
    with collect_calls(CallKind.VALIDATION) as made:
        try:
            customer_id, found = await state.payments_for(client.livemode).check_customer(
                plan, body.customer_id
            )
        finally:  # the provider's word is kept, whatever it was
            async with state.unit_of_work() as session:
                await record_calls(session, made)
    return CustomerOut(
        plan=plan.slug,
        customer_id=customer_id,
        customer_name=found.customer_name if found else None,
        valid=True,
        current_bouquet=found.current_bouquet if found else None,
        renewal_kobo=found.renewal_kobo if found else None,
        due_date=found.due_date if found else None,
        network=network,
        plans=[_plan_out(row, state.settings) for row in plans] if network else None,
    )


async def _network_plans(session: AsyncSession, chosen: ChosenPlan) -> list[BillerPlan]:
    """The detected (or named) network's plans of the bill type asked about."""
    if chosen.detection is None:
        return []
    return await active_plans(
        session, bill_type=chosen.bill_type, biller=chosen.detection.network.value
    )


def _network_out(detection: NetworkDetection | None) -> NetworkOut | None:
    if detection is None:
        return None
    return NetworkOut(
        network=detection.network.value,
        source=detection.source.value,
        learned_from=detection.learned_from.value if detection.learned_from else None,
        learned_at=detection.learned_at,
    )

"""``/v1/ops``: operator figures, behind the operator token. Parse, delegate, answer."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from billpay.deps import State
from billpay.errors import (
    OPERATOR_TOKEN_ERRORS,
    ReasonRequired,
    UnknownProvider,
    ValidationFailed,
    error_responses,
)
from billpay.ops import service
from billpay.ops.auth import CurrentOperatorIdentity, require_operator
from billpay.ops.schemas import (
    OpsStats,
    ProvidersReport,
    ProviderSwitchIn,
    ProviderSwitchOut,
    ReconcileOut,
    StuckReport,
)
from billpay.routing import switches

router = APIRouter(
    prefix="/v1/ops",
    tags=["ops"],
    dependencies=[Depends(require_operator)],
    responses=error_responses(*OPERATOR_TOKEN_ERRORS),
)

WindowHours = Annotated[
    float, Query(gt=0, le=24 * 90, description="Look back this many hours (by creation)")
]


@router.get("/stats", response_model=OpsStats, responses=error_responses(ValidationFailed))
async def get_stats(state: State, window_hours: WindowHours = 24) -> OpsStats:
    """Payments by status, success rate by bill type, provider performance."""
    async with state.unit_of_work() as session:
        return await service.stats(session, timedelta(hours=window_hours))


@router.get(
    "/providers", response_model=ProvidersReport, responses=error_responses(ValidationFailed)
)
async def get_providers(
    state: State,
    window_hours: WindowHours = 24,
    health_minutes: Annotated[
        float, Query(gt=0, le=24 * 60, description="Health from attempts active this recently")
    ] = 15,
) -> ProvidersReport:
    """Provider performance (attempts, outcomes, latency) and health from recent attempts."""
    async with state.unit_of_work() as session:
        return await service.providers(
            session,
            timedelta(hours=window_hours),
            timedelta(minutes=health_minutes),
            [name.value for name in state.providers],
        )


SWITCH_ERRORS = error_responses(ValidationFailed, UnknownProvider, ReasonRequired)


@router.post(
    "/providers/{provider}/disable", response_model=ProviderSwitchOut, responses=SWITCH_ERRORS
)
async def disable_provider(
    state: State, operator: CurrentOperatorIdentity, provider: str, body: ProviderSwitchIn
) -> ProviderSwitchOut:
    """Send no new purchase to the provider (or to it for one biller); payments already with
    it are still requeried and settled. Every worker honours it within seconds."""
    return await _switch(state, operator.name, provider, body, enabled=False)


@router.post(
    "/providers/{provider}/enable", response_model=ProviderSwitchOut, responses=SWITCH_ERRORS
)
async def enable_provider(
    state: State, operator: CurrentOperatorIdentity, provider: str, body: ProviderSwitchIn
) -> ProviderSwitchOut:
    """Route purchases to the provider (or to it for one biller) again."""
    return await _switch(state, operator.name, provider, body, enabled=True)


async def _switch(
    state: State, actor: str, provider: str, body: ProviderSwitchIn, *, enabled: bool
) -> ProviderSwitchOut:
    async with state.unit_of_work() as session:
        row = await switches.switch(
            session, provider, enabled=enabled, actor=actor, reason=body.reason, biller=body.biller
        )
    state.routes.forget()  # this process at once; the others within their refresh
    return ProviderSwitchOut(**(asdict(row) | {"biller": row.biller or None}))


@router.get("/stuck", response_model=StuckReport, responses=error_responses(ValidationFailed))
async def get_stuck(
    state: State,
    processing_minutes: Annotated[float, Query(ge=0, le=24 * 60 * 30)] = 15,
    refunding_minutes: Annotated[float, Query(ge=0, le=24 * 60 * 30)] = 60,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> StuckReport:
    """Processing or refunding past a threshold, every needs_review, the oldest unresolved."""
    thresholds = service.StuckThresholds(
        processing=timedelta(minutes=processing_minutes),
        refunding=timedelta(minutes=refunding_minutes),
        limit=limit,
    )
    async with state.unit_of_work() as session:
        return await service.stuck(session, thresholds)


@router.get("/reconcile", response_model=ReconcileOut)
async def get_reconcile(state: State) -> ReconcileOut:
    """The ledger proves itself: balances match entries, reservations match held payments."""
    async with state.unit_of_work() as session:
        return await service.reconciliation(session)

"""``/v1/ops/reconciliation``: the recorded runs, one in full, a run on demand. Parse,
delegate, answer. The app mounts this router behind the operator token like the other
``/v1/ops`` routes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from billpay.deps import State
from billpay.errors import OPERATOR_TOKEN_ERRORS, RunNotFound, ValidationFailed, error_responses
from billpay.reconciliation import service
from billpay.reconciliation.schemas import ReconciliationOverview, RunDetail, Side

router = APIRouter(
    prefix="/v1/ops/reconciliation",
    tags=["ops"],
    responses=error_responses(*OPERATOR_TOKEN_ERRORS),
)


@router.get("", response_model=ReconciliationOverview, responses=error_responses(ValidationFailed))
async def get_reconciliation(
    state: State,
    runs: Annotated[int, Query(ge=1, le=200, description="how many recent runs")] = 20,
    adjustments: Annotated[int, Query(ge=0, le=200, description="how many adjustments")] = 20,
) -> ReconciliationOverview:
    """The latest finished run in full (every discrepancy with its evidence), the history of
    runs (worker, CLI, API, dashboard) and the operators' adjusting entries."""
    async with state.unit_of_work() as session:
        return await service.overview(session, runs=runs, adjustments=adjustments)


@router.get(
    "/runs/{run_id}",
    response_model=RunDetail,
    responses=error_responses(RunNotFound, ValidationFailed),
)
async def get_run(state: State, run_id: int) -> RunDetail:
    async with state.unit_of_work() as session:
        return await service.run_detail(session, run_id)


@router.post(
    "/runs", response_model=RunDetail, status_code=201, responses=error_responses(ValidationFailed)
)
async def run_now(
    state: State,
    ledger_only: Annotated[
        bool, Query(description="only the ledger: no provider lookups, no Horizon")
    ] = False,
) -> RunDetail:
    """Reconcile now and record the run. With every side this makes rate-limited, read-only
    provider lookups and can take a while."""
    sides = frozenset({Side.LEDGER}) if ledger_only else frozenset(Side)
    run_id, _ = await service.reconcile_and_record(state, "api", sides=sides)
    async with state.unit_of_work() as session:
        return await service.run_detail(session, run_id)

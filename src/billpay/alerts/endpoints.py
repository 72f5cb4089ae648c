"""``GET /v1/ops/alerts``: open incidents and the recently resolved ones. Parse, delegate,
answer. The app mounts this router behind the operator token like the other ``/v1/ops`` routes."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from billpay.alerts import service
from billpay.alerts.schemas import AlertList
from billpay.deps import State
from billpay.errors import OPERATOR_TOKEN_ERRORS, ValidationFailed, error_responses

router = APIRouter(
    prefix="/v1/ops/alerts", tags=["ops"], responses=error_responses(*OPERATOR_TOKEN_ERRORS)
)


@router.get("", response_model=AlertList, responses=error_responses(ValidationFailed))
async def list_alerts(
    state: State,
    include_resolved: Annotated[
        bool, Query(description="also the incidents resolved within `resolved_within_hours`")
    ] = True,
    resolved_within_hours: Annotated[float, Query(gt=0, le=24 * 366)] = 24 * 7,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AlertList:
    """Each alert incident: what it is about, since when, whether it has cleared, and how the
    operators were told (webhook, email)."""
    async with state.unit_of_work() as session:
        return await service.list_alerts(
            session,
            include_resolved=include_resolved,
            resolved_within=timedelta(hours=resolved_within_hours),
            limit=limit,
        )

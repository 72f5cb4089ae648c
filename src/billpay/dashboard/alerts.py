"""``/dashboard/alerts``: the operator alert incidents, open first, with how operators were
told. Parse, delegate, render."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from billpay.alerts import service
from billpay.dashboard.endpoints import HOME, CurrentOperator, DashboardRoute, _page
from billpay.deps import State

router = APIRouter(prefix=f"{HOME}/alerts", include_in_schema=False, route_class=DashboardRoute)


@router.get("")
async def alerts_page(
    state: State,
    operator: CurrentOperator,
    hours: Annotated[float, Query(gt=0, le=24 * 366)] = 24 * 7,
) -> Response:
    async with state.unit_of_work() as db:
        listed = await service.list_alerts(db, resolved_within=timedelta(hours=hours))
    opened = [alert for alert in listed.data if alert.resolved_at is None]
    resolved = [alert for alert in listed.data if alert.resolved_at is not None]
    return _page("alerts.html", operator, "alerts", opened=opened, resolved=resolved, hours=hours)

"""``/dashboard/charts``: volume, success rate and latency over time, drawn as SVG on the
server (no script, nothing fetched from elsewhere: it works offline). Parse, delegate, render."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter
from fastapi.responses import Response

from billpay.dashboard.endpoints import HOME, CurrentOperator, DashboardRoute, WindowHours, _page
from billpay.dashboard.trends import service
from billpay.deps import State

PAGE = f"{HOME}/charts"

router = APIRouter(prefix=PAGE, include_in_schema=False, route_class=DashboardRoute)


@router.get("")
async def charts_page(
    state: State, operator: CurrentOperator, window_hours: WindowHours = 24
) -> Response:
    async with state.unit_of_work() as db:
        trends = await service.trends(db, timedelta(hours=window_hours))
    return _page("charts.html", operator, "charts", trends=trends)

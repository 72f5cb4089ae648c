"""``/dashboard/reconciliation``: the books page — the latest run with each discrepancy and
its evidence, run history, operators' adjusting entries (and the form to post one), a run
on demand, and the settlement statement download. Parse, delegate, render."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from billpay.dashboard.endpoints import HOME, CurrentOperator, DashboardRoute, _checked_form, _page
from billpay.deps import State
from billpay.errors import ApiError, InvalidAdjustment
from billpay.providers.base import ProviderName
from billpay.reconciliation import service
from billpay.reconciliation.schemas import AdjustmentIn, RunDetail, Side

PAGE = f"{HOME}/reconciliation"

router = APIRouter(prefix=PAGE, include_in_schema=False, route_class=DashboardRoute)


async def _books_page(
    state: State,
    operator: CurrentOperator,
    *,
    run_id: int | None = None,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    async with state.unit_of_work() as db:
        books = await service.overview(db)
        shown: RunDetail | None = (
            await service.run_detail(db, run_id) if run_id is not None else books.latest
        )
    response = _page(
        "reconciliation.html",
        operator,
        "reconciliation",
        books=books,
        run=shown,
        notice=notice,
        error=error,
        providers=list(ProviderName),
        today=date.today().isoformat(),
    )
    response.status_code = status_code
    return response


@router.get("")
async def books_page(
    state: State,
    operator: CurrentOperator,
    run: Annotated[int | None, Query(ge=1)] = None,
    adjusted: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    notice = f"Adjustment {adjusted} posted." if adjusted else None
    return await _books_page(state, operator, run_id=run, notice=notice)


@router.post("/run")
async def run_now(request: Request, state: State, operator: CurrentOperator) -> Response:
    form = await _checked_form(request)
    sides = frozenset({Side.LEDGER}) if form.get("ledger_only") else frozenset(Side)
    run_id, _ = await service.reconcile_and_record(state, f"dashboard:{operator.name}", sides=sides)
    return RedirectResponse(f"{PAGE}?{urlencode({'run': run_id})}", status_code=303)


@router.post("/adjust")
async def adjust(request: Request, state: State, operator: CurrentOperator) -> Response:
    form = await _checked_form(request)
    try:
        entry = _adjustment_of(form)
        async with state.unit_of_work() as db:
            made = await service.adjust(db, entry, f"operator:{operator.name}")
    except ApiError as exc:
        return await _books_page(state, operator, error=exc.message, status_code=422)
    return RedirectResponse(f"{PAGE}?{urlencode({'adjusted': made.id})}", status_code=303)


def _adjustment_of(form: dict[str, str]) -> AdjustmentIn:
    amount = form.get("amount_kobo", "").strip()
    if not amount.isdigit() or int(amount) <= 0:
        raise InvalidAdjustment("amount_kobo: a whole number of kobo above zero")
    reason = form.get("reason", "").strip()
    if not reason or len(reason) > 300:
        raise InvalidAdjustment("reason: say what the adjustment corrects (at most 300 characters)")
    debit, credit = form.get("debit_account", "").strip(), form.get("credit_account", "").strip()
    if not debit or not credit or len(debit) > 200 or len(credit) > 200:
        raise InvalidAdjustment("debit_account, credit_account: the codes of two accounts")
    return AdjustmentIn(
        debit_account=debit,
        credit_account=credit,
        amount_kobo=int(amount),
        reason=reason,
        payment_id=service.parse_payment_id(form.get("payment_id")),
    )


@router.get("/statement")
async def statement(
    state: State,
    _: CurrentOperator,
    provider: Annotated[str, Query(max_length=20)],
    start: Annotated[date, Query(alias="from")],
    end: Annotated[date, Query(alias="to")],
) -> Response:
    async with state.unit_of_work() as db:
        body = await service.statement_csv(db, provider, start, end)
    filename = f"billpay-{provider}-{start.isoformat()}-{end.isoformat()}.csv"
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )

"""``/dashboard``: the operator's pages. Parse, delegate to ``billpay.ops`` and the payments
service and review, render. Every page but the login needs the operator session; every form
post a CSRF token. No JavaScript."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable, Coroutine
from datetime import timedelta
from importlib.resources import files
from typing import Annotated, Any, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute

from billpay.dashboard import session
from billpay.dashboard.forms import read_form
from billpay.dashboard.session import COOKIE, SESSION_SECONDS, Operator
from billpay.dashboard.views import render
from billpay.deps import State
from billpay.errors import (
    ApiError,
    CsrfFailed,
    InvalidFilter,
    ReasonTooLong,
    UnknownProvider,
    Unprocessable,
)
from billpay.operators import service as operators
from billpay.operators.tokens import name_problem
from billpay.ops import service
from billpay.ops.auth import OperatorSettings, admin_identity, came_over_tls, client_address
from billpay.payments.lifecycle import StaleTransition
from billpay.payments.review import resolve
from billpay.payments.service import operator_detail
from billpay.payments.status import Status
from billpay.providers.base import BillType, ProviderName
from billpay.routing import switches

HOME = "/dashboard"
LOGIN = f"{HOME}/login"
STYLESHEET = files("billpay.dashboard").joinpath("static/dashboard.css")

PAGE_SIZE = 50
MAX_REASON = 400  # the event row keeps 500; "operator:<name>" context stays readable

E = TypeVar("E", bound=enum.Enum)


class LoginRequired(Exception):
    """No valid operator session: the page answers with a redirect to the login form."""


class DashboardRoute(APIRoute):
    """Errors become pages (or a trip to the login form), not the API's JSON envelope."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                target = urlencode({"next": _local(str(request.url.path))})
                return RedirectResponse(f"{LOGIN}?{target}", status_code=303)
            except ApiError as exc:
                return _error_page(exc.status_code, exc.message)
            except RequestValidationError as exc:
                errors = exc.errors()
                first = errors[0] if errors else {"loc": ("query",), "msg": "invalid request"}
                field = ".".join(str(part) for part in first["loc"][1:]) or "request"
                return _error_page(422, f"{field}: {first['msg']}")

        return guarded


router = APIRouter(prefix=HOME, include_in_schema=False, route_class=DashboardRoute)


def _error_page(status_code: int, message: str) -> Response:
    return render("error.html", status_code=status_code, message=message, home=HOME)


def _local(target: str | None) -> str:
    """Only a dashboard path may be a post-login destination (no open redirect)."""
    if target and target.startswith(HOME) and not target.startswith("//") and "\\" not in target:
        return target
    return HOME


# --- session ---------------------------------------------------------------------------------


async def _signed_in(request: Request, state: State, settings: OperatorSettings) -> Operator | None:
    """The operator of this request's session cookie, if that session is still live."""
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        return None
    async with state.unit_of_work() as db:
        identity = await operators.session_identity(db, cookie, admin_identity(settings))
    return Operator(name=identity.name, csrf=session.csrf_for(cookie)) if identity else None


async def get_operator(request: Request, state: State, settings: OperatorSettings) -> Operator:
    operator = await _signed_in(request, state, settings)
    if operator is None:
        raise LoginRequired
    return operator


CurrentOperator = Annotated[Operator, Depends(get_operator)]


async def _checked_form(request: Request) -> dict[str, str]:
    """The posted form, once its CSRF token proves it came from one of our pages."""
    form = await read_form(request)
    cookie = request.cookies.get(COOKIE, "")
    if not session.csrf_ok(cookie, form.get("csrf", "")):
        raise CsrfFailed(
            "the form expired or did not come from this dashboard: reload and try again"
        )
    return form


def _page(template: str, operator: Operator, nav: str, **context: Any) -> Response:
    return render(template, operator=operator, nav=nav, home=HOME, **context)


@router.get("/static/dashboard.css")
async def stylesheet() -> Response:
    return Response(
        STYLESHEET.read_text(encoding="utf-8"),
        media_type="text/css",
        headers={"Cache-Control": "max-age=300", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/login")
async def login_form(
    request: Request,
    state: State,
    settings: OperatorSettings,
    target: Annotated[str, Query(alias="next", max_length=500)] = HOME,
) -> Response:
    if await _signed_in(request, state, settings):
        return RedirectResponse(_local(target), status_code=303)
    async with state.unit_of_work() as db:
        configured = await operators.any_configured(db, admin_identity(settings))
    return _login_page(target, disabled=not configured)


def _login_page(
    target: str,
    *,
    disabled: bool,
    error: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    page = render(
        "login.html",
        status_code=status_code,
        next=_local(target),
        disabled=disabled,
        error=error,
        home=HOME,
    )
    page.headers.update(headers or {})
    return page


@router.post("/login")
async def login(request: Request, state: State, settings: OperatorSettings) -> Response:
    form = await read_form(request)
    target = form.get("next", HOME)
    admin = admin_identity(settings)
    name = form.get("name", "").strip()
    if name_problem(name) is not None:
        return _login_page(
            target, disabled=False, error="Operator: letters, digits, . _ @ -", status_code=422
        )
    async with state.unit_of_work() as db:  # commits a failure before the answer goes out
        if not await operators.any_configured(db, admin):
            return _login_page(target, disabled=True, status_code=503)
        outcome = await operators.sign_in(
            db, name, form.get("token", ""), client_address(request, settings), admin
        )
    if outcome.retry_after is not None:
        return _login_page(
            target,
            disabled=False,
            error=f"Too many failed sign-ins: try again in {outcome.retry_after} s.",
            status_code=429,
            headers={"Retry-After": str(outcome.retry_after)},
        )
    if outcome.session_secret is None:
        return _login_page(
            target, disabled=False, error="That operator and token do not match.", status_code=401
        )
    response = RedirectResponse(_local(target), status_code=303)
    response.set_cookie(
        COOKIE,
        outcome.session_secret,
        max_age=SESSION_SECONDS,
        path=HOME,
        httponly=True,
        samesite="strict",
        secure=came_over_tls(request, settings),
    )
    return response


@router.post("/logout")
async def logout(request: Request, state: State, _: CurrentOperator) -> Response:
    """Ends the session on the server too: the cookie, if kept, opens nothing any more."""
    await _checked_form(request)
    async with state.unit_of_work() as db:
        await operators.end_session(db, request.cookies.get(COOKIE, ""))
    response = RedirectResponse(LOGIN, status_code=303)
    response.delete_cookie(COOKIE, path=HOME, httponly=True, samesite="strict")
    return response


# --- figures ---------------------------------------------------------------------------------

WindowHours = Annotated[float, Query(gt=0, le=24 * 90)]


@router.get("")
async def overview(
    state: State, operator: CurrentOperator, window_hours: WindowHours = 24
) -> Response:
    async with state.unit_of_work() as db:
        stats = await service.stats(db, timedelta(hours=window_hours))
        stuck = await service.stuck(db, service.StuckThresholds(limit=1))
    return _page("overview.html", operator, "overview", stats=stats, stuck=stuck)


@router.get("/providers")
async def providers(
    state: State,
    operator: CurrentOperator,
    window_hours: WindowHours = 24,
    health_minutes: Annotated[float, Query(gt=0, le=24 * 60)] = 15,
    switched: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    notice = f"Switched: {switched}." if switched else None
    return await _providers_page(state, operator, window_hours, health_minutes, notice=notice)


@router.post("/providers/switch")
async def switch_provider(request: Request, state: State, operator: CurrentOperator) -> Response:
    """Disable or enable a provider (or a provider for one biller), as the signed-in operator."""
    form = await _checked_form(request)
    enabled = form.get("action") == "enable"
    try:
        async with state.unit_of_work() as db:
            row = await switches.switch(
                db,
                form.get("provider", ""),
                enabled=enabled,
                actor=operator.name,
                reason=form.get("reason", ""),
                biller=form.get("biller") or None,
            )
    except (Unprocessable, UnknownProvider) as exc:
        return await _providers_page(state, operator, error=exc.message, status_code=422)
    state.routes.forget()  # this process at once; the others within their refresh
    where = f" for {row.biller}" if row.biller else ""
    done = f"{row.provider}{where} {'enabled' if row.enabled else 'disabled'}"
    return RedirectResponse(f"{HOME}/providers?{urlencode({'switched': done})}", status_code=303)


async def _providers_page(
    state: State,
    operator: Operator,
    window_hours: float = 24,
    health_minutes: float = 15,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    async with state.unit_of_work() as db:
        report = await service.providers(
            db,
            timedelta(hours=window_hours),
            timedelta(minutes=health_minutes),
            [name.value for name in state.providers],
        )
    return render(
        "providers.html",
        status_code=status_code,
        operator=operator,
        nav="providers",
        home=HOME,
        report=report,
        notice=notice,
        error=error,
        providers=[name.value for name in ProviderName],
    )


@router.get("/stuck")
async def stuck(
    state: State,
    operator: CurrentOperator,
    processing_minutes: Annotated[float, Query(ge=0, le=24 * 60 * 30)] = 15,
    refunding_minutes: Annotated[float, Query(ge=0, le=24 * 60 * 30)] = 60,
) -> Response:
    thresholds = service.StuckThresholds(
        processing=timedelta(minutes=processing_minutes),
        refunding=timedelta(minutes=refunding_minutes),
    )
    async with state.unit_of_work() as db:
        report = await service.stuck(db, thresholds)
    return _page("stuck.html", operator, "stuck", report=report)


@router.get("/reconcile")
async def reconciliation(state: State, operator: CurrentOperator) -> Response:
    async with state.unit_of_work() as db:
        report = await service.reconciliation(db)
    return _page("reconcile.html", operator, "reconcile", report=report)


# --- payments --------------------------------------------------------------------------------


def _choice(value: str, kind: type[E], field: str) -> E | None:
    """An optional select box: empty means "any"."""
    if not value:
        return None
    try:
        return kind(value)
    except ValueError as exc:
        raise InvalidFilter(f"{field}: not a known value") from exc


@router.get("/payments")
async def payments(
    state: State,
    operator: CurrentOperator,
    status: Annotated[str, Query(max_length=20)] = "",
    bill_type: Annotated[str, Query(max_length=20)] = "",
    provider: Annotated[str, Query(max_length=20)] = "",
    biller: Annotated[str, Query(max_length=100)] = "",
    q: Annotated[str, Query(max_length=200)] = "",
    cursor: Annotated[str, Query(max_length=200)] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = PAGE_SIZE,
) -> Response:
    chosen = {
        "status": _choice(status, Status, "status"),
        "bill_type": _choice(bill_type, BillType, "bill_type"),
        "provider": _choice(provider, ProviderName, "provider"),
    }
    filters = service.PaymentFilters(
        **{key: value.value if value else None for key, value in chosen.items()},
        biller=biller.strip() or None,
        search=q.strip() or None,
    )
    async with state.unit_of_work() as db:
        page = await service.payments_page(db, filters, limit=limit, cursor=cursor or None)
    query = {
        "status": status,
        "bill_type": bill_type,
        "provider": provider,
        "biller": biller,
        "q": q,
    }
    active = {key: value for key, value in query.items() if value}
    if limit != PAGE_SIZE:
        active["limit"] = str(limit)
    return _page(
        "payments.html",
        operator,
        "payments",
        page=page,
        query=query,
        next_url=f"{HOME}/payments?{urlencode({**active, 'cursor': page.next_cursor})}"
        if page.next_cursor
        else None,
        first_url=f"{HOME}/payments?{urlencode(active)}" if cursor else None,
        statuses=list(Status),
        bill_types=list(BillType),
        providers=list(ProviderName),
    )


async def _detail(
    state: State,
    operator: Operator,
    payment_id: uuid.UUID,
    *,
    notice: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    async with state.unit_of_work() as db:
        detail = await operator_detail(db, payment_id)
    return render(
        "payment.html",
        status_code=status_code,
        operator=operator,
        nav="payments",
        home=HOME,
        payment=detail.payment,
        attempts=detail.attempts,
        calls_of=detail.calls_of,
        events=detail.events,
        notice=notice,
        error=error,
        in_review=detail.payment.status == Status.NEEDS_REVIEW.value,
    )


@router.get("/payments/{payment_id}")
async def payment_detail(
    payment_id: uuid.UUID,
    state: State,
    operator: CurrentOperator,
    resolved: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    notice = None
    if resolved in set(Status):
        notice = f"Resolved: the payment is now {resolved}."
    return await _detail(state, operator, payment_id, notice=notice)


@router.post("/payments/{payment_id}/resolve")
async def resolve_payment(
    payment_id: uuid.UUID,
    request: Request,
    state: State,
    operator: CurrentOperator,
) -> Response:
    form = await _checked_form(request)
    try:
        reason = form.get("reason", "").strip()
        if len(reason) > MAX_REASON:
            raise ReasonTooLong(f"reason: at most {MAX_REASON} characters")
        async with state.unit_of_work() as db:
            status = await resolve(db, payment_id, form.get("outcome", ""), reason, operator.name)
    except (Unprocessable, StaleTransition) as exc:
        message = exc.message if isinstance(exc, ApiError) else "the payment changed meanwhile"
        return await _detail(state, operator, payment_id, error=message, status_code=422)
    target = f"{HOME}/payments/{payment_id}?{urlencode({'resolved': status})}"
    return RedirectResponse(target, status_code=303)

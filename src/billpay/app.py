"""create_app(): the FastAPI application — routers, error handlers, lifespan."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from billpay.alerts.endpoints import router as alerts_router
from billpay.api import check_request, document_shared_errors, install_limits
from billpay.api.docs import install_offline_docs
from billpay.balance.endpoints import router as balance_router
from billpay.catalog.endpoints import router as catalog_router
from billpay.clients.endpoints import router as api_keys_router
from billpay.dashboard.alerts import router as dashboard_alerts_router
from billpay.dashboard.endpoints import router as dashboard_router
from billpay.dashboard.reconciliation import router as dashboard_books_router
from billpay.dashboard.trends.endpoints import router as dashboard_charts_router
from billpay.db.health import ready
from billpay.errors import DatabaseUnavailable
from billpay.errors.handlers import error_response, install_error_handlers
from billpay.inbox.endpoints import router as inbound_webhooks_router
from billpay.ops.auth import require_metrics_reader, require_operator
from billpay.ops.endpoints import router as ops_router
from billpay.ops.settings import get_ops_settings
from billpay.outbox.endpoints import router as outbox_router
from billpay.payments.endpoints import router as payments_router
from billpay.reconciliation.endpoints import router as reconciliation_router
from billpay.routing import metrics as provider_metrics
from billpay.state import AppState

log = structlog.get_logger(__name__)


class RequestLog:
    """One line per request; headers (API keys) are never logged.

    A plain ASGI middleware: Starlette's ``BaseHTTPMiddleware`` costs far more per request.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            log.info(
                "http_request",
                method=scope["method"],
                path=scope["path"],
                status=status,
                ms=round((time.perf_counter() - started) * 1000, 1),
            )


def create_app(state: AppState, *, close_state: bool = False) -> FastAPI:
    """An app bound to ``state``; ``close_state`` hands the state's lifetime to the app."""
    get_ops_settings()  # a weak operator token stops the process now, not at the first sign-in

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if close_state:
            await state.aclose()

    app = FastAPI(
        title="billpay",
        version="0.1.0",
        description=(
            "Nigerian bill payments that end delivered, refunded, or in front of a human — "
            "never lost, never vended twice. Amounts are integer kobo."
        ),
        lifespan=lifespan,
        dependencies=[Depends(check_request)],
        docs_url=None,  # served from bundled assets by install_offline_docs, not a CDN
        redoc_url=None,
    )
    install_offline_docs(app)
    app.state.billpay = state
    install_error_handlers(app)
    install_limits(app, state.settings)
    app.add_middleware(RequestLog)
    app.include_router(payments_router)
    app.include_router(catalog_router)
    app.include_router(balance_router)
    app.include_router(api_keys_router)
    app.include_router(inbound_webhooks_router)
    app.include_router(outbox_router)
    app.include_router(ops_router)
    app.include_router(reconciliation_router, dependencies=[Depends(require_operator)])
    app.include_router(alerts_router, dependencies=[Depends(require_operator)])
    app.include_router(dashboard_router)
    app.include_router(dashboard_books_router)
    app.include_router(dashboard_alerts_router)
    app.include_router(dashboard_charts_router)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        """Liveness: the process answers (the database is not asked)."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"])
    async def readyz() -> JSONResponse:
        """Readiness: 503 while the database does not answer, so a balancer routes elsewhere."""
        if not await ready(state.engine, state.settings.db_connect_timeout_seconds):
            return error_response(DatabaseUnavailable("the database does not answer"))
        return JSONResponse({"status": "ready"})

    @app.get(
        "/metrics",
        tags=["ops"],
        include_in_schema=False,
        dependencies=[Depends(require_metrics_reader)],  # BILLPAY_METRICS_TOKEN or an operator's
    )
    async def metrics() -> Response:
        async with state.unit_of_work() as session:
            await provider_metrics.refresh(session, state.routes.routing.window)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    document_shared_errors(app)
    return app

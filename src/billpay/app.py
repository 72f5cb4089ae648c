"""create_app(): the FastAPI application — routers, error handlers, lifespan."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from billpay.catalog.endpoints import router as catalog_router
from billpay.dashboard.endpoints import router as dashboard_router
from billpay.errors import install_error_handlers
from billpay.inbox.endpoints import router as inbound_webhooks_router
from billpay.ops.endpoints import router as ops_router
from billpay.outbox.endpoints import router as outbox_router
from billpay.payments.endpoints import router as payments_router
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
    )
    app.state.billpay = state
    install_error_handlers(app)
    app.add_middleware(RequestLog)
    app.include_router(payments_router)
    app.include_router(catalog_router)
    app.include_router(inbound_webhooks_router)
    app.include_router(outbox_router)
    app.include_router(ops_router)
    app.include_router(dashboard_router)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics", tags=["ops"], include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app

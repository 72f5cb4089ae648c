"""The API's answer while the database is out of reach: a 503 the client can retry, never a
500 (``db.health`` has already marked the pool stale, so the retry gets a fresh connection)."""

from __future__ import annotations

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from billpay.db.health import DatabaseUnreachable
from billpay.errors import DatabaseUnavailable
from billpay.errors.handlers import error_response

log = structlog.get_logger(__name__)


async def _unreachable(_: Request, exc: Exception) -> JSONResponse:
    cause = exc.__cause__
    log.warning("database_unavailable", error_type=type(cause).__name__ if cause else None)
    return error_response(DatabaseUnavailable("the database is unavailable; retry shortly"))


def install_database_errors(app: FastAPI) -> None:
    app.add_exception_handler(DatabaseUnreachable, _unreachable)

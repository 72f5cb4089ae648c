"""The app's exception handlers: everything a client sees is the error envelope."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from billpay.errors.base import ApiError, error_body
from billpay.errors.limits import InvalidJson
from billpay.errors.requests import ValidationFailed
from billpay.errors.security import TooManyAttempts

log = structlog.get_logger(__name__)


def _field_name(location: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(part) for part in location if part not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def error_response(exc: ApiError) -> JSONResponse:
    """The envelope for ``exc``, with ``Retry-After`` on a 503."""
    headers = {"Retry-After": "5"} if exc.status_code == 503 else None
    if isinstance(exc, TooManyAttempts):
        headers = {"Retry-After": str(exc.retry_after)}
    return JSONResponse(
        error_body(exc.code, exc.message, exc.details), status_code=exc.status_code, headers=headers
    )


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    unreadable = next((e for e in exc.errors() if e.get("type") == "json_invalid"), None)
    if unreadable is not None:
        return error_response(await _invalid_json(request, unreadable))
    fields = [
        {"field": _field_name(error["loc"]), "message": error["msg"], "type": error["type"]}
        for error in exc.errors()
    ]
    first = fields[0] if fields else {"field": "body", "message": "invalid request"}
    message = f"{first['field']}: {first['message']}"
    return JSONResponse(
        error_body(ValidationFailed.code, message, {"fields": fields}),
        status_code=ValidationFailed.status_code,
    )


async def _invalid_json(request: Request, error: Any) -> InvalidJson:
    """FastAPI reports a JSON syntax error at a character offset, under a field named after
    the offset; people need the line and column."""
    location = error.get("loc", ())
    offset = location[-1] if location and isinstance(location[-1], int) else 0
    text = (await request.body()).decode("utf-8", errors="replace")[:offset]
    line = text.count("\n") + 1
    column = len(text) - (text.rfind("\n") + 1) + 1
    reason = (error.get("ctx") or {}).get("error", "JSON decode error")
    return InvalidJson(
        f"body: invalid JSON at line {line}, column {column}: {reason}",
        details={"field": "body", "line": line, "column": column},
    )


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400:  # FastAPI could not decode the body at all (not UTF-8 JSON)
        return error_response(InvalidJson("body: not JSON in UTF-8", details={"field": "body"}))
    code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}.get(
        exc.status_code, "http_error"
    )
    return JSONResponse(error_body(code, str(exc.detail)), status_code=exc.status_code)


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled_error", error_type=type(exc).__name__)
    return JSONResponse(error_body("internal_error", "unexpected server error"), status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)

"""The error envelope as an OpenAPI schema, and ``responses=`` built from error classes."""

from __future__ import annotations

import inspect
import json
from http import HTTPStatus
from typing import Any

from pydantic import BaseModel, Field

from billpay.errors.base import ApiError


class ErrorDetail(BaseModel):
    code: str = Field(description="Machine-readable and stable: branch on this")
    message: str = Field(description="For people; starts with the offending field when one is")
    details: dict[str, Any] = Field(description="Structured context, e.g. `field`, `retryable`")


class ErrorResponse(BaseModel):
    """Every error billpay answers, whatever the status."""

    error: ErrorDetail


def error_responses(*errors: type[ApiError]) -> dict[int | str, dict[str, Any]]:
    """A route's ``responses=``: per status it can answer, the envelope and the codes it uses."""
    return {
        status: {"model": ErrorResponse, "description": _description(status, group)}
        for status, group in sorted(_by_status(errors).items())
    }


_ERROR_REF = "#/components/schemas/ErrorResponse"


def add_error_responses(
    openapi: dict[str, Any], errors: tuple[type[ApiError], ...], *, json_bodies_only: bool = False
) -> None:
    """Document ``errors`` on every operation of a generated ``openapi`` document (or only on
    those taking a JSON body), merged with the codes each already lists; every error status
    is shown with the envelope billpay really sends (FastAPI's own 422 schema is not it).

    For the errors every route can answer before its own code runs (limits, the database).
    """
    components = openapi.setdefault("components", {}).setdefault("schemas", {})
    if "ErrorResponse" not in components:
        generated = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(generated.pop("$defs", {}))
        components["ErrorResponse"] = generated
    for path_item in openapi.get("paths", {}).values():
        for operation in path_item.values():
            if json_bodies_only and "application/json" not in _body_types(operation):
                continue
            _add(operation.setdefault("responses", {}), errors)
    _drop_fastapi_validation_schemas(openapi)


def _drop_fastapi_validation_schemas(openapi: dict[str, Any]) -> None:
    """FastAPI's 422 body is never sent (the handler answers the envelope): once no response
    refers to it, its schemas only mislead."""
    schemas = openapi["components"]["schemas"]
    if "#/components/schemas/HTTPValidationError" not in json.dumps(openapi.get("paths", {})):
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)


def _body_types(operation: dict[str, Any]) -> dict[str, Any]:
    content: dict[str, Any] = operation.get("requestBody", {}).get("content", {})
    return content


def _add(responses: dict[str, Any], errors: tuple[type[ApiError], ...]) -> None:
    envelope = {"application/json": {"schema": {"$ref": _ERROR_REF}}}
    for status, group in _by_status(errors).items():
        entry = responses.setdefault(str(status), {"description": _description(status, [])})
        known = entry.get("description", "")
        missing = [f"- `{e.code}`: {_when(e)}" for e in group if f"`{e.code}`" not in known]
        if missing:
            entry["description"] = "\n".join([known.rstrip(), *missing])
    for code, response in responses.items():
        if code[:1] in {"4", "5"}:
            response["content"] = envelope


def _by_status(errors: tuple[type[ApiError], ...]) -> dict[int, list[type[ApiError]]]:
    by_status: dict[int, list[type[ApiError]]] = {}
    for error in errors:
        by_status.setdefault(error.status_code, []).append(error)
    return by_status


def _description(status: int, errors: list[type[ApiError]]) -> str:
    codes = "\n".join(f"- `{error.code}`: {_when(error)}" for error in errors)
    return f"{HTTPStatus(status).phrase}; `error.code` is one of:\n\n{codes}"


def _when(error: type[ApiError]) -> str:
    return (inspect.getdoc(error) or "").splitlines()[0]

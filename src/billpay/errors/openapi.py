"""The error envelope as an OpenAPI schema, and ``responses=`` built from error classes."""

from __future__ import annotations

import inspect
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
    by_status: dict[int, list[type[ApiError]]] = {}
    for error in errors:
        by_status.setdefault(error.status_code, []).append(error)
    return {
        status: {"model": ErrorResponse, "description": _description(status, group)}
        for status, group in sorted(by_status.items())
    }


def _description(status: int, errors: list[type[ApiError]]) -> str:
    codes = "\n".join(f"- `{error.code}`: {_when(error)}" for error in errors)
    return f"{HTTPStatus(status).phrase}; `error.code` is one of:\n\n{codes}"


def _when(error: type[ApiError]) -> str:
    return (inspect.getdoc(error) or "").splitlines()[0]

"""The HTTP API's defences, shared by every route: body limits, request checks, the answer
while the database is away, and the OpenAPI entries for the errors they give.

``create_app`` wires them; the routes themselves stay unaware of them.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from billpay.api.database import install_database_errors
from billpay.api.guards import check_request
from billpay.api.limits import BodyLimit, BodyLimits
from billpay.config import Settings
from billpay.errors import JSON_BODY_ERRORS, TRANSPORT_ERRORS, add_error_responses

__all__ = ["check_request", "document_shared_errors", "install_limits"]


def install_limits(app: FastAPI, settings: Settings) -> None:
    """The body limit middleware and the database-unavailable answer."""
    install_database_errors(app)
    app.add_middleware(
        BodyLimit,
        limits=BodyLimits(
            max_bytes=settings.max_body_bytes,
            max_webhook_bytes=settings.max_webhook_body_bytes,
            read_timeout_seconds=settings.body_read_timeout_seconds,
            max_json_depth=settings.max_json_depth,
        ),
    )


def document_shared_errors(app: FastAPI) -> None:
    """Show, on each operation of the app's OpenAPI document, the errors any route can answer
    before its own code runs (the body checks on routes taking JSON)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        document = generate()  # FastAPI's own, cached until the routes change
        add_error_responses(document, TRANSPORT_ERRORS)
        add_error_responses(document, JSON_BODY_ERRORS, json_bodies_only=True)
        return document

    app.openapi = openapi  # type: ignore[method-assign]

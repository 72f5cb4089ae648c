"""One class per machine-readable code, each with its status, documented on the routes."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace
from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI

from billpay import errors
from billpay.app import create_app
from billpay.config import Settings
from billpay.customers.identifiers import IdentifierErrorCode
from billpay.errors import ApiError, error_responses, identifier_error, webhook_rejection
from billpay.errors.handlers import install_error_handlers
from billpay.state import AppState

# Every code a client can be sent by a raised error, with its status: the public contract.
CONTRACT = {
    "bad_request": 400,
    "not_found": 404,
    "invalid_request": 422,
    "conflict": 409,
    "payment_required": 402,
    "unauthorized": 401,
    "service_unavailable": 503,
    "invalid_api_key": 401,
    "operator_access_disabled": 401,
    "invalid_operator_token": 401,
    "validation_error": 422,
    "invalid_cursor": 422,
    "bad_form": 422,
    "form_too_large": 413,
    "csrf_failed": 403,
    "invalid_filter": 422,
    "reason_too_long": 422,
    "unknown_plan": 422,
    "plan_biller_mismatch": 422,
    "amount_mismatch": 422,
    "amount_required": 422,
    "amount_out_of_range": 422,
    "phone_required": 422,
    "invalid_phone": 422,
    "invalid_meter_number": 422,
    "invalid_smartcard": 422,
    "invalid_betting_account": 422,
    "invalid_customer": 422,
    "funding_method_unavailable": 422,
    "email_required": 422,
    "funding_refused": 422,
    "insufficient_balance": 402,
    "idempotency_conflict": 409,
    "provider_unavailable": 503,
    "funding_unavailable": 503,
    "not_in_review": 422,
    "reason_required": 422,
    "invalid_outcome": 422,
    "not_paid": 422,
    "already_delivered": 409,
    "unknown_provider": 404,
    "malformed_webhook": 400,
    "webhook_not_authenticated": 401,
    "unknown_webhook": 404,
    "webhook_too_large": 413,
    "webhook_rejected": 400,
    "unsafe_webhook_url": 422,
    "too_many_attempts": 429,
    "invalid_operator_name": 422,
    "operator_exists": 409,
    "live_key_required": 403,
    "last_live_key": 409,
    "test_mode_funding": 422,
    "invalid_json": 400,
    "body_too_large": 413,
    "unsupported_media_type": 415,
    "json_too_deep": 422,
    "unstorable_text": 422,
    "request_timeout": 408,
    "renewal_unavailable": 422,
    "invalid_adjustment": 422,
    "invalid_statement_request": 422,
    "unknown_account": 422,
    "run_not_found": 404,
    "database_unavailable": 503,
}
# Older than the classes: an operator marking paid a payment never sent gets a 422 with the
# 503's code. Renaming either is a change clients see, so it stays, and stays the only one.
SHARED = {"no_provider": {503, 422}}


def _all_errors() -> list[type[ApiError]]:
    found: list[type[ApiError]] = [ApiError]
    for error in found:
        found.extend(error.__subclasses__())
    return found


def test_every_error_class_lives_in_billpay_errors() -> None:
    for error in _all_errors():
        assert error.__module__.startswith("billpay.errors."), error.__name__
        assert error.__name__ in errors.__all__


def test_every_code_has_one_class() -> None:
    counts = Counter(error.code for error in _all_errors())
    shared = {code for code, count in counts.items() if count > 1}
    assert shared == set(SHARED)
    for code, statuses in SHARED.items():
        assert {e.status_code for e in _all_errors() if e.code == code} == statuses


def test_every_code_has_its_status() -> None:
    actual = {error.code: error.status_code for error in _all_errors() if error.code not in SHARED}
    expected = {code: status for code, status in CONTRACT.items() if code not in SHARED}
    assert actual == expected


def test_a_named_error_keeps_its_family_status() -> None:
    families = [errors.NotFound, errors.Unprocessable, errors.Conflict, errors.Unauthorized]
    families += [errors.PaymentRequired, errors.ServiceUnavailable]
    for error in _all_errors():
        for family in families:
            if issubclass(error, family):
                assert error.status_code == family.status_code, error.__name__


def test_every_error_says_in_one_line_when_it_is_raised() -> None:
    for error in _all_errors():
        doc = error.__dict__.get("__doc__")
        assert doc and len(doc.strip().splitlines()) == 1, error.__name__


def test_every_identifier_code_has_its_error() -> None:
    for code in IdentifierErrorCode:
        error = identifier_error(code, "customer_id: no", "customer_id")
        assert (error.code, error.status_code) == (code.value, 422)
        assert error.details == {"field": "customer_id"}


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "malformed_webhook"),
        (401, "webhook_not_authenticated"),
        (404, "unknown_webhook"),
        (413, "webhook_too_large"),
        (418, "webhook_rejected"),
    ],
)
def test_a_rejected_webhook_is_answered_with_the_parsers_status(status: int, code: str) -> None:
    error = webhook_rejection("webhook rejected: no", status)
    assert (error.code, error.status_code, error.message) == (code, status, "webhook rejected: no")


async def test_a_named_error_is_sent_as_the_envelope() -> None:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/plan")
    async def plan() -> None:
        raise errors.UnknownPlan("plan: no active plan named 'x'", details={"field": "plan"})

    @app.get("/down")
    async def down() -> None:
        raise errors.NoProvider("plan: no configured provider sells x")

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        unknown = await client.get("/plan")
        outage = await client.get("/down")
    assert unknown.status_code == 422
    assert unknown.content == (
        b'{"error":{"code":"unknown_plan","message":"plan: no active plan named \'x\'",'
        b'"details":{"field":"plan"}}}'
    )
    assert (outage.status_code, outage.headers["retry-after"]) == (503, "5")
    assert outage.json()["error"] == {
        "code": "no_provider",
        "message": "plan: no configured provider sells x",
        "details": {},
    }


def test_error_responses_groups_codes_by_status() -> None:
    responses = error_responses(
        errors.UnknownPlan, errors.InsufficientBalance, errors.AmountRequired
    )
    assert sorted(responses) == [402, 422]
    assert responses[402]["model"] is errors.ErrorResponse
    assert "`insufficient_balance`" in responses[402]["description"]
    assert "`unknown_plan`" in responses[422]["description"]
    assert "`amount_required`" in responses[422]["description"]


def _openapi() -> dict[str, Any]:
    # The schema is built from the routes alone: no database, no providers.
    # Settings only (the body limits are read at creation).
    return create_app(cast(AppState, SimpleNamespace(settings=Settings()))).openapi()


def test_the_spec_documents_the_error_envelope() -> None:
    schemas = _openapi()["components"]["schemas"]
    assert schemas["ErrorResponse"]["properties"]["error"] == {
        "$ref": "#/components/schemas/ErrorDetail"
    }
    assert set(schemas["ErrorDetail"]["required"]) == {"code", "message", "details"}
    assert "HTTPValidationError" not in schemas  # every 422 is the envelope, not FastAPI's


@pytest.mark.parametrize(
    ("status", "codes"),
    [
        ("401", ["unauthorized", "invalid_api_key"]),
        ("402", ["insufficient_balance"]),
        ("409", ["idempotency_conflict"]),
        ("422", ["validation_error", "unknown_plan", "amount_out_of_range", "invalid_phone"]),
        ("503", ["provider_unavailable", "no_provider"]),
    ],
)
def test_creating_a_payment_documents_its_errors(status: str, codes: list[str]) -> None:
    response = _openapi()["paths"]["/v1/payments"]["post"]["responses"][status]
    schema = response["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/ErrorResponse"}
    for code in codes:
        assert f"`{code}`" in response["description"]


def test_every_documented_route_documents_its_failures() -> None:
    for path, operations in _openapi()["paths"].items():
        if path == "/healthz":
            continue
        for method, operation in operations.items():
            failures = {s for s in operation["responses"] if s.startswith(("4", "5"))}
            assert failures, f"{method} {path}"
            if path.startswith(("/v1/payments", "/v1/billers", "/v1/customers", "/v1/ops")):
                assert "401" in failures, f"{method} {path}"

"""``/v1/payments``: parse, delegate to the service, shape the answer."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from billpay.deps import CurrentClient, State
from billpay.errors import (
    API_KEY_ERRORS,
    PAYMENT_ERRORS,
    InvalidCursor,
    NotFound,
    ValidationFailed,
    error_responses,
)
from billpay.errors.api_keys import TestModeFunding
from billpay.models import Payment, PaymentAttempt
from billpay.payments.schemas import (
    AttemptOut,
    CreatePayment,
    FundingMethod,
    PaymentDetailOut,
    PaymentEventOut,
    PaymentList,
    PaymentOut,
    ProviderCallOut,
)
from billpay.payments.service import (
    PaymentDetail,
    client_detail,
    client_detail_by_reference,
    list_page,
)
from billpay.payments.status import Status
from billpay.providers.base import BillType

router = APIRouter(prefix="/v1/payments", tags=["payments"])


def to_out(payment: Payment, events: list[PaymentEventOut] | None = None) -> PaymentOut:
    out = PaymentOut.model_validate(payment, from_attributes=True)
    out.events = events
    return out


@router.post(
    "",
    status_code=201,
    response_model=PaymentOut,
    responses={
        200: {"description": "Replay of an earlier identical request"},
        **error_responses(*API_KEY_ERRORS, ValidationFailed, *PAYMENT_ERRORS, TestModeFunding),
    },
)
async def create_payment(
    body: CreatePayment, response: Response, client: CurrentClient, state: State
) -> PaymentOut:
    # A balance payment's writes are one statement (``repository.insert_reserved``): it needs
    # no transaction around it, and its balance row is then locked only while it commits.
    autocommit = body.funding_method is FundingMethod.BALANCE
    async with state.unit_of_work(autocommit=autocommit) as session:
        payment, created = await state.payments_for(client.livemode).create(session, client, body)
    if not created:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    return to_out(payment)


@router.get(
    "",
    response_model=PaymentList,
    responses=error_responses(*API_KEY_ERRORS, ValidationFailed, InvalidCursor),
)
async def list_payments(
    client: CurrentClient,
    state: State,
    status: Status | None = None,
    bill_type: BillType | None = None,
    biller: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> PaymentList:
    async with state.unit_of_work() as session:
        page = await list_page(
            session,
            client.id,
            limit=limit,
            cursor=cursor,
            status=status.value if status else None,
            bill_type=bill_type.value if bill_type else None,
            biller=biller,
        )
    return PaymentList(data=[to_out(p) for p in page.payments], next_cursor=page.next_cursor)


@router.get(
    "/by-reference/{request_reference}",
    response_model=PaymentDetailOut,
    responses=error_responses(*API_KEY_ERRORS, NotFound, ValidationFailed),
)
async def get_payment_by_reference(
    request_reference: str, client: CurrentClient, state: State
) -> PaymentDetailOut:
    async with state.unit_of_work() as session:
        detail = await client_detail_by_reference(session, client, request_reference)
    return _detail_out(detail)


@router.get(
    "/{payment_id}",
    response_model=PaymentDetailOut,
    responses=error_responses(*API_KEY_ERRORS, NotFound, ValidationFailed),
)
async def get_payment(
    payment_id: uuid.UUID, client: CurrentClient, state: State
) -> PaymentDetailOut:
    async with state.unit_of_work() as session:
        detail = await client_detail(session, client, payment_id)
    return _detail_out(detail)


def _detail_out(detail: PaymentDetail) -> PaymentDetailOut:
    """The payment with its status changes and its attempts, each with its provider calls
    (masked; the caller owns the payment)."""
    events = [PaymentEventOut.model_validate(e, from_attributes=True) for e in detail.events]
    attempts = [_attempt_out(detail, attempt) for attempt in detail.attempts]
    validations = _calls_out(detail, None)
    return PaymentDetailOut.model_validate(
        {
            **to_out(detail.payment, events).model_dump(),
            "attempts": attempts,
            "validations": validations,
        }
    )


def _attempt_out(detail: PaymentDetail, attempt: PaymentAttempt) -> AttemptOut:
    return AttemptOut.model_validate({**_columns(attempt), "calls": _calls_out(detail, attempt)})


def _calls_out(detail: PaymentDetail, attempt: PaymentAttempt | None) -> list[ProviderCallOut]:
    return [
        ProviderCallOut.model_validate(call, from_attributes=True)
        for call in detail.calls_of(attempt)
    ]


def _columns(attempt: PaymentAttempt) -> dict[str, Any]:
    return {name: getattr(attempt, name) for name in AttemptOut.model_fields if name != "calls"}

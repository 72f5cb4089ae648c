"""``/v1/payments``: parse, delegate to the service, shape the answer."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession

from billpay.deps import CurrentClient, State
from billpay.models import Payment
from billpay.payments import repository as repo
from billpay.payments.lifecycle import Status
from billpay.payments.schemas import CreatePayment, PaymentEventOut, PaymentList, PaymentOut
from billpay.payments.service import decode_cursor, encode_cursor
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
    responses={200: {"description": "Replay of an earlier identical request"}},
)
async def create_payment(
    body: CreatePayment, response: Response, client: CurrentClient, state: State
) -> PaymentOut:
    async with state.unit_of_work() as session:
        payment, created = await state.payments.create(session, client, body)
    if not created:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    return to_out(payment)


@router.get("", response_model=PaymentList)
async def list_payments(
    client: CurrentClient,
    state: State,
    status: Status | None = None,
    bill_type: BillType | None = None,
    biller: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> PaymentList:
    after = decode_cursor(cursor) if cursor else None
    async with state.unit_of_work() as session:
        payments = await repo.list_for_client(
            session,
            client.id,
            limit=limit + 1,
            after=after,
            status=status.value if status else None,
            bill_type=bill_type.value if bill_type else None,
            biller=biller,
        )
    page = payments[:limit]
    next_cursor = encode_cursor(page[-1]) if len(payments) > limit else None
    return PaymentList(data=[to_out(p) for p in page], next_cursor=next_cursor)


@router.get("/by-reference/{request_reference}", response_model=PaymentOut)
async def get_payment_by_reference(
    request_reference: str, client: CurrentClient, state: State
) -> PaymentOut:
    async with state.unit_of_work() as session:
        payment = await state.payments.get_by_reference(session, client, request_reference)
        return await _with_events(session, payment)


@router.get("/{payment_id}", response_model=PaymentOut)
async def get_payment(payment_id: uuid.UUID, client: CurrentClient, state: State) -> PaymentOut:
    async with state.unit_of_work() as session:
        payment = await state.payments.get(session, client, payment_id)
        return await _with_events(session, payment)


async def _with_events(session: AsyncSession, payment: Payment) -> PaymentOut:
    events = [
        PaymentEventOut.model_validate(event, from_attributes=True)
        for event in await repo.events_of(session, payment.id)
    ]
    return to_out(payment, events)

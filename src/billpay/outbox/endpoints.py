"""``/v1/webhook-deliveries`` and ``/v1/client/webhook``: parse, delegate, shape the answer."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query

from billpay.deps import CurrentClient, State
from billpay.errors import (
    API_KEY_ERRORS,
    InvalidCursor,
    NotFound,
    UnsafeWebhookUrl,
    ValidationFailed,
    error_responses,
)
from billpay.models import OutboxAttempt, OutboxMessage
from billpay.outbox import service
from billpay.outbox.schemas import (
    Channel,
    DeliveryAttemptOut,
    DeliveryStatus,
    WebhookDeliveryList,
    WebhookDeliveryOut,
    WebhookSettingsOut,
    WebhookSettingsUpdate,
)

router = APIRouter(tags=["webhooks"])


def to_out(message: OutboxMessage, attempts: list[OutboxAttempt]) -> WebhookDeliveryOut:
    assert message.payment_id is not None  # a client's messages are about its payments
    return WebhookDeliveryOut(
        id=message.id,
        event_id=f"evt_{message.event_id}",
        event_type=message.event_type,
        payment_id=message.payment_id,
        url=message.destination,
        status=DeliveryStatus(message.status),
        next_attempt_at=message.next_attempt_at,
        last_error=message.last_error,
        created_at=message.created_at,
        delivered_at=message.delivered_at,
        attempts=[DeliveryAttemptOut.model_validate(a, from_attributes=True) for a in attempts],
    )


@router.get(
    "/v1/webhook-deliveries",
    response_model=WebhookDeliveryList,
    responses=error_responses(*API_KEY_ERRORS, ValidationFailed, InvalidCursor),
)
async def list_webhook_deliveries(
    client: CurrentClient,
    state: State,
    payment_id: uuid.UUID | None = None,
    status: DeliveryStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> WebhookDeliveryList:
    """Your webhooks, newest first, each with every delivery try."""
    async with state.unit_of_work() as session:
        page = await service.list_deliveries(
            session,
            client_id=client.id,
            channel=Channel.WEBHOOK,
            payment_id=payment_id,
            status=status,
            limit=limit,
            cursor=cursor,
        )
    return WebhookDeliveryList(
        data=[to_out(message, page.attempts[message.id]) for message in page.messages],
        next_cursor=page.next_cursor,
    )


@router.post(
    "/v1/webhook-deliveries/{delivery_id}/replay",
    status_code=202,
    response_model=WebhookDeliveryOut,
    responses=error_responses(*API_KEY_ERRORS, NotFound, ValidationFailed),
)
async def replay_webhook_delivery(
    delivery_id: Annotated[int, Path(ge=1, le=2**63 - 1)],  # a bigint id
    client: CurrentClient,
    state: State,
) -> WebhookDeliveryOut:
    """Send the same event (same ``id``, same body) again, with a fresh signature."""
    async with state.unit_of_work() as session:
        message, attempts = await service.replay(session, delivery_id, client.id)
    return to_out(message, attempts)


@router.patch(
    "/v1/client/webhook",
    response_model=WebhookSettingsOut,
    responses=error_responses(*API_KEY_ERRORS, NotFound, ValidationFailed, UnsafeWebhookUrl),
)
async def update_webhook_settings(
    body: WebhookSettingsUpdate, client: CurrentClient, state: State
) -> WebhookSettingsOut:
    """Set your webhook URL (a public https endpoint) and rotate its signing secret (the new
    one is shown only here)."""
    await service.check_new_webhook_url(
        body, allow_private_urls=state.settings.allow_private_webhook_urls
    )
    async with state.unit_of_work() as session:
        settings = await service.update_webhook_settings(session, client.id, body)
    return WebhookSettingsOut(
        webhook_url=settings.webhook_url,
        secret=settings.new_secret,
        previous_secret_valid=settings.previous_secret_valid,
    )

"""Outbox rules: what a status change owes whom, how a try's result is recorded, replay, and
the client's webhook settings. Runs in the caller's transaction; never commits."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from billpay.errors import AlreadyDelivered, InvalidCursor, NotFound
from billpay.models import OutboxAttempt, OutboxMessage
from billpay.outbox import repository as repo
from billpay.outbox import signing
from billpay.outbox.destinations import Resolver, check_webhook_url, resolve_host
from billpay.outbox.repository import ClaimedMessage
from billpay.outbox.schemas import Channel, DeliveryStatus, WebhookSettingsUpdate
from billpay.redact import mask_text

RetrySchedule = Callable[[int, datetime, datetime], datetime | None]


@dataclass(frozen=True)
class TryResult:
    """How one delivery try went. ``final`` failures are not retried (replay still works)."""

    delivered: bool
    status_code: int | None = None
    error: str | None = None
    final: bool = False


@dataclass(frozen=True)
class Try:
    """One message tried by a dispatcher, and how long the try took."""

    message: ClaimedMessage
    result: TryResult
    duration_ms: int


def _settled(tried: Try, now: datetime, retry_at: RetrySchedule) -> repo.TryRecord:
    """Delivered, retried later on the backoff schedule, or given up."""
    result, message = tried.result, tried.message
    error = mask_text(result.error)[:500] if result.error else None
    retry = None
    if result.delivered:
        status = DeliveryStatus.DELIVERED
    else:
        retry = None if result.final else retry_at(message.attempt, message.first_attempt_at, now)
        status = DeliveryStatus.PENDING if retry else DeliveryStatus.FAILED
    return repo.TryRecord(
        message_id=message.id,
        claim_id=message.claim_id,
        status=status.value,
        next_attempt_at=retry,
        delivered_at=now if result.delivered else None,
        error=error,
        status_code=result.status_code,
        duration_ms=tried.duration_ms,
    )


async def record_tries(
    session: AsyncSession, tries: Sequence[Try], retry_at: RetrySchedule
) -> dict[int, DeliveryStatus | None]:
    """Log every try and move each message on, in one statement for the whole batch.

    Maps each message id to its new status; None when its claim had lapsed and another
    dispatcher holds the message now (the try is logged all the same).
    """
    now = datetime.now(UTC)
    records = [_settled(tried, now, retry_at) for tried in tries]
    released = await repo.record_tries(session, records)
    return {
        record.message_id: DeliveryStatus(record.status) if record.message_id in released else None
        for record in records
    }


async def replay(
    session: AsyncSession, message_id: int, client_id: uuid.UUID | None = None
) -> tuple[OutboxMessage, list[OutboxAttempt]]:
    """Send a message again as soon as possible: same event id, same body.

    A settled message starts a new delivery round (a fresh 24-hour window); a waiting one is
    brought forward; one being sent right now is left to finish. A payer notification that
    was delivered is not sent twice: payers hear once per outcome.
    """
    message = await repo.get_for_update(session, message_id, client_id)
    if message is None or (client_id is not None and message.channel != Channel.WEBHOOK):
        raise NotFound(f"no delivery {message_id}")
    if message.status == DeliveryStatus.PENDING:
        if message.claim_id is None:
            await repo.set_fields(session, message.id, {"next_attempt_at": datetime.now(UTC)})
    elif message.channel != Channel.WEBHOOK and message.status == DeliveryStatus.DELIVERED:
        raise AlreadyDelivered(
            f"{message.channel} {message_id} was delivered; a payer hears once per outcome"
        )
    else:
        await repo.set_fields(
            session,
            message.id,
            {
                "status": DeliveryStatus.PENDING,
                "attempts": 0,
                "first_attempt_at": None,
                "next_attempt_at": datetime.now(UTC),
                "delivered_at": None,
            },
        )
    await repo.wake_dispatchers(session)
    refreshed = await repo.get_for_update(session, message.id, client_id)
    assert refreshed is not None
    attempts = await repo.attempts_of(session, [message.id])
    return refreshed, attempts[message.id]


@dataclass(frozen=True)
class DeliveryPage:
    messages: list[OutboxMessage]
    attempts: dict[int, list[OutboxAttempt]]
    next_cursor: str | None


async def list_deliveries(
    session: AsyncSession,
    *,
    client_id: uuid.UUID | None,
    channel: Channel | None,
    payment_id: uuid.UUID | None = None,
    status: DeliveryStatus | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> DeliveryPage:
    """Messages newest first with their tries; ``client_id`` None lists every client's."""
    rows = await repo.list_messages(
        session,
        client_id=client_id,
        channel=channel.value if channel else None,
        payment_id=payment_id,
        status=status.value if status else None,
        before_id=decode_cursor(cursor) if cursor else None,
        limit=limit + 1,
    )
    page = rows[:limit]
    attempts = await repo.attempts_of(session, [message.id for message in page])
    next_cursor = encode_cursor(page[-1].id) if len(rows) > limit else None
    return DeliveryPage(page, attempts, next_cursor)


def encode_cursor(message_id: int) -> str:
    return base64.urlsafe_b64encode(f"outbox:{message_id}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        prefix, _, message_id = base64.urlsafe_b64decode(cursor.encode()).decode().partition(":")
        if prefix != "outbox":
            raise ValueError(cursor)
        return int(message_id)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursor(
            "cursor: not a cursor returned by this API",
            details={"field": "cursor"},
        ) from exc


@dataclass(frozen=True)
class WebhookSettings:
    webhook_url: str | None
    new_secret: str | None  # only right after a rotation: the one time it is shown
    previous_secret_valid: bool


async def check_new_webhook_url(
    update: WebhookSettingsUpdate, *, allow_private_urls: bool, resolve: Resolver = resolve_host
) -> None:
    """A new URL must be a public https endpoint (unless development allows private ones).

    Called before the transaction opens: it may wait on DNS.
    """
    if update.webhook_url is not None:
        await check_webhook_url(
            str(update.webhook_url), allow_private=allow_private_urls, resolve=resolve
        )


async def update_webhook_settings(
    session: AsyncSession, client_id: uuid.UUID, update: WebhookSettingsUpdate
) -> WebhookSettings:
    """Set or clear the URL and rotate the signing secret (old one kept as the previous).

    Pending webhooks follow a new URL. While rotating, every webhook is signed with both
    secrets, until the client revokes the previous one or rotates again. A client that never
    had a secret gets one with its first URL.
    """
    client = await repo.client_webhook(session, client_id)
    if client is None:
        raise NotFound(f"no client {client_id}")
    values: dict[str, Any] = {}
    new_secret: str | None = None
    if "webhook_url" in update.model_fields_set:
        values["webhook_url"] = str(update.webhook_url) if update.webhook_url else None
    if update.rotate_secret or (values.get("webhook_url") and client.webhook_secret is None):
        new_secret = signing.new_secret()
        values |= {"webhook_secret": new_secret, "webhook_secret_previous": client.webhook_secret}
    elif update.revoke_previous_secret:
        values["webhook_secret_previous"] = None
    if values:
        await repo.set_client_webhook(session, client_id, values)
    webhook_url = values.get("webhook_url", client.webhook_url)
    if values.get("webhook_url"):
        await repo.redirect_pending_webhooks(session, client_id, values["webhook_url"])
    previous = values.get("webhook_secret_previous", client.webhook_secret_previous)
    return WebhookSettings(webhook_url, new_secret, previous is not None)

"""Queue a status change's messages, in the change's own transaction.

Below the payment lifecycle (which calls it on every move); knows statuses only by value.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from billpay.notifications.templates import NoticeOutcome
from billpay.outbox import repository as repo
from billpay.outbox.schemas import Channel
from billpay.payments.status import Status

# The statuses a payer is told about: exactly those with a payer template.
PAYER_OUTCOMES = frozenset(outcome.value for outcome in NoticeOutcome)
_NOTICE_CHANNELS = (Channel.EMAIL, Channel.SMS)


def idempotency_key(channel: Channel, payment_id: uuid.UUID, event_id: int, to_status: str) -> str:
    """One webhook per event; one payer message per channel and outcome, ever."""
    if channel is Channel.WEBHOOK:
        return f"webhook:{event_id}"
    return f"{channel.value}:{payment_id}:{to_status}"


async def enqueue_for_event(
    session: AsyncSession, payment_id: uuid.UUID, event_id: int, to_status: Status
) -> None:
    """Queue the webhook (and, for a payer outcome, the email and SMS) of one status change.

    One statement in the change's own transaction: the messages exist if and only if the
    change does, and a committed change wakes the dispatchers.
    """
    channels = [Channel.WEBHOOK]
    if to_status.value in PAYER_OUTCOMES:
        channels.extend(_NOTICE_CHANNELS)
    await repo.insert_for_event(
        session,
        payment_id,
        event_id,
        to_status.value,
        [channel.value for channel in channels],
        [idempotency_key(channel, payment_id, event_id, to_status.value) for channel in channels],
    )

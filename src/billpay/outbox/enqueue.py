"""Queue a status change's messages, in the change's own transaction.

Below the payment lifecycle (which calls it on every move); knows statuses only by value.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from billpay.notifications import PayerChannels, configured_channels
from billpay.notifications.templates import NoticeOutcome
from billpay.outbox import repository as repo
from billpay.outbox.schemas import Channel
from billpay.payments.status import Status

# The statuses a payer is told about: exactly those with a payer template.
PAYER_OUTCOMES = frozenset(outcome.value for outcome in NoticeOutcome)


def idempotency_key(channel: Channel, payment_id: uuid.UUID, event_id: int, to_status: str) -> str:
    """One webhook per event; one payer message per channel and outcome, ever."""
    if channel is Channel.WEBHOOK:
        return f"webhook:{event_id}"
    return f"{channel.value}:{payment_id}:{to_status}"


def channels_for(to_status: Status, payer: PayerChannels) -> list[Channel]:
    """The channels a change may owe a message on: the client's webhook always, the payer's
    email and SMS for an outcome and only when this deployment can send them."""
    channels = [Channel.WEBHOOK]
    if to_status.value in PAYER_OUTCOMES:
        channels += [
            channel
            for channel, on in ((Channel.EMAIL, payer.email), (Channel.SMS, payer.sms))
            if on
        ]
    return channels


def channels_now(to_status: Status) -> list[str]:
    """``channels_for`` a change to ``to_status`` made now, by this process's settings."""
    return [channel.value for channel in channels_for(to_status, configured_channels())]


async def enqueue_for_event(
    session: AsyncSession, payment_id: uuid.UUID, event_id: int, to_status: Status
) -> None:
    """Queue the webhook (and, for a payer outcome, the email and SMS) of one status change.

    One statement in the change's own transaction: the messages exist if and only if the
    change does, and a committed change wakes the dispatchers.

    Nothing is queued on a channel that cannot deliver it: no webhook while the client has
    no webhook URL (or no signing secret), no email without an SMTP relay configured
    (``SMTP_HOST``, ``SMTP_FROM``) or a payer email, no SMS without the SMS hook
    (``SMS_WEBHOOK_URL``, ``SMS_WEBHOOK_TOKEN``) or a payer phone. Whether a channel is on
    is decided here, when the change happens, in whichever process makes it (API or
    worker): every process needs the same notification settings. So a merchant who sets a
    webhook URL later receives the events that happen from then on, not the earlier ones
    (nothing was queued for them: there is nothing to replay), and likewise a relay
    configured later tells payers about later outcomes only.
    """
    await enqueue_for_events(session, [(payment_id, event_id)], to_status)


async def enqueue_for_events(
    session: AsyncSession, events: Sequence[tuple[uuid.UUID, int]], to_status: Status
) -> None:
    """``enqueue_for_event`` for many changes to ``to_status`` ((payment id, event id) each),
    in one statement: a worker's batch."""
    channels = channels_for(to_status, configured_channels())
    await repo.insert_for_events(
        session,
        to_status.value,
        [
            (
                payment_id,
                event_id,
                channel.value,
                idempotency_key(channel, payment_id, event_id, to_status.value),
            )
            for payment_id, event_id in events
            for channel in channels
        ],
    )

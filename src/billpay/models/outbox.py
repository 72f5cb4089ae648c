from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Uuid, func, text
from sqlalchemy.orm import Mapped, mapped_column

from billpay.models.base import Base


class OutboxMessage(Base):
    """One message owed to the outside world (a client webhook, a payer email or SMS).

    Written in the transaction of the status change that caused it, so it exists exactly when
    the change does. ``idempotency_key`` is what makes "once per event / once per outcome"
    hold across retries and restarts. ``attempts`` and ``first_attempt_at`` count the current
    delivery round (a replay starts a new one); ``outbox_attempts`` keeps every try.
    """

    __tablename__ = "outbox_messages"
    __table_args__ = (
        CheckConstraint("channel IN ('webhook', 'email', 'sms')", name="channel_known"),
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status_known"),
        CheckConstraint(
            "(payment_id IS NOT NULL AND client_id IS NOT NULL) OR alert_id IS NOT NULL",
            name="addressed",
        ),
        # The dispatchers' queue: only pending rows, by when they are due.
        Index(
            "ix_outbox_messages_due",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
        ),
        # "Is an earlier message of this payment still pending on this channel?" (ordering).
        Index(
            "ix_outbox_messages_pending_payment",
            "payment_id",
            "channel",
            "id",
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_outbox_messages_client_channel", "client_id", "channel", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(10))
    # A payment's messages name the payment and its client; an operator alert's name the
    # alert incident instead (issue #13).
    payment_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("payments.id"), index=True
    )
    client_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    alert_id: Mapped[int | None] = mapped_column(
        ForeignKey("alert_incidents.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[int]  # payment_events.id of the change, or the alert incident's id
    event_type: Mapped[str] = mapped_column(String(40))
    destination: Mapped[str] = mapped_column(String(2000))  # URL, email address or phone
    body: Mapped[dict[str, Any]]
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(10), server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime | None]
    first_attempt_at: Mapped[datetime | None]
    # Set while a dispatcher holds the message: its result is recorded only under this claim.
    claim_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    delivered_at: Mapped[datetime | None]


class OutboxAttempt(Base):
    """The delivery log: one row per try, never updated. Errors are stored masked."""

    __tablename__ = "outbox_attempts"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("outbox_messages.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime] = mapped_column(server_default=func.now())
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(500))
    duration_ms: Mapped[int] = mapped_column(Integer)

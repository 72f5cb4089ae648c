from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint, func, text
from sqlalchemy.orm import Mapped, mapped_column

from billpay.models.base import Base


class WebhookInboxEvent(Base):
    """One authenticated provider notification, stored once and acted on later by a job.

    ``(provider, event_id)`` is unique, so a provider's retry of the same event is acknowledged
    without being processed again. The row is a hint, never a state change by itself.
    """

    __tablename__ = "webhook_inbox"
    __table_args__ = (
        UniqueConstraint("provider", "event_id", name="uq_webhook_inbox_provider_event"),
        # The inbox job's queue: unprocessed events, by when they are next due.
        Index(
            "ix_webhook_inbox_due",
            "next_attempt_at",
            postgresql_where=text("processed_at IS NULL"),
        ),
        Index("ix_webhook_inbox_reference", "provider", "reference"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(20))
    event_id: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(100))  # transaction-update, charge.success, …
    reference: Mapped[str | None] = mapped_column(String(200))  # our reference, when it has one
    claimed_status: Mapped[str | None] = mapped_column(String(100))  # what it says, not truth
    payload: Mapped[dict[str, Any]]  # masked
    received_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # Due time while unprocessed: a claim pushes it forward (a lease), a failure backs it off.
    next_attempt_at: Mapped[datetime] = mapped_column(server_default=func.now())
    processed_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    Uuid,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from billpay.models.base import Base, Timestamps


class PaymentAttempt(Timestamps, Base):
    """One provider + one provider reference. The reference is committed before the call."""

    __tablename__ = "payment_attempts"
    __table_args__ = (
        UniqueConstraint("payment_id", "number", name="uq_attempts_payment_number"),
        UniqueConstraint("provider", "provider_reference", name="uq_attempts_provider_reference"),
        # Provider health reads the attempts of the last minutes (routing.health).
        Index("ix_payment_attempts_created_at", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    payment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("payments.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    provider: Mapped[str] = mapped_column(String(20))
    provider_reference: Mapped[str] = mapped_column(String(100))
    route_reason: Mapped[str] = mapped_column(String(300))
    # What the provider is asked to take (its own price, or the amount requested): the cost
    # the ledger books as owed to it. Null on attempts made before it was recorded.
    amount_kobo: Mapped[int | None] = mapped_column(BigInteger)
    # an AttemptOutcome value (billpay.payments.attempts.outcome); in_flight when written
    outcome: Mapped[str] = mapped_column(String(20))
    provider_status: Mapped[str | None] = mapped_column(String(100))
    provider_transaction_id: Mapped[str | None] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(String(500))
    sends: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    requeries: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    request: Mapped[dict[str, Any] | None]
    response: Mapped[dict[str, Any] | None]
    last_latency_ms: Mapped[int | None] = mapped_column(Integer)
    finished_at: Mapped[datetime | None]
    # When the purchase under this reference was last committed to leave (the send itself
    # follows at once): the start of a resend's grace period (issue #11).
    last_sent_at: Mapped[datetime] = mapped_column(server_default=func.now())

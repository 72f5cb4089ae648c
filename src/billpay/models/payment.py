from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    Uuid,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from billpay.models.base import Base, Timestamps


class Payment(Timestamps, Base):
    """One bill payment. ``status`` is written only by ``billpay.payments.lifecycle``."""

    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("client_id", "request_reference", name="uq_payments_client_reference"),
        CheckConstraint("amount_kobo > 0", name="amount_positive"),
        CheckConstraint("fee_kobo >= 0", name="fee_not_negative"),
        CheckConstraint("total_kobo = amount_kobo + fee_kobo", name="total_is_amount_plus_fee"),
        # The worker's queue: only unfinished payments, ordered by when they are due.
        Index(
            "ix_payments_due",
            "next_run_at",
            postgresql_where=text(
                "status IN ('pending', 'processing') AND next_run_at IS NOT NULL"
            ),
        ),
        Index("ix_payments_client_created", "client_id", "created_at", "id"),
        Index("ix_payments_status_created", "status", "created_at"),
        Index(
            "ix_payments_awaiting_expiry",
            "funding_expires_at",
            postgresql_where=text("status = 'awaiting_funds'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    short_id: Mapped[str] = mapped_column(String(16), unique=True)
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id"))
    request_reference: Mapped[str] = mapped_column(String(100))
    request_fingerprint: Mapped[str] = mapped_column(String(64))

    bill_type: Mapped[str] = mapped_column(String(20))
    biller: Mapped[str] = mapped_column(String(100))
    plan: Mapped[str] = mapped_column(String(150))
    plan_name: Mapped[str] = mapped_column(String(300))
    customer_id: Mapped[str] = mapped_column(String(64))
    customer_name: Mapped[str | None] = mapped_column(String(300))
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(320))
    meter_type: Mapped[str | None] = mapped_column(String(10))
    subscription_type: Mapped[str | None] = mapped_column(String(10))
    validity_days: Mapped[int | None]

    amount_kobo: Mapped[int]
    fee_kobo: Mapped[int]
    total_kobo: Mapped[int]
    funding_method: Mapped[str] = mapped_column(String(20))
    # False for a test-mode payment (a test key's): sent to the simulators, booked apart.
    livemode: Mapped[bool] = mapped_column(default=True, server_default=true())
    # What the payer must do (Stellar memo and amount, Paystack checkout URL), and until when.
    funding_instructions: Mapped[dict[str, Any] | None]
    funding_expires_at: Mapped[datetime | None]
    # When a funding source last asked about this payment itself (no webhook came).
    funding_checked_at: Mapped[datetime | None]

    status: Mapped[str] = mapped_column(String(20))  # indexed by ix_payments_status_created
    provider: Mapped[str | None] = mapped_column(String(20))
    provider_transaction_id: Mapped[str | None] = mapped_column(String(200))
    token: Mapped[str | None] = mapped_column(String(200))  # electricity PIN: owner-only secret
    # Further tokens of the same vend (Eko's FBE token beside its main one): owner-only too.
    bonus_tokens: Mapped[list[str]] = mapped_column(
        ARRAY(String(200)), default=list, server_default="{}"
    )
    units: Mapped[str | None] = mapped_column(String(100))
    failure_reason: Mapped[str | None] = mapped_column(String(500))

    next_run_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None]
    deadline_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]

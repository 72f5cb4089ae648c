from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from billpay.models.base import Base, Timestamps


class StellarRefund(Timestamps, Base):
    """One Stellar payment back to a payer, one per cause (``deposit:<op id>:excess``,
    ``payment:<id>:vend_failed``…): a second row for the same cause cannot exist.

    The signed envelope, its hash and ``max_time`` are committed before the envelope is
    submitted; the same envelope is resubmitted until it is known applied, and a new one is
    built only once the old one can never apply (expired, hash unknown)."""

    __tablename__ = "stellar_refunds"
    __table_args__ = (
        CheckConstraint("amount_kobo > 0", name="amount_positive"),
        Index(
            "ix_stellar_refunds_open",
            "id",
            postgresql_where=text("status IN ('queued', 'submitting')"),
        ),
        Index("ix_stellar_refunds_payment_id", "payment_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    cause: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # excess, underpaid, unknown_memo, vend_failed…
    deposit_id: Mapped[int | None] = mapped_column(ForeignKey("stellar_deposits.id"))
    payment_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("payments.id"))
    # When it succeeds, the payment's ``refunding`` ends (``refunded``).
    closes_payment: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    source_account: Mapped[str] = mapped_column(String(56))
    destination: Mapped[str] = mapped_column(String(56))
    asset_code: Mapped[str | None] = mapped_column(String(12))  # None with the issuer: XLM
    asset_issuer: Mapped[str | None] = mapped_column(String(56))
    # Hundredths of a unit of the asset: kobo for cNGN. Never more than was received.
    amount_kobo: Mapped[int]
    memo_type: Mapped[str] = mapped_column(String(10))  # text (REFUND-<short id>) or return
    memo: Mapped[str] = mapped_column(String(64))  # the text, or the returned tx hash (hex)
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20))
    envelope_xdr: Mapped[str | None] = mapped_column(Text)
    tx_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    max_time: Mapped[int | None] = mapped_column(BigInteger)  # unix seconds
    superseded_hashes: Mapped[list[str]] = mapped_column(
        JSONB, default=list, server_default=text("'[]'::jsonb")
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_result: Mapped[dict[str, Any] | None]
    fee_charged_stroops: Mapped[int | None]  # XLM the network charged (outside the NGN ledger)
    applied_ledger: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    completed_at: Mapped[datetime | None]

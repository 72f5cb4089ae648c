from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, String, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from billpay.models.base import Base, Timestamps


class StellarDeposit(Timestamps, Base):
    """One incoming payment operation to a system account, stored once (unique operation id)
    with its evidence, whatever it turned out to be: a payment's funds, money to send back, or
    a record for an operator (``quarantined``, with ``reason`` and the raw record)."""

    __tablename__ = "stellar_deposits"
    __table_args__ = (
        Index("ix_stellar_deposits_payment_id", "payment_id"),
        Index(
            "ix_stellar_deposits_attention",
            "state",
            postgresql_where=text("state IN ('refund_pending', 'funded_overpaid', 'quarantined')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(56))  # the system account it was paid to
    # Horizon's operation id; for a record too broken to have one, a digest of the record.
    operation_id: Mapped[str] = mapped_column(String(80), unique=True)
    paging_token: Mapped[str | None] = mapped_column(String(32))
    tx_hash: Mapped[str | None] = mapped_column(String(64))
    from_account: Mapped[str | None] = mapped_column(String(56))
    asset_code: Mapped[str | None] = mapped_column(String(12))  # None with the issuer: XLM
    asset_issuer: Mapped[str | None] = mapped_column(String(56))
    amount: Mapped[str | None] = mapped_column(String(32))  # as Horizon wrote it (received)
    # Exact kobo; None when the amount is not a whole number of kobo (or not cNGN-like dust).
    amount_kobo: Mapped[int | None]
    memo_type: Mapped[str | None] = mapped_column(String(10))
    memo: Mapped[str | None] = mapped_column(String(200))
    path_payment: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    ledger_at: Mapped[datetime | None]  # when the network applied it
    payment_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("payments.id"))
    # This deposit is the payment's money (it funded it), not one the payment turned away.
    funded_payment: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    state: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(500))
    raw: Mapped[dict[str, Any] | None]  # the record as received, kept when quarantined

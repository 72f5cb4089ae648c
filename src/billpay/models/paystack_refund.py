from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from billpay.models.base import Base, Timestamps


class PaystackRefund(Timestamps, Base):
    """The one Paystack refund of a payment, committed before ``POST /refund`` is sent.

    Paystack refunds carry no idempotency key: after a create whose answer was lost
    (``create_attempts`` > 0 while still ``creating``), the refunder lists the transaction's
    refunds before it would ever create another.
    """

    __tablename__ = "paystack_refunds"
    __table_args__ = (
        CheckConstraint("amount_kobo > 0", name="amount_positive"),
        # The refunder's queue: refunds not yet settled, by when they are next looked at.
        Index(
            "ix_paystack_refunds_due",
            "next_check_at",
            postgresql_where=text("status IN ('creating', 'pending', 'processing')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    payment_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("payments.id"), unique=True)
    transaction_reference: Mapped[str] = mapped_column(String(100))
    transaction_id: Mapped[int | None]  # Paystack's id of the collection (to list its refunds)
    refund_id: Mapped[int | None]  # Paystack's id of the refund, once it exists
    amount_kobo: Mapped[int]  # what goes back: what Paystack actually collected
    currency: Mapped[str] = mapped_column(String(3))
    # delivery (the payment is refunding), mismatch (wrong amount/currency), late (expired)
    cause: Mapped[str] = mapped_column(String(20))
    # creating → pending → processing → processed | failed | needs-attention; rejected
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(500))
    create_attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    checks: Mapped[int] = mapped_column(Integer, server_default="0")
    next_check_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    raw: Mapped[dict[str, Any] | None]  # the last exchange with Paystack, masked

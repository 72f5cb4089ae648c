from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, Uuid, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from billpay.models.base import Base


class ProviderCallRecord(Base):
    """One HTTP exchange with a provider, masked (append-only: never updated, never deleted).

    Purchase and requery calls belong to an attempt; a customer validation made before any
    payment exists belongs to nothing but the provider."""

    __tablename__ = "provider_calls"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    payment_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("payments.id"), index=True
    )
    attempt_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("payment_attempts.id"), index=True
    )
    provider: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))  # a billpay.providers.calls.CallKind value
    method: Mapped[str] = mapped_column(String(10))
    url: Mapped[str] = mapped_column(String(500))
    request: Mapped[dict[str, Any] | None]
    # a billpay.providers.http.Delivery value: answered, sent_unknown or never_sent
    delivery: Mapped[str] = mapped_column(String(20))
    http_status: Mapped[int | None] = mapped_column(Integer)
    response: Mapped[Any | None] = mapped_column(JSONB)
    response_text: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(String(500))
    latency_ms: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(server_default=func.now())

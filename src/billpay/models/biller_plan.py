from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Integer, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from billpay.models.base import Base


class BillerPlan(Base):
    """A normalized product sold by one or more providers (``provider_meta``, one per provider)."""

    __tablename__ = "biller_plans"

    slug: Mapped[str] = mapped_column(String(150), primary_key=True)
    bill_type: Mapped[str] = mapped_column(String(20), index=True)
    biller: Mapped[str] = mapped_column(String(100), index=True)
    biller_name: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(300))
    price_kobo: Mapped[int | None]
    min_kobo: Mapped[int | None]
    max_kobo: Mapped[int | None]
    validity_days: Mapped[int | None] = mapped_column(Integer)
    meter_type: Mapped[str | None] = mapped_column(String(10))
    provider_meta: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, default=list, server_default="[]"
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    synced_at: Mapped[datetime] = mapped_column(server_default=func.now())

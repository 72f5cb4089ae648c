from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column

from billpay.models.base import Base


class AlertIncident(Base):
    """One incident of one alert: opened when its condition is first seen, resolved when it
    clears. ``key`` names the condition (``breaker_open:vtpass:``, ``payment_stuck:<id>``);
    at most one incident per key is open at a time, whatever number of workers evaluate."""

    __tablename__ = "alert_incidents"
    __table_args__ = (
        Index(
            "uq_alert_incidents_open_key",
            "key",
            unique=True,
            postgresql_where=text("resolved_at IS NULL"),
        ),
        Index("ix_alert_incidents_opened_at", "opened_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(200))  # the provider or payment it is about
    summary: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]]
    opened_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_seen_at: Mapped[datetime] = mapped_column(server_default=func.now())
    resolved_at: Mapped[datetime | None]

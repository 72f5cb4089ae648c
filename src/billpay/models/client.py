from __future__ import annotations

import uuid

from sqlalchemy import CheckConstraint, ForeignKey, String, Uuid, true
from sqlalchemy.orm import Mapped, mapped_column

from billpay.models.base import Base, Timestamps


class Client(Timestamps, Base):
    """A merchant (fintech or wallet team) using the API; its keys are in ``api_keys``.

    A merchant's test mode is a twin client (``livemode`` false, ``live_client_id`` the
    merchant): its own balance, payments and webhook settings, so nothing of test mode can
    mix with live money or lists.
    """

    __tablename__ = "clients"
    __table_args__ = (
        CheckConstraint("livemode = (live_client_id IS NULL)", name="test_twin_has_merchant"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    livemode: Mapped[bool] = mapped_column(default=True, server_default=true())
    live_client_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("clients.id"), unique=True)
    webhook_url: Mapped[str | None] = mapped_column(String(2000))
    webhook_secret: Mapped[str | None] = mapped_column(String(200))
    webhook_secret_previous: Mapped[str | None] = mapped_column(String(200))

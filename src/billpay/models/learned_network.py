from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, String, func
from sqlalchemy.orm import Mapped, mapped_column

from billpay.models.base import Base


class LearnedNetwork(Base):
    """The mobile network billpay has learned a phone number is on (numbers port between
    networks, so a prefix is only a hint). One row per number and mode: a test-mode vend on a
    simulator proves nothing about the real network."""

    __tablename__ = "learned_networks"

    livemode: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    phone: Mapped[str] = mapped_column(String(11), primary_key=True)  # local form 0XXXXXXXXXX
    network: Mapped[str] = mapped_column(String(20))  # customers.identifiers.Network value
    learned_from: Mapped[str] = mapped_column(String(30))  # customers.networks.LearnedFrom
    evidence: Mapped[str] = mapped_column(String(300))  # what said so, for an operator
    payment_id: Mapped[uuid.UUID | None]  # the payment that taught it, when one did
    learned_at: Mapped[datetime] = mapped_column(server_default=func.now())

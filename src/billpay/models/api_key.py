from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, Uuid, func
from sqlalchemy.orm import Mapped, mapped_column

from billpay.models.base import Base


class ApiKey(Base):
    """One of a client's API keys, stored only as a SHA-256 hash.

    A test-mode key (``livemode`` false, ``bp_test_…``) belongs to the merchant's test twin
    client. ``last_used_at`` is stamped when a process looks the key up, so it is accurate to
    the authentication cache's lifetime (a minute).
    """

    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    client_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("clients.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(20))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    livemode: Mapped[bool]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

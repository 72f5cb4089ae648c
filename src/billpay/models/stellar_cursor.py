from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, func
from sqlalchemy.orm import Mapped, mapped_column

from billpay.models.base import Base


class StellarCursor(Base):
    """Where the deposit watcher of one account resumes: the paging token of the last record it
    handled. Written in the same transaction as that record's effects, never before."""

    __tablename__ = "stellar_cursors"

    account: Mapped[str] = mapped_column(String(56), primary_key=True)
    paging_token: Mapped[str] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

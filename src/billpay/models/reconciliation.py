from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, String, Uuid, func
from sqlalchemy.orm import Mapped, mapped_column

from billpay.models.base import Base


class ReconciliationRun(Base):
    """One reconciliation: who started it, when, and what it found (the whole report)."""

    __tablename__ = "reconciliation_runs"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    trigger: Mapped[str] = mapped_column(String(60))  # worker, cli, api:<who>, dashboard:<who>
    started_at: Mapped[datetime] = mapped_column(server_default=func.now(), index=True)
    finished_at: Mapped[datetime | None]
    ok: Mapped[bool | None]  # None while it runs (or when it died before finishing)
    payments_checked: Mapped[int] = mapped_column(default=0, server_default="0")
    discrepancy_count: Mapped[int] = mapped_column(default=0, server_default="0")
    report: Mapped[dict[str, Any] | None]


class LedgerAdjustment(Base):
    """An operator's adjusting journal: the entry itself is in ``ledger_entries`` (kind
    ``adjustment``, same ``journal_id``); this row keeps who made it and why."""

    __tablename__ = "ledger_adjustments"
    __table_args__ = (CheckConstraint("amount_kobo > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    journal_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    payment_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    debit_account: Mapped[str] = mapped_column(String(200))
    credit_account: Mapped[str] = mapped_column(String(200))
    amount_kobo: Mapped[int]
    reason: Mapped[str] = mapped_column(String(300))
    actor: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

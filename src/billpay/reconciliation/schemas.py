"""Bodies of reconciliation: what a run found, its history, adjustments."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class Side(enum.StrEnum):
    LEDGER = "ledger"
    PROVIDERS = "providers"
    STELLAR = "stellar"


class Discrepancy(BaseModel):
    side: Side
    kind: str = Field(description="e.g. clearing_not_drained, paid_but_provider_failed")
    message: str
    evidence: dict[str, Any] = Field(description="ids and amounts (kobo) behind the finding")


class SideReport(BaseModel):
    side: Side
    checked: int = Field(description="items compared on this side (payments, attempts, records)")
    notes: list[str] = Field(
        default_factory=list, description="what could not be compared, and why"
    )
    discrepancies: list[Discrepancy] = Field(default_factory=list)


class Adjustment(BaseModel):
    id: int
    journal_id: uuid.UUID
    payment_id: uuid.UUID | None
    debit_account: str
    credit_account: str
    amount_kobo: int
    reason: str
    actor: str
    created_at: datetime


class ReconciliationReport(BaseModel):
    ok: bool
    started_at: datetime
    finished_at: datetime
    payments_checked: int
    seconds: float
    sides: list[SideReport]
    adjustments: list[Adjustment] = Field(
        default_factory=list,
        description="adjusting entries posted since the previous finished run",
    )

    @property
    def discrepancies(self) -> list[Discrepancy]:
        return [found for side in self.sides for found in side.discrepancies]


class RunSummary(BaseModel):
    id: int
    trigger: str
    started_at: datetime
    finished_at: datetime | None
    ok: bool | None = Field(description="None while running, or if the run died")
    payments_checked: int
    discrepancy_count: int


class RunDetail(RunSummary):
    report: ReconciliationReport | None


class AdjustmentIn(BaseModel):
    debit_account: str = Field(min_length=1, max_length=200)
    credit_account: str = Field(min_length=1, max_length=200)
    amount_kobo: int = Field(gt=0)
    reason: str = Field(min_length=1, max_length=300)
    payment_id: uuid.UUID | None = None


class ReconciliationOverview(BaseModel):
    latest: RunDetail | None = Field(description="the latest finished run, in full")
    runs: list[RunSummary] = Field(description="recent runs, newest first")
    adjustments: list[Adjustment] = Field(description="recent adjusting entries, newest first")

"""Alert vocabulary: the kinds of alert, what a rule sees, and the bodies of ``/v1/ops/alerts``."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class AlertKind(enum.StrEnum):
    PROVIDER_FAILURE_RATE = "provider_failure_rate"
    PROVIDER_UNKNOWN_RATE = "provider_unknown_rate"
    BREAKER_OPEN = "breaker_open"
    PAYMENT_STUCK = "payment_stuck"
    PAYMENT_NEEDS_REVIEW = "payment_needs_review"
    WEBHOOK_BACKLOG = "webhook_backlog"
    PROVIDER_FLOAT_LOW = "provider_float_low"


@dataclass(frozen=True)
class Condition:
    """An alert's condition as a rule sees it now; ``subject`` is what it is about (a provider,
    a provider/biller, a payment), so ``key`` names one incident's worth of trouble."""

    kind: AlertKind
    subject: str
    summary: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.kind.value}:{self.subject}"


@dataclass(frozen=True)
class RuleResult:
    """What one rule found: the conditions that hold now, and the subjects it could not judge
    this time (a provider whose balance did not answer) — their incidents stay as they are."""

    kind: AlertKind
    firing: list[Condition]
    undecided: frozenset[str] = frozenset()


class AlertState(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class AlertDeliveryOut(BaseModel):
    channel: str = Field(description="webhook or email")
    event_type: str = Field(description="alert.opened or alert.resolved")
    status: str = Field(description="pending, delivered or failed (replayable)")
    attempts: int
    last_error: str | None


class AlertOut(BaseModel):
    id: int
    key: str = Field(description="The condition: one open incident per key at a time.")
    kind: AlertKind
    subject: str
    state: AlertState
    summary: str
    details: dict[str, Any]
    opened_at: datetime
    last_seen_at: datetime = Field(description="When the condition was last seen holding.")
    resolved_at: datetime | None
    deliveries: list[AlertDeliveryOut] = Field(
        description="The operator webhook and email sent about it, oldest first."
    )


class AlertList(BaseModel):
    data: list[AlertOut] = Field(description="Open incidents first, then the newest resolved.")

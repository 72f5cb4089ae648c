"""Bodies of the operator API (``/v1/ops``), also what the dashboard and ``billpay stats`` show."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from pydantic import BaseModel, Field


class BillTypeStats(BaseModel):
    bill_type: str
    total: int
    paid: int
    failed: int = Field(description="refunding, refunded or failed: not delivered")
    needs_review: int
    in_progress: int = Field(description="awaiting_funds, pending or processing")
    expired: int
    success_rate: float | None = Field(
        description="paid / (paid + failed + needs_review); in-progress and expired payments "
        "are not counted. None when nothing was decided."
    )


class ProviderPerformance(BaseModel):
    provider: str
    attempts: int
    succeeded: int
    failed: int
    unknown: int = Field(description="outcome still unknown (being requeried, or in review)")
    in_flight: int = Field(description="being sent, or about to be sent again")
    success_rate: float | None = Field(
        description="succeeded / (succeeded + failed + unknown); None without such attempts"
    )
    latency_p50_ms: float | None
    latency_p95_ms: float | None


class HealthStatus(enum.StrEnum):
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    FAILING = "failing"
    IDLE = "idle"  # no attempts in the window: nothing to judge by


class ProviderHealth(BaseModel):
    provider: str
    status: HealthStatus
    configured: bool = Field(description="this process has credentials for the provider")
    attempts: int = Field(description="attempts with activity in the health window")
    bad: int = Field(description="failed among them (unknown answers are not ill health)")
    bad_rate: float | None
    last_attempt_at: datetime | None
    last_success_at: datetime | None


class OpsStats(BaseModel):
    window_hours: float
    since: datetime
    generated_at: datetime
    total_payments: int
    payments_by_status: dict[str, int]
    by_bill_type: list[BillTypeStats]
    providers: list[ProviderPerformance]


class BreakerHealth(BaseModel):
    """A provider (``biller`` null) or provider×biller as routing sees it: the figures every
    worker routes by, its shared circuit breaker, and the operators' switch."""

    provider: str
    biller: str | None = Field(description="null: the provider over every biller")
    attempts: int = Field(description="attempts that reached an outcome in the health window")
    succeeded: int
    failed: int = Field(description="definite and transport failures: what counts against it")
    unknown: int = Field(description="pending/processing answers being requeried: not counted")
    success_rate: float | None
    failure_rate: float | None
    unknown_rate: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    breaker_state: str = Field(description="closed, open or half_open")
    breaker_reason: str | None
    breaker_since: datetime | None
    disabled: bool = Field(description="switched off by an operator")
    disabled_reason: str | None


class ProviderSwitchOut(BaseModel):
    provider: str
    biller: str | None = Field(description="null: every biller")
    enabled: bool
    actor: str
    reason: str
    changed_at: datetime


class ProviderSwitchIn(BaseModel):
    biller: str | None = Field(
        default=None, max_length=100, description="only this biller (e.g. 'mtn', 'dstv')"
    )
    reason: str = Field(max_length=500, description="why: kept with the change")


class ProvidersReport(BaseModel):
    window_hours: float
    health_minutes: float
    generated_at: datetime
    performance: list[ProviderPerformance]
    health: list[ProviderHealth]
    routing: list[BreakerHealth] = Field(
        description="shared health per provider and provider×biller over the health window"
    )
    switches: list[ProviderSwitchOut]


class StuckPayment(BaseModel):
    id: uuid.UUID
    short_id: str
    request_reference: str
    status: str
    bill_type: str
    biller: str
    plan: str
    provider: str | None
    total_kobo: int
    created_at: datetime
    status_since: datetime
    seconds_in_status: float
    failure_reason: str | None


class StuckGroup(BaseModel):
    status: str
    older_than_minutes: float | None = Field(description="None: every payment in this status")
    count: int
    payments: list[StuckPayment] = Field(description="oldest first, at most `limit`")


class StuckReport(BaseModel):
    generated_at: datetime
    processing: StuckGroup
    needs_review: StuckGroup
    refunding: StuckGroup
    oldest_unresolved_seconds: float | None = Field(
        description="age of the oldest payment still holding money (pending, processing, "
        "refunding, needs_review)"
    )
    oldest_unresolved_payment_id: uuid.UUID | None


class AccountAmount(BaseModel):
    account: str
    kobo: int


class AccountMismatch(BaseModel):
    account: str
    stored_kobo: int
    derived_kobo: int


class ReservedMismatch(BaseModel):
    client_id: str
    reserved_kobo: int
    held_kobo: int


class UndrainedPayment(BaseModel):
    payment_id: str
    net_kobo: int


class ReconcileOut(BaseModel):
    ok: bool
    checked_at: datetime
    negative_balances: list[AccountAmount]
    out_of_step: list[AccountMismatch]
    reserved_mismatch: list[ReservedMismatch]
    undrained: list[UndrainedPayment]
    lines: list[str]

"""Outbox vocabulary and the bodies of the webhook-deliveries API."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, model_validator


class Channel(enum.StrEnum):
    WEBHOOK = "webhook"
    EMAIL = "email"
    SMS = "sms"


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # queued, being tried, or waiting for its next try
    DELIVERED = "delivered"
    FAILED = "failed"  # given up after the retry window (or refused for good); replayable


class DeliveryAttemptOut(BaseModel):
    attempted_at: datetime
    status_code: int | None = Field(description="HTTP status your server answered, if any.")
    error: str | None
    duration_ms: int


class WebhookDeliveryOut(BaseModel):
    id: int
    event_id: str = Field(description="The event's `id`, the same on every retry and replay.")
    event_type: str
    payment_id: uuid.UUID
    url: str
    status: DeliveryStatus
    next_attempt_at: datetime | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    attempts: list[DeliveryAttemptOut] = Field(description="Every try, oldest first.")


class WebhookDeliveryList(BaseModel):
    data: list[WebhookDeliveryOut]
    next_cursor: str | None


class WebhookSettingsUpdate(BaseModel):
    """Omit a field to leave it unchanged. ``webhook_url: null`` stops sending webhooks."""

    model_config = ConfigDict(extra="forbid")

    webhook_url: HttpUrl | None = None
    rotate_secret: bool = Field(
        default=False,
        description="Issue a new signing secret; the current one stays valid as the previous.",
    )
    revoke_previous_secret: bool = Field(
        default=False, description="End a rotation: stop signing with the previous secret."
    )

    @model_validator(mode="after")
    def _one_secret_change(self) -> WebhookSettingsUpdate:
        if self.rotate_secret and self.revoke_previous_secret:
            raise ValueError("rotate_secret and revoke_previous_secret exclude each other")
        return self


class WebhookSettingsOut(BaseModel):
    webhook_url: str | None
    secret: str | None = Field(
        default=None,
        description="The new signing secret: returned only by the request that rotated it.",
    )
    previous_secret_valid: bool = Field(
        description="Whether webhooks are also signed with the previous secret (rotation)."
    )

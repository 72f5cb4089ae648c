"""Request and response bodies of the payments API."""

from __future__ import annotations

import enum
import hashlib
import json
import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from billpay.payments.status import Status

EMAIL_PATTERN = r"^[^@\s]{1,64}@[^@\s]+\.[A-Za-z]{2,}$"


class FundingMethod(enum.StrEnum):
    BALANCE = "balance"
    STELLAR = "stellar"
    PAYSTACK = "paystack"


class CreatePayment(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    request_reference: Annotated[
        str,
        Field(
            min_length=1,
            max_length=100,
            pattern=r"^[A-Za-z0-9._:-]+$",
            description="Your idempotency key: one payment per reference, ever.",
        ),
    ]
    plan: Annotated[
        str,
        Field(
            min_length=1,
            max_length=150,
            examples=["mtn-airtime", "airtime", "data-1gb-30d"],
            description="A catalog plan slug. For airtime and data the network may be left "
            "out: `airtime` or `data-<bundle>` goes to the network billpay detects for "
            "`customer_id` (learned for the number, else its prefix); a plan that names its "
            "network (`glo-airtime`) is sold as named.",
        ),
    ]
    biller: Annotated[
        str | None,
        Field(max_length=100, description="Optional: rejected if the plan is another biller's."),
    ] = None
    customer_id: Annotated[
        str,
        Field(min_length=1, max_length=64, description="Phone, meter, smartcard or account id."),
    ]
    amount_kobo: Annotated[
        StrictInt | None,
        Field(gt=0, description="Bill amount in kobo. Omit for fixed-price plans."),
    ] = None
    phone: Annotated[str | None, Field(max_length=20, description="Payer's phone.")] = None
    email: Annotated[str | None, Field(max_length=320, pattern=EMAIL_PATTERN)] = None
    funding_method: FundingMethod = FundingMethod.BALANCE
    subscription_type: Annotated[
        str | None, Field(pattern="^(renew|change)$", description="Cable TV only.")
    ] = None

    def fingerprint(self) -> str:
        """Same body → same fingerprint, whatever the key order or whitespace it came with."""
        canonical = json.dumps(self.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


class PaymentEventOut(BaseModel):
    from_status: str | None
    to_status: str
    reason: str
    actor: str
    at: datetime


class ProviderCallOut(BaseModel):
    """One HTTP exchange with the provider, secrets and tokens masked."""

    kind: str = Field(description="purchase, requery, validation or reversal_check")
    method: str
    url: str
    request: dict[str, Any] | None
    delivery: str = Field(description="answered, sent_unknown (no answer) or never_sent")
    http_status: int | None
    response: Any = Field(description="The provider's JSON answer, masked")
    response_text: str | None = Field(description="An answer that was not JSON, masked")
    error: str | None = Field(description="Why no answer came back")
    latency_ms: int | None
    started_at: datetime


class AttemptOut(BaseModel):
    """One provider and one provider reference, with every call made under it."""

    number: int
    provider: str
    provider_reference: str
    outcome: str
    provider_status: str | None
    sends: int
    requeries: int
    created_at: datetime
    finished_at: datetime | None
    calls: list[ProviderCallOut]


class PaymentOut(BaseModel):
    id: uuid.UUID
    short_id: str
    request_reference: str
    status: Status
    bill_type: str
    biller: str
    plan: str
    plan_name: str
    customer_id: str
    customer_name: str | None
    amount_kobo: int
    fee_kobo: int
    total_kobo: int
    funding_method: str
    provider: str | None
    token: str | None = Field(description="Electricity token: shown only to the payment's owner.")
    bonus_tokens: list[str] = Field(
        default_factory=list,
        description="Further tokens of the same vend (e.g. Eko's FBE token), owner-only like "
        "the token.",
    )
    units: str | None
    failure_reason: str | None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    events: list[PaymentEventOut] | None = None
    funding_instructions: dict[str, Any] | None = None
    funding_expires_at: datetime | None = None


class PaymentDetailOut(PaymentOut):
    """One payment as its owner reads it: with its attempts and every provider call."""

    attempts: list[AttemptOut]
    validations: list[ProviderCallOut] = Field(
        description="The provider's customer lookups made when the payment was created."
    )


class PaymentList(BaseModel):
    data: list[PaymentOut]
    next_cursor: str | None

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class BillerOut(BaseModel):
    biller: str
    name: str
    bill_type: str
    plans: int


class PlanOut(BaseModel):
    slug: str
    bill_type: str
    biller: str
    name: str
    price_kobo: int | None
    min_kobo: int | None
    max_kobo: int | None
    validity_days: int | None
    meter_type: str | None
    providers: list[str]
    fee_kobo: int = Field(description="Added to the amount; the payer pays amount + fee")
    total_kobo: int | None = Field(
        description="What the payer pays for a fixed-price plan (price + fee); null when the "
        "amount is the payer's choice (then amount_kobo + fee_kobo)"
    )
    customer_id_kind: str = Field(
        description="What `customer_id` is: phone_number, meter_number, smartcard_number or "
        "betting_account"
    )
    required_fields: list[str] = Field(
        description="Fields `POST /v1/payments` needs for this plan (and `email` when "
        "funding_method is paystack)"
    )


class ValidateCustomer(BaseModel):
    plan: str = Field(
        description="A plan slug; for a phone also `airtime`, `data` (lists the bundles of "
        "the number's network in `plans`) or `data-<bundle>` (e.g. `data-1gb-30d`): the "
        "network is detected",
        examples=["airtime", "data", "dstv-compact"],
    )
    customer_id: str


class NetworkOut(BaseModel):
    """The mobile network a plan for this phone sells on, and why billpay thinks so."""

    network: str = Field(description="mtn, airtel, glo or 9mobile (the network's biller slug)")
    source: str = Field(
        description="explicit: the plan named it; learned: billpay learned it for this number "
        "(see learned_from); prefix: the number's prefix, only a hint (numbers port)"
    )
    learned_from: str | None = Field(
        default=None,
        description="provider_delivery, wrong_network_rejection or client_choice (learned only)",
    )
    learned_at: datetime | None = None


class CustomerOut(BaseModel):
    plan: str
    customer_id: str
    customer_name: str | None
    valid: bool
    # Cable TV, where the provider reports them: renewing (``subscription_type: renew``) is
    # charged ``renewal_kobo``, which may differ from the bouquet's list price (promos).
    current_bouquet: str | None = None
    renewal_kobo: int | None = Field(default=None, description="What a renewal costs, in kobo.")
    due_date: date | None = Field(default=None, description="When the subscription runs out.")
    network: NetworkOut | None = Field(
        default=None, description="Airtime and data: the network the payment would go to."
    )
    plans: list[PlanOut] | None = Field(
        default=None,
        description="Airtime and data: the plans of that network for this bill type (for "
        "`data`, its bundles).",
    )

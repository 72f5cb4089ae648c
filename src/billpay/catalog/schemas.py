from __future__ import annotations

from pydantic import BaseModel


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


class ValidateCustomer(BaseModel):
    plan: str
    customer_id: str


class CustomerOut(BaseModel):
    plan: str
    customer_id: str
    customer_name: str | None
    valid: bool

"""The sandbox's own books: every transaction it accepted and every vend it made.

The vend record is the evidence tests use to prove "at most one vend" without trusting
billpay's view of what happened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from billpay.sandbox.vtpass.catalog import Service, Variation


@dataclass
class VendRecord:
    request_id: str
    service_id: str
    customer: str
    variation_code: str | None
    amount_kobo: int
    vended_at: datetime
    token: str | None = None  # prepaid electricity only
    units: Decimal | None = None  # kWh, prepaid electricity only
    reversed: bool = False
    bonus_token: str | None = None  # discos that issue one (Eko)
    subscription_type: str | None = None  # TV: "renew" tops up whatever amount it was sent

    def as_json(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "service_id": self.service_id,
            "customer": self.customer,
            "variation_code": self.variation_code,
            "amount_kobo": self.amount_kobo,
            "token": self.token,
            "units": str(self.units) if self.units is not None else None,
            "reversed": self.reversed,
            "bonus_token": self.bonus_token,
            "subscription_type": self.subscription_type,
            "vended_at": self.vended_at.isoformat(),
        }


@dataclass
class Transaction:
    request_id: str
    service: Service
    customer: str  # the phone topped up (airtime) or the billersCode
    phone: str
    variation: Variation | None
    meter_type: str | None
    amount_kobo: int
    transaction_id: str
    subscription_type: str | None
    created_at: datetime
    status: str = "initiated"
    # Requeries still to answer "pending" before delivering; None = pending until reversed/reset.
    pending_requeries_left: int | None = None
    vend: VendRecord | None = None
    # A ported number's network (its failure says so); None for every other transaction.
    ported_to: str | None = None

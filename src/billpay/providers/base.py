"""The one protocol every bill provider connector speaks, and the values it speaks in.

A connector turns billpay's request into the provider's wire contract and the provider's
answer into one of three outcomes. ``UNKNOWN`` is not ``FAILED`` (DESIGN §1.3): a timeout,
5xx, unreadable body or undocumented code is unknown and must be requeried, never retried
under a new reference, fallen back from, or refunded.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol, runtime_checkable

from billpay.config import Settings


class BillType(enum.StrEnum):
    AIRTIME = "airtime"
    DATA = "data"
    CABLE_TV = "cable_tv"
    ELECTRICITY = "electricity"
    BETTING = "betting"


class ProviderName(enum.StrEnum):
    VTPASS = "vtpass"
    FLUTTERWAVE = "flutterwave"
    INTERSWITCH = "interswitch"


class Outcome(enum.StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # definite: nothing was delivered, nothing charged
    UNKNOWN = "unknown"  # requery the same reference
    # A requery's documented "no record of this reference" (VTpass 015, Interswitch 90025):
    # the purchase may never have arrived. Still unknown — never failed, never refunded — but
    # after a grace period the purchase may be sent again under the same reference.
    NOT_FOUND = "not_found"


class ValidationStatus(enum.StrEnum):
    VALID = "valid"
    INVALID = "invalid"  # the provider says this customer does not exist / cannot be paid
    UNAVAILABLE = "unavailable"  # provider outage: try again, it says nothing about the customer


class MeterType(enum.StrEnum):
    PREPAID = "prepaid"
    POSTPAID = "postpaid"


class SubscriptionType(enum.StrEnum):
    RENEW = "renew"
    CHANGE = "change"


# Providers whose docs define renewing a TV subscription at the renewal amount their customer
# validation quotes (VTpass's DSTV/GOtv pages, providers.md §1.5). Flutterwave and Interswitch
# document no renewal: they sell a bouquet, which is a change.
RENEWS_TV_SUBSCRIPTIONS: frozenset[ProviderName] = frozenset({ProviderName.VTPASS})


@dataclass(frozen=True)
class ProviderPlan:
    """One product as one provider sells it, in kobo. ``price_kobo`` set means fixed price."""

    provider: ProviderName
    bill_type: BillType
    biller_code: str  # the provider's biller/service id (VTpass serviceID, Flutterwave BIL…, …)
    biller_name: str
    plan_code: str  # the provider's variation/item/payment code
    name: str
    price_kobo: int | None = None
    min_kobo: int | None = None
    max_kobo: int | None = None
    validity_days: int | None = None
    meter_type: MeterType | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProviderProduct:
    """What a connector needs to know to sell one plan: the provider's own codes."""

    bill_type: BillType
    biller_code: str
    plan_code: str
    meter_type: MeterType | None = None


@dataclass(frozen=True)
class CustomerValidation:
    status: ValidationStatus
    customer_name: str | None = None
    address: str | None = None
    message: str = ""
    min_kobo: int | None = None
    max_kobo: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)
    # Cable TV, where the provider documents them (VTpass smartcard verify, providers.md §1.5):
    # what the customer watches now, what renewing it costs (may differ from the bouquet's list
    # price: promos), and when it runs out.
    current_bouquet: str | None = None
    renewal_kobo: int | None = None
    due_date: date | None = None


@dataclass(frozen=True)
class VendRequest:
    """Everything a provider needs for one purchase. ``reference`` was committed before the call."""

    reference: str
    product: ProviderProduct
    customer_id: str  # phone, meter number, smartcard/IUC, betting account
    amount_kobo: int  # what the provider receives (never the fee)
    phone: str  # the payer's phone, Nigerian local form 0XXXXXXXXXX
    email: str | None = None
    subscription_type: SubscriptionType | None = None


@dataclass(frozen=True)
class VendResult:
    """A classified provider answer, with the evidence (masked) kept for the attempt row."""

    outcome: Outcome
    provider_status: str  # raw code/status as the provider said it, e.g. "000/delivered"
    message: str = ""
    provider_transaction_id: str | None = None
    token: str | None = None  # electricity PIN: a secret shown only to the payment's owner
    bonus_tokens: tuple[str, ...] = ()  # further tokens of the same vend (e.g. Eko's FBE token)
    units: str | None = None  # "<number> kWh"
    reversed: bool = False  # delivered and later reversed by the provider
    sent: bool = True  # False only when the request provably never left (connection refused)
    http_status: int | None = None
    request: Mapping[str, Any] = field(default_factory=dict)  # masked
    response: Mapping[str, Any] | None = None  # masked; None when unreadable or no answer
    raw_text: str | None = None  # a non-JSON body, truncated


@dataclass(frozen=True)
class WebhookEvent:
    """An inbound provider notification: a hint to requery, never a state change by itself."""

    provider: ProviderName
    event_id: str  # unique per provider event (for the inbox)
    kind: str  # e.g. "transaction-update", "variations-update", "singlebillpayment.status"
    reference: str | None  # our provider reference, when the event is about a purchase
    claimed_status: str | None
    payload: Mapping[str, Any] = field(default_factory=dict)


class WebhookRejected(Exception):
    """A forged/malformed webhook. ``status_code`` is what the provider should be answered."""

    def __init__(self, reason: str, status_code: int = 401) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status_code = status_code


class ProviderError(Exception):
    """A call that could not produce a classified result (catalog or validation outage)."""


@runtime_checkable
class BillProvider(Protocol):
    name: ProviderName

    def new_reference(self, now: datetime) -> str:
        """A fresh provider reference obeying the provider's format rules."""
        ...

    async def catalog(self) -> list[ProviderPlan]: ...

    async def validate_customer(
        self, product: ProviderProduct, customer_id: str
    ) -> CustomerValidation: ...

    async def pay(self, request: VendRequest) -> VendResult: ...

    async def requery(self, request: VendRequest) -> VendResult: ...

    def parse_webhook(
        self, headers: Mapping[str, str], body: bytes, path_token: str | None
    ) -> WebhookEvent: ...

    async def aclose(self) -> None: ...


@runtime_checkable
class ReportsBalance(Protocol):
    """A provider that documents a call for the float billpay holds with it (VTpass
    ``GET balance``, Flutterwave ``GET /v3/balances/NGN``; Interswitch documents none)."""

    name: ProviderName

    async def balance_kobo(self) -> int:
        """The float in kobo (sub-kobo remainders dropped); ``ProviderError`` when unreadable."""
        ...


@dataclass(frozen=True)
class ProviderRegistration:
    """What the registry needs from a provider's folder: its name, and how to build it.

    ``configured`` says whether the settings hold what the provider needs to be routed to;
    ``build`` is only called when they do.
    """

    name: ProviderName
    configured: Callable[[Settings], bool]
    build: Callable[[Settings], BillProvider]

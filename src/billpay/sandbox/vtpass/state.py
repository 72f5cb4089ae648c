"""The VTpass sandbox's state: its options, faults, transactions and vend records.

The app serves HTTP on its own thread and event loop while tests read and change this object
from theirs, so every access goes through one lock. Nothing under the lock awaits.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from billpay.sandbox.units import NotWholeKobo, kobo_from_naira
from billpay.sandbox.vtpass import responses
from billpay.sandbox.vtpass.catalog import (
    SERVICES,
    Behaviour,
    Kind,
    Service,
    Variation,
    meter_is_valid,
    phone_behaviour,
    request_id_is_current,
    smartcard_is_valid,
)
from billpay.sandbox.vtpass.faults import FaultKind, FaultRule, Faults
from billpay.sandbox.vtpass.records import Transaction, VendRecord

DEFAULT_BALANCE_KOBO: Final = 100_000_000 * 100  # ₦100M of sandbox wallet
TARIFF_KOBO_PER_KWH: Final = Decimal(6_250)  # ₦62.50/kWh, to turn a prepaid amount into units
TOKEN_DIGITS: Final = 20
RENEW: Final = "renew"
CHANGE: Final = "change"


class SandboxOptions(BaseModel):
    """Behaviour switches. ``reset()`` restores the ones the state was built with."""

    model_config = ConfigDict(extra="forbid")

    # True: every phone but the magic ones fails, exactly as VTpass's sandbox does (§1.9).
    strict_magic_numbers: bool = False
    # VTpass's 019 "likely duplicate" rule (same service + customer within N s); None = off.
    duplicate_window_seconds: float | None = Field(default=None, gt=0)
    request_id_tolerance_minutes: int = Field(default=5, ge=0)
    # Where transaction-update callbacks are POSTed; None = no callbacks.
    callback_url: str | None = None
    # Ported numbers: phone → the network it is on now (``mtn``, ``glo``, ``airtel``,
    # ``etisalat``). Airtime or data for it on another network fails (016), saying where it is.
    ported_numbers: dict[str, Literal["mtn", "glo", "airtel", "etisalat"]] = Field(
        default_factory=dict
    )


@dataclass(frozen=True)
class Purchase:
    """A ``POST pay`` body that passed the argument checks."""

    request_id: str
    service: Service
    customer: str
    phone: str
    variation: Variation | None
    meter_type: str | None
    amount_kobo: int
    subscription_type: str | None = None


@dataclass(frozen=True)
class Answer:
    """What to answer: a JSON payload, plus how the app should (mis)deliver it."""

    payload: dict[str, Any] = field(default_factory=dict)
    behaviour: Behaviour = Behaviour.DELIVER
    webhook: dict[str, Any] | None = None  # a transaction-update to POST to the callback URL


@dataclass(frozen=True)
class WebhookDelivery:
    url: str
    payload: dict[str, Any]
    result: int | str  # the HTTP status, or the transport error's name

    def as_json(self) -> dict[str, Any]:
        return {"url": self.url, "payload": self.payload, "result": self.result}


class VTpassSandboxState:
    def __init__(
        self,
        *,
        options: SandboxOptions | None = None,
        faults: Faults | None = None,
        seed: int | None = None,
    ) -> None:
        self._initial_options = options or SandboxOptions()
        self.options = self._initial_options.model_copy(deep=True)
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._sequence = itertools.count(1)
        self._faults = faults or Faults()
        self._transactions: dict[str, Transaction] = {}
        self._vends: list[VendRecord] = []
        self._last_purchase: dict[tuple[str, str], float] = {}
        self._webhooks: list[WebhookDelivery] = []
        self.balance_kobo = DEFAULT_BALANCE_KOBO

    # --- control (tests and the /_sandbox endpoints) -----------------------------------------

    @property
    def faults(self) -> Faults:
        return self._faults

    def set_faults(self, faults: Faults) -> None:
        with self._lock:
            self._faults = faults

    def add_fault(self, rule: FaultRule) -> None:
        with self._lock:
            self._faults.rules.append(rule)

    def take_fault(self, endpoint: str, keys: Collection[str]) -> FaultRule | None:
        if not self._faults.rules:  # the common case, without touching the lock
            return None
        with self._lock:
            return self._faults.take(endpoint, keys, self._rng)

    def reset(self) -> None:
        """Forget every transaction, vend, callback and fault; restore the initial options."""
        with self._lock:
            self.options = self._initial_options.model_copy(deep=True)
            self._faults = Faults()
            self._transactions.clear()
            self._vends.clear()
            self._last_purchase.clear()
            self._webhooks.clear()
            self.balance_kobo = DEFAULT_BALANCE_KOBO

    def vends(self) -> list[VendRecord]:
        with self._lock:
            return list(self._vends)

    def vend_count(self, request_id: str) -> int:
        with self._lock:
            return sum(1 for vend in self._vends if vend.request_id == request_id)

    def webhooks(self) -> list[WebhookDelivery]:
        with self._lock:
            return list(self._webhooks)

    def record_webhook(self, delivery: WebhookDelivery) -> None:
        with self._lock:
            self._webhooks.append(delivery)

    def reverse(self, request_id: str) -> dict[str, Any] | None:
        """Reverse a delivered transaction; returns the transaction-update to send, if any."""
        with self._lock:
            tx = self._transactions.get(request_id)
            if tx is None or tx.status != "delivered":
                return None
            return self._reverse(tx)

    # --- the API -----------------------------------------------------------------------------

    def purchase(
        self, body: Mapping[str, Any], now: datetime, fault: FaultRule | None = None
    ) -> Answer:
        checked = self._check_purchase(body, now)
        if isinstance(checked, str):
            return Answer(responses.error(checked))
        behaviour = self._behaviour(checked)
        if behaviour is Behaviour.TIMEOUT:
            return Answer(behaviour=behaviour)  # never processed: requery will say 015
        with self._lock:
            refusal = self._refusal(checked)
            if refusal is not None:
                return Answer(responses.error(refusal))
            tx = self._open(checked, now)
            payload, webhook = self._fulfil(tx, behaviour, fault, now)
            return Answer(payload, behaviour, webhook)

    def requery(self, request_id: str, now: datetime) -> Answer:
        with self._lock:
            tx = self._transactions.get(request_id)
            if tx is None:
                return Answer(responses.error("015"))
            if tx.status == "pending" and tx.pending_requeries_left is not None:
                if tx.pending_requeries_left == 0:
                    self._deliver(tx, now)
                else:
                    tx.pending_requeries_left -= 1
            return Answer(responses.transaction(tx))

    def requery_keys(self, request_id: str) -> tuple[str, ...]:
        """Fault targets for a requery: the request_id and the customer it was for."""
        with self._lock:
            tx = self._transactions.get(request_id)
        return (request_id, tx.customer) if tx else (request_id,)

    def verify(self, body: Mapping[str, Any]) -> dict[str, Any]:
        service = SERVICES.get(_text(body.get("serviceID")))
        if service is None:
            return responses.error("012")
        customer = _text(body.get("billersCode"))
        if not customer:
            return responses.error("011")
        if service.kind is Kind.ELECTRICITY:
            meter_type = _text(body.get("type")).lower()
            if meter_is_valid(customer, meter_type):
                return responses.meter_verified(service, customer, meter_type)
            return responses.customer_not_found(service)
        if service.kind is Kind.TV:
            if smartcard_is_valid(customer):
                return responses.smartcard_verified(service, customer)
            return responses.customer_not_found(service)
        return responses.error("011")  # VTpass verifies meters and smartcards, not phones

    def balance(self) -> dict[str, Any]:
        with self._lock:
            return responses.balance(self.balance_kobo)

    # --- purchase rules ----------------------------------------------------------------------

    def _check_purchase(self, body: Mapping[str, Any], now: datetime) -> Purchase | str:
        """The argument checks that need no state: a Purchase, or the VTpass error code."""
        request_id, service_id = _text(body.get("request_id")), _text(body.get("serviceID"))
        if not request_id or not service_id:
            return "011"
        tolerance = timedelta(minutes=self.options.request_id_tolerance_minutes)
        if not request_id_is_current(request_id, now, tolerance):
            return "085"
        service = SERVICES.get(service_id)
        if service is None:
            return "012"
        phone = _text(body.get("phone"))
        customer = phone if service.kind is Kind.AIRTIME else _text(body.get("billersCode"))
        if not customer or not phone:
            return "011"
        subscription_type = _subscription_type(service, body)
        if subscription_type == RENEW:
            # DSTV page: a renewal names no bouquet; VTpass tops the decoder up with whatever
            # amount it is sent (meant to be merchant-verify's Renewal_Amount). A variation code
            # sent anyway changes nothing, but is kept on the record as evidence.
            variation = service.variation(_text(body.get("variation_code")) or None)
            amount_kobo = _amount_kobo(body.get("amount"))
        else:
            variation = service.variation(_text(body.get("variation_code")) or None)
            if service.variations and variation is None:
                return "010"
            amount_kobo = variation.amount_kobo if variation else _amount_kobo(body.get("amount"))
        if amount_kobo is None or amount_kobo <= 0:
            return "011"
        if amount_kobo < service.min_kobo:
            return "013"
        if service.max_kobo and amount_kobo > service.max_kobo:
            return "017"
        meter_type = (
            _text(body.get("variation_code")).lower() if service.kind is Kind.ELECTRICITY else None
        )
        return Purchase(
            request_id,
            service,
            customer,
            phone,
            variation,
            meter_type,
            amount_kobo,
            subscription_type,
        )

    def _behaviour(self, purchase: Purchase) -> Behaviour:
        kind = purchase.service.kind
        if kind is Kind.ELECTRICITY:
            valid = meter_is_valid(purchase.customer, purchase.meter_type)
        elif kind is Kind.TV:
            valid = smartcard_is_valid(purchase.customer)
        elif self._ported_away(purchase) is not None:
            return Behaviour.FAIL
        else:
            return phone_behaviour(purchase.customer, strict=self.options.strict_magic_numbers)
        return Behaviour.DELIVER if valid else Behaviour.FAIL

    def _ported_away(self, purchase: Purchase) -> str | None:
        """The network a ported number is on, when the purchase is for another network's."""
        now_on = self.options.ported_numbers.get(purchase.customer)
        sold_on = purchase.service.service_id.split("-")[0]  # "mtn", "etisalat-data" → …
        return now_on if now_on is not None and now_on != sold_on else None

    def _refusal(self, purchase: Purchase) -> str | None:
        """The checks against what the sandbox already holds (call with the lock held)."""
        if purchase.request_id in self._transactions:
            return "014"
        if self._likely_duplicate(purchase):
            return "019"
        if purchase.amount_kobo > self.balance_kobo:
            return "018"
        return None

    def _likely_duplicate(self, purchase: Purchase) -> bool:
        window = self.options.duplicate_window_seconds
        if window is None:
            return False
        key = (purchase.service.service_id, purchase.customer)
        clock = time.monotonic()
        previous = self._last_purchase.get(key)
        self._last_purchase[key] = clock
        return previous is not None and clock - previous < window

    def _open(self, purchase: Purchase, now: datetime) -> Transaction:
        tx = Transaction(
            request_id=purchase.request_id,
            service=purchase.service,
            customer=purchase.customer,
            phone=purchase.phone,
            variation=purchase.variation,
            meter_type=purchase.meter_type,
            amount_kobo=purchase.amount_kobo,
            transaction_id=self._transaction_id(),
            subscription_type=purchase.subscription_type,
            created_at=now,
            ported_to=self._ported_away(purchase),
        )
        self._transactions[tx.request_id] = tx
        return tx

    def _transaction_id(self) -> str:
        """26 digits like VTpass's: shorter runs of 16-24 digits look like tokens to redact()."""
        millis = time.time_ns() // 1_000_000
        return f"{millis}{next(self._sequence):08d}{self._rng.randrange(10**5):05d}"

    def _fulfil(
        self, tx: Transaction, behaviour: Behaviour, fault: FaultRule | None, now: datetime
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """Settle a new transaction: the pay answer, and a transaction-update when one is due."""
        kind = fault.kind if fault else None
        if behaviour is Behaviour.FAIL:
            tx.status = "failed"
        elif behaviour is Behaviour.PENDING or kind is FaultKind.PENDING_FOREVER:
            tx.status = "pending"
        elif kind is FaultKind.PENDING_THEN_DELIVERED and fault is not None:
            tx.status = "pending"
            tx.pending_requeries_left = fault.pending_requeries
        else:
            self._deliver(tx, now)
            if kind is FaultKind.REVERSE_AFTER_DELIVERY:
                # The pay answer still says "delivered"; everything after it says "reversed".
                delivered = responses.transaction(tx)
                return delivered, self._reverse(tx)
        return responses.transaction(tx), None

    def _deliver(self, tx: Transaction, now: datetime) -> None:
        token, units = self._electricity_token(tx)
        bonus = self._new_token() if token is not None and tx.service.bonus_token else None
        tx.status = "delivered"
        tx.vend = VendRecord(
            request_id=tx.request_id,
            service_id=tx.service.service_id,
            customer=tx.customer,
            variation_code=tx.variation.code if tx.variation else None,
            amount_kobo=tx.amount_kobo,
            vended_at=now,
            token=token,
            units=units,
            bonus_token=bonus,
            subscription_type=tx.subscription_type,
        )
        self._vends.append(tx.vend)
        self.balance_kobo -= tx.amount_kobo

    def _electricity_token(self, tx: Transaction) -> tuple[str | None, Decimal | None]:
        if tx.service.kind is not Kind.ELECTRICITY or tx.meter_type != "prepaid":
            return None, None
        token = self._new_token()
        units = (Decimal(tx.amount_kobo) / TARIFF_KOBO_PER_KWH).quantize(
            Decimal("0.01"), rounding=ROUND_DOWN
        )
        return token, units

    def _new_token(self) -> str:
        return f"{self._rng.randrange(10**TOKEN_DIGITS):0{TOKEN_DIGITS}d}"

    def _reverse(self, tx: Transaction) -> dict[str, Any]:
        tx.status = "reversed"
        if tx.vend is not None:
            tx.vend.reversed = True
        self.balance_kobo += tx.amount_kobo
        return responses.transaction_update(tx)


def _subscription_type(service: Service, body: Mapping[str, Any]) -> str | None:
    """DStv/GOtv's ``change`` or ``renew`` (providers.md §1.4); absent means a change."""
    if service.kind is not Kind.TV:
        return None
    return RENEW if _text(body.get("subscription_type")).lower() == RENEW else CHANGE


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return ""


def _amount_kobo(value: Any) -> int | None:
    if not isinstance(value, int | str | Decimal) or isinstance(value, bool):
        return None
    try:
        return kobo_from_naira(value)
    except NotWholeKobo:
        return None

"""What the Flutterwave sandbox knows: its catalog, every vend it made, and the faults to inject.

The state is shared between the server's thread and the test's thread (faults are set and vends
read in-process), so every change happens under one lock.
"""

from __future__ import annotations

import enum
import itertools
import re
import secrets
import threading
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal

# --- catalog -----------------------------------------------------------------------------------


class CustomerKind(enum.StrEnum):
    PHONE = "Mobile Number"
    SMARTCARD = "SmartCard Number"
    METER = "Meter Number"
    ACCOUNT = "Customer ID"


_CUSTOMER_SHAPES = {
    CustomerKind.PHONE: re.compile(r"^(?:\+?234|0)[789][01]\d{8}$"),
    CustomerKind.SMARTCARD: re.compile(r"^\d{10,11}$"),
    CustomerKind.METER: re.compile(r"^\d{11,13}$"),
    CustomerKind.ACCOUNT: re.compile(r"^[A-Za-z0-9]{4,20}$"),
}

# Documented test values answer with a fixed name (and address, for the meter).
KNOWN_CUSTOMERS = {
    "1212121212": ("Test DSTV Account", None),
    "0025401100": ("Test DSTV Account", None),
    "1111111111111": ("Test Meter Account", "1 Marina Road, Lagos Island"),
}


@dataclass(frozen=True)
class Item:
    biller_code: str
    item_code: str
    name: str
    biller_name: str  # what the legacy create takes as ``type``
    customer_kind: CustomerKind
    price_kobo: int = 0  # 0: the payer chooses an amount between min_kobo and max_kobo
    min_kobo: int = 0
    max_kobo: int = 0
    fee_naira: int = 0
    validity_days: int | None = None
    gives_token: bool = False  # prepaid electricity

    def accepts(self, customer: str) -> bool:
        return bool(_CUSTOMER_SHAPES[self.customer_kind].match(customer))


@dataclass(frozen=True)
class Biller:
    code: str
    name: str
    short_name: str
    category: str
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Category:
    code: str
    name: str


CATEGORIES = (
    Category("AIRTIME", "Airtime"),
    Category("MOBILEDATA", "Mobile Data Service"),
    Category("CABLEBILLS", "Cable Bill Payment"),
    Category("INTSERVICE", "Internet Service"),
    Category("UTILITYBILLS", "Utility Bills"),
    Category("TAX", "Tax Payment"),
    Category("DONATIONS", "Donations"),
    Category("BETTING", "Betting, Lottery and Gaming"),
)

_NAIRA = 100


def _network(code: str, name: str, short_name: str, item_code: str) -> Biller:
    limits = (50 * _NAIRA, 50_000 * _NAIRA)
    vtu_name = f"{short_name.upper()} VTU"
    vtu = Item(code, item_code, vtu_name, "AIRTIME", CustomerKind.PHONE, 0, *limits)
    return Biller(code, name, short_name, "AIRTIME", (vtu,))


def _bundle(biller: str, item: str, name: str, kind_name: str, naira: int, days: int) -> Item:
    kind = CustomerKind.PHONE if "DATA" in kind_name else CustomerKind.SMARTCARD
    fee = 0 if kind is CustomerKind.PHONE else 100
    return Item(biller, item, name, kind_name, kind, naira * _NAIRA, 0, 0, fee, days)


def _power(biller: str, item: str, name: str, legacy_type: str) -> Item:
    prepaid = "PREPAID" in name
    limits = (500 * _NAIRA, 500_000 * _NAIRA)
    return Item(biller, item, name, legacy_type, CustomerKind.METER, 0, *limits, 100, None, prepaid)


def _account(biller: str, item: str, name: str, legacy_type: str) -> Item:
    limits = (100 * _NAIRA, 500_000 * _NAIRA)
    return Item(biller, item, name, legacy_type, CustomerKind.ACCOUNT, 0, *limits)


BILLERS = (
    _network("BIL099", "MTN Nigeria", "MTN", "AT099"),
    _network("BIL100", "Airtel Nigeria", "Airtel", "AT100"),
    _network("BIL102", "Glo Nigeria", "Glo", "AT102"),
    _network("BIL103", "9mobile", "9mobile", "AT103"),
    Biller("BIL104", "MTN Data", "MTN Data", "MOBILEDATA", (
        _bundle("BIL104", "MD104", "MTN 1GB 30 days", "MTN DATA BUNDLE", 1_500, 30),
        _bundle("BIL104", "MD105", "MTN 500MB 7 days", "MTN DATA BUNDLE", 500, 7),
        _bundle("BIL104", "MD106", "MTN 10GB 30 days", "MTN DATA BUNDLE", 4_500, 30),
    )),
    Biller("BIL105", "Airtel Data", "Airtel Data", "MOBILEDATA", (
        _bundle("BIL105", "MD107", "Airtel 1.5GB 30 days", "AIRTEL DATA BUNDLE", 2_000, 30),
    )),
    Biller("BIL119", "DSTV", "DSTV", "CABLEBILLS", (
        _bundle("BIL119", "CB141", "DSTV Compact", "DSTV", 19_000, 30),
        _bundle("BIL119", "CB142", "DSTV Padi", "DSTV", 4_400, 30),
        _bundle("BIL119", "CB143", "DSTV Compact Plus", "DSTV", 30_000, 30),
    )),
    Biller("BIL120", "GOTV", "GOtv", "CABLEBILLS", (
        _bundle("BIL120", "CB144", "GOtv Max", "GOTV", 8_500, 30),
        _bundle("BIL120", "CB145", "GOtv Jolli", "GOTV", 5_800, 30),
    )),
    Biller("BIL110", "Eko Electricity (EKEDC)", "EKEDC", "UTILITYBILLS", (
        _power("BIL110", "UB134", "EKO PREPAID", "EKEDC PREPAID TOPUP"),
        _power("BIL110", "UB135", "EKO POSTPAID", "EKEDC POSTPAID TOPUP"),
    )),
    Biller("BIL112", "Ikeja Electric (IKEDC)", "IKEDC", "UTILITYBILLS", (
        _power("BIL112", "UB157", "IKEDC PREPAID", "IKEDC PREPAID TOPUP"),
        _power("BIL112", "UB158", "IKEDC POSTPAID", "IKEDC POSTPAID TOPUP"),
    )),
    # Not electricity: billpay's catalog sync must leave water bills out.
    Biller("BIL160", "Lagos Water Corporation", "LWC", "UTILITYBILLS", (
        _account("BIL160", "UB160", "LWC WATER BILL", "LAGOS WATER"),
    )),
    Biller("BIL250", "Bet9ja", "Bet9ja", "BETTING", (
        _account("BIL250", "BT250", "Bet9ja Wallet Funding", "BET9JA"),
    )),
    Biller("BIL251", "SportyBet", "SportyBet", "BETTING", (
        _account("BIL251", "BT251", "SportyBet Wallet Funding", "SPORTYBET"),
    )),
)  # fmt: skip


def biller(code: str) -> Biller | None:
    return next((b for b in BILLERS if b.code == code), None)


def item(biller_code: str, item_code: str) -> Item | None:
    found = biller(biller_code)
    return next((i for i in found.items if i.item_code == item_code), None) if found else None


def item_by_code(item_code: str) -> Item | None:
    return next((i for b in BILLERS for i in b.items if i.item_code == item_code), None)


def legacy_item(legacy_type: str, name: str | None) -> Item | None:
    """The legacy create names an item by ``type`` (its biller_name) and, optionally, its name."""
    matches = [
        i
        for b in BILLERS
        for i in b.items
        if i.biller_name == legacy_type and name in (None, i.name)
    ]
    return matches[0] if len(matches) == 1 else None


# --- faults ------------------------------------------------------------------------------------


class FaultKind(enum.StrEnum):
    LATENCY = "latency"  # wait ``seconds``, then answer as usual (adds up with other faults)
    SERVER_ERROR = "server_error"  # 500, nothing done
    TIMEOUT = "timeout"  # hang ``seconds`` (or until the client leaves), nothing done
    ERROR_AFTER_VEND = "error_after_vend"  # vend, then 500: the publicly reported failure mode
    TIMEOUT_AFTER_VEND = "timeout_after_vend"  # vend, then hang
    PENDING_THEN_SUCCESS = "pending_then_success"  # "pending" until settled, then delivered
    PENDING_THEN_FAILURE = "pending_then_failure"  # "pending" until settled, then failed
    DEFINITE_FAILURE = "definite_failure"  # 400 error on create, nothing vended
    # The purchase is lost before it is recorded and the connection cut without an answer: the
    # lookup then finds no transaction.
    LOST_PURCHASE = "lost_purchase"


class Operation(enum.StrEnum):
    CREATE = "create"
    LOOKUP = "lookup"
    VALIDATE = "validate"
    CATALOG = "catalog"
    ANY = "any"


# Faults that only mean something on a purchase.
CREATE_ONLY = frozenset(
    {
        FaultKind.ERROR_AFTER_VEND,
        FaultKind.TIMEOUT_AFTER_VEND,
        FaultKind.PENDING_THEN_SUCCESS,
        FaultKind.PENDING_THEN_FAILURE,
        FaultKind.DEFINITE_FAILURE,
        FaultKind.LOST_PURCHASE,
    }
)
HANG_SECONDS = 60.0  # longer than any sane client timeout; a hang also ends when the client leaves


@dataclass(frozen=True)
class Fault:
    """One injected misbehaviour, targeted by customer id and/or reference, or global.

    ``count`` is how many matching calls it still hits (None: until reset). ``seconds`` is the
    latency, the hang (default ``HANG_SECONDS``), or for a pending vend the time after which it
    settles by itself; without it, a pending vend settles after ``pending_lookups`` lookups.
    """

    kind: FaultKind
    customer_id: str | None = None
    reference: str | None = None
    count: int | None = 1
    seconds: float | None = None
    pending_lookups: int = 2
    operation: Operation = Operation.CREATE

    def __post_init__(self) -> None:
        if self.kind in CREATE_ONLY and self.operation is not Operation.CREATE:
            raise ValueError(f"{self.kind} only applies to {Operation.CREATE}")
        if self.count is not None and self.count < 1:
            raise ValueError("count must be at least 1 (or null: until reset)")

    @property
    def hang_seconds(self) -> float:
        return HANG_SECONDS if self.seconds is None else self.seconds

    def hits(self, operation: Operation, customer_id: str | None, reference: str | None) -> bool:
        return (
            self.operation in (Operation.ANY, operation)
            and self.customer_id in (None, customer_id)
            and self.reference in (None, reference)
        )


# --- vends -------------------------------------------------------------------------------------

Endpoint = Literal["current", "legacy"]  # which create endpoint a vend came through


class VendStatus(enum.StrEnum):
    SUCCESS = "success"
    PENDING = "pending"
    FAILED = "failed"


@dataclass
class Vend:
    """One purchase the sandbox accepted. ``reference`` is the merchant's; the rest are ours."""

    reference: str
    flutterwave_ref: str  # "CF-FLYAPI-…": the lookup id
    biller_ref: str  # the biller's reference (digits; "BPUSSD…" on the legacy endpoint)
    endpoint: Endpoint
    item: Item
    customer: str
    amount_kobo: int
    status: VendStatus
    settles_to: VendStatus
    pending_lookups: int
    created_at: datetime
    token: str | None = None
    units: str | None = None
    lookups: int = 0
    duplicate_attempts: int = 0


@dataclass
class WebhookDelivery:
    reference: str
    status: str
    http_status: int | None
    error: str | None


DEFAULT_BALANCE_KOBO = 100_000_000 * 100  # ₦100M in the sandbox's naira wallet


@dataclass
class FlutterwaveSandboxState:
    webhook_url: str | None = None  # the dashboard's webhook URL; None: no webhooks are sent
    # The naira wallet's available balance, as ``GET /v3/balances/NGN`` reports it.
    balance_kobo: int = DEFAULT_BALANCE_KOBO
    _vends: dict[str, Vend] = field(default_factory=dict, init=False, repr=False)
    _by_flutterwave_ref: dict[str, Vend] = field(default_factory=dict, init=False, repr=False)
    _faults: list[Fault] = field(default_factory=list, init=False, repr=False)
    _deliveries: list[WebhookDelivery] = field(default_factory=list, init=False, repr=False)
    _sequence: itertools.count[int] = field(default_factory=itertools.count, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    # faults

    def add_fault(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def faults(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def take_faults(
        self, operation: Operation, customer_id: str | None, reference: str | None
    ) -> tuple[float, Fault | None]:
        """The latency to add and the first other fault this call hits; each use is counted."""
        with self._lock:
            hit = [f for f in self._faults if f.hits(operation, customer_id, reference)]
            latencies = [f for f in hit if f.kind is FaultKind.LATENCY]
            outcome = next((f for f in hit if f.kind is not FaultKind.LATENCY), None)
            for used in [*latencies, *([outcome] if outcome else [])]:
                self._use(used)
            return sum(f.seconds or 0.0 for f in latencies), outcome

    def _use(self, fault: Fault) -> None:
        index = self._faults.index(fault)
        if fault.count is None:
            return
        if fault.count > 1:
            self._faults[index] = replace(fault, count=fault.count - 1)
        else:
            del self._faults[index]

    # vends

    def note_duplicate(self, reference: str) -> bool:
        """True (and the attempt counted) when a purchase under ``reference`` was made before."""
        with self._lock:
            vend = self._vends.get(reference)
            if vend is not None:
                vend.duplicate_attempts += 1
            return vend is not None

    def record_vend(
        self,
        reference: str,
        endpoint: Endpoint,
        item: Item,
        customer: str,
        amount_kobo: int,
        pending: Fault | None,
    ) -> Vend | None:
        """The new vend, or None when the reference was used before (then nothing is vended)."""
        with self._lock:
            if reference in self._vends:
                self._vends[reference].duplicate_attempts += 1
                return None
            vend = self._new_vend(reference, endpoint, item, customer, amount_kobo, pending)
            self._vends[reference] = vend
            self._by_flutterwave_ref[vend.flutterwave_ref] = vend
            return vend

    def _new_vend(
        self,
        reference: str,
        endpoint: Endpoint,
        item: Item,
        customer: str,
        amount_kobo: int,
        pending: Fault | None,
    ) -> Vend:
        now = datetime.now(UTC)
        sequence = next(self._sequence)
        settles_to = (
            VendStatus.FAILED
            if pending and pending.kind is FaultKind.PENDING_THEN_FAILURE
            else VendStatus.SUCCESS
        )
        vend = Vend(
            reference=reference,
            flutterwave_ref=f"CF-FLYAPI-{now:%Y%m%d%H%M%S}{sequence % 1_000_000:06d}",
            biller_ref=_biller_ref(endpoint, now, sequence),
            endpoint=endpoint,
            item=item,
            customer=customer,
            amount_kobo=amount_kobo,
            status=VendStatus.PENDING if pending else settles_to,
            settles_to=settles_to,
            pending_lookups=pending.pending_lookups if pending else 0,
            created_at=now,
        )
        if vend.status is VendStatus.SUCCESS:
            _deliver(vend)
        return vend

    def find(self, reference: str) -> Vend | None:
        """By the merchant's reference (``customer_reference``) or by Flutterwave's ``tx_ref``."""
        with self._lock:
            return self._vends.get(reference) or self._by_flutterwave_ref.get(reference)

    def observe_lookup(self, vend: Vend) -> bool:
        """Count a lookup; a pending vend settles once its lookups are used. True if it just did."""
        with self._lock:
            vend.lookups += 1
            if vend.status is not VendStatus.PENDING:
                return False
            if vend.pending_lookups > 0:
                vend.pending_lookups -= 1
                return False
            return self._settle(vend)

    def settle(self, vend: Vend) -> bool:
        """Settle a pending vend now. True if it was pending."""
        with self._lock:
            return self._settle(vend)

    def _settle(self, vend: Vend) -> bool:
        if vend.status is not VendStatus.PENDING:
            return False
        vend.status = vend.settles_to
        if vend.status is VendStatus.SUCCESS:
            _deliver(vend)
        return True

    def vends(self) -> dict[str, Vend]:
        with self._lock:
            return dict(self._vends)

    @property
    def vend_count(self) -> int:
        with self._lock:
            return len(self._vends)

    # webhooks

    def record_delivery(self, delivery: WebhookDelivery) -> None:
        with self._lock:
            self._deliveries.append(delivery)

    def deliveries(self) -> list[WebhookDelivery]:
        with self._lock:
            return list(self._deliveries)

    def reset(self) -> None:
        """Forget vends, faults and webhook deliveries, refill the wallet (the webhook URL
        stays)."""
        with self._lock:
            self.balance_kobo = DEFAULT_BALANCE_KOBO
            self._vends.clear()
            self._by_flutterwave_ref.clear()
            self._faults.clear()
            self._deliveries.clear()


def _biller_ref(endpoint: Endpoint, now: datetime, sequence: int) -> str:
    if endpoint == "legacy":
        return f"BPUSSD{int(now.timestamp() * 1000)}{sequence % 10_000:04d}"
    return str(247_837_000_000 + sequence)


def _deliver(vend: Vend) -> None:
    """Hand over the goods: a prepaid meter gets a 20-digit token and its units."""
    if vend.item.gives_token and vend.token is None:
        vend.token = f"{secrets.randbelow(10**20):020d}"
        kobo_per_kwh = 20_950  # a Band A tariff of ₦209.50/kWh
        kilowatt_hours = (Decimal(vend.amount_kobo) / kobo_per_kwh).quantize(Decimal("0.1"))
        vend.units = f"{kilowatt_hours} kWh"

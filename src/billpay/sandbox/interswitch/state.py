"""The Interswitch sandbox's world: its catalog, customers, tokens, faults and record of vends.

Everything a test may want to set or inspect is here and usable in-process; ``app`` only
translates it to and from the wire. Mutations take a lock because the app runs on a server
thread while tests drive the state from theirs.

Response codes the public docs do not list (invalid amount, invalid customer, …) are this
sandbox's choices, built on the same "900 + ISO-8583 code" pattern providers.md §3.6 infers; a
reused reference answers the documented ``10001``.
"""

from __future__ import annotations

import enum
import re
import secrets
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

# --- response codes ------------------------------------------------------------------------------

SUCCESSFUL = "90000"
PENDING = "90009"  # ISO 09: request in progress
TRANSACTION_FAILED = "90006"  # ISO 06: error (the documented query sample's failure code)
UNKNOWN_PAYMENT_CODE = "90012"  # ISO 12: invalid transaction
INVALID_AMOUNT = "90013"  # ISO 13: invalid amount
INVALID_CUSTOMER = "90014"  # ISO 14: invalid card/account number
NO_SUCH_REFERENCE = "90025"  # ISO 25: unable to locate record
# Quickteller Appendix A: "Unknown error … check to see if you have sent a duplicate request
# reference id … query for the transaction" (providers.md §3.6). Answered with grouping FAILED,
# the reading that would refund a payment whose first use of the reference vended.
DUPLICATE_REFERENCE = "10001"
SYSTEM_MALFUNCTION = "90096"  # ISO 96
INVALID_REQUEST = "10002"  # documented
TERMINAL_MISMATCH = "20021"  # documented: TerminalId/ClientId …

DESCRIPTIONS: Mapping[str, str] = {
    SUCCESSFUL: "Successful",
    PENDING: "Request in progress",
    TRANSACTION_FAILED: "Transaction failed",
    UNKNOWN_PAYMENT_CODE: "Invalid payment code",
    INVALID_AMOUNT: "Invalid amount",
    INVALID_CUSTOMER: "Invalid customer id",
    NO_SUCH_REFERENCE: "Unable to locate record",
    DUPLICATE_REFERENCE: "Unknown error",
    SYSTEM_MALFUNCTION: "System malfunction",
    INVALID_REQUEST: "Invalid request",
    TERMINAL_MISMATCH: "TerminalId does not match the client",
}


def grouping_of(code: str) -> str:
    if code == SUCCESSFUL:
        return "SUCCESSFUL"
    if code == PENDING:
        return "PENDING"
    return "FAILED"


# --- catalog and customers -----------------------------------------------------------------------


class CustomerKind(enum.Enum):
    PHONE = "Phone Number"
    PREPAID_METER = "Meter Number"
    POSTPAID_METER = "Account/Meter Number"
    SMARTCARD = "Smartcard Number"
    BETTING_ACCOUNT = "Customer ID"
    REFERENCE = "Reference Number"


@dataclass(frozen=True)
class Item:
    payment_code: str
    name: str
    amount_kobo: int = 0  # the price when fixed; 0 when the payer chooses
    fixed: bool = False


@dataclass(frozen=True)
class Biller:
    id: int
    name: str
    short_name: str
    category_id: int
    customer_kind: CustomerKind
    items: tuple[Item, ...]
    surcharge_kobo: int = 0

    @property
    def sells_prepaid_tokens(self) -> bool:
        return self.customer_kind is CustomerKind.PREPAID_METER

    @property
    def virtual_top_up(self) -> bool:
        return self.customer_kind is CustomerKind.PHONE


@dataclass(frozen=True)
class Category:
    id: int
    name: str
    description: str
    billers: tuple[Biller, ...]


def _fixed(payment_code: str, name: str, naira: int) -> Item:
    return Item(payment_code, name, naira * 100, fixed=True)


_PHONE, _PREPAID, _POSTPAID = (
    CustomerKind.PHONE,
    CustomerKind.PREPAID_METER,
    CustomerKind.POSTPAID_METER,
)
_SMARTCARD, _BETTING, _REFERENCE = (
    CustomerKind.SMARTCARD,
    CustomerKind.BETTING_ACCOUNT,
    CustomerKind.REFERENCE,
)
_DISCO_SURCHARGE_KOBO = 10_000

# fmt: off
CATALOG: tuple[Category, ...] = (
    Category(3, "Mobile/Recharge", "Airtime and data for every network", (
        Biller(109, "MTN Mobile Recharge", "MTN", 3, _PHONE, (Item("10901", "MTN Airtime"),)),
        Biller(402, "GLO QuickCharge", "GLO", 3, _PHONE, (Item("40201", "Glo Airtime"),)),
        Biller(901, "Airtel Mobile Top-up", "AIRTEL", 3, _PHONE,
               (Item("90101", "Airtel Airtime"),)),
        Biller(120, "9mobile Recharge", "ETISALAT", 3, _PHONE,
               (Item("12001", "9mobile Airtime"),)),
        Biller(348, "MTN Data Bundles", "MTNDATA", 3, _PHONE, (
            _fixed("34801", "MTN 500MB - 7 Days", 500),
            _fixed("34802", "MTN 2GB - 30 Days", 1_500),
            _fixed("34803", "MTN 10GB - 30 Days", 4_500),
            _fixed("34804", "MTN 40GB - 60 Days", 11_000),
        )),
    )),
    Category(2, "Cable TV Bills", "Pay-TV subscriptions", (
        Biller(104, "DSTV Subscription", "DSTV", 2, _SMARTCARD, (
            _fixed("10401", "DStv Padi", 4_400),
            _fixed("10402", "DStv Yanga", 6_000),
            _fixed("10403", "DStv Confam", 11_000),
            _fixed("10404", "DStv Compact", 19_000),
            _fixed("10405", "DStv Compact Plus", 30_000),
            _fixed("10406", "DStv Premium", 44_500),
        )),
        Biller(459, "GOtv Payment", "GOTV", 2, _SMARTCARD, (
            _fixed("45901", "GOtv Smallie", 1_900),
            _fixed("45902", "GOtv Jinja", 3_900),
            _fixed("45903", "GOtv Jolli", 5_800),
            _fixed("45904", "GOtv Max", 8_500),
            _fixed("45905", "GOtv Supa", 11_400),
        )),
    )),
    Category(1, "Utility Bills", "Electricity, water and waste", (
        Biller(3048, "Ikeja Electric Prepaid", "IKEDCPRE", 1, _PREPAID,
               (Item("304801", "Ikeja Electric Prepaid Token"),), _DISCO_SURCHARGE_KOBO),
        Biller(3049, "Ikeja Electric Postpaid", "IKEDCPOST", 1, _POSTPAID,
               (Item("304901", "Ikeja Electric Postpaid Bill"),), _DISCO_SURCHARGE_KOBO),
        Biller(3050, "Eko Electric Prepaid", "EKEDCPRE", 1, _PREPAID,
               (Item("305001", "EKEDC Prepaid Token"),), _DISCO_SURCHARGE_KOBO),
        Biller(3101, "Lagos Water Corporation", "LWC", 1, _REFERENCE,
               (Item("310101", "Water Bill"),)),
    )),
    Category(41, "Betting, Lottery and Gaming", "Betting wallet top-ups", (
        Biller(2001, "Bet9ja", "BET9JA", 41, _BETTING, (Item("200101", "Bet9ja Wallet Top-up"),)),
        Biller(2002, "SportyBet", "SPORTYBET", 41, _BETTING,
               (Item("200201", "SportyBet Wallet Funding"),)),
        Biller(2003, "NairaBet", "NAIRABET", 41, _BETTING,
               (Item("200301", "NairaBet Wallet Funding"),)),
    )),
    Category(9, "Government Payments", "Taxes and levies", (
        Biller(5001, "FIRS Tax Payment", "FIRS", 9, _REFERENCE,
               (Item("500101", "Company Income Tax"),)),
    )),
)
# fmt: on

BILLERS: Mapping[str, Biller] = {
    str(biller.id): biller for category in CATALOG for biller in category.billers
}
ITEMS: Mapping[str, tuple[Biller, Item]] = {
    item.payment_code: (biller, item) for biller in BILLERS.values() for item in biller.items
}

# The documented sandbox values (providers.md §1.9, the same across Nigerian bill sandboxes).
PREPAID_METER_NUMBER = "1111111111111"
POSTPAID_METER_NUMBER = "1010101010101"
SMARTCARD_NUMBER = "1212121212"
INVALID_CUSTOMER_ID = "0000000000"  # refused by every biller with INVALID_CUSTOMER
POSTPAID_AMOUNT_DUE_KOBO = 1_500_000  # answered with AmountType 5, as in the docs' example
TARIFF_KOBO_PER_KWH = Decimal(20_950)  # band A, ₦209.50/kWh


@dataclass(frozen=True)
class CustomerCheck:
    """A biller's answer about one customer: a code, and when valid, the name and amount rule."""

    code: str
    full_name: str = ""
    amount_kobo: int = 0
    amount_type: int = 0  # 0 = any amount


_KNOWN_CUSTOMERS: Mapping[tuple[CustomerKind, str], CustomerCheck] = {
    (_PREPAID, PREPAID_METER_NUMBER): CustomerCheck(SUCCESSFUL, "TEST METER PREPAID"),
    (_POSTPAID, POSTPAID_METER_NUMBER): CustomerCheck(
        SUCCESSFUL, "TEST METER POSTPAID", POSTPAID_AMOUNT_DUE_KOBO, amount_type=5
    ),
    (_SMARTCARD, SMARTCARD_NUMBER): CustomerCheck(SUCCESSFUL, "TEST SMARTCARD"),
}
# Kinds where any well-formed id is a customer: (shape, the name answered).
_WELL_FORMED_CUSTOMERS: Mapping[CustomerKind, tuple[re.Pattern[str], str]] = {
    _PHONE: (re.compile(r"(?:0|234)[789][01]\d{8}"), ""),
    _BETTING: (re.compile(r"[A-Za-z0-9]{4,20}"), "TEST PUNTER"),
    _REFERENCE: (re.compile(r"\S+"), "TEST PAYER"),
}


def check_customer(biller: Biller, customer_id: str) -> CustomerCheck:
    kind = biller.customer_kind
    if customer_id == INVALID_CUSTOMER_ID:
        return CustomerCheck(INVALID_CUSTOMER)
    if known := _KNOWN_CUSTOMERS.get((kind, customer_id)):
        return known
    shape_and_name = _WELL_FORMED_CUSTOMERS.get(kind)
    if shape_and_name and shape_and_name[0].fullmatch(customer_id):
        return CustomerCheck(SUCCESSFUL, shape_and_name[1])
    return CustomerCheck(INVALID_CUSTOMER)


# --- faults --------------------------------------------------------------------------------------


class FaultName(enum.StrEnum):
    LATENCY = "latency"  # the request waits ``seconds`` before anything else
    HTTP_500 = "http_500"  # answered 500 before any processing
    TIMEOUT = "timeout"  # hangs ``seconds`` without processing, then 504
    VEND_THEN_TIMEOUT = "vend_then_timeout"  # the payment is vended, then the answer hangs
    PENDING_THEN_SUCCESSFUL = "pending_then_successful"  # PENDING for ``queries`` queries
    QUERY_GROUPING_FAILED = "query_grouping_failed"  # advice PENDING; query 90000 + FAILED
    DEFINITE_FAILURE = "definite_failure"  # advice answered with grouping FAILED, no vend
    EXPIRE_TOKENS = "expire_tokens"  # not kept: every issued token expires at once
    # 10001 "Unknown error" (the documented duplicate-reference answer) for a fresh reference:
    # nothing is recorded, so the query then says 90025.
    UNKNOWN_ERROR = "unknown_error"
    # The advice is lost before it is recorded: the connection is cut without an answer, and
    # the query then says 90025 "unable to locate record".
    LOST_PURCHASE = "lost_purchase"


REQUEST_FAULTS = frozenset({FaultName.HTTP_500, FaultName.TIMEOUT})
ADVICE_FAULTS = frozenset(
    {
        FaultName.UNKNOWN_ERROR,
        FaultName.LOST_PURCHASE,
        FaultName.VEND_THEN_TIMEOUT,
        FaultName.PENDING_THEN_SUCCESSFUL,
        FaultName.QUERY_GROUPING_FAILED,
        FaultName.DEFINITE_FAILURE,
    }
)


class Fault(BaseModel):
    """One injected fault. Without ``customer_id`` and ``reference`` it targets every request."""

    fault: FaultName
    count: int | None = Field(default=1, ge=1)  # how many requests it hits; None: until reset
    seconds: float | None = Field(default=None, ge=0)  # latency, or how long a timeout hangs
    queries: int = Field(default=1, ge=0)  # PENDING answers before the final one
    customer_id: str | None = None
    reference: str | None = None

    def targets(self, customer_id: str | None, reference: str | None) -> bool:
        return (self.customer_id is None or self.customer_id == customer_id) and (
            self.reference is None or self.reference == reference
        )


# --- vends ---------------------------------------------------------------------------------------


@dataclass
class Vend:
    """One requestReference the sandbox accepted, whatever became of it. Never two per reference."""

    reference: str
    biller: Biller
    item: Item
    customer_id: str
    customer_name: str
    amount_kobo: int
    final_code: str  # what queries answer once the pending ones are used up
    pending_queries: int
    transaction_id: int
    transaction_ref: str
    created_at: datetime
    token: str | None = None
    units: str | None = None
    queries: int = 0

    @property
    def delivered(self) -> bool:
        return self.final_code == SUCCESSFUL

    @property
    def current_code(self) -> str:
        return PENDING if self.pending_queries > 0 else self.final_code

    def as_json(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "payment_code": self.item.payment_code,
            "biller": self.biller.name,
            "customer_id": self.customer_id,
            "amount_kobo": self.amount_kobo,
            "status": grouping_of(self.current_code),
            "response_code": self.current_code,
            "delivered": self.delivered,
            "token": self.token,
            "units": self.units,
            "transaction_ref": self.transaction_ref,
            "queries": self.queries,
            "created_at": self.created_at.isoformat(),
        }


def prepaid_token() -> str:
    return f"{secrets.randbelow(10**20):020d}"


def units_for(amount_kobo: int) -> str:
    return f"{(Decimal(amount_kobo) / TARIFF_KOBO_PER_KWH).quantize(Decimal('0.1'))}"


# --- the state -----------------------------------------------------------------------------------

FIRST_TRANSACTION_ID = 2_777_551_356


class InterswitchSandboxState:
    """Tokens, faults and vends of one sandbox. Safe to drive from any thread."""

    def __init__(
        self,
        *,
        token_expires_in: int = 3599,
        hang_seconds: float = 35.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token_expires_in = token_expires_in
        self.hang_seconds = hang_seconds  # a timeout fault's default: longer than client timeouts
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, float] = {}
        self._token_requests = 0
        self._faults: list[Fault] = []
        self._vends: dict[str, Vend] = {}
        self._next_transaction_id = FIRST_TRANSACTION_ID

    # --- tokens --------------------------------------------------------------------------------

    def issue_token(self) -> str:
        token = f"eyJ{secrets.token_urlsafe(48)}"
        with self._lock:
            self._tokens[token] = self._clock() + self.token_expires_in
            self._token_requests += 1
        return token

    def token_is_valid(self, token: str) -> bool:
        with self._lock:
            expires_at = self._tokens.get(token)
        return expires_at is not None and self._clock() < expires_at

    def expire_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()

    @property
    def token_requests(self) -> int:
        with self._lock:
            return self._token_requests

    # --- faults --------------------------------------------------------------------------------

    def add_fault(self, fault: Fault) -> None:
        if fault.fault is FaultName.EXPIRE_TOKENS:
            self.expire_tokens()
            return
        with self._lock:
            self._faults.append(fault.model_copy())

    def faults(self) -> list[Fault]:
        with self._lock:
            return [fault.model_copy() for fault in self._faults]

    def take_fault(
        self, names: Collection[FaultName], customer_id: str | None, reference: str | None
    ) -> Fault | None:
        """The first active fault among ``names`` aimed at this request, used up by one hit."""
        with self._lock:
            for fault in self._faults:
                if fault.fault in names and fault.targets(customer_id, reference):
                    hit = fault.model_copy()
                    if fault.count is not None:
                        fault.count -= 1
                        if fault.count == 0:
                            self._faults.remove(fault)
                    return hit
        return None

    # --- vends ---------------------------------------------------------------------------------

    def new_transaction_id(self) -> int:
        with self._lock:
            self._next_transaction_id += 1
            return self._next_transaction_id

    def record_vend(self, vend: Vend) -> bool:
        """Keep ``vend`` unless its reference is already known (then nothing changes)."""
        with self._lock:
            if vend.reference in self._vends:
                return False
            self._vends[vend.reference] = vend
            return True

    def find_vend(self, reference: str) -> Vend | None:
        with self._lock:
            return self._vends.get(reference)

    def query_vend(self, reference: str) -> tuple[Vend, str] | None:
        """The vend and the code a query answers now; each pending answer is used up."""
        with self._lock:
            vend = self._vends.get(reference)
            if vend is None:
                return None
            code = vend.current_code
            vend.queries += 1
            vend.pending_queries = max(vend.pending_queries - 1, 0)
            return vend, code

    def vends_snapshot(self) -> dict[str, Any]:
        with self._lock:
            vends = {reference: vend.as_json() for reference, vend in self._vends.items()}
        return {
            "count": len(vends),
            "delivered": sum(1 for vend in vends.values() if vend["delivered"]),
            "vends": vends,
        }

    def reset(self) -> None:
        with self._lock:
            self._tokens.clear()
            self._token_requests = 0
            self._faults.clear()
            self._vends.clear()
            self._next_transaction_id = FIRST_TRANSACTION_ID

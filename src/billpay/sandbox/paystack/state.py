"""The Paystack sandbox's memory: transactions, refunds, faults and the webhook delivery log.

Plain data and the rules that move it (paying, refunding, refund progress) in Paystack's own
JSON shapes (providers.md §4); HTTP lives in ``app.py``. All mutation happens on the server's
event loop between awaits, so nothing here needs a lock. Tests may inspect and set these
objects directly (``state.faults.fail_next = 2``) as well as through ``/_sandbox/*``.
"""

from __future__ import annotations

import itertools
import re
import secrets
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

DOMAIN = "test"
INTEGRATION_ID = 100_032
CURRENCIES = frozenset({"NGN", "GHS", "ZAR", "KES", "USD"})
_REFERENCE = re.compile(r"[A-Za-z0-9.=-]+")
_CODE_ALPHABET = string.ascii_lowercase + string.digits

PaymentOutcome = Literal["success", "failed", "abandoned"]
RefundEnd = Literal["processed", "failed", "needs-attention"]


class SandboxError(Exception):
    """A request Paystack would refuse: answered ``{"status": false, "message": ...}``."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


def now() -> datetime:
    return datetime.now(UTC)


def stamp(moment: datetime) -> str:
    """Paystack's timestamp format: ``2024-05-01T10:00:00.000Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def paystack_time(moment: datetime | None) -> str | None:
    return None if moment is None else stamp(moment)


def _code(length: int) -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(length))


class Faults(BaseModel):
    """What goes wrong on the authenticated API (never on ``/_sandbox`` or the checkout)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    latency_seconds: float = Field(default=0.0, ge=0)
    fail_next: int = Field(default=0, ge=0)  # the next N calls answer 500 and do nothing
    # The next N calls do their work, then answer only after hang_seconds: longer than the
    # client waits, so the caller sees a timeout for something that happened.
    timeout_next: int = Field(default=0, ge=0)
    hang_seconds: float = Field(default=5.0, ge=0)
    refund_outcome: Literal["failed", "needs-attention"] | None = None  # where new refunds end
    refund_auto_advance_after: int | None = Field(default=None, ge=1)  # a step per N fetches

    def take_failure(self) -> bool:
        if self.fail_next == 0:
            return False
        self.fail_next -= 1
        return True

    def take_timeout(self) -> bool:
        if self.timeout_next == 0:
            return False
        self.timeout_next -= 1
        return True


class WebhookConfig(BaseModel):
    """Where Paystack's dashboard would send webhooks, and how hard it tries."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    webhook_url: str | None = None
    webhook_max_attempts: int = Field(default=3, ge=1)
    webhook_retry_delay_seconds: float = Field(default=0.1, ge=0)
    webhook_timeout_seconds: float = Field(default=5.0, gt=0)


@dataclass(frozen=True)
class DeliveryAttempt:
    delivery_id: int  # one notification; its retries share the id
    event: str
    url: str
    attempt: int
    status_code: int | None
    error: str | None
    delivered: bool
    at: str
    body: str


@dataclass
class SandboxTransaction:
    id: int
    reference: str
    access_code: str
    email: str
    requested_amount_kobo: int
    amount_kobo: int  # what was charged: differs only when a test pays a wrong amount
    currency: str
    callback_url: str | None
    metadata: dict[str, Any] | None
    created_at: datetime = field(default_factory=now)
    # Paystack reports an initialized, unpaid transaction as abandoned.
    status: str = "abandoned"
    gateway_response: str = "The transaction was not completed"
    paid_at: datetime | None = None

    def as_paystack(self) -> dict[str, Any]:
        """``data`` of ``GET /transaction/verify/:reference`` and of ``charge.success``."""
        paid = self.status in ("success", "reversed")
        return {
            "id": self.id,
            "domain": DOMAIN,
            "status": self.status,
            "reference": self.reference,
            "receipt_number": None,
            "amount": self.amount_kobo,
            "message": None,
            "gateway_response": self.gateway_response,
            "paid_at": paystack_time(self.paid_at),
            "created_at": stamp(self.created_at),
            "channel": "card",
            "currency": self.currency,
            "ip_address": "127.0.0.1",
            "metadata": self.metadata,
            "log": None,
            "fees": _local_fee_kobo(self.amount_kobo) if paid else None,
            "fees_split": None,
            "authorization": self._authorization() if paid else {},
            "customer": self.customer_json(),
            "plan": None,
            "split": {},
            "order_id": None,
            "paidAt": paystack_time(self.paid_at),
            "createdAt": stamp(self.created_at),
            "requested_amount": self.requested_amount_kobo,
            "pos_transaction_data": None,
            "source": None,
            "fees_breakdown": None,
        }

    def _authorization(self) -> dict[str, Any]:
        # A reusable card token: the kind of value billpay must mask before storing.
        return {
            "authorization_code": f"AUTH_{self.access_code}",
            "bin": "408408",
            "last4": "4081",
            "exp_month": "12",
            "exp_year": "2030",
            "channel": "card",
            "card_type": "visa ",
            "bank": "TEST BANK",
            "country_code": "NG",
            "brand": "visa",
            "reusable": True,
            "signature": f"SIG_{self.access_code}",
            "account_name": None,
        }

    def customer_json(self) -> dict[str, Any]:
        return {
            "id": self.id % 1_000_000,
            "first_name": None,
            "last_name": None,
            "email": self.email,
            "customer_code": f"CUS_{self.access_code}",
            "phone": None,
            "metadata": None,
            "risk_action": "default",
        }


def _local_fee_kobo(amount_kobo: int) -> int:
    # Paystack's local card fee: 1.5% + ₦100 (waived under ₦2,500), capped at ₦2,000.
    flat = 10_000 if amount_kobo >= 250_000 else 0
    return min(amount_kobo * 15 // 1000 + flat, 200_000)


@dataclass
class SandboxRefund:
    id: int
    transaction: SandboxTransaction
    amount_kobo: int
    currency: str
    merchant_note: str | None
    customer_note: str | None
    end: RefundEnd  # the status this refund finishes in
    created_at: datetime = field(default_factory=now)
    updated_at: datetime = field(default_factory=now)
    status: str = "pending"
    fetches: int = 0

    @property
    def next_status(self) -> str | None:
        """pending → processing → its end; None once it has ended."""
        if self.status == "pending":
            return "processing"
        if self.status == "processing":
            return self.end
        return None

    def as_paystack(self, *, embed_transaction: bool = False) -> dict[str, Any]:
        """``data`` of ``GET /refund/:id``; ``POST /refund`` embeds the whole transaction."""
        processed = self.status == "processed"
        return {
            "id": self.id,
            "integration": INTEGRATION_ID,
            "domain": DOMAIN,
            "transaction": (
                self.transaction.as_paystack() if embed_transaction else self.transaction.id
            ),
            "dispute": None,
            "settlement": None,
            "amount": self.amount_kobo,
            "deducted_amount": self.amount_kobo if processed else 0,
            "fully_deducted": processed,
            "currency": self.currency,
            "channel": "card",
            "status": self.status,
            "refunded_by": "sandbox@billpay.test",
            "refunded_at": stamp(self.updated_at) if processed else None,
            "expected_at": stamp(self.created_at + timedelta(days=10)),
            "customer_note": self.customer_note,
            "merchant_note": self.merchant_note,
            "createdAt": stamp(self.created_at),
            "updatedAt": stamp(self.updated_at),
        }

    def as_webhook_data(self) -> dict[str, Any]:
        """``data`` of the refund.* events. Paystack's sample sends the amount as a string;
        ``id`` is an addition of this sandbox (UNCONFIRMED for the real events)."""
        return {
            "id": self.id,
            "status": self.status,
            "transaction_reference": self.transaction.reference,
            "refund_reference": None if self.status == "pending" else f"RF{self.id}",
            "amount": str(self.amount_kobo),
            "currency": self.currency,
            "processor": "visa",
            "customer": self.transaction.customer_json(),
            "integration": INTEGRATION_ID,
            "domain": DOMAIN,
        }


class PaystackSandboxState:
    def __init__(self) -> None:
        self.webhooks = WebhookConfig()
        self.reset()

    def reset(self) -> None:
        """Forget transactions, refunds, deliveries and faults; keep the webhook settings."""
        self.transactions: dict[str, SandboxTransaction] = {}
        self.refunds: dict[int, SandboxRefund] = {}
        self.deliveries: list[DeliveryAttempt] = []
        self.faults = Faults()
        self._transaction_ids = itertools.count(4_099_260_516)
        self._refund_ids = itertools.count(3_018_284)
        self._delivery_ids = itertools.count(1)

    # --- transactions ------------------------------------------------------------------------

    def initialize(
        self,
        *,
        email: str,
        amount_kobo: int,
        currency: str,
        reference: str | None,
        callback_url: str | None,
        metadata: dict[str, Any] | None,
    ) -> SandboxTransaction:
        reference = self._new_reference(reference)
        if currency not in CURRENCIES:
            raise SandboxError("Currency not supported by merchant")
        transaction = SandboxTransaction(
            id=next(self._transaction_ids),
            reference=reference,
            access_code=_code(15),
            email=email,
            requested_amount_kobo=amount_kobo,
            amount_kobo=amount_kobo,
            currency=currency,
            callback_url=callback_url,
            metadata=metadata,
        )
        self.transactions[reference] = transaction
        return transaction

    def _new_reference(self, reference: str | None) -> str:
        if reference is None:
            return _code(12)
        if not _REFERENCE.fullmatch(reference):
            raise SandboxError("Invalid transaction reference")
        if reference in self.transactions:
            raise SandboxError("Duplicate Transaction Reference")
        return reference

    def transaction(self, reference: str) -> SandboxTransaction:
        transaction = self.transactions.get(reference)
        if transaction is None:
            raise SandboxError("Transaction reference not found")
        return transaction

    def transaction_by_access_code(self, access_code: str) -> SandboxTransaction | None:
        return next((t for t in self.transactions.values() if t.access_code == access_code), None)

    def pay(
        self,
        reference: str,
        outcome: PaymentOutcome = "success",
        amount_kobo: int | None = None,
        currency: str | None = None,
    ) -> SandboxTransaction:
        """The payer's attempt on the checkout. A wrong amount or currency is how a test
        simulates a tampered or misrouted payment that Paystack nevertheless collected."""
        transaction = self.transaction(reference)
        if transaction.status in ("success", "reversed"):
            raise SandboxError("Transaction has already been completed")
        if outcome == "success":
            if amount_kobo is not None:
                transaction.amount_kobo = amount_kobo
            if currency is not None:
                transaction.currency = currency
            transaction.paid_at = now()
            transaction.gateway_response = "Successful"
        elif outcome == "failed":
            transaction.gateway_response = "Declined"
        transaction.status = outcome
        return transaction

    # --- refunds -----------------------------------------------------------------------------

    def create_refund(
        self,
        transaction_key: str,
        amount_kobo: int | None,
        merchant_note: str | None,
        customer_note: str | None,
    ) -> SandboxRefund:
        transaction = self._refundable(transaction_key)
        left = transaction.amount_kobo - self._refunded_kobo(transaction)
        if left <= 0:
            raise SandboxError("Transaction has been fully reversed")
        amount = left if amount_kobo is None else amount_kobo
        if amount > left:
            raise SandboxError("Refund amount cannot be more than the transaction amount")
        refund = SandboxRefund(
            id=next(self._refund_ids),
            transaction=transaction,
            amount_kobo=amount,
            currency=transaction.currency,
            merchant_note=merchant_note,
            customer_note=customer_note,
            end=self.faults.refund_outcome or "processed",
        )
        self.refunds[refund.id] = refund
        return refund

    def _refundable(self, transaction_key: str) -> SandboxTransaction:
        # Paystack takes the transaction's reference or its id.
        transaction = self.transactions.get(transaction_key) or next(
            (t for t in self.transactions.values() if str(t.id) == transaction_key), None
        )
        if transaction is None:
            raise SandboxError("Transaction not found", 404)
        if transaction.status == "reversed":
            raise SandboxError("Transaction has been fully reversed")
        if transaction.status != "success":
            raise SandboxError("Transaction cannot be refunded")
        return transaction

    def _refunded_kobo(self, transaction: SandboxTransaction) -> int:
        """Refunded or on its way back: every refund of it that has not failed."""
        return sum(
            refund.amount_kobo
            for refund in self.refunds.values()
            if refund.transaction is transaction and refund.status != "failed"
        )

    def refund(self, refund_id: str) -> SandboxRefund:
        refund = self.refunds.get(int(refund_id)) if refund_id.isdigit() else None
        if refund is None:
            raise SandboxError("Refund not found", 404)
        return refund

    def refunds_of(self, transaction_key: str | None) -> list[SandboxRefund]:
        return [
            refund
            for refund in self.refunds.values()
            if transaction_key in (None, refund.transaction.reference, str(refund.transaction.id))
        ]

    def advance_refund(self, refund: SandboxRefund) -> bool:
        """One step along pending → processing → end. False when it has already ended."""
        next_status = refund.next_status
        if next_status is None:
            return False
        refund.status = next_status
        refund.updated_at = now()
        if next_status == "processed" and self._fully_refunded(refund.transaction):
            refund.transaction.status = "reversed"
        return True

    def _fully_refunded(self, transaction: SandboxTransaction) -> bool:
        processed = sum(
            refund.amount_kobo
            for refund in self.refunds.values()
            if refund.transaction is transaction and refund.status == "processed"
        )
        return processed >= transaction.amount_kobo

    def count_fetch(self, refund: SandboxRefund) -> bool:
        """A ``GET /refund/:id``; every ``refund_auto_advance_after`` of them moves it a step."""
        refund.fetches += 1
        every = self.faults.refund_auto_advance_after
        return every is not None and refund.fetches % every == 0 and self.advance_refund(refund)

    # --- webhook log -------------------------------------------------------------------------

    def next_delivery_id(self) -> int:
        return next(self._delivery_ids)

    def record_delivery(self, attempt: DeliveryAttempt) -> None:
        self.deliveries.append(attempt)

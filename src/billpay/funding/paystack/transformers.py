"""Pure translation between billpay's questions and Paystack's answers (no I/O here).

Three rules from DESIGN §1 shape every function:
- money is integer kobo, and a collection counts only at the exact amount and currency;
- an answer billpay cannot read (timeout, 5xx, odd shape, undocumented status) is UNKNOWN,
  to be asked again, never a verdict either way;
- status maps are total: a value Paystack has not documented maps to UNKNOWN.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from billpay.funding.paystack.wire import (
    Envelope,
    Exchange,
    InitializeData,
    InitializeRequest,
    RefundData,
    RefundedTransaction,
    RefundPage,
    RefundRequest,
    Reply,
    TransactionData,
)

DEFAULT_CURRENCY = "NGN"
# providers.md §4.2: references are alphanumeric plus "-", "." and "=".
_REFERENCE = re.compile(r"[A-Za-z0-9.=-]+")


class InvalidReference(ValueError):
    """A reference Paystack would refuse, or one that is unsafe as a URL path segment."""


def validate_reference(reference: str) -> str:
    # "." and ".." are legal characters but, as a path segment, would address another URL.
    if not _REFERENCE.fullmatch(reference) or set(reference) == {"."}:
        raise InvalidReference(
            f"Paystack references are letters, digits, '-', '.' and '=': {reference!r}"
        )
    return reference


def _positive_kobo(amount_kobo: int) -> int:
    if isinstance(amount_kobo, bool) or not isinstance(amount_kobo, int) or amount_kobo <= 0:
        raise ValueError(f"an amount is a positive whole number of kobo: {amount_kobo!r}")
    return amount_kobo


def _wire_body(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(exclude_none=True)


# --- reading any answer ----------------------------------------------------------------------


def _is_2xx(http_status: int | None) -> bool:
    return http_status is not None and 200 <= http_status < 300


def _envelope(reply: Reply) -> Envelope | None:
    """The ``{status, message, data}`` envelope, or None when there is no readable one."""
    if reply.exchange.http_status is None:
        return None
    try:
        return Envelope.model_validate(reply.body)
    except ValidationError:
        return None


def _why_unusable(reply: Reply, envelope: Envelope | None) -> str:
    exchange = reply.exchange
    if exchange.failure is not None:
        return f"no answer: {exchange.failure}"
    if envelope is None:
        return f"unreadable answer (HTTP {exchange.http_status})"
    return f"HTTP {exchange.http_status}: {envelope.message or 'no message'}"


def _is_refusal(reply: Reply, envelope: Envelope | None) -> bool:
    """Paystack answered, in its own shape, that it did not do what was asked (a 4xx)."""
    http_status = reply.exchange.http_status
    return (
        http_status is not None
        and 400 <= http_status < 500
        and envelope is not None
        and not envelope.status
    )


# --- initialize ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Initialized:
    """A checkout the payer can open. ``reference`` is the one billpay committed beforehand."""

    authorization_url: str
    access_code: str
    reference: str
    exchange: Exchange | None = None


class InitializeFailed(Exception):
    """Paystack handed back no checkout.

    Nobody can have paid under the reference, because nobody has its checkout URL; a retry
    needs a fresh reference (Paystack answers "Duplicate Transaction Reference" to a reused
    one when the first attempt did reach it).
    """

    def __init__(self, reason: str, exchange: Exchange) -> None:
        super().__init__(reason)
        self.reason = reason
        self.exchange = exchange


def initialize_request(
    reference: str,
    amount_kobo: int,
    email: str,
    *,
    callback_url: str | None = None,
    metadata: dict[str, Any] | None = None,
    currency: str = DEFAULT_CURRENCY,
) -> dict[str, Any]:
    if not email.strip():
        raise ValueError("Paystack needs the payer's email to initialize a transaction")
    request = InitializeRequest(
        email=email.strip(),
        amount=_positive_kobo(amount_kobo),
        reference=validate_reference(reference),
        currency=currency,
        callback_url=callback_url,
        metadata=metadata,
    )
    return _wire_body(request)


def initialized_from(reference: str, reply: Reply) -> Initialized:
    envelope = _envelope(reply)
    if envelope is None or not envelope.status or not _is_2xx(reply.exchange.http_status):
        raise InitializeFailed(_why_unusable(reply, envelope), reply.exchange)
    try:
        data = InitializeData.model_validate(envelope.data)
    except ValidationError:
        raise InitializeFailed("unexpected initialize answer shape", reply.exchange) from None
    if data.reference != reference:
        raise InitializeFailed(
            f"Paystack initialized {data.reference!r}, not {reference!r}", reply.exchange
        )
    return Initialized(data.authorization_url, data.access_code, data.reference, reply.exchange)


# --- verify ----------------------------------------------------------------------------------


class VerifyAnswer(enum.StrEnum):
    TRANSACTION = "transaction"  # Paystack described the transaction
    NOT_FOUND = "not_found"  # Paystack says it has no transaction under this reference
    NO_ANSWER = "no_answer"  # timeout, 5xx, unreadable or unexpected: verify again


@dataclass(frozen=True)
class Verification:
    """What ``GET /transaction/verify/:reference`` said, in billpay's terms."""

    reference: str
    answer: VerifyAnswer
    status: str | None = None  # data.status exactly as Paystack said it
    amount_kobo: int | None = None  # what was actually charged
    currency: str | None = None
    transaction_id: int | None = None  # Paystack's id, needed to find refunds later
    paid_at: str | None = None
    gateway_response: str | None = None
    channel: str | None = None
    note: str = ""
    exchange: Exchange | None = None


def _is_not_found(reply: Reply, envelope: Envelope) -> bool:
    # Paystack answers an unknown reference with 400 "Transaction reference not found". A 404
    # is not that answer: it could come from a wrong base URL while the payer has paid.
    return (
        reply.exchange.http_status == 400
        and not envelope.status
        and "not found" in envelope.message.lower()
    )


def verification_from(reference: str, reply: Reply) -> Verification:
    envelope = _envelope(reply)
    if envelope is not None and _is_not_found(reply, envelope):
        return Verification(
            reference, VerifyAnswer.NOT_FOUND, note=envelope.message, exchange=reply.exchange
        )
    if envelope is None or not envelope.status or not _is_2xx(reply.exchange.http_status):
        return _no_answer(reference, _why_unusable(reply, envelope), reply)
    try:
        data = TransactionData.model_validate(envelope.data)
    except ValidationError:
        return _no_answer(reference, "unexpected verify answer shape", reply)
    if data.reference != reference:
        return _no_answer(reference, f"Paystack answered about {data.reference!r}", reply)
    return Verification(
        reference=reference,
        answer=VerifyAnswer.TRANSACTION,
        status=data.status,
        amount_kobo=data.amount,
        currency=data.currency,
        transaction_id=data.id,
        paid_at=data.paid_at,
        gateway_response=data.gateway_response,
        channel=data.channel,
        note=envelope.message,
        exchange=reply.exchange,
    )


def _no_answer(reference: str, note: str, reply: Reply) -> Verification:
    return Verification(reference, VerifyAnswer.NO_ANSWER, note=note, exchange=reply.exchange)


# --- judging a collection --------------------------------------------------------------------


class Collection(enum.StrEnum):
    FUNDED = "funded"  # exactly the expected amount, in the expected currency
    MISMATCH = "mismatch"  # money arrived, but not what was asked: never vend, refund it
    NOT_PAID = "not_paid"  # no money held (abandoned, failed, reversed, unknown reference)
    PENDING = "pending"  # Paystack is still working on it
    UNKNOWN = "unknown"  # no usable answer: verify again


@dataclass(frozen=True)
class CollectionVerdict:
    collection: Collection
    reason: str
    # What Paystack says it collected, when it says it collected anything: the amount a
    # MISMATCH must give back.
    paid_amount_kobo: int | None = None
    paid_currency: str | None = None


# Paystack leaves an initialized transaction "abandoned" until it is paid, so NOT_PAID means
# "nothing held now": the payer may still pay before the payment window closes.
_NOT_PAID_STATUSES = frozenset({"abandoned", "failed", "reversed"})
_PENDING_STATUSES = frozenset({"ongoing", "pending", "processing", "queued"})


def judge_collection(
    verification: Verification,
    expected_amount_kobo: int,
    expected_currency: str = DEFAULT_CURRENCY,
) -> CollectionVerdict:
    """FUNDED only for ``success`` at exactly the expected amount and currency."""
    if verification.answer is VerifyAnswer.NO_ANSWER:
        return CollectionVerdict(Collection.UNKNOWN, f"{verification.note}; verify again")
    if verification.answer is VerifyAnswer.NOT_FOUND:
        return CollectionVerdict(Collection.NOT_PAID, "Paystack has no transaction under it")
    status = verification.status
    if status == "success":
        return _judge_success(verification, expected_amount_kobo, expected_currency)
    if status in _NOT_PAID_STATUSES:
        return CollectionVerdict(Collection.NOT_PAID, f"transaction is {status}")
    if status in _PENDING_STATUSES:
        return CollectionVerdict(Collection.PENDING, f"transaction is {status}")
    return CollectionVerdict(
        Collection.UNKNOWN, f"undocumented transaction status {status!r}; verify again"
    )


def _judge_success(
    verification: Verification, expected_amount_kobo: int, expected_currency: str
) -> CollectionVerdict:
    paid_kobo, paid_currency = verification.amount_kobo, verification.currency

    def verdict(collection: Collection, reason: str) -> CollectionVerdict:
        return CollectionVerdict(collection, reason, paid_kobo, paid_currency)

    if paid_currency != expected_currency:
        return verdict(
            Collection.MISMATCH, f"paid in {paid_currency}, expected {expected_currency}"
        )
    if paid_kobo != expected_amount_kobo:
        return verdict(
            Collection.MISMATCH, f"paid {paid_kobo} kobo, expected {expected_amount_kobo} kobo"
        )
    return verdict(Collection.FUNDED, f"paid {paid_kobo} kobo in {paid_currency}")


# --- refunds ---------------------------------------------------------------------------------


class RefundState(enum.StrEnum):
    IN_PROGRESS = "in_progress"  # pending, processing
    DONE = "done"  # processed: the money is back with the payer
    FAILED = "failed"
    NEEDS_ATTENTION = "needs_attention"  # Paystack needs the customer's bank details
    REJECTED = "rejected"  # Paystack refused to create it; see ``note``
    UNKNOWN = "unknown"  # no usable answer, or an undocumented status: fetch again


_REFUND_STATES = {
    "pending": RefundState.IN_PROGRESS,
    "processing": RefundState.IN_PROGRESS,
    "processed": RefundState.DONE,
    "failed": RefundState.FAILED,
    "needs-attention": RefundState.NEEDS_ATTENTION,
}


def refund_state(status: object) -> RefundState:
    """Total: anything Paystack has not documented is UNKNOWN."""
    if not isinstance(status, str):
        return RefundState.UNKNOWN
    return _REFUND_STATES.get(status, RefundState.UNKNOWN)


@dataclass(frozen=True)
class Refund:
    state: RefundState
    status: str | None = None  # Paystack's own word for it
    refund_id: int | None = None
    transaction_id: int | None = None
    transaction_reference: str | None = None  # only POST /refund answers carry it
    amount_kobo: int | None = None
    currency: str | None = None
    note: str = ""
    exchange: Exchange | None = None


@dataclass(frozen=True)
class RefundListing:
    """The refunds of one transaction. ``complete`` False means "cannot tell": ask again
    before concluding that no refund exists (Paystack refunds carry no idempotency key)."""

    complete: bool
    refunds: tuple[Refund, ...] = ()
    note: str = ""
    exchange: Exchange | None = None


def refund_request(
    transaction_reference: str, amount_kobo: int | None = None, merchant_note: str | None = None
) -> dict[str, Any]:
    request = RefundRequest(
        transaction=validate_reference(transaction_reference),
        amount=None if amount_kobo is None else _positive_kobo(amount_kobo),
        merchant_note=merchant_note,
    )
    return _wire_body(request)


def refund_created_from(reply: Reply) -> Refund:
    envelope = _envelope(reply)
    if _is_refusal(reply, envelope):
        return Refund(
            RefundState.REJECTED, note=_why_unusable(reply, envelope), exchange=reply.exchange
        )
    return refund_from(reply)


def refund_from(reply: Reply) -> Refund:
    envelope = _envelope(reply)
    if envelope is None or not envelope.status or not _is_2xx(reply.exchange.http_status):
        return Refund(
            RefundState.UNKNOWN, note=_why_unusable(reply, envelope), exchange=reply.exchange
        )
    try:
        data = RefundData.model_validate(envelope.data)
    except ValidationError:
        return Refund(
            RefundState.UNKNOWN, note="unexpected refund answer shape", exchange=reply.exchange
        )
    return _refund(data, envelope.message, reply.exchange)


def refunds_from(reply: Reply, transaction_id: int) -> RefundListing:
    envelope = _envelope(reply)
    if envelope is None or not envelope.status or not _is_2xx(reply.exchange.http_status):
        return RefundListing(False, note=_why_unusable(reply, envelope), exchange=reply.exchange)
    try:
        page = RefundPage.model_validate(reply.body)
    except ValidationError:
        return RefundListing(False, note="unexpected refund list shape", exchange=reply.exchange)
    if page.meta is not None and page.meta.page_count > 1:
        # The one refund that matters could sit on a page not read: "none" would be a guess.
        return RefundListing(False, note="refund list spans pages", exchange=reply.exchange)
    # Filtered here too, so a server that ignored the ``transaction`` filter cannot lend
    # this transaction another one's refunds.
    mine = tuple(
        _refund(data, "", reply.exchange)
        for data in page.data
        if _transaction_id(data) == transaction_id
    )
    return RefundListing(True, mine, envelope.message, reply.exchange)


def _transaction_id(data: RefundData) -> int | None:
    if isinstance(data.transaction, RefundedTransaction):
        return data.transaction.id
    return data.transaction


def _refund(data: RefundData, note: str, exchange: Exchange) -> Refund:
    embedded = data.transaction if isinstance(data.transaction, RefundedTransaction) else None
    return Refund(
        state=refund_state(data.status),
        status=data.status,
        refund_id=data.id,
        transaction_id=_transaction_id(data),
        transaction_reference=embedded.reference if embedded else None,
        amount_kobo=data.amount,
        currency=data.currency,
        note=note,
        exchange=exchange,
    )

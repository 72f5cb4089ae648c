"""Pure parsing of Horizon payment records, as streamed from
``/accounts/{id}/payments?join=transactions`` (providers.md §5.2, §5.3, §6.10).

``classify_record`` sorts every record into exactly one of: a deposit to look at
(``Incoming``), a record that is no deposit of ours (``Ignored``: outgoing, failed, other
operation types), or one it cannot read (``Unparseable``) — which the watcher quarantines with
the raw record, so one odd record never stops the stream.

It does not judge the deposit (asset, amount, memo): matching does, with ``StellarAsset`` and
``DepositRecord.amount_kobo``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from billpay.funding.stellar.memo import normalize_memo_type
from billpay.money import InexactAmountError, stellar_to_kobo

PAYMENT_TYPES = frozenset({"payment", "path_payment_strict_receive", "path_payment_strict_send"})
CREDIT_ASSET_TYPES = {"credit_alphanum4": range(1, 5), "credit_alphanum12": range(5, 13)}
_AMOUNT = re.compile(r"\d+(\.\d{1,7})?")
_ASSET_CODE = re.compile(r"[A-Za-z0-9]{1,12}")

# stellar-sdk is imported where it is used: ``StellarAsset`` is part of every process's
# configuration (``StellarConfig``), and the SDK takes half a second to load.
if TYPE_CHECKING:
    from stellar_sdk import Asset


class UnparseableRecordError(ValueError):
    """A payment record missing a field or holding a value Horizon would never write."""


@dataclass(frozen=True)
class StellarAsset:
    """An asset as Horizon names it. Codes are case-sensitive and only mean something with
    their issuer: ``cNGN`` from another issuer is another asset."""

    code: str | None  # None for XLM
    issuer: str | None

    @property
    def is_native(self) -> bool:
        return self.code is None

    def matches(self, code: str, issuer: str) -> bool:
        return self.code == code and self.issuer == issuer

    def to_sdk_asset(self) -> Asset:
        """For paying the same asset back (a refund)."""
        from stellar_sdk import Asset

        return Asset.native() if self.code is None else Asset(self.code, self.issuer)


NATIVE = StellarAsset(None, None)


@dataclass(frozen=True)
class DepositRecord:
    operation_id: str
    paging_token: str
    transaction_hash: str
    from_account: str
    to_account: str
    asset: StellarAsset
    amount: str  # as Horizon wrote it, for the evidence
    # Exact; None when the amount is not a whole number of kobo (dust, or XLM's 7 decimals):
    # such a deposit can match no payment. ``money.stellar_floor_kobo`` says what is refundable.
    amount_kobo: int | None
    memo_type: str  # normalized: none, text, id, hash, return
    memo: str | None
    successful: bool
    created_at: datetime
    is_path_payment: (
        bool  # ``amount`` is what was received; the sender may have spent another asset
    )


@dataclass(frozen=True)
class Incoming:
    deposit: DepositRecord


@dataclass(frozen=True)
class Ignored:
    paging_token: str
    reason: str


@dataclass(frozen=True)
class Unparseable:
    paging_token: str | None  # None when even that could not be read
    reason: str


Classification = Incoming | Ignored | Unparseable


def _text(record: Mapping[str, Any], key: str) -> str:
    value = record.get(key)
    if not isinstance(value, str) or not value:
        raise UnparseableRecordError(f"{key!r} is missing or not a string")
    return value


def _account(record: Mapping[str, Any], key: str) -> str:
    from stellar_sdk import StrKey

    value = _text(record, key)
    if not StrKey.is_valid_ed25519_public_key(value):
        raise UnparseableRecordError(f"{key!r} is not a Stellar account id: {value!r}")
    return value


def _asset(record: Mapping[str, Any]) -> StellarAsset:
    asset_type = _text(record, "asset_type")
    if asset_type == "native":
        return NATIVE
    if asset_type not in CREDIT_ASSET_TYPES:
        raise UnparseableRecordError(f"unknown asset_type {asset_type!r}")
    code = _text(record, "asset_code")
    if not _ASSET_CODE.fullmatch(code) or len(code) not in CREDIT_ASSET_TYPES[asset_type]:
        raise UnparseableRecordError(f"asset_code {code!r} is not a valid {asset_type} code")
    return StellarAsset(code, _account(record, "asset_issuer"))


def _amount_kobo(amount: str) -> int | None:
    if not _AMOUNT.fullmatch(amount) or Decimal(amount) == 0:
        raise UnparseableRecordError(f"amount {amount!r} is not a positive 7-decimal amount")
    try:
        return stellar_to_kobo(amount)
    except InexactAmountError:
        return None


def _memo(transaction: Mapping[str, Any]) -> tuple[str, str | None]:
    memo_type = normalize_memo_type(_text(transaction, "memo_type"))
    if memo_type is None:
        raise UnparseableRecordError(f"unknown memo_type {transaction.get('memo_type')!r}")
    if memo_type == "none":
        return memo_type, None
    memo = transaction.get("memo")
    if not isinstance(memo, str):  # an empty text memo is still a memo
        raise UnparseableRecordError(f"a {memo_type} memo without its value")
    return memo_type, memo


def _joined_transaction(record: Mapping[str, Any], tx_hash: str) -> Mapping[str, Any]:
    transaction = record.get("transaction")
    if not isinstance(transaction, Mapping):
        raise UnparseableRecordError("no joined transaction: stream with join=transactions")
    if transaction.get("hash") != tx_hash:
        raise UnparseableRecordError("the joined transaction is not the record's transaction")
    return transaction


def _created_at(record: Mapping[str, Any]) -> datetime:
    text = _text(record, "created_at")
    try:
        created_at = datetime.fromisoformat(text)
    except ValueError as exc:
        raise UnparseableRecordError(f"created_at {text!r} is not a timestamp") from exc
    if created_at.tzinfo is None:
        raise UnparseableRecordError(f"created_at {text!r} has no time zone")
    return created_at


def parse_payment_record(record: Mapping[str, Any]) -> DepositRecord:
    """A joined ``payment`` or path payment record → ``DepositRecord``."""
    kind = _text(record, "type")
    if kind not in PAYMENT_TYPES:
        raise UnparseableRecordError(f"{kind!r} is not a payment")
    successful = record.get("transaction_successful")
    if not isinstance(successful, bool):
        raise UnparseableRecordError("'transaction_successful' is missing or not a boolean")
    tx_hash = _text(record, "transaction_hash")
    memo_type, memo = _memo(_joined_transaction(record, tx_hash))
    amount = _text(record, "amount")
    return DepositRecord(
        operation_id=_text(record, "id"),
        paging_token=_text(record, "paging_token"),
        transaction_hash=tx_hash,
        from_account=_account(record, "from"),
        to_account=_account(record, "to"),
        asset=_asset(record),
        amount=amount,
        amount_kobo=_amount_kobo(amount),
        memo_type=memo_type,
        memo=memo,
        successful=successful,
        created_at=_created_at(record),
        is_path_payment=kind != "payment",
    )


def _skip_reason(record: Mapping[str, Any], system_account: str) -> str | None:
    """Why the record is no deposit to ``system_account``, from the fields that decide it."""
    kind = _text(record, "type")
    if kind not in PAYMENT_TYPES:
        return f"{kind} is not a payment"
    successful = record.get("transaction_successful")
    if successful is False:
        return "the transaction failed"
    if _text(record, "from") == system_account:
        return "outgoing payment"
    if _text(record, "to") != system_account:
        return "not addressed to the system account"
    return None


def classify_record(record: object, system_account: str) -> Classification:
    if not isinstance(record, Mapping):
        return Unparseable(None, "the record is not a JSON object")
    token = record.get("paging_token")
    if not isinstance(token, str) or not token:
        return Unparseable(None, "the record has no paging_token")
    try:
        reason = _skip_reason(record, system_account)
        if reason is not None:
            return Ignored(token, reason)
        return Incoming(parse_payment_record(record))
    except UnparseableRecordError as exc:
        return Unparseable(token, str(exc))

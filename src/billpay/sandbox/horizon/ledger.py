"""Pure in-memory Stellar ledger state, and applying a transaction to it atomically.

Accounts have a sequence number, an XLM balance and trustlines; every amount is an integer
number of stroops (10^7 per unit), exactly as in the XDR. Result codes are Horizon's strings
(``tx_bad_seq``, ``op_no_trust``…) so the HTTP layer can echo them unchanged.

What follows stellar-core, because billpay's correctness depends on it:

- validation failures (``tx_bad_seq``, ``tx_bad_auth``, ``tx_too_late``, ``tx_insufficient_fee``,
  ``op_bad_auth``…) leave the ledger untouched: no fee, no sequence number consumed;
- once valid, the fee is charged and the sequence number consumed even when an operation then
  fails (``tx_failed``), and no operation's effect survives a failure of any of them;
- credits are checked before debits, so a payment to an account without a trustline answers
  ``op_no_trust`` whatever the sender holds.

Simplifications: every account has only its master key (weight 1, thresholds 0); there is no
order book, so a cross-asset path payment fills at the sender's stated limit (strict-receive
spends ``send_max``, strict-send delivers ``dest_min``); liabilities, sponsorship, flags and
authorization are not modelled.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from stellar_sdk import Asset, Keypair
from stellar_sdk.exceptions import BadSignatureError
from stellar_sdk.utils import to_xdr_amount

from billpay.sandbox.horizon.envelope import (
    ChangeTrustOp,
    CreateAccountOp,
    Envelope,
    Operation,
    PathPaymentOp,
    PaymentOp,
    UnsupportedOp,
)

BASE_RESERVE_STROOPS = 5_000_000  # 0.5 XLM, the public networks' base reserve
MAX_INT64 = 2**63 - 1  # the largest balance and the default trustline limit

OP_SUCCESS = "op_success"


@dataclass
class Trustline:
    balance: int
    limit: int


@dataclass
class LedgerAccount:
    account_id: str
    sequence: int
    balance: int  # XLM, in stroops
    last_modified_ledger: int
    trustlines: dict[Asset, Trustline] = field(default_factory=dict)

    def minimum_balance(self) -> int:
        # Two base reserves for the account itself plus one per trustline (its subentries).
        return (2 + len(self.trustlines)) * BASE_RESERVE_STROOPS

    def available_xlm(self) -> int:
        return self.balance - self.minimum_balance()

    def copy(self) -> LedgerAccount:
        trustlines = {asset: Trustline(t.balance, t.limit) for asset, t in self.trustlines.items()}
        return LedgerAccount(
            self.account_id, self.sequence, self.balance, self.last_modified_ledger, trustlines
        )


@dataclass(frozen=True)
class ClosedLedger:
    sequence: int
    close_time: int
    hash: str
    prev_hash: str
    successful_transactions: int
    failed_transactions: int
    operations: int

    @property
    def paging_token(self) -> int:
        return self.sequence << 32


@dataclass(frozen=True)
class TransactionOutcome:
    """``applied`` means the transaction is in the ledger (fee and sequence number consumed):
    ``tx_success``, or ``tx_failed`` with an operation failing while being applied."""

    code: str
    operation_codes: tuple[str, ...]
    fee_charged: int
    applied: bool

    @property
    def successful(self) -> bool:
        return self.code == "tx_success"


def rejected(code: str, operation_codes: Iterable[str] = ()) -> TransactionOutcome:
    return TransactionOutcome(code, tuple(operation_codes), fee_charged=0, applied=False)


def to_stroops(amount: str) -> int:
    """``"5030"`` or ``"5030.0000000"`` → stroops; more than 7 decimals is a ValueError."""
    stroops: int = to_xdr_amount(amount)
    return stroops


def path_payment_amounts(op: PathPaymentOp) -> tuple[int, int]:
    """``(sent, received)`` in stroops for a path payment (no order book: see the module doc)."""
    same_asset = op.send_asset == op.dest_asset
    if op.strict_receive:
        return (op.dest_limit if same_asset else op.send_limit), op.dest_limit
    return op.send_limit, (op.send_limit if same_asset else op.dest_limit)


def operation_source(op: Operation, tx_source: str) -> str:
    return op.source.account_id if op.source is not None else tx_source


@lru_cache(maxsize=65_536)
def _verifier(account_id: str) -> tuple[bytes, Keypair]:
    """The key's signature hint (its last 4 bytes) and the key; decoding both is not free."""
    keypair = Keypair.from_public_key(account_id)
    return keypair.signature_hint(), keypair


def _signature_matches(account_id: str, hint: bytes, signature: bytes, tx_hash: bytes) -> bool:
    key_hint, keypair = _verifier(account_id)
    if key_hint != hint:
        return False
    try:
        keypair.verify(tx_hash, signature)
    except BadSignatureError:
        return False
    return True


def signers_of(envelope: Envelope, candidates: set[str]) -> tuple[set[str], int]:
    """Which candidate accounts signed the envelope, and how many signatures matched none."""
    signed: set[str] = set()
    unused = 0
    for hint, signature in envelope.signatures:
        signer = next(
            (
                account_id
                for account_id in candidates
                if _signature_matches(account_id, hint, signature, envelope.hash)
            ),
            None,
        )
        if signer is None:
            unused += 1
        else:
            signed.add(signer)
    return signed, unused


class _Scratch:
    """A copy-on-write view of the accounts: changes reach the parent only on ``commit``.
    Nested once per operation so a failed operation leaves no trace for the next one."""

    def __init__(self, parent: dict[str, LedgerAccount] | _Scratch) -> None:
        self._parent = parent
        self.touched: dict[str, LedgerAccount] = {}

    def get(self, account_id: str) -> LedgerAccount | None:
        if account_id in self.touched:
            return self.touched[account_id]
        original = self._parent.get(account_id)
        if original is None:
            return None
        self.touched[account_id] = original.copy()
        return self.touched[account_id]

    def create(self, account: LedgerAccount) -> None:
        self.touched[account.account_id] = account

    def commit(self) -> None:
        if isinstance(self._parent, _Scratch):
            self._parent.touched.update(self.touched)
        else:
            self._parent.update(self.touched)


def _credit(account: LedgerAccount, asset: Asset, amount: int) -> str | None:
    if asset.is_native():
        if account.balance + amount > MAX_INT64:
            return "op_line_full"
        account.balance += amount
        return None
    if account.account_id == asset.issuer:  # paying the issuer burns the asset
        return None
    trustline = account.trustlines.get(asset)
    if trustline is None:
        return "op_no_trust"
    if trustline.balance + amount > trustline.limit:
        return "op_line_full"
    trustline.balance += amount
    return None


def _debit(account: LedgerAccount, asset: Asset, amount: int) -> str | None:
    if asset.is_native():
        if account.available_xlm() < amount:
            return "op_underfunded"
        account.balance -= amount
        return None
    if account.account_id == asset.issuer:  # the issuer creates the asset it sends
        return None
    trustline = account.trustlines.get(asset)
    if trustline is None:
        return "op_src_no_trust"
    if trustline.balance < amount:
        return "op_underfunded"
    trustline.balance -= amount
    return None


def _transfer(
    scratch: _Scratch,
    source_id: str,
    destination_id: str,
    sent: tuple[Asset, int],
    received: tuple[Asset, int],
) -> str:
    destination = scratch.get(destination_id)
    if destination is None:
        return "op_no_destination"
    failure = _credit(destination, *received)
    if failure is None:
        source = scratch.get(source_id)
        assert source is not None  # validated before any operation runs
        failure = _debit(source, *sent)
    return failure or OP_SUCCESS


def _apply_payment(scratch: _Scratch, source_id: str, op: PaymentOp) -> str:
    sent = received = (op.asset, op.amount)
    return _transfer(scratch, source_id, op.destination.account_id, sent, received)


def _apply_path_payment(scratch: _Scratch, source_id: str, op: PathPaymentOp) -> str:
    sent, received = path_payment_amounts(op)
    if op.strict_receive and sent > op.send_limit:
        return "op_over_source_max"
    if not op.strict_receive and received < op.dest_limit:
        return "op_under_dest_min"
    return _transfer(
        scratch,
        source_id,
        op.destination.account_id,
        (op.send_asset, sent),
        (op.dest_asset, received),
    )


def _apply_create_account(
    scratch: _Scratch, source_id: str, op: CreateAccountOp, ledger_sequence: int
) -> str:
    if scratch.get(op.destination) is not None:
        return "op_already_exists"
    if op.starting_balance < 2 * BASE_RESERVE_STROOPS:
        return "op_low_reserve"
    source = scratch.get(source_id)
    assert source is not None
    if source.available_xlm() < op.starting_balance:
        return "op_underfunded"
    source.balance -= op.starting_balance
    scratch.create(new_account(op.destination, op.starting_balance, ledger_sequence))
    return OP_SUCCESS


def _apply_change_trust(scratch: _Scratch, source_id: str, op: ChangeTrustOp) -> str:
    asset = op.asset
    # Liquidity-pool shares and the native asset were refused as op_malformed.
    assert asset is not None and asset.issuer is not None
    source = scratch.get(source_id)
    assert source is not None
    if source_id == asset.issuer:
        return "op_self_not_allowed"
    existing = source.trustlines.get(asset)
    if existing is None:
        if op.limit == 0:
            return "op_invalid_limit"
        if scratch.get(asset.issuer) is None:
            return "op_no_issuer"
        if source.available_xlm() < BASE_RESERVE_STROOPS:
            return "op_low_reserve"
        source.trustlines[asset] = Trustline(0, op.limit)
        return OP_SUCCESS
    if op.limit < existing.balance:
        return "op_invalid_limit"
    if op.limit == 0:
        del source.trustlines[asset]
    else:
        existing.limit = op.limit
    return OP_SUCCESS


def _apply_operation(scratch: _Scratch, source_id: str, op: Operation, ledger_sequence: int) -> str:
    if isinstance(op, PaymentOp):
        return _apply_payment(scratch, source_id, op)
    if isinstance(op, PathPaymentOp):
        return _apply_path_payment(scratch, source_id, op)
    if isinstance(op, CreateAccountOp):
        return _apply_create_account(scratch, source_id, op, ledger_sequence)
    assert isinstance(op, ChangeTrustOp)  # unsupported operations never get this far
    return _apply_change_trust(scratch, source_id, op)


def _malformed(op: Operation) -> bool:
    if isinstance(op, PaymentOp):
        return op.amount <= 0
    if isinstance(op, PathPaymentOp):
        return op.send_limit <= 0 or op.dest_limit <= 0
    if isinstance(op, CreateAccountOp):
        return op.starting_balance <= 0
    if isinstance(op, ChangeTrustOp):
        return op.asset is None or op.asset.is_native() or op.limit < 0
    return False


def new_account(account_id: str, balance: int, ledger_sequence: int) -> LedgerAccount:
    # stellar-core starts a new account's sequence number at the creating ledger << 32.
    return LedgerAccount(account_id, ledger_sequence << 32, balance, ledger_sequence)


class Ledger:
    """Accounts by id. ``apply`` is the only way a transaction changes them."""

    def __init__(self) -> None:
        self.accounts: dict[str, LedgerAccount] = {}

    def apply(
        self, envelope: Envelope, *, close_time: int, ledger_sequence: int, base_fee: int
    ) -> TransactionOutcome:
        rejection = self._validate(envelope, close_time, base_fee)
        if rejection is not None:
            return rejection
        source = self.accounts[envelope.source.account_id]
        fee = base_fee * len(envelope.operations)
        # From here on the transaction is in the ledger: fee and sequence number are spent
        # even if an operation fails.
        source.balance -= fee
        source.sequence = envelope.sequence
        source.last_modified_ledger = ledger_sequence
        codes = self._apply_operations(envelope, ledger_sequence)
        code = "tx_success" if all(c == OP_SUCCESS for c in codes) else "tx_failed"
        return TransactionOutcome(code, codes, fee, applied=True)

    def _apply_operations(self, envelope: Envelope, ledger_sequence: int) -> tuple[str, ...]:
        transaction_scratch = _Scratch(self.accounts)
        codes = []
        for op in envelope.operations:
            op_scratch = _Scratch(transaction_scratch)
            op_source = operation_source(op, envelope.source.account_id)
            code = _apply_operation(op_scratch, op_source, op, ledger_sequence)
            if code == OP_SUCCESS:
                op_scratch.commit()
            codes.append(code)
        if all(c == OP_SUCCESS for c in codes):
            for account in transaction_scratch.touched.values():
                account.last_modified_ledger = ledger_sequence
            transaction_scratch.commit()
        return tuple(codes)

    def _validate(
        self, envelope: Envelope, close_time: int, base_fee: int
    ) -> TransactionOutcome | None:
        if not envelope.operations:
            return rejected("tx_missing_operation")
        if envelope.time_bounds is not None:
            min_time, max_time = envelope.time_bounds
            if close_time < min_time:
                return rejected("tx_too_early")
            if max_time != 0 and close_time > max_time:
                return rejected("tx_too_late")
        fee = base_fee * len(envelope.operations)
        if envelope.fee < fee:
            return rejected("tx_insufficient_fee")
        source = self.accounts.get(envelope.source.account_id)
        if source is None:
            return rejected("tx_no_source_account")
        if envelope.sequence != source.sequence + 1:
            return rejected("tx_bad_seq")
        return self._validate_operations(envelope, source, fee)

    def _validate_operations(
        self, envelope: Envelope, source: LedgerAccount, fee: int
    ) -> TransactionOutcome | None:
        op_sources = [operation_source(op, source.account_id) for op in envelope.operations]
        signed, unused = signers_of(envelope, {source.account_id, *op_sources})
        if source.account_id not in signed:
            return rejected("tx_bad_auth")
        op_codes = [
            self._operation_check(op, op_source, signed)
            for op, op_source in zip(envelope.operations, op_sources, strict=True)
        ]
        if any(code != OP_SUCCESS for code in op_codes):
            return rejected("tx_failed", op_codes)
        if source.available_xlm() < fee:
            return rejected("tx_insufficient_balance")
        if unused:
            return rejected("tx_bad_auth_extra")
        return None

    def _operation_check(self, op: Operation, op_source: str, signed: set[str]) -> str:
        if isinstance(op, UnsupportedOp):
            return "op_not_supported"
        if op_source not in self.accounts:
            return "op_no_source_account"
        if op_source not in signed:
            return "op_bad_auth"
        if _malformed(op):
            return "op_malformed"
        return OP_SUCCESS

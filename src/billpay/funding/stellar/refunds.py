"""Stellar refunds: the signed envelope, and what to do next with it.

The rules (DESIGN §1.2-1.3, providers.md §5.4):

1. Build and sign the envelope, store it with its hash and ``max_time`` *before* submitting.
2. On a timeout, 504, 503 or broken connection, resubmit the *same* envelope: one signed
   transaction applies at most once, so this can never pay twice.
3. Before building a new envelope, look the old hash up.
4. Build a new one only when the old one can never apply: its ``max_time`` has passed (plus a
   margin) *and* Horizon does not know its hash.
5. A definite failure that a new envelope would repeat (``op_no_trust``: the payer dropped the
   trustline; ``op_no_destination``: the account is gone…) goes to a human.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import NamedTuple

from stellar_sdk import Account, Asset, Keypair, Memo, TextMemo, TransactionBuilder

from billpay.funding.stellar.horizon import (
    LookupFailed,
    Rejected,
    SubmitResult,
    Submitted,
    TransactionFound,
    TransactionLookup,
)
from billpay.money import kobo_to_stellar

# Ledger close times may run behind our clock and Horizon ingests a ledger a few seconds after
# it closes: "not found" is trusted only this long after the envelope's max_time.
EXPIRY_MARGIN_SECONDS = 60

# Rejections of this envelope only (it is dead), after which a fresh envelope can succeed.
REBUILDABLE_CODES = frozenset({"tx_bad_seq", "tx_too_late", "tx_too_early", "tx_insufficient_fee"})

OPERATION_FAILURES = {
    "op_no_trust": "the destination has no trustline for the asset",
    "op_no_destination": "the destination account does not exist",
    "op_line_full": "the destination's trustline limit would be exceeded",
    "op_underfunded": "the system account does not hold enough of the asset",
    "op_not_authorized": "the issuer has not authorized the destination",
}


class RefundEnvelope(NamedTuple):
    envelope_xdr: str
    tx_hash: str
    max_time: int  # unix seconds; the envelope cannot be applied after it


def build_refund_envelope(
    system_keypair: Keypair,
    account_sequence: int,
    destination: str,
    asset: Asset,
    amount_kobo: int,
    memo: str | Memo,
    timeout_seconds: int,
    network_passphrase: str,
    base_fee: int,
    *,
    now: int | None = None,
) -> RefundEnvelope:
    """A signed payment of ``amount_kobo`` from the system account, valid until
    ``now + timeout_seconds``. ``account_sequence`` is the account's current sequence number
    (as loaded); the transaction uses the next one. A ``str`` memo is a text memo; a refund of
    a deposit that named no payment carries a ``ReturnHashMemo`` of the deposit's hash."""
    if amount_kobo <= 0:
        raise ValueError("a refund moves a positive amount")
    max_time = (int(time.time()) if now is None else now) + timeout_seconds
    transaction = (
        TransactionBuilder(
            Account(system_keypair.public_key, account_sequence), network_passphrase, base_fee
        )
        .append_payment_op(destination, asset, kobo_to_stellar(amount_kobo))
        .add_memo(TextMemo(memo) if isinstance(memo, str) else memo)
        .add_time_bounds(0, max_time)
        .build()
    )
    transaction.sign(system_keypair)
    return RefundEnvelope(transaction.to_xdr(), transaction.hash_hex(), max_time)


@dataclass(frozen=True)
class StoredEnvelopeState:
    """What was stored about the current envelope: its expiry, and the outcome of its latest
    submission (None when it was stored but no answer came back, e.g. after a crash)."""

    max_time: int
    last_submission: SubmitResult | None


@dataclass(frozen=True)
class ResubmitSame:
    pass


@dataclass(frozen=True)
class Done:
    pass


@dataclass(frozen=True)
class Rebuild:
    reason: str


@dataclass(frozen=True)
class Quarantine:
    reason: str


RefundStep = ResubmitSame | Done | Rebuild | Quarantine


def _failure_reason(rejected: Rejected) -> str:
    if not rejected.operation_codes:
        return rejected.transaction_code
    failures = [code for code in rejected.operation_codes if code != "op_success"]
    return "; ".join(
        f"{code}: {OPERATION_FAILURES[code]}" if code in OPERATION_FAILURES else code
        for code in failures
    )


def _rejection_step(rejected: Rejected) -> Quarantine | None:
    """Quarantine unless this is a rejection a fresh envelope can get past."""
    if rejected.transaction_code in REBUILDABLE_CODES:
        return None
    return Quarantine(_failure_reason(rejected))


def next_refund_step(
    stored: StoredEnvelopeState, lookup: TransactionLookup, now: float
) -> RefundStep:
    """What to do with a stored refund envelope that is not known to have succeeded.

    ``lookup`` is a fresh ``GET /transactions/{hash}`` of the stored envelope (rule 3).
    ``ResubmitSame`` is the answer whenever nothing proves the envelope dead: it is always
    safe, and Horizon answers a hash already applied with its original result.
    """
    last = stored.last_submission
    if isinstance(last, Submitted):
        return Done()
    if isinstance(lookup, TransactionFound):
        if lookup.successful:
            return Done()
        if isinstance(last, Rejected):
            return Quarantine(_failure_reason(last))
        return Quarantine("the refund transaction failed on the ledger")
    if isinstance(last, Rejected):
        quarantine = _rejection_step(last)
        if quarantine is not None:
            return quarantine
    if isinstance(lookup, LookupFailed):
        return ResubmitSame()
    if now > stored.max_time + EXPIRY_MARGIN_SECONDS:
        return Rebuild(f"the envelope expired at {stored.max_time} and its hash is unknown")
    return ResubmitSame()

"""Decoding a submitted envelope into what the ledger needs, fast.

stellar-sdk's high-level ``TransactionEnvelope.from_xdr`` re-encodes every account id with a
pure-Python base32 several times per transaction and re-packs the transaction to hash it; at
hundreds of submissions a second that is most of the simulator's time. So the envelope is
decoded with stellar-sdk's XDR classes (``stellar_sdk.xdr.TransactionEnvelope.from_xdr``),
account ids and assets are cached by their raw bytes, and the hash is taken over the submitted
bytes themselves (XDR is canonical, so they are the bytes the signer hashed).

Amounts stay integer stroops. Memos and assets are stellar-sdk objects.
"""

from __future__ import annotations

import base64
import struct
from dataclasses import dataclass
from functools import lru_cache
from hashlib import sha256

from stellar_sdk import Asset, Memo, MuxedAccount, StrKey
from stellar_sdk import xdr as stellar_xdr

ENVELOPE_TYPE_TX = struct.pack(">i", stellar_xdr.EnvelopeType.ENVELOPE_TYPE_TX.value)
# A v0 transaction is a v1 transaction whose source is a plain ed25519 key: same bytes once
# the MuxedAccount's key type (KEY_TYPE_ED25519 = 0) is put in front.
V0_SOURCE_PREFIX = struct.pack(">i", stellar_xdr.CryptoKeyType.KEY_TYPE_ED25519.value)


class UnsupportedEnvelopeError(ValueError):
    """Valid XDR the simulator does not model (fee bumps, ledger-bound preconditions…)."""


@dataclass(frozen=True)
class Address:
    """An account, possibly muxed (``M…``): payments credit ``account_id`` either way."""

    account_id: str
    muxed_id: int | None = None

    @property
    def muxed(self) -> str | None:
        if self.muxed_id is None:
            return None
        muxed: str | None = MuxedAccount(self.account_id, self.muxed_id).account_muxed
        return muxed


@dataclass(frozen=True)
class PaymentOp:
    source: Address | None
    destination: Address
    asset: Asset
    amount: int


@dataclass(frozen=True)
class PathPaymentOp:
    """``send_limit`` is ``send_max`` (strict receive) or ``send_amount`` (strict send);
    ``dest_limit`` is ``dest_amount`` (strict receive) or ``dest_min`` (strict send)."""

    source: Address | None
    strict_receive: bool
    destination: Address
    send_asset: Asset
    send_limit: int
    dest_asset: Asset
    dest_limit: int
    path: tuple[Asset, ...]


@dataclass(frozen=True)
class CreateAccountOp:
    source: Address | None
    destination: str
    starting_balance: int


@dataclass(frozen=True)
class ChangeTrustOp:
    source: Address | None
    asset: Asset | None  # None: a liquidity-pool share, which the simulator does not model
    limit: int


@dataclass(frozen=True)
class UnsupportedOp:
    source: Address | None
    name: str


Operation = PaymentOp | PathPaymentOp | CreateAccountOp | ChangeTrustOp | UnsupportedOp


@dataclass(frozen=True)
class Envelope:
    hash: bytes
    source: Address
    sequence: int
    fee: int
    memo: Memo
    time_bounds: tuple[int, int] | None  # (min_time, max_time); max_time 0 means none
    operations: tuple[Operation, ...]
    signatures: tuple[tuple[bytes, bytes], ...]  # (hint, signature)

    @property
    def hash_hex(self) -> str:
        return self.hash.hex()


@lru_cache(maxsize=1 << 16)
def _account_id(raw_key: bytes) -> str:
    account_id: str = StrKey.encode_ed25519_public_key(raw_key)
    return account_id


@lru_cache(maxsize=1 << 12)
def _credit_asset(code: bytes, issuer: bytes) -> Asset:
    return Asset(code.rstrip(b"\0").decode("ascii"), _account_id(issuer))


def _address(muxed: stellar_xdr.MuxedAccount) -> Address:
    if muxed.med25519 is not None:
        return Address(_account_id(muxed.med25519.ed25519.uint256), muxed.med25519.id.uint64)
    assert muxed.ed25519 is not None
    return Address(_account_id(muxed.ed25519.uint256))


def _asset(asset: stellar_xdr.Asset | stellar_xdr.ChangeTrustAsset) -> Asset | None:
    if asset.type == stellar_xdr.AssetType.ASSET_TYPE_NATIVE:
        return Asset.native()
    if asset.alpha_num4 is not None:
        code, issuer = asset.alpha_num4.asset_code.asset_code4, asset.alpha_num4.issuer
    elif asset.alpha_num12 is not None:
        code, issuer = asset.alpha_num12.asset_code.asset_code12, asset.alpha_num12.issuer
    else:
        return None
    key = issuer.account_id.ed25519
    assert key is not None
    return _credit_asset(code, key.uint256)


def _payment_asset(asset: stellar_xdr.Asset) -> Asset:
    decoded = _asset(asset)
    assert decoded is not None  # a payment's Asset union has no pool shares
    return decoded


def _operation(op: stellar_xdr.Operation) -> Operation:
    source = _address(op.source_account) if op.source_account is not None else None
    body = op.body
    if body.payment_op is not None:
        payment = body.payment_op
        return PaymentOp(
            source,
            _address(payment.destination),
            _payment_asset(payment.asset),
            payment.amount.int64,
        )
    if body.path_payment_strict_receive_op is not None:
        receive = body.path_payment_strict_receive_op
        return PathPaymentOp(
            source,
            strict_receive=True,
            destination=_address(receive.destination),
            send_asset=_payment_asset(receive.send_asset),
            send_limit=receive.send_max.int64,
            dest_asset=_payment_asset(receive.dest_asset),
            dest_limit=receive.dest_amount.int64,
            path=tuple(_payment_asset(a) for a in receive.path),
        )
    if body.path_payment_strict_send_op is not None:
        send = body.path_payment_strict_send_op
        return PathPaymentOp(
            source,
            strict_receive=False,
            destination=_address(send.destination),
            send_asset=_payment_asset(send.send_asset),
            send_limit=send.send_amount.int64,
            dest_asset=_payment_asset(send.dest_asset),
            dest_limit=send.dest_min.int64,
            path=tuple(_payment_asset(a) for a in send.path),
        )
    if body.create_account_op is not None:
        create = body.create_account_op
        destination = create.destination.account_id.ed25519
        assert destination is not None
        return CreateAccountOp(
            source, _account_id(destination.uint256), create.starting_balance.int64
        )
    if body.change_trust_op is not None:
        trust = body.change_trust_op
        return ChangeTrustOp(source, _asset(trust.line), trust.limit.int64)
    return UnsupportedOp(source, body.type.name)


def _time_bounds(bounds: stellar_xdr.TimeBounds | None) -> tuple[int, int] | None:
    if bounds is None:
        return None
    return bounds.min_time.time_point.uint64, bounds.max_time.time_point.uint64


def _v1_time_bounds(conditions: stellar_xdr.Preconditions) -> tuple[int, int] | None:
    if conditions.v2 is None:
        return _time_bounds(conditions.time_bounds)
    v2 = conditions.v2
    if v2.ledger_bounds or v2.min_seq_num or v2.min_seq_age.duration.uint64:
        raise UnsupportedEnvelopeError("preconditions other than time bounds are not simulated")
    if v2.min_seq_ledger_gap.uint32 or v2.extra_signers:
        raise UnsupportedEnvelopeError("preconditions other than time bounds are not simulated")
    return _time_bounds(v2.time_bounds)


def _signatures_length(signatures: list[stellar_xdr.DecoratedSignature]) -> int:
    # XDR: a 4-byte count, then per signature a 4-byte hint and a length-prefixed opaque
    # padded to a multiple of 4.
    return 4 + sum(8 + (len(s.signature.signature) + 3) // 4 * 4 for s in signatures)


def parse_envelope(envelope_xdr: str, network_id: bytes) -> Envelope:
    """Raises ValueError or EOFError for anything that is not a transaction envelope."""
    raw = base64.b64decode(envelope_xdr, validate=True)
    decoded = stellar_xdr.TransactionEnvelope.from_xdr_bytes(raw)
    envelope: stellar_xdr.TransactionV1Envelope | stellar_xdr.TransactionV0Envelope
    tx: stellar_xdr.Transaction | stellar_xdr.TransactionV0
    if decoded.v1 is not None:
        envelope = decoded.v1
        tx = decoded.v1.tx
        source = _address(tx.source_account)
        time_bounds = _v1_time_bounds(tx.cond)
        prefix = b""
    elif decoded.v0 is not None:
        envelope = decoded.v0
        tx = decoded.v0.tx
        source = Address(_account_id(tx.source_account_ed25519.uint256))
        time_bounds = _time_bounds(tx.time_bounds)
        prefix = V0_SOURCE_PREFIX
    else:
        raise UnsupportedEnvelopeError("fee-bump envelopes are not simulated")
    tx_bytes = prefix + raw[4 : len(raw) - _signatures_length(envelope.signatures)]
    return Envelope(
        hash=sha256(network_id + ENVELOPE_TYPE_TX + tx_bytes).digest(),
        source=source,
        sequence=tx.seq_num.sequence_number.int64,
        fee=tx.fee.uint32,
        memo=Memo.from_xdr_object(tx.memo),
        time_bounds=time_bounds,
        operations=tuple(_operation(op) for op in tx.operations),
        signatures=tuple(
            (s.hint.signature_hint, s.signature.signature) for s in envelope.signatures
        ),
    )

"""The matching policy, memos and amounts, without a network or a database."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stellar_sdk import Keypair

from billpay.funding.stellar.matching import PaymentView, Verdict, decide
from billpay.funding.stellar.memo import SHORT_ID_MAX_LENGTH, payment_memo, refund_memo
from billpay.funding.stellar.records import NATIVE, DepositRecord, StellarAsset
from billpay.funding.stellar.states import DepositState
from billpay.money import InexactAmountError, kobo_to_stellar, stellar_to_kobo
from billpay.payments.service import SHORT_ID_ALPHABET, new_short_id
from billpay.payments.status import Status

ISSUER = Keypair.random().public_key
CNGN = StellarAsset("cNGN", ISSUER)
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def deposit(amount: str = "503.0000000", memo: str | None = "BILL-ABC123", **changes: object):  # type: ignore[no-untyped-def]
    record = DepositRecord(
        operation_id="123",
        paging_token="123",
        transaction_hash="ab" * 32,
        from_account=Keypair.random().public_key,
        to_account=Keypair.random().public_key,
        asset=CNGN,
        amount=amount,
        amount_kobo=_kobo_or_none(amount),
        memo_type="none" if memo is None else "text",
        memo=memo,
        successful=True,
        created_at=NOW,
        is_path_payment=False,
    )
    return replace(record, **changes)  # type: ignore[arg-type]


def _kobo_or_none(amount: str) -> int | None:
    try:
        return stellar_to_kobo(amount)
    except InexactAmountError:
        return None


def payment(status: Status = Status.AWAITING_FUNDS, total: int = 50_300) -> PaymentView:
    return PaymentView(uuid.uuid4(), "ABC123", status, total, NOW + timedelta(minutes=30))


@pytest.mark.parametrize(
    ("record", "view", "verdict", "state", "received", "refund"),
    [
        (deposit(), payment(), Verdict.EXACT, DepositState.FUNDED, 50_300, 0),
        (deposit("510"), payment(), Verdict.OVERPAID, DepositState.FUNDED_OVERPAID, 51_000, 700),
        (deposit("500"), payment(), Verdict.UNDERPAID, DepositState.REFUND_PENDING, 50_000, 50_000),
        (
            deposit("503.0000001"),
            payment(),
            Verdict.INEXACT,
            DepositState.REFUND_PENDING,
            50_300,
            50_300,
        ),
        (
            deposit(created_at=NOW + timedelta(hours=1)),
            payment(),
            Verdict.LATE,
            DepositState.REFUND_PENDING,
            50_300,
            50_300,
        ),
        (
            deposit(),
            payment(Status.EXPIRED),
            Verdict.EXPIRED,
            DepositState.REFUND_PENDING,
            50_300,
            50_300,
        ),
        (
            deposit(),
            payment(Status.PAID),
            Verdict.NOT_AWAITING,
            DepositState.REFUND_PENDING,
            50_300,
            50_300,
        ),
        (
            deposit(asset=StellarAsset("cNGN", Keypair.random().public_key)),
            payment(),
            Verdict.WRONG_ASSET,
            DepositState.REFUND_PENDING,
            0,
            50_300,
        ),
        (
            deposit(asset=StellarAsset("CNGN", ISSUER)),  # codes are case-sensitive
            payment(),
            Verdict.WRONG_ASSET,
            DepositState.REFUND_PENDING,
            0,
            50_300,
        ),
        (
            deposit(asset=NATIVE),
            payment(),
            Verdict.WRONG_ASSET,
            DepositState.REFUND_PENDING,
            0,
            50_300,
        ),
        (deposit(), None, Verdict.UNKNOWN_MEMO, DepositState.REFUND_PENDING, 50_300, 50_300),
        (deposit(memo=None), None, Verdict.NO_MEMO, DepositState.REFUND_PENDING, 50_300, 50_300),
        (deposit("0.0099999"), payment(), Verdict.DUST, DepositState.QUARANTINED, 0, 0),
    ],
)
def test_policy(
    record: DepositRecord,
    view: PaymentView | None,
    verdict: Verdict,
    state: DepositState,
    received: int,
    refund: int,
) -> None:
    decision = decide(record, view, CNGN)
    assert (decision.verdict, decision.state) == (verdict, state)
    assert (decision.received_kobo, decision.refund_kobo) == (received, refund)


@given(st.text(alphabet=SHORT_ID_ALPHABET, min_size=1, max_size=SHORT_ID_MAX_LENGTH))
def test_memos_always_fit_28_bytes(short_id: str) -> None:
    assert len(payment_memo(short_id).encode()) <= 28
    assert len(refund_memo(short_id).encode()) <= 28


def test_new_short_ids_make_valid_memos() -> None:
    for _ in range(1000):
        assert len(payment_memo(new_short_id()).encode()) <= 28


@given(st.integers(min_value=0, max_value=10**15))
def test_kobo_to_7_decimals_and_back_is_exact(kobo: int) -> None:
    text = kobo_to_stellar(kobo)
    assert len(text.split(".")[1]) == 7
    assert stellar_to_kobo(text) == kobo


@given(
    st.integers(min_value=0, max_value=10**12),
    st.integers(min_value=1, max_value=99_999),
)
def test_sub_kobo_amounts_are_rejected(kobo: int, stroops: int) -> None:
    text = f"{kobo // 100}.{kobo % 100:02d}{stroops:05d}"
    with pytest.raises(InexactAmountError):
        stellar_to_kobo(text)


@pytest.mark.parametrize("text", ["1.00000001", "0.123456789"])
def test_more_than_7_decimals_are_rejected(text: str) -> None:
    with pytest.raises(InexactAmountError):
        stellar_to_kobo(text)

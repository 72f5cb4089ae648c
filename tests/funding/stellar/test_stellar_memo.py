"""Memos: ``BILL-<short id>`` always fits Stellar's 28-byte text memo (the seed's did not)."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stellar_sdk import TextMemo

from billpay.funding.stellar.memo import (
    normalize_memo_type,
    parse_payment_memo,
    payment_memo,
    refund_memo,
)

short_ids = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=16)


@given(short_ids)
def test_memos_always_fit_in_28_bytes(short_id: str) -> None:
    for memo in (payment_memo(short_id), refund_memo(short_id)):
        assert len(memo.encode()) <= 28
        TextMemo(memo)
    assert parse_payment_memo("text", payment_memo(short_id)) == short_id


@given(st.text(max_size=40))
def test_anything_else_is_refused(short_id: str) -> None:
    valid = 1 <= len(short_id) <= 16 and all(
        c.isascii() and (c.isupper() or c.isdigit()) for c in short_id
    )
    if valid:
        assert payment_memo(short_id) == f"BILL-{short_id}"
    else:
        with pytest.raises(ValueError, match="short id"):
            payment_memo(short_id)


def test_the_seeds_uuid_memo_cannot_be_built() -> None:
    seed_memo = f"BILL-{uuid.uuid4()}"
    assert len(seed_memo.encode()) == 41
    with pytest.raises(ValueError):
        payment_memo(str(uuid.uuid4()).upper())


@pytest.mark.parametrize(
    ("memo_type", "memo", "short_id"),
    [
        ("text", "BILL-7K3P9Q", "7K3P9Q"),
        ("MEMO_TEXT", "BILL-7K3P9Q", "7K3P9Q"),
        ("text", "  bill-7k3p9q ", "7K3P9Q"),
        ("text", "REFUND-7K3P9Q", None),
        ("text", "BILL-", None),
        ("text", "BILL-7K3P9Q01234567890", None),  # 17 characters: no short id is that long
        ("text", "BILL-7K3P-9Q", None),
        ("text", "BILL-ſ1", None),  # "ſ".upper() == "S": non-ASCII is refused, not folded
        ("id", "12345", None),
        ("hash", "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=", None),
        ("return", "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=", None),
        ("none", None, None),
        (None, None, None),
        ("text", None, None),
    ],
)
def test_parse_payment_memo(memo_type: str | None, memo: str | None, short_id: str | None) -> None:
    assert parse_payment_memo(memo_type, memo) == short_id


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("text", "text"),
        ("MEMO_ID", "id"),
        ("Hash", "hash"),
        ("memo_return", "return"),
        ("none", "none"),
        (None, "none"),
        ("MEMO_SOMETHING", None),
    ],
)
def test_normalize_memo_type(raw: str | None, normalized: str | None) -> None:
    assert normalize_memo_type(raw) == normalized

"""Stellar memos billpay writes and reads: ``BILL-<short id>`` on deposits, ``REFUND-<short id>``
on refunds.

A text memo holds at most 28 bytes (the seed's ``BILL-<uuid>`` is 41 and cannot be sent), so a
payment has a short id of at most 16 characters from ``[A-Z0-9]``, and every memo built here
goes through stellar-sdk's own ``TextMemo`` check.
"""

from __future__ import annotations

import re

PAYMENT_MEMO_PREFIX = "BILL-"
REFUND_MEMO_PREFIX = "REFUND-"
SHORT_ID_MAX_LENGTH = 16
_SHORT_ID = re.compile(rf"[A-Z0-9]{{1,{SHORT_ID_MAX_LENGTH}}}")
# Horizon writes memo types in lower case ("text"); older fixtures and docs say "MEMO_TEXT".
MEMO_TYPES = frozenset({"none", "text", "id", "hash", "return"})


def _checked(memo: str) -> str:
    from stellar_sdk import TextMemo  # here: importing the SDK costs every process ½ s

    TextMemo(memo)  # raises MemoInvalidException past 28 UTF-8 bytes
    return memo


def _check_short_id(short_id: str) -> None:
    if not _SHORT_ID.fullmatch(short_id):
        raise ValueError(
            f"a short id is 1-{SHORT_ID_MAX_LENGTH} characters of A-Z and 0-9, got {short_id!r}"
        )


def payment_memo(short_id: str) -> str:
    """The memo a payer must send: ``BILL-7K3P9Q``."""
    _check_short_id(short_id)
    return _checked(PAYMENT_MEMO_PREFIX + short_id)


def refund_memo(short_id: str) -> str:
    """The memo on billpay's refund of a payment: ``REFUND-7K3P9Q``."""
    _check_short_id(short_id)
    return _checked(REFUND_MEMO_PREFIX + short_id)


def normalize_memo_type(memo_type: str | None) -> str | None:
    """``"MEMO_TEXT"``/``"text"`` → ``"text"``; a missing type is ``"none"``; unknown → None."""
    if memo_type is None:
        return "none"
    normalized = memo_type.strip().lower().removeprefix("memo_")
    return normalized if normalized in MEMO_TYPES else None


def parse_payment_memo(memo_type: str | None, memo: str | None) -> str | None:
    """The short id in a deposit's memo, or None when the memo is not one of ours.

    Payers type memos by hand, so surrounding spaces and ASCII letter case are forgiven: short
    ids are upper case only, so ``bill-7k3p9q`` cannot name any other payment than
    ``BILL-7K3P9Q``. Non-ASCII text is refused before upper-casing (``"ſ".upper() == "S"``).
    """
    if normalize_memo_type(memo_type) != "text" or memo is None or not memo.isascii():
        return None
    text = memo.strip().upper()
    if not text.startswith(PAYMENT_MEMO_PREFIX):
        return None
    short_id = text.removeprefix(PAYMENT_MEMO_PREFIX)
    return short_id if _SHORT_ID.fullmatch(short_id) else None

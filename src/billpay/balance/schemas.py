"""``/v1/balance`` answers."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from pydantic import BaseModel, Field


class BalanceOut(BaseModel):
    available_kobo: int = Field(description="Spendable now")
    reserved_kobo: int = Field(description="Held for unfinished balance payments (amount + fee)")
    currency: str = "NGN"
    livemode: bool = Field(description="False for a test key's balance (test money)")


class Direction(enum.StrEnum):
    CREDIT = "credit"  # into the available balance
    DEBIT = "debit"  # out of it


class BalanceTransactionOut(BaseModel):
    id: str = Field(description="`txn_…`; pass as `starting_after` to read older lines")
    amount_kobo: int = Field(description="Always positive; `direction` says which way")
    direction: Direction
    kind: str = Field(description="`top_up`, `reserve` (a payment), `refund`, …")
    payment_id: uuid.UUID | None
    memo: str | None
    created_at: datetime
    balance_after_kobo: int = Field(description="The available balance right after this line")


class BalanceTransactionList(BaseModel):
    data: list[BalanceTransactionOut] = Field(description="Newest first")
    has_more: bool

"""Paystack's wire contract (providers.md §4): the JSON it takes and gives back, and the
record of one call as billpay stores it.

Response models ignore fields they do not name, so Paystack adding fields never breaks a
read; a field they do name that has the wrong type makes the whole answer unreadable, which
the transformers turn into "ask again", never into a verdict.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool

_DIGITS = re.compile(r"[0-9]+")


def kobo_from_wire(value: object) -> int:
    """An amount as Paystack sends it, in kobo.

    Paystack sends kobo as an integer, but refund webhooks carry it as a digit string. A
    float, a bool, a negative or a decimal string is not an amount billpay can trust.
    """
    if isinstance(value, bool):
        raise ValueError("an amount is never a boolean")
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    raise ValueError(f"not a whole, non-negative number of kobo: {value!r}")


Kobo = Annotated[int, BeforeValidator(kobo_from_wire)]


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Envelope(_Answer):
    """Every Paystack answer: ``{"status": bool, "message": str, "data": ...}``."""

    status: StrictBool
    message: str = ""
    data: Any = None


class InitializeData(_Answer):
    authorization_url: str
    access_code: str
    reference: str


class TransactionData(_Answer):
    """``data`` of ``GET /transaction/verify/:reference`` (and of ``charge.success``)."""

    id: int
    status: str
    reference: str
    amount: Kobo
    currency: str
    paid_at: str | None = None
    gateway_response: str | None = None
    channel: str | None = None


class RefundedTransaction(_Answer):
    """The transaction as ``POST /refund`` embeds it; fetch and list give only its id."""

    id: int
    reference: str | None = None


class RefundData(_Answer):
    id: int
    status: str
    amount: Kobo
    currency: str
    transaction: int | RefundedTransaction | None = None
    merchant_note: str | None = None


class PageMeta(_Answer):
    page_count: int = Field(alias="pageCount")


class RefundPage(_Answer):
    """The whole answer of ``GET /refund``: refunds in ``data``, paging in ``meta``."""

    data: list[RefundData]
    meta: PageMeta | None = None


class InitializeRequest(BaseModel):
    """Body of ``POST /transaction/initialize``. ``amount`` is integer kobo."""

    email: str
    amount: int
    reference: str
    currency: str
    callback_url: str | None = None
    metadata: dict[str, Any] | None = None


class RefundRequest(BaseModel):
    """Body of ``POST /refund``. ``transaction`` is a reference or id; no amount = all of it."""

    transaction: str
    amount: int | None = None
    merchant_note: str | None = None


@dataclass(frozen=True)
class Exchange:
    """One HTTP call to Paystack as billpay stores it (DESIGN §1.5): secrets already masked."""

    method: str
    url: str
    request: Mapping[str, Any]
    http_status: int | None = None
    response: Any = None
    raw_text: str | None = None  # a body that was not JSON, truncated and masked
    failure: str | None = None  # why no HTTP answer came back ("timeout", ...)
    sent: bool = True  # False only when the request provably never left (connect failed)
    elapsed_ms: int = 0


@dataclass(frozen=True)
class Reply:
    """What one call produced, before it is classified.

    ``body`` is the parsed JSON exactly as received: transformers read it, nothing stores it.
    ``exchange`` is the masked record that is stored.
    """

    exchange: Exchange
    body: Any = None

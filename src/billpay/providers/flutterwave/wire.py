"""Flutterwave v3 Bills wire shapes (providers.md §2), parsed defensively.

Every model ignores fields it does not name: the raw JSON is kept as evidence separately, so a
model only holds what billpay reads. Amounts are naira, sent as numbers (``1800``) or strings
(``"1800.00"``, ``"500.0000"``); bodies are decoded with ``parse_float=Decimal`` so a float never
exists, and a float handed in any other way is refused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict

COUNTRY = "NG"
CURRENCY = "NGN"
SUCCESS = "success"
ERROR = "error"


def _refuse_float(value: Any) -> Any:
    if isinstance(value, float):
        raise ValueError("naira amounts are decoded as Decimal, never float")
    return value


def _as_text(value: Any) -> Any:
    # Reference fields come back as numbers on some endpoints (e.g. a numeric biller reference).
    if isinstance(value, int | Decimal) and not isinstance(value, bool):
        return str(value)
    return value


def _empty_when_null(value: Any) -> Any:
    return "" if value is None else value


Naira = Annotated[Decimal, BeforeValidator(_refuse_float)]
Text = Annotated[str, BeforeValidator(_as_text)]
Message = Annotated[str, BeforeValidator(_empty_when_null)]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Envelope(_Wire):
    """Every v3 answer: ``{"status": "success"|"error", "message": ..., "data": ...}``."""

    status: str | None = None
    message: Message = ""
    data: Any = None


class Balance(_Wire):
    """``GET /v3/balances/{currency}`` → ``data`` (Flutterwave's v3 balances API; not in
    providers.md, from the v3 SDK's documentation): ``available_balance`` is what can be
    spent now, ``ledger_balance`` includes what is not yet settled."""

    currency: str
    available_balance: Naira


class BillCategory(_Wire):
    """``GET /v3/top-bill-categories?country=NG`` → ``data[]``."""

    code: str
    name: str = ""
    country_code: str | None = None


class Biller(_Wire):
    """``GET /v3/bills/{category}/billers?country=NG`` → ``data[]``."""

    biller_code: str
    name: str
    short_name: str | None = None


class BillItem(_Wire):
    """``GET /v3/billers/{biller}/items`` → ``data[]``. ``amount`` 0 means the payer chooses."""

    biller_code: str
    item_code: str
    name: str
    biller_name: str = ""  # the legacy ``type`` (e.g. "AIRTIME", "DSTV", "EKEDC PREPAID TOPUP")
    short_name: str | None = None
    amount: Naira = Decimal(0)
    validity_period: Text | None = None
    label_name: str | None = None


class ValidationData(_Wire):
    """``GET /v3/bill-items/{item}/validate`` → ``data``. A 0 minimum/maximum means no limit."""

    name: str | None = None
    address: str | None = None
    response_code: Text | None = None
    response_message: str | None = None
    minimum: Naira | None = None
    maximum: Naira | None = None


class PaymentData(_Wire):
    """Create (current and legacy) → ``data``. Which reference is theirs differs by endpoint."""

    tx_ref: Text | None = None
    flw_ref: Text | None = None
    reference: Text | None = None
    recharge_token: Text | None = None


class BillStatusData(_Wire):
    """``GET /v3/bills/{ref}?verbose=1`` → ``data``. ``status`` may be absent (UNCONFIRMED)."""

    status: str | None = None
    customer_reference: Text | None = None
    tx_ref: Text | None = None
    flw_ref: Text | None = None
    reference: Text | None = None
    recharge_token: Text | None = None
    extra: Any = None


class BillWebhookData(_Wire):
    """``singlebillpayment.status`` → ``data``; ``customer_reference`` is the reference we sent."""

    customer_reference: Text | None = None
    status: str | None = None
    tx_ref: Text | None = None
    flw_ref: Text | None = None


class WebhookBody(_Wire):
    event: str
    data: Any = None


NoAnswer = Literal["connect-error", "timeout", "transport-error"]


@dataclass(frozen=True)
class HttpAnswer:
    """What one HTTP exchange produced, before any interpretation.

    ``failure`` is set when no response arrived; ``body`` is the decoded JSON object, or None when
    the body was empty or unreadable (then ``text`` holds it).
    """

    http_status: int | None = None
    body: Mapping[str, Any] | None = None
    text: str | None = None
    failure: NoAnswer | None = None

    @property
    def is_server_error(self) -> bool:
        return self.http_status is not None and self.http_status >= 500

    @property
    def is_client_error(self) -> bool:
        return self.http_status is not None and 400 <= self.http_status < 500

    @property
    def is_ok(self) -> bool:
        return self.http_status is not None and 200 <= self.http_status < 300


def decode_json(content: bytes) -> Any:
    """JSON with every fractional number as ``Decimal``. Raises ``ValueError`` when unreadable."""
    return json.loads(content, parse_float=Decimal)


def encode_json(value: Any) -> bytes:
    """JSON where a ``Decimal`` is written as a number literal (``1234.50``), never a string.

    ``json.dumps`` cannot emit a Decimal as a number, and Flutterwave takes naira as numbers.
    """
    return _encode(value).encode()


def _encode(value: Any) -> str:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"not a finite number: {value!r}")
        return str(value)
    if isinstance(value, Mapping):
        items = (f"{json.dumps(str(key))}:{_encode(item)}" for key, item in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_encode(item) for item in value) + "]"
    return json.dumps(value)

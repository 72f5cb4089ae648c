"""Pydantic models of VTpass JSON, tolerant of the shape drift in providers.md §1.5 and §6.8.

VTpass answers in several historical shapes: ``content`` or ``contents``, ``variations`` or
``varations``, amounts as numbers or strings, ``transaction_date`` as a string, an object or null,
purchases with no ``content`` block at all, and a different token field per disco. Every field
here is optional and coerced leniently, so drift never turns a readable answer into an
unreadable one; unknown keys are kept (``extra="allow"``) because the raw payload is evidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field


def _text_or_none(value: Any) -> str | None:
    """Codes and ids arrive as strings or numbers (``"000"``, ``1``); blanks mean absent."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int | float | Decimal):
        return str(value)
    return None


def _naira_or_none(value: Any) -> Decimal | None:
    """``20``, ``19.3``, ``"1000.00"`` or ``"1,000"`` → Decimal; anything else → None."""
    text = _text_or_none(value)
    if text is None:
        return None
    try:
        amount = Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None
    return amount if amount.is_finite() else None


def _mapping_or_none(value: Any) -> Any:
    """A nested block that is a string, list or null is treated as missing, not as an error."""
    return value if isinstance(value, Mapping) else None


def _mappings_only(value: Any) -> list[Any]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def _date_text(value: Any) -> str | None:
    """``"2025-03-10T09:14:16.000000Z"`` or ``{"date": "2020-04-08 15:22:15.000000", ...}``."""
    if isinstance(value, Mapping):
        return _text_or_none(value.get("date"))
    return _text_or_none(value)


def _truthy_flag(value: Any) -> bool:
    """``WrongBillersCode`` has been seen as a JSON boolean and as the strings "true"/"1"."""
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes"}
    return bool(value)


Text = Annotated[str | None, BeforeValidator(_text_or_none)]
Naira = Annotated[Decimal | None, BeforeValidator(_naira_or_none)]
TransactionDate = Annotated[str | None, BeforeValidator(_date_text)]
Flag = Annotated[bool, BeforeValidator(_truthy_flag)]


_CONTENT_KEYS = AliasChoices("content", "contents")


def _content_field() -> Any:
    return Field(default=None, validation_alias=_CONTENT_KEYS)


def _content_list_field() -> Any:
    return Field(default_factory=list, validation_alias=_CONTENT_KEYS)


class WireModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)


# --- purchase / requery / transaction-update ---------------------------------------------------


class PurchaseTransaction(WireModel):
    status: Text = None
    product_name: Text = None
    unique_element: Text = None
    type: Text = None
    transaction_id: Text = Field(default=None, alias="transactionId")
    amount: Naira = None
    total_amount: Naira = None


class PurchaseContent(WireModel):
    transactions: Annotated[PurchaseTransaction | None, BeforeValidator(_mapping_or_none)] = None


class PurchaseResponse(WireModel):
    """``POST pay`` and ``POST requery`` answers, and the ``data`` of a transaction-update."""

    code: Text = None
    response_description: Text = None
    content: Annotated[PurchaseContent | None, BeforeValidator(_mapping_or_none)] = _content_field()
    request_id: Text = Field(default=None, alias="requestId")
    transaction_id: Text = Field(default=None, alias="transactionId")  # 2019 shape, top level
    amount: Naira = None
    transaction_date: TransactionDate = None
    purchased_code: Text = None
    # Electricity: the token and units field names differ per disco (providers.md §1.5).
    main_token: Text = Field(default=None, alias="mainToken")
    bonus_token: Text = Field(default=None, alias="bonusToken")
    token_lower: Text = Field(default=None, alias="token")
    token_capital: Text = Field(default=None, alias="Token")
    units_lower: Text = Field(default=None, alias="units")
    units_capital: Text = Field(default=None, alias="Units")
    main_token_units: Text = Field(default=None, alias="mainTokenUnits")

    @property
    def transaction(self) -> PurchaseTransaction | None:
        return self.content.transactions if self.content else None

    @property
    def status(self) -> str | None:
        return self.transaction.status if self.transaction else None

    @property
    def provider_transaction_id(self) -> str | None:
        inner = self.transaction.transaction_id if self.transaction else None
        return inner or self.transaction_id


# --- merchant-verify ---------------------------------------------------------------------------


class VerifyContent(WireModel):
    customer_name: Text = Field(
        default=None, validation_alias=AliasChoices("Customer_Name", "customerName")
    )
    address: Text = Field(default=None, validation_alias=AliasChoices("Address", "address"))
    error: Text = None
    wrong_billers_code: Flag = Field(default=False, alias="WrongBillersCode")
    minimum_amount: Naira = Field(
        default=None, validation_alias=AliasChoices("Minimum_Amount", "Min_Purchase_Amount")
    )
    # DStv/GOtv smartcard verify (providers.md §1.5).
    current_bouquet: Text = Field(default=None, alias="Current_Bouquet")
    renewal_amount: Naira = Field(default=None, alias="Renewal_Amount")
    due_date: TransactionDate = Field(default=None, alias="Due_Date")


class VerifyResponse(WireModel):
    code: Text = None
    response_description: Text = None
    content: Annotated[VerifyContent | None, BeforeValidator(_mapping_or_none)] = _content_field()


# --- catalog -----------------------------------------------------------------------------------


class CatalogResponse(WireModel):
    """Catalog endpoints report success as ``"000"`` in ``response_description``, not ``code``."""

    code: Text = None
    response_description: Text = None

    @property
    def ok(self) -> bool:
        return "000" in (self.code, self.response_description)


class Category(WireModel):
    identifier: Text = None
    name: Text = None


class CategoriesResponse(CatalogResponse):
    content: Annotated[list[Category], BeforeValidator(_mappings_only)] = _content_list_field()


class Service(WireModel):
    service_id: Text = Field(default=None, alias="serviceID")
    name: Text = None
    minimum_amount: Naira = Field(
        default=None, validation_alias=AliasChoices("minimium_amount", "minimum_amount")
    )
    maximum_amount: Naira = None
    product_type: Text = None


class ServicesResponse(CatalogResponse):
    content: Annotated[list[Service], BeforeValidator(_mappings_only)] = _content_list_field()


class Variation(WireModel):
    variation_code: Text = None
    name: Text = None
    variation_amount: Naira = None
    fixed_price: Text = Field(default=None, alias="fixedPrice")


class VariationsContent(WireModel):
    service_name: Text = Field(default=None, alias="ServiceName")
    service_id: Text = Field(default=None, alias="serviceID")
    variations: Annotated[list[Variation], BeforeValidator(_mappings_only)] = Field(
        default_factory=list, validation_alias=AliasChoices("variations", "varations")
    )


class VariationsResponse(CatalogResponse):
    content: Annotated[VariationsContent | None, BeforeValidator(_mapping_or_none)] = (
        _content_field()
    )


# --- balance -----------------------------------------------------------------------------------


class BalanceContent(WireModel):
    balance: Naira = None


class BalanceResponse(WireModel):
    """``GET balance`` (providers.md §1.3, shape UNCONFIRMED): ``content.balance`` in naira,
    under ``content`` or ``contents``, with ``code`` seen as ``"000"`` and as ``1``."""

    code: Text = None
    content: Annotated[BalanceContent | None, BeforeValidator(_mapping_or_none)] = _content_field()


# --- webhooks ----------------------------------------------------------------------------------


class WebhookEnvelope(WireModel):
    type: Text = None
    service_id: Text = Field(default=None, alias="serviceID")
    data: Annotated[dict[str, Any] | None, BeforeValidator(_mapping_or_none)] = None

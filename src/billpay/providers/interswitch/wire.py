"""Interswitch Quickteller v5 wire shapes (providers.md §3), parsed defensively.

Keys are matched case-insensitively: the legacy v2 API answers in lower camel case
(``transactionResponseCode``), v5 in Pascal case (``TransactionResponseCode``), and the docs mix
both. Every model lower-cases the incoming keys and declares its fields as the lower-cased wire
name with underscores for readability (``response_code_grouping`` ⇐ ``ResponseCodeGrouping``).

Codes arrive as strings or numbers depending on the endpoint, so they are read as text.
Query answers URL-encode their display strings (``PBL%7CLOC%7C…``, ``PAYCENTRE%2C+PAYCENTRE``);
those fields are decoded here. Raw payloads are kept by the caller as evidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import unquote_plus

from pydantic import BaseModel, BeforeValidator, ConfigDict, model_validator


def _as_text(value: Any) -> Any:
    """Numbers become their decimal text; anything else is left for pydantic to judge."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        return value.strip()
    return value


def _url_decoded(value: Any) -> Any:
    text = _as_text(value)
    return unquote_plus(text) if isinstance(text, str) else text


Text = Annotated[str | None, BeforeValidator(_as_text)]
DecodedText = Annotated[str | None, BeforeValidator(_url_decoded)]


class WireModel(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        extra="ignore",
        alias_generator=lambda field_name: field_name.replace("_", ""),
    )

    @model_validator(mode="before")
    @classmethod
    def _lower_case_keys(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            return {str(key).lower(): value for key, value in data.items()}
        return data


# --- passport (OAuth2 keys are fixed snake case, so no case folding) -------------------------


class PassportToken(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    access_token: str
    expires_in: int
    token_type: str | None = None


# --- catalog ---------------------------------------------------------------------------------


class Category(WireModel):
    id: Text
    name: Text = None


class CategoryList(WireModel):
    """``GET /services/categories``."""

    biller_categories: list[Category] = []


class Biller(WireModel):
    id: Text
    name: Text
    short_name: Text = None
    category_id: Text = None
    category_name: Text = None
    customer_field1: Text = None


class BillerCategory(WireModel):
    id: Text = None
    name: Text = None
    # Billers are validated one by one, so one malformed biller does not hide the others.
    billers: list[dict[str, Any]] = []


class BillerListBody(WireModel):
    category: list[BillerCategory] = []
    count: int | None = None


class BillerList(WireModel):
    """``GET /services?categoryid=`` → ``{"BillerList":{"Category":[{…,"Billers":[…]}]}}``."""

    biller_list: BillerListBody = BillerListBody()


class PaymentItem(WireModel):
    id: Text = None
    name: Text = None
    payment_code: Text = None
    amount: Text = None  # kobo
    is_amount_fixed: bool = False
    biller_id: Text = None


class PaymentItems(WireModel):
    """``GET /services/options?serviceid=`` → ``{"PaymentItems":[…]}``."""

    payment_items: list[dict[str, Any]] = []


# --- customer validation ---------------------------------------------------------------------


class ValidatedCustomer(WireModel):
    payment_code: Text = None
    customer_id: Text = None
    response_code: Text = None
    response_description: Text = None
    full_name: Text = None
    amount: Text = None  # kobo
    amount_type: Text = None
    amount_type_description: Text = None


class CustomerValidationResponse(WireModel):
    customers: list[ValidatedCustomer] = []
    response_code: Text = None
    response_code_grouping: Text = None


# --- payment advice and query ----------------------------------------------------------------


class PaymentAdviceResponse(WireModel):
    """``POST /Transactions``: the codes describe the payment itself."""

    response_code: Text = None
    response_code_grouping: Text = None
    response_description: Text = None
    transaction_ref: Text = None
    recharge_pin: Text = None
    misc_data: Text = None


class TransactionQueryResponse(WireModel):
    """``GET /Transactions?requestRef=``.

    ``response_code`` reports the *query call*; ``transaction_response_code`` and
    ``response_code_grouping`` report the transaction (providers.md §3.6).
    """

    response_code: Text = None
    response_code_grouping: Text = None
    transaction_response_code: Text = None
    response_description: DecodedText = None
    status: DecodedText = None
    request_reference: DecodedText = None
    transaction_ref: DecodedText = None
    transaction_id: Text = None
    amount: Text = None  # kobo
    customer: DecodedText = None
    payment_date: DecodedText = None
    recharge_pin: DecodedText = None
    misc_data: DecodedText = None

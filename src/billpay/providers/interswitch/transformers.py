"""Pure translation between billpay's values and Interswitch Quickteller v5 (providers.md §3).

Nothing here does I/O. The rules that decide money live here, each as a small table:

* an outcome is decided on ``ResponseCodeGrouping`` (§3.6), never on a code alone;
* a transaction query is read from ``TransactionResponseCode`` + grouping, never from the query's
  own top-level ``ResponseCode`` (the documented sample pairs top-level ``90000`` with a FAILED
  transaction);
* anything unlisted, missing or unreadable is ``UNKNOWN`` (requery), never failed.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from billpay.providers.base import (
    BillType,
    CustomerValidation,
    MeterType,
    Outcome,
    ProviderName,
    ProviderPlan,
    ValidationStatus,
    VendRequest,
    VendResult,
)
from billpay.providers.interswitch.wire import (
    Biller,
    BillerList,
    Category,
    CategoryList,
    CustomerValidationResponse,
    PaymentAdviceResponse,
    PaymentItem,
    PaymentItems,
    TransactionQueryResponse,
)
from billpay.providers.tokens import Tokens, read_tokens, read_units
from billpay.redact import redact

# --- outcome classification --------------------------------------------------------------------

SUCCESS_CODES = frozenset({"90000", "90010", "90011", "90016"})

_GROUPING_OUTCOMES: Mapping[str, Outcome] = {
    "SUCCESSFUL": Outcome.SUCCEEDED,
    "SUCCESS": Outcome.SUCCEEDED,  # older docs' spelling
    "FAILED": Outcome.FAILED,
    "PENDING": Outcome.UNKNOWN,
}

# Codes that never prove a failure whatever grouping comes with them. ``10001`` is documented
# (Quickteller Appendix A, providers.md §3.6): "check to see if you have sent a duplicate request
# reference … query for the transaction". The others are inferred from the ISO-8583 pattern
# (900 + ISO code; UNCONFIRMED): "in progress", and "this reference was already used", which
# says nothing about how the first use ended.
REQUERY_CODES: Mapping[str, str] = {
    "10001": "unknown error (possibly a duplicate request reference): query the transaction",
    "90009": "request in progress",
    "90026": "duplicate record (reference already used)",
    "90094": "duplicate transmission (reference already used)",
}


# Query Transaction's "Unable to locate record" (ISO 25): Interswitch has no record of the
# reference, so the payment advice may never have arrived. NOT_FOUND — never FAILED.
NO_RECORD_CODE = "90025"


def classify(code: str | None, grouping: str | None) -> Outcome:
    """Total: every (code, grouping) pair maps to an outcome; the unlisted ones to UNKNOWN.

    The grouping decides. A code that contradicts it (a success code under FAILED, a non-success
    code under SUCCESSFUL, a "reference already used" code) leaves the answer UNKNOWN.
    """
    outcome = _GROUPING_OUTCOMES.get((grouping or "").strip().upper(), Outcome.UNKNOWN)
    if outcome is Outcome.SUCCEEDED and code not in SUCCESS_CODES:
        return Outcome.UNKNOWN
    if outcome is Outcome.FAILED and (code in SUCCESS_CODES or code in REQUERY_CODES):
        return Outcome.UNKNOWN
    return outcome


def _provider_status(code: str | None, grouping: str | None) -> str:
    return f"{code or '-'}/{grouping or '-'}"


# --- payment advice ----------------------------------------------------------------------------

_NIGERIAN_LOCAL_MOBILE = re.compile(r"0[789][01]\d{8}")
_NIGERIAN_INTERNATIONAL_MOBILE = re.compile(r"234[789][01]\d{8}")


def international_msisdn(phone: str) -> str:
    """``08056731576`` / ``+2348056731576`` → ``2348056731576`` (the form Interswitch takes)."""
    digits = re.sub(r"[\s-]", "", phone).removeprefix("+")
    if _NIGERIAN_LOCAL_MOBILE.fullmatch(digits):
        return f"234{digits[1:]}"
    if _NIGERIAN_INTERNATIONAL_MOBILE.fullmatch(digits):
        return digits
    raise ValueError("not a Nigerian mobile number")


def kobo_string(amount_kobo: int) -> str:
    """Interswitch takes amounts as kobo in a string (``"360000"`` for ₦3,600)."""
    if isinstance(amount_kobo, bool) or not isinstance(amount_kobo, int) or amount_kobo <= 0:
        raise ValueError(f"amount must be a positive whole number of kobo, got {amount_kobo!r}")
    return str(amount_kobo)


def payment_advice_body(request: VendRequest, terminal_id: str) -> dict[str, str]:
    """The ``POST /Transactions`` body, in the documented field order."""
    body = {
        "TerminalId": terminal_id,
        "paymentCode": request.product.plan_code,
        "customerId": request.customer_id,
        "customerMobile": international_msisdn(request.phone),
    }
    if request.email:
        body["customerEmail"] = request.email
    body["amount"] = kobo_string(request.amount_kobo)
    body["requestReference"] = request.reference
    return body


REFERENCE_PREFIX_LENGTH = 4
REFERENCE_RANDOM_DIGITS = 8  # prefix + 8 = 12 characters, the legacy advice limit (§3.5)


def new_request_reference(prefix: str) -> str:
    """The assigned 4-digit prefix + 8 random digits. Collisions are caught by the unique
    (provider, reference) constraint on attempts, which is written before the call."""
    if len(prefix) != REFERENCE_PREFIX_LENGTH or not _ascii_digits(prefix):
        raise ValueError(f"the Interswitch request prefix must be 4 digits, got {prefix!r}")
    suffix = secrets.randbelow(10**REFERENCE_RANDOM_DIGITS)
    return f"{prefix}{suffix:0{REFERENCE_RANDOM_DIGITS}d}"


def delivered_tokens(outcome: Outcome, recharge_pin: str | None, misc_data: str | None) -> Tokens:
    """The tokens in ``RechargePIN`` then ``MiscData`` (shorter digit runs there are phone or
    receipt numbers, "Virtual Top Up" a label), once the vend is known to have succeeded."""
    if outcome is not Outcome.SUCCEEDED:
        return Tokens()
    return read_tokens(recharge_pin, misc_data)


WireModel = TypeVar("WireModel", bound=BaseModel)


def _parse(model: type[WireModel], body: Mapping[str, Any]) -> WireModel | None:
    try:
        return model.model_validate(body)
    except ValidationError:
        return None


def unreadable_vend_result(body: Mapping[str, Any] | None, why: str) -> VendResult:
    return VendResult(
        outcome=Outcome.UNKNOWN,
        provider_status="unreadable",
        message=why,
        response=redact(body) if body is not None else None,
    )


def advice_result(body: Mapping[str, Any]) -> VendResult:
    """Classify a ``POST /Transactions`` answer (HTTP status judged by the caller)."""
    advice = _parse(PaymentAdviceResponse, body)
    if advice is None:
        return unreadable_vend_result(body, "payment advice response has an unexpected shape")
    outcome = classify(advice.response_code, advice.response_code_grouping)
    tokens = delivered_tokens(outcome, advice.recharge_pin, advice.misc_data)
    return VendResult(
        outcome=outcome,
        provider_status=_provider_status(advice.response_code, advice.response_code_grouping),
        message=_describe(advice.response_code, advice.response_description),
        provider_transaction_id=advice.transaction_ref or None,
        token=tokens.main,
        bonus_tokens=tokens.bonus,
        units=read_units(advice.misc_data, advice.recharge_pin),
        response=redact(body),
    )


def query_result(body: Mapping[str, Any], expected_amount_kobo: int) -> VendResult:
    """Classify a ``GET /Transactions?requestRef=`` answer.

    Without a ``TransactionResponseCode`` the query did not find (or did not describe) the
    transaction, so whatever grouping came with it is about the query call: UNKNOWN. An amount
    other than ours means the reference names someone else's transaction: UNKNOWN too.
    """
    query = _parse(TransactionQueryResponse, body)
    if query is None:
        return unreadable_vend_result(body, "transaction query response has an unexpected shape")
    code, grouping = query.transaction_response_code, query.response_code_grouping
    if NO_RECORD_CODE in (code, query.response_code) and code in (None, NO_RECORD_CODE):
        return VendResult(
            outcome=Outcome.NOT_FOUND,
            provider_status=_provider_status(NO_RECORD_CODE, grouping),
            message=_describe(NO_RECORD_CODE, query.response_description or "no such record"),
            response=redact(body),
        )
    outcome = classify(code, grouping) if code else Outcome.UNKNOWN
    message = _describe(code or query.response_code, query.response_description or query.status)
    queried_amount = _kobo_or_none(query.amount)
    if queried_amount is not None and queried_amount != expected_amount_kobo:
        outcome = Outcome.UNKNOWN
        message = (
            f"queried transaction is for {queried_amount} kobo, not {expected_amount_kobo}: "
            "the reference may name another transaction"
        )
    tokens = delivered_tokens(outcome, query.recharge_pin, query.misc_data)
    return VendResult(
        outcome=outcome,
        provider_status=_provider_status(code, grouping),
        message=message,
        provider_transaction_id=query.transaction_ref or query.transaction_id or None,
        token=tokens.main,
        bonus_tokens=tokens.bonus,
        units=read_units(query.misc_data, query.recharge_pin),
        response=redact(body),
    )


def _describe(code: str | None, description: str | None) -> str:
    if code is not None and code in REQUERY_CODES:
        return f"{code}: {REQUERY_CODES[code]}"
    return " ".join(part for part in (code, description) if part)


def _kobo_or_none(text: str | None) -> int | None:
    return int(text) if text and _ascii_digits(text) else None


# --- customer validation -----------------------------------------------------------------------


def validate_customers_body(
    payment_code: str, customer_id: str, terminal_id: str
) -> dict[str, Any]:
    return {
        "customers": [{"PaymentCode": payment_code, "CustomerId": customer_id}],
        "TerminalId": terminal_id,
    }


VALID_CODE = "90000"

# Per-customer codes that describe the biller's health, not the customer (ISO-8583 inference,
# providers.md §3.6): "in progress", "issuer or switch inoperative", "system malfunction".
_OUTAGE_CODES = frozenset({"90009", "90091", "90096"})
# 1xxxx/2xxxx are the documented partner-setup and request errors (unauthorized, wrong
# terminal, …): our configuration is at fault, so they say nothing about the customer.
_PLATFORM_CODE = re.compile(r"[12]\d{4}")

AmountLimits = Callable[[int], tuple[int | None, int | None]]

# AmountType → (description, (min_kobo, max_kobo) for the biller's Amount). Only 0 ("any
# amount") is in the stored docs; 1–5 follow the legacy Quickteller SVA table and the doc
# example ("amount":"1500000","amountType":"5") — UNCONFIRMED (providers.md §7). An AmountType
# not listed here constrains nothing; the raw answer is kept for a human.
AMOUNT_TYPES: Mapping[str, tuple[str, AmountLimits]] = {
    "0": ("any amount", lambda amount: (None, None)),
    "1": ("at least", lambda amount: (amount, None)),
    "2": ("more than", lambda amount: (amount + 1, None)),
    "3": ("at most", lambda amount: (None, amount)),
    "4": ("less than", lambda amount: (None, amount - 1)),
    "5": ("exactly", lambda amount: (amount, amount)),
}


def amount_limits(
    amount_type: str | None, amount_kobo: int | None
) -> tuple[int | None, int | None, str]:
    """(min_kobo, max_kobo, note) implied by a validated customer's AmountType and Amount."""
    if amount_type is None:
        return None, None, ""
    rule = AMOUNT_TYPES.get(amount_type)
    if rule is None:
        return None, None, f"AmountType {amount_type} is not recognised; no amount limit applied"
    description, limits = rule
    if not amount_kobo or amount_kobo <= 0:
        return None, None, ""
    low, high = limits(amount_kobo)
    return low, high, f"amount {description} {amount_kobo} kobo"


def customer_validation(body: Mapping[str, Any]) -> CustomerValidation:
    """VALID only when the call *and* the customer say 90000; INVALID only when the biller
    answered about this customer with another code; everything else (outages, our own
    configuration errors, unreadable answers) is UNAVAILABLE — never a verdict on the customer."""
    parsed = _parse(CustomerValidationResponse, body)
    raw = redact(body)
    if parsed is None or not parsed.customers:
        return unavailable_validation("customer validation response has an unexpected shape", raw)
    if parsed.response_code and _PLATFORM_CODE.fullmatch(parsed.response_code):
        return unavailable_validation(_describe(parsed.response_code, "request rejected"), raw)
    customer = parsed.customers[0]
    if customer.response_code is None or customer.response_code in _OUTAGE_CODES:
        return unavailable_validation(_describe(customer.response_code, "biller unavailable"), raw)
    if customer.response_code != VALID_CODE:
        return CustomerValidation(
            status=ValidationStatus.INVALID,
            message=_describe(customer.response_code, customer.response_description),
            raw=raw,
        )
    if parsed.response_code != VALID_CODE:
        return unavailable_validation(
            _describe(parsed.response_code, "validation call failed"), raw
        )
    min_kobo, max_kobo, note = amount_limits(customer.amount_type, _kobo_or_none(customer.amount))
    return CustomerValidation(
        status=ValidationStatus.VALID,
        customer_name=customer.full_name or None,
        message=note,
        min_kobo=min_kobo,
        max_kobo=max_kobo,
        raw=raw,
    )


def unavailable_validation(
    message: str, raw: Mapping[str, Any] | None = None
) -> CustomerValidation:
    return CustomerValidation(status=ValidationStatus.UNAVAILABLE, message=message, raw=raw or {})


# --- catalog -----------------------------------------------------------------------------------

# Category names → bill type, first match wins ("Mobile Data" is data before it is mobile).
_CATEGORY_BILL_TYPES: tuple[tuple[re.Pattern[str], BillType], ...] = (
    (re.compile(r"betting|gaming|lotter|lotto"), BillType.BETTING),
    (re.compile(r"cable|\btv\b|television"), BillType.CABLE_TV),
    (re.compile(r"\bdata\b"), BillType.DATA),
    (re.compile(r"airtime|recharge|top ?up|mobile"), BillType.AIRTIME),
    (re.compile(r"electric|utilit|power"), BillType.ELECTRICITY),
)
# Airtime categories also hold data billers; utility categories also hold water and waste.
_DATA_PRODUCT = re.compile(r"\bdata\b|bundle|\d+\s*[mg]b\b")
_ELECTRICITY_PRODUCT = re.compile(r"electric|edc|disco|power|prepaid|postpaid|energy")
_VALIDITY_DAYS = re.compile(r"(\d+)\s*-?\s*days?\b")
_VALIDITY_WORDS: Mapping[str, int] = {"daily": 1, "weekly": 7, "monthly": 30}


def category_bill_type(category_name: str | None) -> BillType | None:
    name = (category_name or "").lower()
    return next(
        (bill_type for pattern, bill_type in _CATEGORY_BILL_TYPES if pattern.search(name)), None
    )


def bill_type_for(category_name: str | None, product_name: str) -> BillType | None:
    """The bill type of a biller or payment item (``product_name``: biller + item names)."""
    bill_type = category_bill_type(category_name)
    product = product_name.lower()
    if bill_type is BillType.AIRTIME and _DATA_PRODUCT.search(product):
        return BillType.DATA
    if bill_type is BillType.ELECTRICITY and not _ELECTRICITY_PRODUCT.search(product):
        return None
    return bill_type


def meter_type_for(product_name: str) -> MeterType | None:
    product = product_name.lower()
    if "postpaid" in product:
        return MeterType.POSTPAID
    if "prepaid" in product:
        return MeterType.PREPAID
    return None


def validity_days_for(item_name: str) -> int | None:
    name = item_name.lower()
    if match := _VALIDITY_DAYS.search(name):
        return int(match.group(1))
    return next((days for word, days in _VALIDITY_WORDS.items() if word in name), None)


def parse_categories(body: Mapping[str, Any]) -> list[Category]:
    parsed = _parse(CategoryList, body)
    return [category for category in parsed.biller_categories if category.id] if parsed else []


def parse_billers(body: Mapping[str, Any]) -> list[Biller]:
    """Billers of a ``BillerList`` envelope, each knowing its category name."""
    parsed = _parse(BillerList, body)
    if parsed is None:
        return []
    billers = []
    for category in parsed.biller_list.category:
        for raw in category.billers:
            biller = _parse(Biller, raw)
            if biller is None or not biller.id or not biller.name:
                continue
            billers.append(
                biller.model_copy(
                    update={
                        "category_id": biller.category_id or category.id,
                        "category_name": biller.category_name or category.name,
                    }
                )
            )
    return billers


def sells_bills(biller: Biller) -> bool:
    return bill_type_for(biller.category_name, biller.name or "") is not None


def parse_payment_items(body: Mapping[str, Any]) -> list[tuple[PaymentItem, Mapping[str, Any]]]:
    """Readable payment items with a payment code, each with its raw wire form."""
    parsed = _parse(PaymentItems, body)
    if parsed is None:
        return []
    items: list[tuple[PaymentItem, Mapping[str, Any]]] = []
    for raw in parsed.payment_items:
        item = _parse(PaymentItem, raw)
        if item is not None and item.payment_code:
            items.append((item, raw))
    return items


def plans_for_biller(
    biller: Biller, items: Iterable[tuple[PaymentItem, Mapping[str, Any]]]
) -> list[ProviderPlan]:
    return [plan for item, raw in items if (plan := _plan(biller, item, raw)) is not None]


def _plan(biller: Biller, item: PaymentItem, raw: Mapping[str, Any]) -> ProviderPlan | None:
    biller_name = biller.name or ""
    item_name = item.name or biller_name
    product_name = f"{biller_name} {item_name}"
    bill_type = bill_type_for(biller.category_name, product_name)
    amount_kobo = _kobo_or_none(item.amount)
    if bill_type is None or (item.is_amount_fixed and not amount_kobo):
        return None  # not a bill we sell, or a fixed price we cannot read
    return ProviderPlan(
        provider=ProviderName.INTERSWITCH,
        bill_type=bill_type,
        biller_code=biller.id or "",
        biller_name=biller_name,
        plan_code=item.payment_code or "",
        name=item_name,
        price_kobo=amount_kobo if item.is_amount_fixed else None,
        validity_days=validity_days_for(item_name) if bill_type is BillType.DATA else None,
        meter_type=meter_type_for(product_name) if bill_type is BillType.ELECTRICITY else None,
        raw=dict(raw),
    )


def _ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()

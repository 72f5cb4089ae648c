"""Pure translations between billpay's values and Flutterwave's wire (providers.md §0, §2, §6).

No I/O here: the connector makes the calls and hands each ``HttpAnswer`` to these functions.
The rules that matter:

- a 5xx, a timeout or an unreadable body after a create is ``UNKNOWN`` (Flutterwave is publicly
  reported to have debited and delivered bills that answered 5xx);
- only an explicit ``status: "error"`` with a 4xx on create is ``FAILED``, and not when it says
  the reference was already used (the earlier request under it may have vended);
- the status lookup is ``FAILED`` only when it says ``failed``; absent, pending, unknown or
  "not found" are ``UNKNOWN``. "Not found" is deliberately not ``NOT_FOUND`` (which allows a
  resend): the docs do not say the lookup accepts our own reference (providers.md §2.5, a
  public report of exactly this failing), so "not found" does not show that the purchase never
  arrived, and resending on it would rest on a duplicate-reference guard the docs never define;
- a validation outage is ``UNAVAILABLE``, never ``INVALID``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from billpay.money import (
    InexactAmountError,
    kobo_to_naira_number,
    naira_floor_kobo,
    naira_to_kobo,
)
from billpay.providers.base import (
    BillType,
    CustomerValidation,
    MeterType,
    Outcome,
    ProviderError,
    ProviderName,
    ProviderPlan,
    ValidationStatus,
    VendRequest,
    VendResult,
)
from billpay.providers.flutterwave.wire import (
    COUNTRY,
    ERROR,
    SUCCESS,
    Balance,
    BillCategory,
    Biller,
    BillItem,
    BillStatusData,
    Envelope,
    HttpAnswer,
    PaymentData,
    ValidationData,
)
from billpay.providers.tokens import Tokens, read_tokens, read_units
from billpay.redact import mask_text, redact

# The top-level categories billpay sells. The betting category's code is not in the public
# category list (providers.md §2.2 ends with "..."), so it is named here as the sandbox names it.
CATEGORY_BILL_TYPES: Mapping[str, BillType] = {
    "AIRTIME": BillType.AIRTIME,
    "MOBILEDATA": BillType.DATA,
    "CABLEBILLS": BillType.CABLE_TV,
    "UTILITYBILLS": BillType.ELECTRICITY,
    "BETTING": BillType.BETTING,
}

# Lookup ``data.status`` → outcome. Total: anything else, or no status at all, is UNKNOWN.
LOOKUP_STATUS_OUTCOMES: Mapping[str, Outcome] = {
    "successful": Outcome.SUCCEEDED,
    "success": Outcome.SUCCEEDED,
    "failed": Outcome.FAILED,
}

# Which field names Flutterwave's own id, in the order we trust them. The current create and the
# status lookup put the lookup id ("CF-FLYAPI-…") in ``tx_ref``; the legacy create puts it in
# ``flw_ref`` (providers.md §2.4, the naming inversion). So no field is assumed to be "theirs":
# the first one present that is not our own reference is taken, and the raw answer is kept.
PROVIDER_ID_FIELDS = ("tx_ref", "flw_ref", "reference")

# 4xx answers that do not prove nothing was charged: a request timeout, a conflict, and any
# message saying the reference is already taken.
_AMBIGUOUS_CLIENT_STATUSES = frozenset({408, 409})
_REFERENCE_TAKEN = re.compile(r"duplicate|already (?:exist|been|used|processed)", re.IGNORECASE)
_NOT_FOUND = re.compile(r"not (?:be )?found|no transaction", re.IGNORECASE)
# Our own credentials, rate limits or timeouts being refused say nothing about the customer.
_VALIDATION_OUTAGE_STATUSES = frozenset({401, 403, 408, 409, 429})
_RAW_TEXT_LIMIT = 2_000

ModelT = TypeVar("ModelT", bound=BaseModel)


@dataclass(frozen=True)
class Reply(Generic[ModelT]):
    """An answer's envelope with ``data`` read as one model (None when it does not fit)."""

    status: str | None
    message: str
    data: ModelT | None


# --- catalog -----------------------------------------------------------------------------------


def listed(answer: HttpAnswer, what: str) -> list[Mapping[str, Any]]:
    """The ``data`` list of a successful catalog answer. Anything else is a catalog outage."""
    envelope = _envelope(answer)
    if envelope is None or not answer.is_ok or envelope.status != SUCCESS:
        raise ProviderError(f"Flutterwave {what}: {_status_text(answer, envelope)}")
    if not isinstance(envelope.data, list):
        raise ProviderError(f"Flutterwave {what}: data is not a list")
    return [entry for entry in envelope.data if isinstance(entry, Mapping)]


def parsed(model: type[ModelT], entries: Sequence[Mapping[str, Any]]) -> list[ModelT]:
    """Entries that fit ``model``; a malformed entry is left out rather than sinking the list."""
    return [item for item in (_fit(model, entry) for entry in entries) if item is not None]


def balance_kobo(answer: HttpAnswer) -> int:
    """The naira wallet's available balance; anything else is an unreadable balance."""
    reply = _reply(answer, Balance)
    if reply is None or not answer.is_ok or reply.status != SUCCESS or reply.data is None:
        raise ProviderError(f"Flutterwave balance: {_status_text(answer, _envelope(answer))}")
    return naira_floor_kobo(reply.data.available_balance)


def bill_type_for_category(category: BillCategory) -> BillType | None:
    return CATEGORY_BILL_TYPES.get(category.code.upper())


def plans_for_biller(
    bill_type: BillType, biller: Biller, raw_items: Sequence[Mapping[str, Any]]
) -> list[ProviderPlan]:
    """One biller's items as plans in kobo, each with its raw item; unsellable ones left out."""
    plans = (_plan(bill_type, biller, raw) for raw in raw_items)
    return [plan for plan in plans if plan is not None]


def _plan(bill_type: BillType, biller: Biller, raw: Mapping[str, Any]) -> ProviderPlan | None:
    item = _fit(BillItem, raw)
    if item is None:
        return None
    meter_type = meter_type_of(item)
    # UTILITYBILLS also holds water and waste bills: only prepaid/postpaid power is electricity.
    if bill_type is BillType.ELECTRICITY and meter_type is None:
        return None
    try:
        price_kobo = naira_to_kobo(item.amount) if item.amount > 0 else None
    except InexactAmountError:
        return None  # a price in fractions of a kobo cannot be charged exactly
    return ProviderPlan(
        provider=ProviderName.FLUTTERWAVE,
        bill_type=bill_type,
        biller_code=item.biller_code,
        biller_name=biller.name,
        plan_code=item.item_code,
        name=item.name,
        price_kobo=price_kobo,
        validity_days=_validity_days(item.validity_period),
        meter_type=meter_type if bill_type is BillType.ELECTRICITY else None,
        raw=raw,
    )


def meter_type_of(item: BillItem) -> MeterType | None:
    label = " ".join(filter(None, (item.name, item.short_name, item.biller_name))).upper()
    # "POSTPAID" first, and as a substring: Flutterwave's own Eko item is "EKO PPOSTPAID".
    if "POSTPAID" in label:
        return MeterType.POSTPAID
    if "PREPAID" in label:
        return MeterType.PREPAID
    return None


def _validity_days(period: str | None) -> int | None:
    digits = re.match(r"\s*(\d+)", period or "")
    days = int(digits.group(1)) if digits else 0
    return days or None


# --- validate ----------------------------------------------------------------------------------


def validation_result(answer: HttpAnswer) -> CustomerValidation:
    reply = _reply(answer, ValidationData)
    raw = _evidence(answer)
    if reply and answer.is_ok and reply.status == SUCCESS and reply.data:
        return _valid_customer(reply.data, reply.message, raw)
    refused = (
        reply is not None
        and reply.status == ERROR
        and answer.is_client_error
        and answer.http_status not in _VALIDATION_OUTAGE_STATUSES
    )
    return CustomerValidation(
        status=ValidationStatus.INVALID if refused else ValidationStatus.UNAVAILABLE,
        message=reply.message if reply else _no_answer_message(answer),
        raw=raw,
    )


def _valid_customer(
    data: ValidationData, message: str, raw: Mapping[str, Any]
) -> CustomerValidation:
    return CustomerValidation(
        status=ValidationStatus.VALID,
        customer_name=data.name,
        address=data.address,
        message=message,
        min_kobo=_limit_kobo(data.minimum),
        max_kobo=_limit_kobo(data.maximum),
        raw=raw,
    )


def _limit_kobo(naira: Decimal | None) -> int | None:
    if naira is None or naira <= 0:
        return None  # Flutterwave reports "no limit" as 0
    try:
        return naira_to_kobo(naira)
    except InexactAmountError:
        return None


# --- create ------------------------------------------------------------------------------------


def create_body(request: VendRequest, callback_url: str | None) -> dict[str, Any]:
    """``POST /v3/billers/{biller}/items/{item}/payment``. ``reference`` is always sent."""
    body: dict[str, Any] = {
        "country": COUNTRY,
        "customer_id": request.customer_id,
        "amount": kobo_to_naira_number(request.amount_kobo),
        "reference": request.reference,
    }
    if callback_url:
        body["callback_url"] = callback_url
    return body


def legacy_create_body(request: VendRequest, item: BillItem) -> dict[str, Any]:
    """``POST /v3/bills``, where an item is named by its legacy ``type`` and name, not its codes.

    ``type`` is the item's ``biller_name`` ("AIRTIME", "DSTV", …), as the legacy bill-categories
    list gives it; ``biller_name`` is the item's name (UNCONFIRMED which one the API keys on).
    """
    return {
        "country": COUNTRY,
        "customer": request.customer_id,
        "amount": kobo_to_naira_number(request.amount_kobo),
        "recurrence": "ONCE",
        "type": item.biller_name,
        "reference": request.reference,
        "biller_name": item.name,
    }


def create_result(answer: HttpAnswer, request: Mapping[str, Any], reference: str) -> VendResult:
    reply = _reply(answer, PaymentData)
    if reply is None or answer.is_server_error:
        outcome = Outcome.UNKNOWN
    elif answer.is_ok and reply.status == SUCCESS:
        outcome = Outcome.SUCCEEDED
    elif _definite_refusal(answer, reply):
        outcome = Outcome.FAILED
    else:
        outcome = Outcome.UNKNOWN
    return _vend_result(outcome, answer, request, reply, reference)


def _definite_refusal(answer: HttpAnswer, reply: Reply[Any]) -> bool:
    return (
        reply.status == ERROR
        and answer.is_client_error
        and answer.http_status not in _AMBIGUOUS_CLIENT_STATUSES
        and not _REFERENCE_TAKEN.search(reply.message)
    )


# --- status lookup -----------------------------------------------------------------------------


def lookup_result(answer: HttpAnswer, request: Mapping[str, Any], reference: str) -> VendResult:
    reply = _reply(answer, BillStatusData)
    data = reply.data if reply and answer.is_ok and reply.status == SUCCESS else None
    if reply and answer.is_client_error and _NOT_FOUND.search(reply.message):
        note = "lookup by our reference is unconfirmed: not found is not proof of failure"
        return _vend_result(
            Outcome.UNKNOWN, answer, request, reply, reference, f"{reply.message} ({note})"
        )
    if data is None or data.customer_reference not in (None, reference):
        # No usable record, or a record of someone else's purchase: nothing is proven about ours.
        return _vend_result(Outcome.UNKNOWN, answer, request, reply, reference)
    outcome = LOOKUP_STATUS_OUTCOMES.get((data.status or "").strip().lower(), Outcome.UNKNOWN)
    return _vend_result(outcome, answer, request, reply, reference)


# --- shared ------------------------------------------------------------------------------------


def _vend_result(
    outcome: Outcome,
    answer: HttpAnswer,
    request: Mapping[str, Any],
    reply: Reply[Any] | None,
    reference: str,
    message: str | None = None,
) -> VendResult:
    data = reply.data if reply else None
    tokens = _tokens(data) if outcome is Outcome.SUCCEEDED else Tokens()
    return VendResult(
        outcome=outcome,
        provider_status=_provider_status(answer, reply),
        message=message or (reply.message if reply else _no_answer_message(answer)),
        provider_transaction_id=provider_transaction_id(data, reference),
        token=tokens.main,
        bonus_tokens=tokens.bonus,
        units=_units(data) if outcome is Outcome.SUCCEEDED else None,
        sent=answer.failure != "connect-error",
        http_status=answer.http_status,
        request=redact(request),
        response=redact(answer.body) if answer.body is not None else None,
        raw_text=answer.text,
    )


def provider_transaction_id(data: object, reference: str) -> str | None:
    for field in PROVIDER_ID_FIELDS:
        value = getattr(data, field, None)
        if value and value != reference:
            return str(value)
    return None


def _tokens(data: object) -> Tokens:
    """``recharge_token`` (create, providers.md §2.4), then ``extra`` (where a lookup carries the
    token is UNCONFIRMED; ``extra`` is the documented candidate), labels stripped."""
    extra = getattr(data, "extra", None)
    extra_texts = (
        (_text_or_none(extra.get("recharge_token")), _text_or_none(extra.get("token")))
        if isinstance(extra, Mapping)
        else ()
    )
    return read_tokens(getattr(data, "recharge_token", None), *extra_texts)


def _units(data: object) -> str | None:
    extra = getattr(data, "extra", None)
    return read_units(extra.get("units")) if isinstance(extra, Mapping) else None


def _text_or_none(value: object) -> str | None:
    return str(value) if isinstance(value, str | int) and not isinstance(value, bool) else None


def _provider_status(answer: HttpAnswer, reply: Reply[Any] | None) -> str:
    """``"200/success"`` on create, ``"200/success/pending"`` on a lookup, ``"timeout"``, …"""
    if answer.failure:
        return answer.failure
    parts = [str(answer.http_status), (reply.status if reply else None) or "unreadable"]
    if reply is not None and isinstance(reply.data, BillStatusData):
        parts.append(reply.data.status or "no-status")
    return "/".join(parts)


def _no_answer_message(answer: HttpAnswer) -> str:
    if answer.failure:
        return f"no answer from Flutterwave ({answer.failure})"
    return f"unreadable answer from Flutterwave (HTTP {answer.http_status})"


def _status_text(answer: HttpAnswer, envelope: Envelope | None) -> str:
    if envelope is None:
        return _no_answer_message(answer)
    return f"HTTP {answer.http_status}, {envelope.status}: {envelope.message}"


def _envelope(answer: HttpAnswer) -> Envelope | None:
    return _fit(Envelope, answer.body) if answer.body is not None else None


def _reply(answer: HttpAnswer, data_model: type[ModelT]) -> Reply[ModelT] | None:
    """The envelope with ``data`` read as ``data_model``, or None when there is no envelope.

    ``data`` that does not fit (null, a list, an odd shape) becomes None instead of making the
    whole answer unreadable: its status and message still count.
    """
    envelope = _envelope(answer)
    if envelope is None:
        return None
    data = _fit(data_model, envelope.data) if isinstance(envelope.data, Mapping) else None
    return Reply(status=envelope.status, message=envelope.message, data=data)


def _fit(model: type[ModelT], value: Any) -> ModelT | None:
    try:
        return model.model_validate(value)
    except ValidationError:
        return None


def _evidence(answer: HttpAnswer) -> Mapping[str, Any]:
    if answer.body is not None:
        evidence: Mapping[str, Any] = redact(answer.body)
        return evidence
    return {"http_status": answer.http_status, "failure": answer.failure, "text": answer.text}


def readable_text(content: bytes) -> str:
    """A non-JSON body kept as evidence: truncated, with token-like digit runs masked."""
    return mask_text(content[:_RAW_TEXT_LIMIT].decode("utf-8", errors="replace"))

"""Pure VTpass transformers: billpay values → request bodies, VTpass answers → billpay values.

No I/O here. The classification follows providers.md §1.7–1.8 to the letter: ``000`` is not
success by itself, only ``000`` + ``delivered`` is; every code or status the docs do not list
is UNKNOWN (requery), never FAILED.
"""

from __future__ import annotations

import json
import re
import secrets
import string
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final, TypeVar
from zoneinfo import ZoneInfo

from pydantic import ValidationError

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
    ProviderProduct,
    SubscriptionType,
    ValidationStatus,
    VendRequest,
    VendResult,
)
from billpay.providers.tokens import Tokens, read_tokens, read_units
from billpay.providers.vtpass import wire
from billpay.redact import redact

LAGOS: Final = ZoneInfo("Africa/Lagos")

# --- request ids -------------------------------------------------------------------------------

REQUEST_ID_STAMP_FORMAT: Final = "%Y%m%d%H%M"
_SUFFIX_FIRST = string.ascii_letters
_SUFFIX_REST = string.ascii_letters + string.digits
REQUEST_ID_SUFFIX_LENGTH: Final = 12


def lagos_stamp(now: datetime) -> str:
    """``YYYYMMDDHHmm`` in Africa/Lagos, the prefix VTpass demands (providers.md §1.6)."""
    if now.tzinfo is None:
        raise ValueError("a request_id needs an aware datetime; naive times hide the timezone bug")
    return now.astimezone(LAGOS).strftime(REQUEST_ID_STAMP_FORMAT)


def new_request_id(now: datetime) -> str:
    """A fresh VTpass request_id: the Lagos stamp plus a random alphanumeric suffix.

    The suffix starts with a letter so the stamp's 12 digits never run into suffix digits:
    a 16+ digit run would look like an electricity token to ``redact()`` and be masked.
    """
    suffix = secrets.choice(_SUFFIX_FIRST) + "".join(
        secrets.choice(_SUFFIX_REST) for _ in range(REQUEST_ID_SUFFIX_LENGTH - 1)
    )
    return lagos_stamp(now) + suffix


# --- request bodies ----------------------------------------------------------------------------

JsonBody = dict[str, str | int | Decimal]


class UnsellableProduct(ValueError):
    """A product VTpass cannot be asked to sell: nothing is sent, so the outcome is definite."""


def purchase_body(request: VendRequest) -> JsonBody:
    """The ``POST pay`` body. The amount becomes naira here and nowhere else."""
    product = request.product
    body: JsonBody = {
        "request_id": request.reference,
        "serviceID": product.biller_code,
        "amount": kobo_to_naira_number(request.amount_kobo),
    }
    if product.bill_type is BillType.AIRTIME:
        body["phone"] = request.customer_id  # for airtime, ``phone`` is the number topped up
        return body
    body["billersCode"] = request.customer_id
    body["phone"] = request.phone
    if product.bill_type is BillType.DATA:
        body["variation_code"] = product.plan_code
    elif product.bill_type is BillType.CABLE_TV:
        _tv_subscription(body, request)
    elif product.bill_type is BillType.ELECTRICITY:
        body["variation_code"] = _meter_type(product).value
    else:
        raise UnsellableProduct(f"VTpass does not sell {product.bill_type.value}")
    return body


def _tv_subscription(body: JsonBody, request: VendRequest) -> None:
    """DStv/GOtv (providers.md §1.5): a renewal names no bouquet and is sent the renewal amount
    merchant-verify quoted (VTpass tops up with whatever it is sent); a change names the new
    bouquet's variation code, at its price."""
    subscription = request.subscription_type or SubscriptionType.CHANGE
    body["subscription_type"] = subscription.value
    if subscription is SubscriptionType.CHANGE:
        body["variation_code"] = request.product.plan_code


def _meter_type(product: ProviderProduct) -> MeterType:
    # VTpass wants "prepaid"/"postpaid" here, never "ikeja-electric-prepaid" (providers.md §1.4).
    if product.meter_type is None:
        raise UnsellableProduct(f"electricity product {product.plan_code!r} has no meter type")
    return product.meter_type


def requery_body(reference: str) -> JsonBody:
    return {"request_id": reference}


def verify_body(product: ProviderProduct, customer_id: str) -> JsonBody:
    body: JsonBody = {"billersCode": customer_id, "serviceID": product.biller_code}
    if product.bill_type is BillType.ELECTRICITY:
        body["type"] = _meter_type(product).value
    return body


def encode_json(body: JsonBody) -> bytes:
    """A flat body as JSON, Decimals written digit for digit as JSON numbers.

    ``json.dumps`` cannot write a Decimal as a number, and going through float would put a
    binary fraction between the ledger and the wire.
    """
    members = (
        f"{json.dumps(key)}:{value if isinstance(value, Decimal) else json.dumps(value)}"
        for key, value in body.items()
    )
    return ("{" + ",".join(members) + "}").encode()


def evidence(body: JsonBody) -> dict[str, Any]:
    """A body as stored on the attempt: masked, and JSON-storable (Decimal → its exact text)."""
    plain = {key: str(val) if isinstance(val, Decimal) else val for key, val in body.items()}
    masked: dict[str, Any] = redact(plain)
    return masked


# --- purchase classification -------------------------------------------------------------------

SUCCESS_CODE: Final = "000"
QUERY_CODE: Final = "001"  # "transaction query": read the inner status
REVERSAL_CODE: Final = "040"
UNKNOWN_REQUEST_ID_CODE: Final = "015"
# "Processing", "request id already used", "resolved, contact us", "system error": requery.
AMBIGUOUS_CODES: Final = frozenset({"099", "014", "044", "083", "089"})
TRANSACTION_FAILED_CODES: Final = frozenset({"016", "091"})
# Input, product and merchant-account refusals: the purchase was refused before any charge.
REQUEST_REFUSED_CODES: Final = frozenset(
    {"010", "011", "012", "013", "017", "018", "019", "020"}
    | {"021", "022", "023", "024", "025", "026", "030", "087"}
)
FAILED_CODES: Final = TRANSACTION_FAILED_CODES | REQUEST_REFUSED_CODES

# Total by construction: ``status_outcome`` sends every other value to UNKNOWN (§1.8).
STATUS_OUTCOMES: Final[Mapping[str, tuple[Outcome, bool]]] = {
    "delivered": (Outcome.SUCCEEDED, False),
    "initiated": (Outcome.UNKNOWN, False),
    "pending": (Outcome.UNKNOWN, False),
    "failed": (Outcome.FAILED, False),
    "reversed": (Outcome.FAILED, True),
}


def status_outcome(status: str | None) -> tuple[Outcome, bool]:
    """``content.transactions.status`` → (outcome, reversed). Unknown or missing → UNKNOWN."""
    if status is None:
        return Outcome.UNKNOWN, False
    return STATUS_OUTCOMES.get(status.strip().lower(), (Outcome.UNKNOWN, False))


def code_outcome(code: str | None, status: str | None) -> tuple[Outcome, bool]:
    """The outcome a purchase answer's ``code`` and inner ``status`` prove, and reversal."""
    if code == SUCCESS_CODE:
        return status_outcome(status)
    if code == QUERY_CODE:
        outcome, reversed_ = status_outcome(status)
        # Success is proven only by the documented pair 000 + delivered; anything else
        # claiming delivery is requeried until VTpass says it that way.
        return (Outcome.UNKNOWN, False) if outcome is Outcome.SUCCEEDED else (outcome, reversed_)
    if code == REVERSAL_CODE:
        return Outcome.FAILED, True
    if code in FAILED_CODES:
        return Outcome.FAILED, False
    # AMBIGUOUS_CODES, and every code the docs do not list, mean "ask again" (§1.7).
    return Outcome.UNKNOWN, False


def requery_code_outcome(code: str | None, status: str | None) -> tuple[Outcome, bool]:
    """As ``code_outcome``, except for answers that are about the requery call itself.

    ``015`` (request_id never seen, providers.md §1.6) is NOT_FOUND: the purchase may never
    have arrived, or may not have been recorded yet, so it is never a failure. A refused
    requery (credentials, arguments, ...) says nothing about the purchase: requery again.
    """
    if code == UNKNOWN_REQUEST_ID_CODE:
        return Outcome.NOT_FOUND, False
    if code in REQUEST_REFUSED_CODES:
        return Outcome.UNKNOWN, False
    return code_outcome(code, status)


OutcomeRule = Callable[[str | None, str | None], tuple[Outcome, bool]]


def classify_purchase(http_status: int | None, body: Any) -> VendResult:
    """A ``pay`` answer → VendResult. ``http_status=None`` means no answer at all."""
    return _classify(http_status, body, code_outcome)


def classify_requery(http_status: int | None, body: Any) -> VendResult:
    return _classify(http_status, body, requery_code_outcome)


def _classify(http_status: int | None, body: Any, rule: OutcomeRule) -> VendResult:
    if http_status is None:
        return _unknown("no_answer", "no answer from VTpass")
    if http_status >= 500:
        return _unknown(f"http_{http_status}", f"VTpass answered HTTP {http_status}")
    response = parse_purchase(body)
    if response is None:
        return _unknown("unreadable", "VTpass answered something that is not a purchase answer")
    return _result(response, rule)


def parse_purchase(body: Any) -> wire.PurchaseResponse | None:
    """A purchase-shaped answer, or None. Every wire field is lenient; the except is a guard
    at the trust boundary, so a future stricter field degrades to UNKNOWN, not to a crash."""
    if not isinstance(body, Mapping):
        return None
    try:
        return wire.PurchaseResponse.model_validate(body)
    except ValidationError:
        return None


def _result(response: wire.PurchaseResponse, rule: OutcomeRule) -> VendResult:
    outcome, reversed_ = rule(response.code, response.status)
    tokens = electricity_tokens(response)
    return VendResult(
        outcome=outcome,
        provider_status=_provider_status(response.code, response.status),
        message=response.response_description or "",
        provider_transaction_id=response.provider_transaction_id,
        token=tokens.main,
        bonus_tokens=tokens.bonus,
        units=electricity_units(response),
        reversed=reversed_,
    )


def _provider_status(code: str | None, status: str | None) -> str:
    """``"000/delivered"``, ``"016"``, or ``"no_code"`` when VTpass gave none."""
    head = code or "no_code"
    return f"{head}/{status}" if status else head


def _unknown(status: str, message: str) -> VendResult:
    return VendResult(outcome=Outcome.UNKNOWN, provider_status=status, message=message)


# --- electricity tokens ------------------------------------------------------------------------


def electricity_tokens(response: wire.PurchaseResponse) -> Tokens:
    """``mainToken``, then ``token``, then ``Token``, then ``purchased_code`` (providers.md §1.5),
    labels stripped (IKEDC writes ``"Token : 2636…"`` in ``token``); ``bonusToken`` and any
    ``Bonus Token :`` in ``purchased_code`` are kept as bonus tokens."""
    return read_tokens(
        response.main_token,
        response.token_lower,
        response.token_capital,
        response.purchased_code,
        bonus_texts=(response.bonus_token,),
    )


def electricity_units(response: wire.PurchaseResponse) -> str | None:
    return read_units(response.units_lower, response.units_capital, response.main_token_units)


# --- customer verification ---------------------------------------------------------------------

VERIFIED_CODES: Final = frozenset({"000", "020"})
# "invalid arguments" and "product does not exist": this customer cannot be paid as asked.
# Everything else (credentials, biller unreachable, 5xx, undocumented codes) is an outage.
CUSTOMER_REJECTED_CODES: Final = frozenset({"011", "012"})


def balance_kobo(http_status: int | None, body: Any) -> int:
    """The wallet balance of a ``GET balance`` answer; ``ProviderError`` when it holds none.

    The shape is UNCONFIRMED (providers.md §1.3): only a readable ``content.balance`` counts,
    whatever the ``code`` says."""
    try:
        response = wire.BalanceResponse.model_validate(body)
    except ValidationError:
        response = None
    balance = response.content.balance if response and response.content else None
    if http_status != 200 or balance is None:
        raise ProviderError(f"VTpass balance: HTTP {http_status}, no balance in the answer")
    return naira_floor_kobo(balance)


def classify_verification(http_status: int | None, body: Any) -> CustomerValidation:
    """A ``merchant-verify`` answer. Outages are UNAVAILABLE, never INVALID (seed lesson)."""
    if http_status is None or http_status >= 500 or not isinstance(body, Mapping):
        return _unavailable("VTpass verification is unavailable; try again")
    try:
        response = wire.VerifyResponse.model_validate(body)
    except ValidationError:
        return _unavailable("VTpass verification answer was unreadable; try again")
    raw = redact(body)
    if response.code in VERIFIED_CODES:
        return _verified(response.content, raw)
    description = response.response_description or ""
    if response.code in CUSTOMER_REJECTED_CODES:
        return CustomerValidation(ValidationStatus.INVALID, message=description, raw=raw)
    return _unavailable(f"VTpass could not verify ({response.code}): {description}", raw)


def _verified(content: wire.VerifyContent | None, raw: Mapping[str, Any]) -> CustomerValidation:
    # An invalid number comes back as code 000 with ``error`` or ``WrongBillersCode``.
    if content and (content.error or content.wrong_billers_code):
        message = content.error or "VTpass says the customer number is wrong"
        return CustomerValidation(ValidationStatus.INVALID, message=message, raw=raw)
    if content is None or content.customer_name is None:
        # No error, but no customer either: nothing to show the payer, so ask again later.
        return _unavailable("VTpass verification named no customer; try again", raw)
    return CustomerValidation(
        ValidationStatus.VALID,
        customer_name=content.customer_name,
        address=content.address,
        min_kobo=_kobo_or_none(content.minimum_amount),
        raw=raw,
        current_bouquet=content.current_bouquet,
        renewal_kobo=_kobo_or_none(content.renewal_amount),
        due_date=_date_or_none(content.due_date),
    )


def _date_or_none(text: str | None) -> date | None:
    """``Due_Date`` as shown on the DSTV page (``"2025-12-31T00:00:00"``); unreadable → None."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date()
    except ValueError:
        return None


def _unavailable(message: str, raw: Mapping[str, Any] | None = None) -> CustomerValidation:
    return CustomerValidation(ValidationStatus.UNAVAILABLE, message=message, raw=raw or {})


# --- catalog -----------------------------------------------------------------------------------

CATEGORY_BILL_TYPES: Final[Mapping[str, BillType]] = {
    "airtime": BillType.AIRTIME,
    "data": BillType.DATA,
    "tv-subscription": BillType.CABLE_TV,
    "electricity-bill": BillType.ELECTRICITY,
}
_ELECTRICITY_SERVICES = (
    "ikeja-electric",
    "eko-electric",
    "kano-electric",
    "portharcourt-electric",
    "jos-electric",
    "ibadan-electric",
    "kaduna-electric",
    "abuja-electric",
    "enugu-electric",
    "benin-electric",
    "aba-electric",
    "yola-electric",
)
# The services billpay sells through VTpass. Others in the same categories (smile-direct,
# spectranet, ...) take account numbers billpay does not model, so they are left out.
SERVICE_BILL_TYPES: Final[Mapping[str, BillType]] = {
    **dict.fromkeys(("mtn", "glo", "airtel", "etisalat"), BillType.AIRTIME),
    **dict.fromkeys(("mtn-data", "glo-data", "airtel-data", "etisalat-data"), BillType.DATA),
    **dict.fromkeys(("dstv", "gotv", "startimes"), BillType.CABLE_TV),
    **dict.fromkeys(_ELECTRICITY_SERVICES, BillType.ELECTRICITY),
}
VARIATION_BILL_TYPES: Final = frozenset({BillType.DATA, BillType.CABLE_TV})


def catalog_categories(body: Any) -> list[str]:
    """The category identifiers billpay sells from, in VTpass's order."""
    response = _catalog_response(wire.CategoriesResponse, body, "service-categories")
    identifiers = (category.identifier for category in response.content)
    return [
        identifier for identifier in identifiers if identifier and identifier in CATEGORY_BILL_TYPES
    ]


def catalog_services(body: Any) -> list[wire.Service]:
    response = _catalog_response(wire.ServicesResponse, body, "services")
    return [service for service in response.content if service.service_id in SERVICE_BILL_TYPES]


def service_bill_type(service: wire.Service) -> BillType:
    return SERVICE_BILL_TYPES[service.service_id or ""]


def needs_variations(service: wire.Service) -> bool:
    return service_bill_type(service) in VARIATION_BILL_TYPES


def flexible_plans(service: wire.Service) -> list[ProviderPlan]:
    """Airtime (one open-amount plan) and electricity (a prepaid and a postpaid plan)."""
    service_id = service.service_id or ""
    service_name = service.name or service_id

    def plan(plan_code: str, name: str, meter_type: MeterType | None = None) -> ProviderPlan:
        return ProviderPlan(
            provider=ProviderName.VTPASS,
            bill_type=service_bill_type(service),
            biller_code=service_id,
            biller_name=service_name,
            plan_code=plan_code,
            name=name,
            min_kobo=_kobo_or_none(service.minimum_amount),
            max_kobo=_kobo_or_none(service.maximum_amount),
            meter_type=meter_type,
            raw=service.model_dump(by_alias=True, mode="json"),
        )

    if service_bill_type(service) is BillType.ELECTRICITY:
        return [plan(meter.value, f"{service_name} ({meter.value})", meter) for meter in MeterType]
    return [plan(service_id, service_name)]


def variation_plans(service: wire.Service, body: Any) -> list[ProviderPlan]:
    """Data bundles and TV bouquets: fixed-price plans, one per VTpass variation."""
    response = _catalog_response(wire.VariationsResponse, body, "service-variations")
    content = response.content or wire.VariationsContent()
    service_id = service.service_id or ""
    biller_name = content.service_name or service.name or service_id
    plans = []
    for variation in content.variations:
        price_kobo = _kobo_or_none(variation.variation_amount)
        if variation.variation_code is None or price_kobo is None:
            continue  # unpriceable: selling it would mean guessing what VTpass charges
        plans.append(
            ProviderPlan(
                provider=ProviderName.VTPASS,
                bill_type=service_bill_type(service),
                biller_code=service_id,
                biller_name=biller_name,
                plan_code=variation.variation_code,
                name=variation.name or variation.variation_code,
                price_kobo=price_kobo,
                validity_days=validity_days(variation.name or ""),
                raw=variation.model_dump(by_alias=True, mode="json"),
            )
        )
    return plans


_VALIDITY = re.compile(
    r"(?P<count>\d+)\s*-?\s*(?P<unit>hrs?|hours?|days?|weeks?|months?)\b", re.IGNORECASE
)
_VALIDITY_WORDS: Final = {"daily": 1, "weekly": 7, "monthly": 30, "yearly": 365}
_DAYS_PER_UNIT: Final = {"day": 1, "week": 7, "month": 30}


def validity_days(name: str) -> int | None:
    """``"N100 100MB - 24 hrs"`` → 1, ``"1GB - 30 days"`` → 30, ``"... - 1 Month"`` → 30."""
    match = _VALIDITY.search(name)
    if match:
        count, unit = int(match["count"]), match["unit"].lower()
        if unit.startswith("h"):
            return count // 24 if count % 24 == 0 else None  # hours that are not whole days
        return count * _DAYS_PER_UNIT[unit.rstrip("s")]
    lowered = name.lower()
    return next((days for word, days in _VALIDITY_WORDS.items() if word in lowered), None)


ResponseT = TypeVar("ResponseT", bound=wire.CatalogResponse)


def _catalog_response(model: type[ResponseT], body: Any, endpoint: str) -> ResponseT:
    if not isinstance(body, Mapping):
        raise ProviderError(f"VTpass {endpoint} answer is not a JSON object")
    response = model.model_validate(body)
    if not response.ok:
        raise ProviderError(f"VTpass {endpoint} answered {response.response_description!r}")
    return response


def _kobo_or_none(naira: Decimal | None) -> int | None:
    """Catalog amounts; zero means "no limit", and sub-kobo values are not trusted."""
    if naira is None or naira <= 0:
        return None
    try:
        return naira_to_kobo(naira)
    except InexactAmountError:
        return None

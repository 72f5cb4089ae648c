"""Creating and reading payments. Services hold the rules and never commit."""

from __future__ import annotations

import base64
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from billpay.catalog.plan import NormalizedPlan
from billpay.catalog.plans import PlanBook
from billpay.clients.service import AuthenticatedClient
from billpay.config import Settings
from billpay.customers.identifiers import InvalidIdentifier, check_customer_for, normalize_phone
from billpay.customers.networks import NetworkDetection
from billpay.errors import (
    AmountMismatch,
    AmountOutOfRange,
    AmountRequired,
    ApiError,
    IdempotencyConflict,
    InsufficientBalance,
    InvalidCursor,
    InvalidCustomer,
    NoProvider,
    NotFound,
    PhoneRequired,
    PlanBillerMismatch,
    ProviderUnavailable,
    RenewalUnavailable,
    UnknownPlan,
    identifier_error,
)
from billpay.errors.api_keys import TestModeFunding
from billpay.funding.base import FundingSource
from billpay.funding.registry import FundingRegistry
from billpay.ledger import service as ledger
from billpay.models import Payment, PaymentAttempt, PaymentEvent, ProviderCallRecord
from billpay.outbox.enqueue import channels_now
from billpay.payments import networks
from billpay.payments import repository as repo
from billpay.payments.attempts import calls as calls_repo
from billpay.payments.attempts import repository as attempts_repo
from billpay.payments.lifecycle import record_event
from billpay.payments.schemas import CreatePayment, FundingMethod
from billpay.payments.status import Status
from billpay.providers.base import (
    RENEWS_TV_SUBSCRIPTIONS,
    BillProvider,
    BillType,
    CustomerValidation,
    ProviderName,
    ProviderProduct,
    SubscriptionType,
    ValidationStatus,
)
from billpay.providers.calls import CallKind, ProviderCall, collect_calls

SHORT_ID_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O/1/I: read aloud by payers
# Bill types whose customer the provider can look up (and name) before money moves.
VERIFIABLE = frozenset({BillType.ELECTRICITY, BillType.CABLE_TV, BillType.BETTING})


@dataclass(frozen=True)
class NewPayment:
    """A create that passed every check, before anything is written."""

    source: FundingSource
    values: dict[str, Any]  # the payments row (``repository.CREATED_COLUMNS``)
    requested: str  # the plan as the client sent it
    validations: list[ProviderCall]  # the customer lookups that vetted it
    note: str  # for its creation event (``networks.detection_note``)


def new_short_id(length: int = 12) -> str:
    return "".join(secrets.choice(SHORT_ID_ALPHABET) for _ in range(length))


class PaymentService:
    def __init__(
        self,
        settings: Settings,
        providers: Mapping[ProviderName, BillProvider],
        plans: PlanBook,
        funding: FundingRegistry,
    ) -> None:
        self.settings = settings
        self.providers = providers
        self.plans = plans
        self.funding = funding

    async def create(
        self, session: AsyncSession, client: AuthenticatedClient, body: CreatePayment
    ) -> tuple[Payment, bool]:
        """The payment for this reference, and whether this call created it.

        A reference already used answers with its payment (or the conflict of a different
        body), whatever this body would meet now: not a refusal (say, its plan was withdrawn
        since), and not the provider lookups again. So that a new payment's create needs no
        read of its own, the reference is looked up only when that matters: before a
        provider lookup, after a refusal, and when the insert finds it taken.
        """
        fingerprint = body.fingerprint()
        try:
            new = await self._checked(session, client, body, fingerprint)
        except ApiError:  # raised before anything is written: an earlier payment may answer
            existing = await repo.get_by_reference(session, client.id, body.request_reference)
            if existing is None:
                raise
            return _replay(existing, fingerprint), False
        created = None if new is None else await self._insert(session, new)
        if created is None:  # the reference is taken: earlier, or by a concurrent twin
            taken = await repo.get_by_reference(session, client.id, body.request_reference)
            assert taken is not None  # payments are never deleted
            return _replay(taken, fingerprint), False
        return created, True

    async def _checked(
        self,
        session: AsyncSession,
        client: AuthenticatedClient,
        body: CreatePayment,
        fingerprint: str,
    ) -> NewPayment | None:
        """The payment ``body`` asks for, checked (provider lookups included) but not yet
        written; None when a lookup is due and the reference is taken."""
        if not client.livemode and body.funding_method is not FundingMethod.BALANCE:
            raise TestModeFunding(
                f"funding_method: test mode pays from the test balance only, not "
                f"{body.funding_method.value}",
                details={"field": "funding_method"},
            )
        source = self.funding.get(body.funding_method)
        plan, detection = await self._chosen_plan(session, client, body)
        if body.biller is not None and body.biller != plan.biller:
            raise PlanBillerMismatch(
                f"plan: {plan.slug} belongs to biller {plan.biller!r}, not {body.biller!r}",
                details={"field": "plan"},
            )
        customer_id = _checked_customer(plan.bill_type, body.customer_id, plan.biller)
        renewal = body.subscription_type == SubscriptionType.RENEW
        amount_kobo = 0 if renewal else self._checked_amount(plan, body.amount_kobo)
        phone = _payer_phone(plan.bill_type, customer_id, body.phone)
        if plan.bill_type in VERIFIABLE and await repo.reference_exists(
            session, client.id, body.request_reference
        ):
            return None  # a retry: its customer was looked up when it was created
        with collect_calls(CallKind.VALIDATION) as validations:
            customer = await self._verified_customer(plan, customer_id, renewal=renewal)
        customer_name = customer.customer_name if customer else None
        plan_name = plan.name
        if renewal:
            amount_kobo, plan_name = _renewal_price(
                plan, customer, body.amount_kobo, self.settings.max_payment_kobo
            )
        fee_kobo = self.settings.fee_kobo_for(plan.bill_type.value)
        now = datetime.now(UTC)
        values = {
            "id": uuid.uuid4(),
            "short_id": new_short_id(),
            "client_id": client.id,
            "request_reference": body.request_reference,
            "request_fingerprint": fingerprint,
            "bill_type": plan.bill_type.value,
            "biller": plan.biller,
            "plan": plan.slug,
            "plan_name": plan_name,
            "customer_id": customer_id,
            "customer_name": customer_name,
            "phone": phone,
            "email": body.email,
            "meter_type": plan.meter_type.value if plan.meter_type else None,
            "subscription_type": body.subscription_type,
            "validity_days": plan.validity_days,
            "amount_kobo": amount_kobo,
            "fee_kobo": fee_kobo,
            "total_kobo": amount_kobo + fee_kobo,
            "funding_method": body.funding_method.value,
            "livemode": client.livemode,
            "status": (Status.PENDING if source.funded_at_create else Status.AWAITING_FUNDS).value,
            "next_run_at": now if source.funded_at_create else None,
            "deadline_at": now + timedelta(seconds=self.settings.payment_deadline_seconds),
        }
        note = networks.detection_note(body.plan, detection)
        return NewPayment(source, values, body.plan, validations, note)

    async def _insert(self, session: AsyncSession, new: NewPayment) -> Payment | None:
        """``new`` written, its money held or its payer instructed; None when its reference
        is taken. A refusal here (a short balance, a source's own) writes nothing."""
        if new.source.funded_at_create:
            return await _insert_reserved(session, new)
        created = await self._insert_awaiting(session, new)
        if created is not None:
            # Kept with the payment they vetted (a refused customer creates nothing).
            await calls_repo.record(session, new.validations, payment_id=created.id)
        return created

    async def _chosen_plan(
        self, session: AsyncSession, client: AuthenticatedClient, body: CreatePayment
    ) -> tuple[NormalizedPlan, NetworkDetection | None]:
        """The plan to sell: a network-free ``airtime``/``data-…`` becomes the detected
        network's plan (``payments.networks``); and that network's detection."""
        chosen = await networks.choose_plan(
            session, self.plans, body.plan, body.customer_id, livemode=client.livemode
        )
        if chosen.plan is None:
            raise UnknownPlan(
                "plan: 'data' alone names no bundle; send data-<bundle> (e.g. data-1gb-30d) "
                "or a plan listed by POST /v1/customers/validate",
                details={"field": "plan"},
            )
        return chosen.plan, chosen.detection

    async def _insert_awaiting(self, session: AsyncSession, new: NewPayment) -> Payment | None:
        """A payment that waits for its payer's money: inserted, then the source's
        instructions for the payer; None when the reference exists."""
        source = new.source
        inserted = await repo.insert_if_new(session, new.values)
        if inserted is None:
            return None
        await networks.remember_client_choice(session, inserted, new.requested)
        payment = await repo.get(session, inserted.id)
        assert payment is not None
        opened = await source.instructions(session, payment)
        assert opened is not None  # a source that is not funded at create instructs the payer
        await repo.set_fields(
            session,
            payment.id,
            {"funding_instructions": opened.instructions, "funding_expires_at": opened.expires_at},
        )
        await record_event(
            session,
            payment.id,
            None,
            Status.AWAITING_FUNDS,
            f"created; awaiting {source.method} funds{new.note}",
            "api",
        )
        await session.refresh(payment)  # the UPDATE above expired updated_at
        return payment

    async def check_customer(
        self, plan: NormalizedPlan, customer_id: str
    ) -> tuple[str, CustomerValidation | None]:
        """Shape check, then the provider's own lookup: the normalized id and what the provider
        said (None for bill types no provider verifies)."""
        checked = _checked_customer(plan.bill_type, customer_id, plan.biller)
        return checked, await self._verified_customer(plan, checked)

    def _checked_amount(self, plan: NormalizedPlan, amount_kobo: int | None) -> int:
        if plan.price_kobo is not None:
            if amount_kobo is not None and amount_kobo != plan.price_kobo:
                raise AmountMismatch(
                    f"amount_kobo: plan {plan.slug} costs exactly {plan.price_kobo} kobo",
                    details={"field": "amount_kobo", "price_kobo": plan.price_kobo},
                )
            return plan.price_kobo
        if amount_kobo is None:
            raise AmountRequired(
                f"amount_kobo: required for plan {plan.slug}",
                details={"field": "amount_kobo"},
            )
        low = plan.min_kobo or 1
        high = min(plan.max_kobo or self.settings.max_payment_kobo, self.settings.max_payment_kobo)
        if not low <= amount_kobo <= high:
            raise AmountOutOfRange(
                f"amount_kobo: must be between {low} and {high} kobo for plan {plan.slug}",
                details={"field": "amount_kobo", "min_kobo": low, "max_kobo": high},
            )
        return amount_kobo

    async def _verified_customer(
        self, plan: NormalizedPlan, customer_id: str, *, renewal: bool = False
    ) -> CustomerValidation | None:
        """Ask the providers who this customer is. Invalid → 422; all providers down → 503.

        A renewal is quoted only by a provider that documents renewals, and only an answer that
        carries the renewal amount will do: it is what the payer is charged and what is sent.
        """
        if renewal:
            _check_renewable(plan, self.providers)
        if plan.bill_type not in VERIFIABLE:
            return None
        outage = False
        for offer in sorted(plan.provider_meta, key=lambda o: o.priority):
            provider = self.providers.get(offer.provider)
            if provider is None or (renewal and offer.provider not in RENEWS_TV_SUBSCRIPTIONS):
                continue
            product = ProviderProduct(
                plan.bill_type, offer.biller_code, offer.plan_code, offer.meter_type
            )
            result = await provider.validate_customer(product, customer_id)
            if result.status is ValidationStatus.VALID and (
                not renewal or result.renewal_kobo is not None
            ):
                return result
            if result.status is ValidationStatus.VALID:  # valid, but no renewal amount quoted
                outage = True
                continue
            if result.status is ValidationStatus.INVALID:
                raise InvalidCustomer(
                    f"customer_id: {plan.biller_name} does not recognise this "
                    f"{_identifier_name(plan.bill_type)}"
                    + (f" ({result.message})" if result.message else ""),
                    details={"field": "customer_id"},
                )
            outage = True
        if outage:
            raise ProviderUnavailable(
                "customer_id: could not verify the customer right now; retry shortly",
                details={"field": "customer_id", "retryable": True},
            )
        raise NoProvider(f"plan: no configured provider sells {plan.slug}")


def _check_renewable(plan: NormalizedPlan, providers: Mapping[ProviderName, BillProvider]) -> None:
    """A renewal needs a TV plan sold by a configured provider that documents renewals."""
    if plan.bill_type is not BillType.CABLE_TV:
        raise RenewalUnavailable(
            f"subscription_type: renew applies to cable TV plans only, not {plan.slug}",
            details={"field": "subscription_type"},
        )
    if not any(
        offer.provider in RENEWS_TV_SUBSCRIPTIONS and offer.provider in providers
        for offer in plan.provider_meta
    ):
        raise RenewalUnavailable(
            f"subscription_type: no configured provider of {plan.slug} renews subscriptions; "
            "buy the bouquet instead (subscription_type: change)",
            details={"field": "subscription_type"},
        )


def _renewal_price(
    plan: NormalizedPlan, quote: CustomerValidation | None, amount_kobo: int | None, cap: int
) -> tuple[int, str]:
    """(amount, plan name) of a renewal: the renewal amount the provider quoted, which may
    differ from the bouquet's list price (promos), and the bouquet the customer has now."""
    assert quote is not None and quote.renewal_kobo is not None  # _verified_customer saw to it
    if amount_kobo is not None and amount_kobo != quote.renewal_kobo:
        raise AmountMismatch(
            f"amount_kobo: renewing this subscription costs exactly {quote.renewal_kobo} kobo",
            details={"field": "amount_kobo", "renewal_kobo": quote.renewal_kobo},
        )
    if quote.renewal_kobo > cap:
        raise AmountOutOfRange(
            f"amount_kobo: the renewal costs {quote.renewal_kobo} kobo, above the {cap} limit",
            details={"field": "amount_kobo", "min_kobo": 1, "max_kobo": cap},
        )
    bouquet = quote.current_bouquet or plan.name
    return quote.renewal_kobo, f"{bouquet} (renewal)"


async def _insert_reserved(session: AsyncSession, new: NewPayment) -> Payment | None:
    """A payment funded from its merchant's balance: created, reserved, recorded and queued
    in one statement (``repository.insert_reserved``); None when the reference exists."""
    values = new.values
    choice = networks.client_choice(BillType(values["bill_type"]), values["biller"], new.requested)
    reserved = repo.Reserved(
        event_reason=f"created; {new.source.method} reserved{new.note}",
        created_channels=channels_now(Status.PENDING),
        accounts=await ledger.reserve_accounts(session, values["client_id"]),
        choice_network=None if choice is None else choice.value,
        choice_evidence=networks.choice_evidence(values["plan"], values["short_id"]),
        validation_calls=calls_repo.calls_json(new.validations),
    )
    try:
        return await repo.insert_reserved(session, values, reserved)
    except repo.BalanceShort as exc:
        total = values["total_kobo"]
        raise InsufficientBalance(
            f"balance does not cover amount + fee ({total} kobo)",
            details={"needed_kobo": total},
        ) from exc


def _replay(existing: Payment, fingerprint: str) -> Payment:
    if existing.request_fingerprint != fingerprint:
        raise IdempotencyConflict(
            f"request_reference {existing.request_reference!r} was already used with a "
            "different body; use a new reference for a new payment",
            details={"field": "request_reference", "payment_id": str(existing.id)},
        )
    return existing


def _checked_customer(bill_type: BillType, customer_id: str, biller: str | None = None) -> str:
    try:
        return check_customer_for(bill_type, customer_id, biller)
    except InvalidIdentifier as exc:
        raise identifier_error(exc.code, exc.message, exc.field) from exc


def _payer_phone(bill_type: BillType, customer_id: str, phone: str | None) -> str:
    if phone is None and bill_type in (BillType.AIRTIME, BillType.DATA):
        return customer_id
    if phone is None:
        raise PhoneRequired(
            "phone: the payer's phone number is required for this bill type",
            details={"field": "phone"},
        )
    try:
        return normalize_phone(phone, field="phone")
    except InvalidIdentifier as exc:
        raise identifier_error(exc.code, exc.message, "phone") from exc


def _identifier_name(bill_type: BillType) -> str:
    return {
        BillType.ELECTRICITY: "meter number",
        BillType.CABLE_TV: "smartcard number",
        BillType.BETTING: "account",
    }.get(bill_type, "customer")


def encode_cursor(payment: Payment) -> str:
    raw = f"{payment.created_at.isoformat()}|{payment.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        created, payment_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return datetime.fromisoformat(created), uuid.UUID(payment_id)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidCursor(
            "cursor: not a cursor returned by this API",
            details={"field": "cursor"},
        ) from exc


# --- reading payments ------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentDetail:
    """A payment with its history: status changes oldest first, attempts by number."""

    payment: Payment
    events: list[PaymentEvent]
    attempts: list[PaymentAttempt]
    calls: list[ProviderCallRecord]  # every provider exchange about it, oldest first

    def calls_of(self, attempt: PaymentAttempt | None) -> list[ProviderCallRecord]:
        """The attempt's calls; for None, those made before any attempt (customer lookups)."""
        attempt_id = None if attempt is None else attempt.id
        return [call for call in self.calls if call.attempt_id == attempt_id]


async def client_detail(
    session: AsyncSession, client: AuthenticatedClient, payment_id: uuid.UUID
) -> PaymentDetail:
    """The client's own payment (``GET /v1/payments/{id}``)."""
    payment = await repo.get_for_client(session, client.id, payment_id)
    if payment is None:
        raise NotFound(f"no payment {payment_id}")
    return await _detail_of(session, payment)


async def client_detail_by_reference(
    session: AsyncSession, client: AuthenticatedClient, request_reference: str
) -> PaymentDetail:
    """The client's own payment by its idempotency key (``GET /v1/payments/by-reference/…``)."""
    payment = await repo.get_by_reference(session, client.id, request_reference)
    if payment is None:
        raise NotFound(f"no payment with request_reference {request_reference!r}")
    return await _detail_of(session, payment)


async def operator_detail(session: AsyncSession, payment_id: uuid.UUID) -> PaymentDetail:
    """Any client's payment, for operators (the dashboard, ``billpay payments show``)."""
    payment = await repo.get(session, payment_id)
    if payment is None:
        raise NotFound(f"no payment {payment_id}")
    return await _detail_of(session, payment)


async def _detail_of(session: AsyncSession, payment: Payment) -> PaymentDetail:
    """The one assembly of a payment's history, whoever asks for it."""
    return PaymentDetail(
        payment,
        await repo.events_of(session, payment.id),
        await attempts_repo.of_payment(session, payment.id),
        await calls_repo.of_payment(session, payment.id),
    )


@dataclass(frozen=True)
class PaymentsPage:
    payments: list[Payment]
    next_cursor: str | None


def paginate(rows: list[Payment], limit: int) -> PaymentsPage:
    """``rows`` as read with ``limit + 1``: the extra row only says that a next page exists."""
    page = rows[:limit]
    return PaymentsPage(page, encode_cursor(page[-1]) if len(rows) > limit else None)


async def list_page(
    session: AsyncSession,
    client_id: uuid.UUID | None,
    *,
    limit: int,
    cursor: str | None = None,
    status: str | None = None,
    bill_type: str | None = None,
    biller: str | None = None,
) -> PaymentsPage:
    """A client's payments (every client's for ``None``), newest first, from ``cursor`` on."""
    rows = await repo.list_for_client(
        session,
        client_id,
        limit=limit + 1,
        after=decode_cursor(cursor) if cursor else None,
        status=status,
        bill_type=bill_type,
        biller=biller,
    )
    return paginate(rows, limit)

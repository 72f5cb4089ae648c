"""Airtime and data for a phone without naming its network, and what payments teach about it.

A client may send plan ``airtime`` (with an amount) or ``data-<bundle>`` (``data-1gb-30d``)
instead of ``mtn-airtime`` / ``mtn-data-1gb-30d``: the network is the one billpay learned for
the number, else its prefix's (``customers.service.detect_network``). A plan that names its
network is the client's explicit choice: it is used as is, and remembered for the number.

Learning happens where the evidence is: a delivery (``settlement.mark_paid``), a provider's
definite failure that names the number's real network (the worker), a client's explicit plan
(``PaymentService.create``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from billpay.catalog.plan import NormalizedPlan
from billpay.catalog.plans import PlanBook
from billpay.customers.identifiers import InvalidIdentifier, Network, normalize_phone
from billpay.customers.networks import (
    NETWORK_DISPLAY,
    LearnedFrom,
    NetworkDetection,
    NetworkSource,
    network_of_biller,
    wrong_network_named,
)
from billpay.customers.repository import LearnedFact
from billpay.customers.service import detect_network, learn_network, learn_networks
from billpay.errors import UnknownPlan, identifier_error
from billpay.models import Payment
from billpay.providers.base import BillType

AIRTIME_PLAN: Final = "airtime"
DATA_PLANS: Final = "data"  # alone: browse the bundles of the number's network (validate)
TELCO_BILL_TYPES: Final = frozenset({BillType.AIRTIME, BillType.DATA})


@dataclass(frozen=True)
class ChosenPlan:
    """The plan a request asked for, and the network it sells with where that came from.

    ``plan`` is None only for a bare ``data`` (a question, not a product); ``detection`` is
    None for bill types without a network.
    """

    plan: NormalizedPlan | None
    bill_type: BillType
    detection: NetworkDetection | None


def names_no_network(slug: str) -> bool:
    return slug in (AIRTIME_PLAN, DATA_PLANS) or slug.startswith(f"{DATA_PLANS}-")


async def choose_plan(
    session: AsyncSession, plans: PlanBook, slug: str, customer_id: str, *, livemode: bool
) -> ChosenPlan:
    """The active plan for ``slug``; a network-free slug becomes the detected network's plan."""
    if not names_no_network(slug):
        plan = await plans.active(session, slug)
        network = network_of_biller(plan.biller) if plan.bill_type in TELCO_BILL_TYPES else None
        detection = NetworkDetection(network, NetworkSource.EXPLICIT) if network else None
        return ChosenPlan(plan, plan.bill_type, detection)
    phone = checked_phone(customer_id)
    detection = await detect_network(session, phone, livemode=livemode)
    bill_type = BillType.AIRTIME if slug == AIRTIME_PLAN else BillType.DATA
    if detection is None:
        raise UnknownPlan(
            f"plan: cannot tell which network {phone} is on (its prefix is no network's and "
            f"billpay has not learned it); name the network, e.g. mtn-{slug}",
            details={"field": "plan"},
        )
    if slug == DATA_PLANS:
        return ChosenPlan(None, bill_type, detection)
    network_slug = f"{detection.network.value}-{slug}"
    try:
        plan = await plans.active(session, network_slug)
    except UnknownPlan as exc:
        raise UnknownPlan(
            f"plan: {phone} is on {NETWORK_DISPLAY[detection.network]} "
            f"({detection.source.value}), which has no active plan {network_slug!r}; list its "
            f"plans at /v1/billers/{detection.network.value}/plans",
            details={"field": "plan", "network": detection.network.value},
        ) from exc
    return ChosenPlan(plan, bill_type, detection)


def detection_note(requested: str, detection: NetworkDetection | None) -> str:
    """For the creation event of a network-free plan: which network, and why (else "")."""
    if detection is None or not names_no_network(requested):
        return ""
    why = detection.source.value
    if detection.learned_from is not None:
        why += f": {detection.learned_from.value}"
    return f"; network {detection.network.value} ({why})"


def checked_phone(customer_id: str) -> str:
    """``customer_id`` as a phone in local form, or the 422 naming ``customer_id``."""
    try:
        return normalize_phone(customer_id, "customer_id")
    except InvalidIdentifier as exc:
        raise identifier_error(exc.code, exc.message, exc.field) from exc


def client_choice(bill_type: BillType, biller: str, requested: str) -> Network | None:
    """The network a client named for the number by asking for a plan that names it
    (``requested`` as the client sent it): its word for the number, kept until a
    provider's says otherwise. None for a network-free plan or a bill type without one."""
    if bill_type not in TELCO_BILL_TYPES or names_no_network(requested):
        return None
    return network_of_biller(biller)


def choice_evidence(plan: str, short_id: str) -> str:
    return f"the client chose {plan} for payment {short_id}"


async def remember_client_choice(session: AsyncSession, payment: Payment, requested: str) -> None:
    """Store ``client_choice`` for the payment's number (the balance create does it in its
    own statement: ``customers.repository.client_choice_cte``)."""
    network = client_choice(BillType(payment.bill_type), payment.biller, requested)
    if network is None:
        return
    await learn_network(
        session,
        payment.customer_id,
        network,
        LearnedFrom.CLIENT_CHOICE,
        livemode=payment.livemode,
        evidence=choice_evidence(payment.plan, payment.short_id),
        payment_id=payment.id,
    )


async def learn_from_delivery(session: AsyncSession, payment: Payment, provider: str) -> None:
    """A provider delivered airtime/data to the number on the plan's network: it is there."""
    network = _network_of(payment)
    if network is None:
        return
    await learn_network(
        session,
        payment.customer_id,
        network,
        LearnedFrom.DELIVERY,
        livemode=payment.livemode,
        evidence=f"{provider} delivered {payment.plan} (payment {payment.short_id})",
        payment_id=payment.id,
    )


async def learn_from_deliveries(
    session: AsyncSession, deliveries: Sequence[tuple[Payment, str]]
) -> None:
    """``learn_from_delivery`` for many (payment, provider) deliveries at once."""
    facts = [
        LearnedFact(
            livemode=payment.livemode,
            phone=payment.customer_id,
            network=network.value,
            learned_from=LearnedFrom.DELIVERY,
            evidence=f"{provider} delivered {payment.plan} (payment {payment.short_id})",
            payment_id=payment.id,
        )
        for payment, provider in deliveries
        if (network := _network_of(payment)) is not None
    ]
    await learn_networks(session, facts)


async def wrong_network_refund_reason(
    session: AsyncSession, payment: Payment, provider: str, message: str
) -> str | None:
    """After a provider's DEFINITE failure (nothing delivered): if it says the number is on
    another network, learn that network and return the payer's refund reason; else None.

    No other provider is tried for it: each sells the same network's product. The payment is
    refunded rather than switched to the other network's plan — the client asked for (and
    was quoted) this one — and the next payment for the number without a network goes to
    the right one.
    """
    tried = _network_of(payment)
    real = wrong_network_named(message, tried) if tried else None
    if tried is None or real is None:
        return None
    await learn_network(
        session,
        payment.customer_id,
        real,
        LearnedFrom.REJECTION,
        livemode=payment.livemode,
        evidence=f"{provider} refused {payment.plan}: {message}",
        payment_id=payment.id,
    )
    return (
        f"{payment.customer_id} is on {NETWORK_DISPLAY[real]}, not {NETWORK_DISPLAY[tried]}: "
        f"nothing was delivered and everything you paid is refunded. billpay will use "
        f"{NETWORK_DISPLAY[real]} for this number next time."
    )


def _network_of(payment: Payment) -> Network | None:
    if BillType(payment.bill_type) not in TELCO_BILL_TYPES:
        return None
    return network_of_biller(payment.biller)

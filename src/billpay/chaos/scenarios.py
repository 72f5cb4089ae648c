"""What each soak payment buys, how it is funded, and which provider misbehaviours it meets.

Faults are armed on the simulators' own state objects (the soak runs them in its process).
Airtime and data go to a number of their own, so a fault aimed at that number hits only that
payment; meters, smartcards and betting accounts are the simulators' few documented valid
ones, shared by many payments, so their faults are armed at a rate instead.
"""

from __future__ import annotations

import enum
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

from billpay.sandbox.flutterwave.state import Fault as FlutterwaveFault
from billpay.sandbox.flutterwave.state import FaultKind as FlutterwaveFaultKind
from billpay.sandbox.flutterwave.state import FlutterwaveSandboxState
from billpay.sandbox.interswitch.state import Fault as InterswitchFault
from billpay.sandbox.interswitch.state import FaultName as InterswitchFaultName
from billpay.sandbox.interswitch.state import InterswitchSandboxState
from billpay.sandbox.vtpass.faults import FaultKind as VTpassFaultKind
from billpay.sandbox.vtpass.faults import FaultRule
from billpay.sandbox.vtpass.state import VTpassSandboxState

METER = "1111111111111"
SMARTCARD = "1212121212"
BETTING_ACCOUNT = "BETTOR01"
PAYER_PHONE = "08031234567"
EMAIL = "chaos-payer@example.com"
HANG_SECONDS = 4.0  # longer than the soak's provider timeout, so a hang is a timeout


class Funding(enum.StrEnum):
    BALANCE = "balance"
    PAYSTACK = "paystack"
    STELLAR = "stellar"


@dataclass(frozen=True)
class Sandboxes:
    vtpass: VTpassSandboxState
    interswitch: InterswitchSandboxState
    flutterwave: FlutterwaveSandboxState


@dataclass
class Scenario:
    number: int
    body: dict[str, Any]
    funding: Funding
    faults: list[str] = field(default_factory=list)  # what was armed, for the report
    stellar_shortfall: bool = False  # the payer sends less than asked (refunded, never vended)
    sent_twice: bool = False  # the merchant's create goes out twice at once (one payment)


# Interswitch is every plan's first provider (catalog/merge.py); a definite failure there moves
# the payment to VTpass, and one at VTpass too to Flutterwave: so every provider sells.
_INTERSWITCH_FAULTS = (
    InterswitchFaultName.TIMEOUT,
    InterswitchFaultName.HTTP_500,
    InterswitchFaultName.VEND_THEN_TIMEOUT,
    InterswitchFaultName.PENDING_THEN_SUCCESSFUL,
    InterswitchFaultName.QUERY_GROUPING_FAILED,
)
_VTPASS_FAULTS = (
    VTpassFaultKind.ERROR_5XX,
    VTpassFaultKind.TIMEOUT,
    VTpassFaultKind.VEND_THEN_TIMEOUT,
    VTpassFaultKind.UNREADABLE,
    VTpassFaultKind.PENDING_THEN_DELIVERED,
    VTpassFaultKind.REVERSE_AFTER_DELIVERY,
    VTpassFaultKind.PENDING_FOREVER,  # ends in review at the deadline
)
_FLUTTERWAVE_FAULTS = (
    FlutterwaveFaultKind.SERVER_ERROR,
    FlutterwaveFaultKind.TIMEOUT,
    FlutterwaveFaultKind.ERROR_AFTER_VEND,
    FlutterwaveFaultKind.TIMEOUT_AFTER_VEND,
    FlutterwaveFaultKind.PENDING_THEN_SUCCESS,
    FlutterwaveFaultKind.PENDING_THEN_FAILURE,
)


def _phone(number: int) -> str:
    return f"0816{number:07d}"


def _body(number: int, rng: random.Random) -> dict[str, Any]:
    reference = f"chaos-{number}-{uuid.uuid4().hex[:8]}"
    roll = rng.random()
    if roll < 0.35:
        return {
            "request_reference": reference,
            "plan": "mtn-airtime",
            "customer_id": _phone(number),
            "amount_kobo": rng.choice((10_000, 20_000, 50_000)),
        }
    if roll < 0.5:
        return {
            "request_reference": reference,
            "plan": "mtn-data-10gb-30d",
            "customer_id": _phone(number),
        }
    if roll < 0.75:
        return {
            "request_reference": reference,
            "plan": "ikeja-electric-prepaid",
            "customer_id": METER,
            "amount_kobo": rng.choice((100_000, 250_000, 500_000)),
            "phone": PAYER_PHONE,
        }
    if roll < 0.88:
        return {
            "request_reference": reference,
            "plan": "dstv-compact",
            "customer_id": SMARTCARD,
            "phone": PAYER_PHONE,
            "subscription_type": "renew",
        }
    return {
        "request_reference": reference,
        "plan": "bet9ja-wallet",
        "customer_id": BETTING_ACCOUNT,
        "amount_kobo": rng.choice((50_000, 100_000)),
        "phone": PAYER_PHONE,
    }


def _funding(rng: random.Random) -> Funding:
    roll = rng.random()
    if roll < 0.7:
        return Funding.BALANCE
    return Funding.PAYSTACK if roll < 0.85 else Funding.STELLAR


def new_scenario(number: int, rng: random.Random) -> Scenario:
    body = _body(number, rng)
    funding = _funding(rng)
    if funding is Funding.PAYSTACK:
        body = {**body, "funding_method": "paystack", "email": EMAIL}
    elif funding is Funding.STELLAR:
        body = {**body, "funding_method": "stellar"}
    scenario = Scenario(number, body, funding)
    scenario.stellar_shortfall = funding is Funding.STELLAR and rng.random() < 0.1
    scenario.sent_twice = rng.random() < 0.1
    return scenario


def arm_targeted_faults(scenario: Scenario, sandboxes: Sandboxes, rng: random.Random) -> None:
    """Faults aimed at this payment's own number (airtime and data only)."""
    customer = scenario.body["customer_id"]
    if not customer.startswith("0816"):
        return
    roll = rng.random()
    if roll < 0.45:
        return
    if roll < 0.65:
        kind = rng.choice(_INTERSWITCH_FAULTS)
        sandboxes.interswitch.add_fault(
            InterswitchFault(fault=kind, customer_id=customer, seconds=HANG_SECONDS, queries=2)
        )
        scenario.faults.append(f"interswitch:{kind}")
        return
    _fail_at_interswitch(scenario, sandboxes, customer)
    if roll < 0.85:
        vtpass_kind = rng.choice(_VTPASS_FAULTS)
        sandboxes.vtpass.add_fault(FaultRule(kind=vtpass_kind, target=customer, times=1))
        scenario.faults.append(f"vtpass:{vtpass_kind}")
        return
    # On to Flutterwave once VTpass's breaker or a definite answer moves the payment on.
    sandboxes.vtpass.add_fault(FaultRule(kind=VTpassFaultKind.ERROR_5XX, target=customer, times=1))
    scenario.faults.append("vtpass:error_5xx")
    if roll < 0.95:
        flutterwave_kind = rng.choice(_FLUTTERWAVE_FAULTS)
        sandboxes.flutterwave.add_fault(
            FlutterwaveFault(kind=flutterwave_kind, customer_id=customer, seconds=HANG_SECONDS)
        )
        scenario.faults.append(f"flutterwave:{flutterwave_kind}")


def _fail_at_interswitch(scenario: Scenario, sandboxes: Sandboxes, customer: str) -> None:
    sandboxes.interswitch.add_fault(
        InterswitchFault(fault=InterswitchFaultName.DEFINITE_FAILURE, customer_id=customer)
    )
    scenario.faults.append("interswitch:definite_failure")


SHARED_CUSTOMERS = (METER, SMARTCARD, BETTING_ACCOUNT)


def arm_shared_faults(sandboxes: Sandboxes, rng: random.Random) -> str:
    """One fault on a shared meter, smartcard or betting account, hitting whichever payment
    reaches that provider first; what was armed."""
    target = rng.choice(SHARED_CUSTOMERS)
    if rng.random() < 0.5:
        kind = rng.choice(_INTERSWITCH_FAULTS)
        sandboxes.interswitch.add_fault(
            InterswitchFault(fault=kind, customer_id=target, seconds=HANG_SECONDS, queries=2)
        )
        return f"interswitch:{kind}"
    vtpass_kind = rng.choice(_VTPASS_FAULTS[:-1])  # never pending-forever on a shared customer
    sandboxes.vtpass.add_fault(FaultRule(kind=vtpass_kind, target=target, times=1))
    return f"vtpass:{vtpass_kind}"

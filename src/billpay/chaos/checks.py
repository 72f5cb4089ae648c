"""The soak's verdict: every invariant, read from the simulators' own records and the database.

A vend is what a simulator says it delivered (and did not reverse) for a reference; billpay's
attempts say which payment each reference belongs to. Nothing here trusts billpay's own
account of what happened at a provider.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from billpay.chaos.scenarios import Sandboxes
from billpay.sandbox.flutterwave.state import VendStatus
from billpay.sandbox.horizon import HorizonState
from billpay.sandbox.paystack.state import PaystackSandboxState

FINAL = frozenset({"paid", "refunded", "failed", "expired", "needs_review"})


@dataclass(frozen=True)
class ProviderVend:
    provider: str
    reference: str
    token: str | None


@dataclass
class Verdict:
    payments: int = 0
    double_vends: int = 0
    lost_deposits: int = 0
    lost_tokens: int = 0
    in_review: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    by_provider: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    def problem(self, text: str) -> None:
        self.problems.append(text)


def delivered_vends(sandboxes: Sandboxes) -> list[ProviderVend]:
    vends = [
        ProviderVend("vtpass", vend.request_id, vend.token)
        for vend in sandboxes.vtpass.vends()
        if not vend.reversed
    ]
    snapshot = sandboxes.interswitch.vends_snapshot()["vends"]
    vends += [
        ProviderVend("interswitch", reference, vend.get("token"))
        for reference, vend in snapshot.items()
        if vend["delivered"]
    ]
    vends += [
        ProviderVend("flutterwave", reference, None)
        for reference, vend in sandboxes.flutterwave.vends().items()
        if vend.status is VendStatus.SUCCESS
    ]
    return vends


def _digits(token: str | None) -> str:
    return re.sub(r"\D", "", token or "")


async def judge(
    connection: asyncpg.Connection,
    sandboxes: Sandboxes,
    paystack: PaystackSandboxState,
    horizon: HorizonState,
    system_account: str,
    stellar_payers: dict[str, str],  # payment reference → payer account that paid it
    checkouts: dict[str, str],  # payment reference → Paystack reference the payer paid
    webhook_bodies: list[dict[str, Any]],
) -> Verdict:
    verdict = Verdict()
    payments = {
        row["id"]: row
        for row in await connection.fetch(
            "SELECT id, request_reference, status, bill_type, funding_method, token, provider"
            " FROM payments"
        )
    }
    verdict.payments = len(payments)
    owner_of = {
        (row["provider"], row["provider_reference"]): row["payment_id"]
        for row in await connection.fetch(
            "SELECT provider, provider_reference, payment_id FROM payment_attempts"
        )
    }
    _check_vends(verdict, payments, owner_of, delivered_vends(sandboxes))
    await _check_statuses(verdict, connection, payments)
    _check_tokens(verdict, payments, webhook_bodies)
    await _check_stellar(verdict, connection, payments, horizon, system_account, stellar_payers)
    _check_paystack(verdict, payments, paystack, checkouts)
    return verdict


def _check_vends(
    verdict: Verdict,
    payments: dict[Any, asyncpg.Record],
    owner_of: dict[tuple[str, str], Any],
    vends: list[ProviderVend],
) -> None:
    vends_of: dict[Any, list[ProviderVend]] = defaultdict(list)
    for vend in vends:
        owner = owner_of.get((vend.provider, vend.reference))
        if owner is None:
            verdict.problem(
                f"{vend.provider} vended {vend.reference}, a reference billpay never stored"
            )
            verdict.double_vends += 1
            continue
        vends_of[owner].append(vend)
    for payment_id, row in payments.items():
        delivered = vends_of.get(payment_id, [])
        if len(delivered) > 1:
            verdict.double_vends += 1
            verdict.problem(f"payment {payment_id} vended {len(delivered)} times")
        if row["status"] == "refunded" and delivered:
            verdict.double_vends += 1
            verdict.problem(
                f"payment {payment_id} refunded although {delivered[0].provider} delivered"
            )
        if row["status"] == "paid":
            if not delivered:
                verdict.problem(f"payment {payment_id} is paid but no provider delivered it")
            else:
                verdict.by_provider[delivered[0].provider] += 1


async def _check_statuses(
    verdict: Verdict, connection: asyncpg.Connection, payments: dict[Any, asyncpg.Record]
) -> None:
    for row in payments.values():
        verdict.by_status[row["status"]] += 1
        if row["status"] not in FINAL:
            verdict.problem(f"payment {row['id']} left in {row['status']}")
    review = [row["id"] for row in payments.values() if row["status"] == "needs_review"]
    verdict.in_review = len(review)
    if review:
        evidenced = {
            record["payment_id"]
            for record in await connection.fetch(
                "SELECT DISTINCT e.payment_id FROM payment_events e"
                " JOIN payment_attempts a ON a.payment_id = e.payment_id"
                " WHERE e.to_status = 'needs_review' AND e.reason <> ''"
                " AND e.payment_id = ANY($1::uuid[])",
                review,
            )
        }
        for payment_id in set(review) - evidenced:
            verdict.problem(f"payment {payment_id} is in review without its evidence")


def _check_tokens(
    verdict: Verdict, payments: dict[Any, asyncpg.Record], webhook_bodies: list[dict[str, Any]]
) -> None:
    """Every paid electricity payment has its token stored and told to the merchant."""
    told: dict[str, str] = {}
    for body in webhook_bodies:
        payment = (body.get("data") or {}).get("payment") or {}
        if payment.get("token") and payment.get("id"):
            told[str(payment["id"])] = str(payment["token"])
    for payment_id, row in payments.items():
        if row["bill_type"] != "electricity" or row["status"] != "paid":
            continue
        if not _digits(row["token"]):
            verdict.lost_tokens += 1
            verdict.problem(f"electricity payment {payment_id} is paid without a token")
        elif _digits(told.get(str(payment_id))) != _digits(row["token"]):
            verdict.lost_tokens += 1
            verdict.problem(f"electricity payment {payment_id}'s token never reached the merchant")


async def _check_stellar(
    verdict: Verdict,
    connection: asyncpg.Connection,
    payments: dict[Any, asyncpg.Record],
    horizon: HorizonState,
    system_account: str,
    stellar_payers: dict[str, str],
) -> None:
    """Every cNGN deposit the soak sent is recorded once and either funds its payment or is
    sent back exactly once."""
    by_reference = {row["request_reference"]: row for row in payments.values()}
    for reference, payer in stellar_payers.items():
        row = by_reference.get(reference)
        deposits = await connection.fetch(
            "SELECT payment_id, funded_payment FROM stellar_deposits WHERE from_account = $1",
            payer,
        )
        listed = horizon.payments(account_id=payer, limit=200)
        returned = [
            stored
            for stored, _ in listed
            if stored.body.get("from") == system_account and stored.body.get("to") == payer
        ]
        funded = any(deposit["funded_payment"] for deposit in deposits)
        status = row["status"] if row is not None else None
        if len(deposits) != 1:
            verdict.lost_deposits += 1
            verdict.problem(f"deposit from {payer} recorded {len(deposits)} times")
        elif len(returned) > 1:
            verdict.lost_deposits += 1
            verdict.problem(f"deposit from {payer} was refunded {len(returned)} times")
        elif status in ("paid", "needs_review") and not funded:
            verdict.lost_deposits += 1
            verdict.problem(f"payment {reference} is {status} but its deposit never funded it")
        elif status == "needs_review" and returned:
            verdict.lost_deposits += 1
            verdict.problem(f"payment {reference} is in review but its deposit was sent back")
        elif status not in ("paid", "needs_review") and len(returned) != 1:
            # An operator decides a payment in review; its deposit stays held till then.
            verdict.lost_deposits += 1
            verdict.problem(f"deposit from {payer} neither funded a paid payment nor came back")


def _check_paystack(
    verdict: Verdict,
    payments: dict[Any, asyncpg.Record],
    paystack: PaystackSandboxState,
    checkouts: dict[str, str],  # payment reference → Paystack reference the payer paid
) -> None:
    """A paid collection funds its payment, or is refunded once: never both, never twice."""
    by_reference = {row["request_reference"]: row for row in payments.values()}
    for reference, paystack_reference in checkouts.items():
        row = by_reference.get(reference)
        refunds = paystack.refunds_of(paystack_reference)
        if len(refunds) > 1:
            verdict.lost_deposits += 1
            verdict.problem(
                f"Paystack collection {paystack_reference} refunded {len(refunds)} times"
            )
        elif row is not None and row["status"] == "paid" and refunds:
            verdict.lost_deposits += 1
            verdict.problem(f"payment {reference} is paid and its collection refunded")
        elif row is not None and row["status"] == "refunded" and not refunds:
            verdict.lost_deposits += 1
            verdict.problem(f"payment {reference} is refunded but Paystack never refunded it")

"""How a payment ends: delivered, refunded, or handed to a human. Shared by the worker,
webhook handlers and operators, so every path moves money the same way.

Each function runs inside the caller's transaction and relies on the conditional
transitions of ``lifecycle``: if two actors race, one raises ``StaleTransition`` and its
transaction (ledger postings included) rolls back, so money moves exactly once.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from billpay.db import raw
from billpay.funding.balance import source as balance
from billpay.ledger import accounts
from billpay.ledger import service as ledger
from billpay.ledger.service import Settlement
from billpay.models import Payment
from billpay.payments import networks
from billpay.payments import repository as payments_repo
from billpay.payments.attempts import repository as attempts_repo
from billpay.payments.lifecycle import Delivered, deliver_many, transition
from billpay.payments.schemas import FundingMethod
from billpay.payments.status import Status


async def mark_paid(
    session: AsyncSession,
    payment: Payment,
    *,
    from_status: Status,
    provider: str,
    provider_transaction_id: str | None,
    token: str | None,
    units: str | None,
    reason: str,
    actor: str,
    cost_kobo: int | None = None,
    bonus_tokens: Sequence[str] = (),
) -> None:
    """Delivered by ``provider``, which is owed ``cost_kobo`` — what its attempt asked it to
    take (looked up when the caller does not have it at hand)."""
    if cost_kobo is None:
        cost_kobo = await _cost(session, payment, provider)
    # Before the ledger rows are locked: every transaction takes a number's learned network
    # first (creating a payment does too, then the balance), so none wait on each other.
    await networks.learn_from_delivery(session, payment, provider)
    await transition(
        session,
        payment.id,
        from_status,
        Status.PAID,
        reason=reason,
        actor=actor,
        fields={
            "provider": provider,
            "provider_transaction_id": provider_transaction_id,
            "token": token,
            "bonus_tokens": list(bonus_tokens),
            "units": units,
        },
    )
    await ledger.settle_paid(
        session,
        _holding(payment),
        payment.id,
        provider,
        payment.amount_kobo,
        payment.fee_kobo,
        cost_kobo=cost_kobo,
        livemode=payment.livemode,
    )


@dataclass(frozen=True)
class Delivery:
    """A delivered payment for ``mark_paid_many``: what to record, and the provider's cost."""

    payment: Payment
    delivered: Delivered
    cost_kobo: int


async def mark_paid_many(
    session: AsyncSession, deliveries: Sequence[Delivery], *, actor: str, lease_owner: str
) -> set[uuid.UUID]:
    """``mark_paid`` for many payments in a few statements, letting go of the leases
    ``lease_owner`` holds; the ids of those moved. One moved meanwhile by someone else is
    left as it is (nothing booked for it), as ``mark_paid``'s ``StaleTransition`` would."""
    await networks.learn_from_deliveries(
        session, [(d.payment, d.delivered.provider) for d in deliveries]
    )
    moved = await deliver_many(
        session, [d.delivered for d in deliveries], actor=actor, lease_owner=lease_owner
    )
    await ledger.settle_paid_many(
        session,
        [
            Settlement(
                _holding(d.payment),
                d.payment.id,
                d.delivered.provider,
                d.payment.amount_kobo,
                d.payment.fee_kobo,
                d.cost_kobo,
                d.payment.livemode,
            )
            for d in deliveries
            if d.payment.id in moved
        ],
    )
    return set(moved)


async def refund(
    session: AsyncSession,
    payment: Payment,
    *,
    from_status: Status,
    reason: str,
    actor: str,
    data: Mapping[str, Any] | None = None,
) -> None:
    """Delivery definitively failed (or was reversed): return everything the payer paid.

    A balance refund completes at once (``balance.release``). A Stellar or Paystack refund
    stays ``refunding`` until that source's refunder job has sent the money back
    (``refund_completed``).
    """
    await transition(
        session,
        payment.id,
        from_status,
        Status.REFUNDING,
        reason=reason,
        actor=actor,
        fields={"failure_reason": reason[:500]},
        data=data,
    )
    if payment.funding_method == FundingMethod.BALANCE:
        await balance.release(session, payment, actor=actor)


async def reverse_delivery(
    session: AsyncSession, payment: Payment, *, reason: str, actor: str
) -> None:
    """The provider reversed a delivered vend: undo the settlement, then refund."""
    assert payment.provider is not None
    await ledger.undo_settlement(
        session,
        _holding(payment),
        payment.id,
        payment.provider,
        payment.amount_kobo,
        payment.fee_kobo,
        cost_kobo=await _cost(session, payment, payment.provider),
        livemode=payment.livemode,
    )
    await refund(session, payment, from_status=Status.PAID, reason=reason, actor=actor)


async def send_to_review(
    session: AsyncSession,
    payment: Payment,
    *,
    from_status: Status,
    reason: str,
    actor: str,
    data: dict[str, Any] | None = None,
) -> None:
    """Outcome unknown past the deadline: money stays held, a human decides (never a refund)."""
    await transition(
        session,
        payment.id,
        from_status,
        Status.NEEDS_REVIEW,
        reason=reason,
        actor=actor,
        fields={"failure_reason": reason[:500]},
        data=data,
    )


async def fund(
    session: AsyncSession, payment: Payment, *, received_kobo: int, reason: str, actor: str
) -> None:
    """The payer's money arrived: hold it and queue the payment for a provider now."""
    await ledger.receive_funds(session, payment.id, payment.funding_method, received_kobo)
    await transition(
        session,
        payment.id,
        Status.AWAITING_FUNDS,
        Status.PENDING,
        reason=reason,
        actor=actor,
        fields={"next_run_at": raw.DB_NOW},
    )
    await payments_repo.wake_workers(session)


async def refund_completed(
    session: AsyncSession, payment: Payment, *, amount_kobo: int, reason: str, actor: str
) -> None:
    """A Stellar/Paystack refund went through: the held money left the books."""
    await ledger.return_funds(session, payment.id, payment.funding_method, amount_kobo, "refund")
    await transition(
        session, payment.id, Status.REFUNDING, Status.REFUNDED, reason=reason, actor=actor
    )


async def _cost(session: AsyncSession, payment: Payment, provider: str) -> int:
    """What ``provider``'s attempt asked it to take; the payment's amount for an attempt made
    before that was recorded (it was booked at that)."""
    cost = await attempts_repo.cost_of(session, payment.id, provider)
    return payment.amount_kobo if cost is None else cost


def _holding(payment: Payment) -> str:
    return accounts.holding_account(payment.funding_method, payment.client_id)

"""Double-entry postings for every movement of value (DESIGN §1.6).

Each posting moves a positive amount from a debit account to a credit account, so every
journal is balanced by construction and the sum of all balances is always zero.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from billpay.ledger import accounts
from billpay.ledger import repository as repo
from billpay.ledger.repository import Posting


class InsufficientBalance(Exception):
    def __init__(self, needed_kobo: int) -> None:
        super().__init__(f"balance does not cover {needed_kobo} kobo")
        self.needed_kobo = needed_kobo


async def post(
    session: AsyncSession, postings: list[Posting], payment_id: uuid.UUID | None = None
) -> uuid.UUID:
    """Write one journal; guarded balances follow. Zero-amount postings are skipped.

    Debiting a guarded account here is unconditional (refund reversals, corrections);
    spending a merchant's balance goes through ``reserve``, which checks it.
    """
    postings = [p for p in postings if p.amount_kobo > 0]
    journal_id = uuid.uuid4()
    if not postings:
        return journal_id
    codes = {code for p in postings for code in (p.debit, p.credit)}
    ids = await repo.ACCOUNT_IDS.resolve(session, codes)
    await repo.insert_entries(session, journal_id, payment_id, postings, ids)
    for posting in postings:
        if accounts.is_guarded(posting.credit):
            await repo.credit_guarded(session, ids[posting.credit], posting.amount_kobo)
        if accounts.is_guarded(posting.debit):
            await repo.credit_guarded(session, ids[posting.debit], -posting.amount_kobo)
    return journal_id


async def top_up(
    session: AsyncSession, client_id: uuid.UUID, amount_kobo: int, memo: str, livemode: bool = True
) -> None:
    """Credit a client's balance; a test twin's comes from the test copy of the deposits."""
    await post(
        session,
        [
            Posting(
                accounts.in_mode(accounts.EXTERNAL_DEPOSITS, livemode),
                accounts.client_available(client_id),
                amount_kobo,
                "top_up",
                memo,
            )
        ],
    )


async def reserve(
    session: AsyncSession, client_id: uuid.UUID, payment_id: uuid.UUID, total_kobo: int
) -> None:
    """Hold amount + fee for a new payment, atomically refusing when the balance is short.

    The guarded UPDATE is the last statement, so the merchant's balance row stays locked
    only for the commit.
    """
    available = accounts.client_available(client_id)
    reserved = accounts.client_reserved(client_id)
    ids = await repo.ACCOUNT_IDS.resolve(session, {available, reserved})
    posting = Posting(available, reserved, total_kobo, "reserve")
    await repo.insert_entries(session, uuid.uuid4(), payment_id, [posting], ids)
    if not await repo.debit_if_covered(session, ids[available], total_kobo):
        raise InsufficientBalance(total_kobo)


async def reserve_accounts(session: AsyncSession, client_id: uuid.UUID) -> dict[str, int]:
    """The ids ``repository.reserve_ctes`` needs to reserve a payment of ``client_id``:
    ``available_id`` and ``reserved_id``."""
    available = accounts.client_available(client_id)
    reserved = accounts.client_reserved(client_id)
    ids = await repo.ACCOUNT_IDS.resolve(session, {available, reserved})
    return {"available_id": ids[available], "reserved_id": ids[reserved]}


async def receive_funds(
    session: AsyncSession, payment_id: uuid.UUID, method: str, amount_kobo: int
) -> None:
    """A payer's money arrived (a deposit or a collection) and is now held for the payment."""
    await post(
        session,
        [
            Posting(
                accounts.external_funding(method),
                accounts.funding_held(method),
                amount_kobo,
                "funds_received",
            )
        ],
        payment_id,
    )


async def settle_paid(
    session: AsyncSession,
    holding: str,
    payment_id: uuid.UUID,
    provider: str,
    amount_kobo: int,
    fee_kobo: int,
    cost_kobo: int | None = None,
    livemode: bool = True,
) -> None:
    """Delivered: the provider is owed what it debited, the fee is billpay's revenue.

    ``amount_kobo`` is what the payer was charged for the bill (the advertised price of a
    fixed-price plan, or the amount requested); ``cost_kobo`` is what the provider was asked
    to take (its own price; the amount itself when omitted). A cheaper route leaves a margin,
    a dearer one — sold only where loss routes are allowed — a loss. A test-mode payment
    (``livemode`` false) is booked on the test copies of the shared accounts.
    """
    postings = _settlement(holding, provider, amount_kobo, fee_kobo, cost_kobo, livemode)
    await post(session, postings, payment_id)


async def undo_settlement(
    session: AsyncSession,
    holding: str,
    payment_id: uuid.UUID,
    provider: str,
    amount_kobo: int,
    fee_kobo: int,
    cost_kobo: int | None = None,
    livemode: bool = True,
) -> None:
    """A provider reversal after delivery: every settlement posting reversed, so the money
    comes back into the holding account (arguments as for ``settle_paid``)."""
    settled = _settlement(holding, provider, amount_kobo, fee_kobo, cost_kobo, livemode)
    await post(
        session,
        [
            Posting(posting.credit, posting.debit, posting.amount_kobo, _REVERSAL[posting.kind])
            for posting in settled
        ],
        payment_id,
    )


_REVERSAL = {
    "vend": "reversal",
    "margin": "margin_reversal",
    "route_loss": "route_loss_reversal",
    "fee": "fee_reversal",
}


def _settlement(
    holding: str,
    provider: str,
    amount_kobo: int,
    fee_kobo: int,
    cost_kobo: int | None,
    livemode: bool,
) -> list[Posting]:
    """A delivered payment's postings; ``post`` drops the margin or the loss that is not
    positive (at most one of them is)."""
    cost = amount_kobo if cost_kobo is None else cost_kobo

    def shared(code: str) -> str:
        return accounts.in_mode(code, livemode)

    return [
        Posting(holding, shared(accounts.provider_payable(provider)), cost, "vend"),
        Posting(holding, shared(accounts.MARGIN_REVENUE), amount_kobo - cost, "margin"),
        Posting(shared(accounts.ROUTE_LOSSES), holding, cost - amount_kobo, "route_loss"),
        Posting(holding, shared(accounts.FEE_REVENUE), fee_kobo, "fee"),
    ]


async def release(
    session: AsyncSession, client_id: uuid.UUID, payment_id: uuid.UUID, total_kobo: int
) -> None:
    """Refund to balance: everything the payer was charged goes back to available."""
    await post(
        session,
        [
            Posting(
                accounts.client_reserved(client_id),
                accounts.client_available(client_id),
                total_kobo,
                "refund",
            )
        ],
        payment_id,
    )


async def return_funds(
    session: AsyncSession, payment_id: uuid.UUID, method: str, amount_kobo: int, kind: str
) -> None:
    """Money sent back to the payer through ``method`` (a refund or an overpayment's excess)."""
    await post(
        session,
        [
            Posting(
                accounts.funding_held(method), accounts.external_funding(method), amount_kobo, kind
            )
        ],
        payment_id,
    )


async def quarantine(
    session: AsyncSession, payment_id: uuid.UUID | None, method: str, amount_kobo: int, memo: str
) -> None:
    """Money that cannot go back on its own leaves the clearing account for suspense, where
    it stays visible until an operator decides (and the clearing account can drain)."""
    await post(
        session,
        [
            Posting(
                accounts.funding_held(method),
                accounts.funding_quarantined(method),
                amount_kobo,
                "quarantine",
                memo[:300],
            )
        ],
        payment_id,
    )


async def available_balance(session: AsyncSession, client_id: uuid.UUID) -> int:
    return await repo.balance_of(session, accounts.client_available(client_id))


async def reserved_balance(session: AsyncSession, client_id: uuid.UUID) -> int:
    return await repo.balance_of(session, accounts.client_reserved(client_id))


@dataclass(frozen=True)
class Settlement:
    """One delivered payment's settlement, as ``settle_paid`` takes it."""

    holding: str
    payment_id: uuid.UUID
    provider: str
    amount_kobo: int
    fee_kobo: int
    cost_kobo: int | None
    livemode: bool


async def settle_paid_many(session: AsyncSession, settlements: Sequence[Settlement]) -> None:
    """``settle_paid`` for many payments, in one statement. A settlement moves money between
    unguarded accounts only (holding → payable and revenue), so no balance row is locked."""
    journals = []
    for s in settlements:
        postings = _settlement(
            s.holding, s.provider, s.amount_kobo, s.fee_kobo, s.cost_kobo, s.livemode
        )
        positive = [posting for posting in postings if posting.amount_kobo > 0]
        assert not any(
            accounts.is_guarded(p.debit) or accounts.is_guarded(p.credit) for p in positive
        )
        journals.append((uuid.uuid4(), s.payment_id, positive))
    codes = {code for _, _, postings in journals for p in postings for code in (p.debit, p.credit)}
    ids = await repo.ACCOUNT_IDS.resolve(session, codes)
    await repo.insert_journals(session, journals, ids)

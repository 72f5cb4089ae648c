"""Double-entry postings for every movement of value (DESIGN §1.6).

Each posting moves a positive amount from a debit account to a credit account, so every
journal is balanced by construction and the sum of all balances is always zero.
"""

from __future__ import annotations

import uuid

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


async def top_up(session: AsyncSession, client_id: uuid.UUID, amount_kobo: int, memo: str) -> None:
    await post(
        session,
        [
            Posting(
                accounts.EXTERNAL_DEPOSITS,
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
) -> None:
    """Delivered: the bill amount is owed to the provider, the fee is billpay's revenue."""
    await post(
        session,
        [
            Posting(holding, accounts.provider_payable(provider), amount_kobo, "vend"),
            Posting(holding, accounts.FEE_REVENUE, fee_kobo, "fee"),
        ],
        payment_id,
    )


async def undo_settlement(
    session: AsyncSession,
    holding: str,
    payment_id: uuid.UUID,
    provider: str,
    amount_kobo: int,
    fee_kobo: int,
) -> None:
    """A provider reversal after delivery: the money comes back into the holding account."""
    await post(
        session,
        [
            Posting(accounts.provider_payable(provider), holding, amount_kobo, "reversal"),
            Posting(accounts.FEE_REVENUE, holding, fee_kobo, "fee_reversal"),
        ],
        payment_id,
    )


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


async def available_balance(session: AsyncSession, client_id: uuid.UUID) -> int:
    return await repo.balance_of(session, accounts.client_available(client_id))


async def reserved_balance(session: AsyncSession, client_id: uuid.UUID) -> int:
    return await repo.balance_of(session, accounts.client_reserved(client_id))

"""SQL for the ledger: accounts, postings and balance checks."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from billpay.models import LedgerAccount, LedgerEntry


@dataclass(frozen=True)
class Posting:
    debit: str
    credit: str
    amount_kobo: int
    kind: str
    memo: str | None = None


async def ensure_accounts(session: AsyncSession, codes: set[str]) -> dict[str, int]:
    """Account ids by code, creating missing accounts (idempotent under concurrency)."""
    await session.execute(
        pg_insert(LedgerAccount)
        .values([{"code": code} for code in sorted(codes)])
        .on_conflict_do_nothing(index_elements=["code"])
    )
    rows = await session.execute(
        select(LedgerAccount.code, LedgerAccount.id).where(LedgerAccount.code.in_(codes))
    )
    return {code: account_id for code, account_id in rows.all()}


async def debit_if_covered(session: AsyncSession, account_id: int, amount_kobo: int) -> bool:
    """Take ``amount_kobo`` out of an account only if its balance covers it (row-locked)."""
    result = await session.execute(
        update(LedgerAccount)
        .where(LedgerAccount.id == account_id, LedgerAccount.balance_kobo >= amount_kobo)
        .values(balance_kobo=LedgerAccount.balance_kobo - amount_kobo)
        .returning(LedgerAccount.id)
    )
    return result.scalar_one_or_none() is not None


async def move_balance(session: AsyncSession, account_id: int, delta_kobo: int) -> None:
    await session.execute(
        update(LedgerAccount)
        .where(LedgerAccount.id == account_id)
        .values(balance_kobo=LedgerAccount.balance_kobo + delta_kobo)
    )


async def insert_entries(
    session: AsyncSession,
    journal_id: uuid.UUID,
    payment_id: uuid.UUID | None,
    postings: list[Posting],
    ids: dict[str, int],
) -> None:
    await session.execute(
        insert(LedgerEntry),
        [
            {
                "journal_id": journal_id,
                "payment_id": payment_id,
                "kind": posting.kind,
                "debit_account_id": ids[posting.debit],
                "credit_account_id": ids[posting.credit],
                "amount_kobo": posting.amount_kobo,
                "memo": posting.memo,
            }
            for posting in postings
        ],
    )


async def balance_of(session: AsyncSession, code: str) -> int:
    value = await session.scalar(
        select(LedgerAccount.balance_kobo).where(LedgerAccount.code == code)
    )
    return int(value or 0)


async def accounts_out_of_step(session: AsyncSession) -> list[tuple[str, int, int]]:
    """Accounts whose stored balance differs from credits − debits of their entries."""
    rows = await session.execute(
        text(
            """
            SELECT a.code, a.balance_kobo,
                   COALESCE(c.total, 0) - COALESCE(d.total, 0) AS from_entries
            FROM ledger_accounts a
            LEFT JOIN (SELECT credit_account_id AS id, SUM(amount_kobo) AS total
                       FROM ledger_entries GROUP BY credit_account_id) c ON c.id = a.id
            LEFT JOIN (SELECT debit_account_id AS id, SUM(amount_kobo) AS total
                       FROM ledger_entries GROUP BY debit_account_id) d ON d.id = a.id
            WHERE a.balance_kobo <> COALESCE(c.total, 0) - COALESCE(d.total, 0)
            """
        )
    )
    return [(code, int(stored), int(derived)) for code, stored, derived in rows.all()]


async def total_of_all_balances(session: AsyncSession) -> int:
    return int(
        await session.scalar(select(func.coalesce(func.sum(LedgerAccount.balance_kobo), 0))) or 0
    )

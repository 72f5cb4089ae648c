"""SQL for the ledger: accounts, postings and balance checks.

Only *guarded* accounts (a merchant's available balance, which must never go negative) keep
a stored ``balance_kobo``, updated under a row lock. Every other account's balance is the sum
of its entries: updating shared rows such as ``revenue:fees`` on every payment would make
every payment in the system wait for every other one.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    String,
    Uuid,
    bindparam,
    event,
    func,
    insert,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import CTE

from billpay.db import raw
from billpay.ledger.accounts import is_guarded
from billpay.models import LedgerAccount, LedgerEntry


@dataclass(frozen=True)
class Posting:
    debit: str
    credit: str
    amount_kobo: int
    kind: str
    memo: str | None = None


class AccountIds:
    """Account ids by code. Accounts are never deleted, so a process may keep them.

    A missing account is created inside the caller's transaction and its id is remembered
    only once that transaction commits: an id learnt in a transaction that rolls back would
    point at nothing.
    """

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}

    async def resolve(self, session: AsyncSession, codes: set[str]) -> dict[str, int]:
        missing = codes - self._ids.keys()
        found: dict[str, int] = {}
        if missing:
            await session.execute(
                pg_insert(LedgerAccount)
                .values([{"code": code} for code in sorted(missing)])
                .on_conflict_do_nothing(index_elements=["code"])
            )
            rows = await session.execute(
                select(LedgerAccount.code, LedgerAccount.id).where(LedgerAccount.code.in_(missing))
            )
            found = {code: account_id for code, account_id in rows.all()}
            event.listen(
                session.sync_session, "after_commit", lambda _: self._ids.update(found), once=True
            )
        return {code: self._ids.get(code) or found[code] for code in codes}

    def clear(self) -> None:
        self._ids.clear()


ACCOUNT_IDS = AccountIds()


async def debit_if_covered(session: AsyncSession, account_id: int, amount_kobo: int) -> bool:
    """Take ``amount_kobo`` out of a guarded account only if its balance covers it."""
    debited = await (await raw.connection(session)).fetchval(
        "UPDATE ledger_accounts SET balance_kobo = balance_kobo - $2 "
        "WHERE id = $1 AND balance_kobo >= $2 RETURNING id",
        account_id,
        amount_kobo,
    )
    return debited is not None


def reserve_ctes(payments: CTE) -> tuple[CTE, CTE]:
    """For the statement that creates a payment (``payments``: the CTE returning the new row):
    the posting that holds its total (``:available_id`` → ``:reserved_id``, journal
    ``:reserve_journal_id``) and the guarded debit of the available balance, a CTE that
    returns one row when the balance covered the total and none when it did not (the
    statement must then fail). Nothing happens for a payment that was not inserted.
    """
    total = select(payments.c.total_kobo).scalar_subquery()
    available = bindparam("available_id", type_=BigInteger)
    entry = insert(LedgerEntry).from_select(
        [
            "journal_id",
            "payment_id",
            "kind",
            "debit_account_id",
            "credit_account_id",
            "amount_kobo",
        ],
        select(
            bindparam("reserve_journal_id", type_=Uuid),
            payments.c.id,
            literal("reserve", String),
            available,
            bindparam("reserved_id", type_=BigInteger),
            payments.c.total_kobo,
        ),
    )
    debit = (
        update(LedgerAccount)
        .where(LedgerAccount.id == available, LedgerAccount.balance_kobo >= total)
        .values(balance_kobo=LedgerAccount.balance_kobo - total)
        .returning(LedgerAccount.id)
    )
    return entry.cte("reserve_entry"), debit.cte("reserve_debit")


async def credit_guarded(session: AsyncSession, account_id: int, amount_kobo: int) -> None:
    await (await raw.connection(session)).execute(
        "UPDATE ledger_accounts SET balance_kobo = balance_kobo + $2 WHERE id = $1",
        account_id,
        amount_kobo,
    )


async def insert_entries(
    session: AsyncSession,
    journal_id: uuid.UUID,
    payment_id: uuid.UUID | None,
    postings: list[Posting],
    ids: dict[str, int],
) -> None:
    """All postings of one journal in one statement."""
    await insert_journals(session, [(journal_id, payment_id, postings)], ids)


async def balance_of(session: AsyncSession, code: str) -> int:
    """Credits − debits: the stored balance of a guarded account, else summed from entries."""
    if is_guarded(code):
        stored = await session.scalar(
            select(LedgerAccount.balance_kobo).where(LedgerAccount.code == code)
        )
        return int(stored or 0)
    account_id = await session.scalar(select(LedgerAccount.id).where(LedgerAccount.code == code))
    if account_id is None:
        return 0
    credits = select(func.coalesce(func.sum(LedgerEntry.amount_kobo), 0)).where(
        LedgerEntry.credit_account_id == account_id
    )
    debits = select(func.coalesce(func.sum(LedgerEntry.amount_kobo), 0)).where(
        LedgerEntry.debit_account_id == account_id
    )
    return int(
        await session.scalar(select(credits.scalar_subquery() - debits.scalar_subquery())) or 0
    )


async def guarded_out_of_step(session: AsyncSession) -> list[tuple[str, int, int]]:
    """Guarded accounts whose stored balance differs from credits − debits of their entries."""
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
            WHERE a.code LIKE 'client\\:%\\:available'
              AND a.balance_kobo <> COALESCE(c.total, 0) - COALESCE(d.total, 0)
            """
        )
    )
    return [(code, int(stored), int(derived)) for code, stored, derived in rows.all()]


async def negative_guarded(session: AsyncSession) -> list[tuple[str, int]]:
    rows = await session.execute(
        select(LedgerAccount.code, LedgerAccount.balance_kobo).where(
            LedgerAccount.code.like("client:%:available"), LedgerAccount.balance_kobo < 0
        )
    )
    return [(code, int(balance)) for code, balance in rows.all()]


async def insert_journals(
    session: AsyncSession,
    journals: Sequence[tuple[uuid.UUID, uuid.UUID | None, Sequence[Posting]]],
    ids: dict[str, int],
) -> None:
    """Many journals (journal id, payment id, postings) in one statement. Guarded balances
    are not touched here: their callers move them (``service.post``, ``reserve``)."""
    rows = [(journal, payment, p) for journal, payment, postings in journals for p in postings]
    if not rows:
        return
    await (await raw.connection(session)).execute(
        "INSERT INTO ledger_entries "
        "(journal_id, payment_id, kind, debit_account_id, credit_account_id, amount_kobo, memo) "
        "SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::varchar[], $4::bigint[], "
        "$5::bigint[], $6::bigint[], $7::varchar[])",
        [journal for journal, _, _ in rows],
        [payment for _, payment, _ in rows],
        [posting.kind for _, _, posting in rows],
        [ids[posting.debit] for _, _, posting in rows],
        [ids[posting.credit] for _, _, posting in rows],
        [posting.amount_kobo for _, _, posting in rows],
        [posting.memo for _, _, posting in rows],
    )

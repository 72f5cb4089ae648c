"""SQL for a client's balance statement: the entries on its available account."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from billpay.db import raw


@dataclass(frozen=True)
class Line:
    id: int
    kind: str
    payment_id: uuid.UUID | None
    memo: str | None
    at: datetime
    signed_kobo: int  # + into the account, - out of it


@dataclass(frozen=True)
class Statement:
    lines: list[Line]  # newest first
    # The account's balance right after ``lines[0]`` (its current one when there are none).
    balance_after_first: int


# One statement, so the page and the balance it is counted back from are one snapshot. The
# balance after a line is the stored balance less every newer line: cheap for recent pages.
_PAGE = """
WITH account AS (
    SELECT id, balance_kobo FROM ledger_accounts WHERE code = $1
), lines AS (
    SELECT e.id, e.kind, e.payment_id, e.memo, e.at,
           CASE WHEN e.credit_account_id = a.id THEN e.amount_kobo ELSE -e.amount_kobo END
               AS signed_kobo
    FROM ledger_entries e JOIN account a
      ON e.credit_account_id = a.id OR e.debit_account_id = a.id
), page AS (
    SELECT * FROM lines WHERE $2::bigint IS NULL OR id < $2 ORDER BY id DESC LIMIT $3
)
SELECT p.*,
       COALESCE((SELECT balance_kobo FROM account), 0)
       - COALESCE((SELECT SUM(l.signed_kobo) FROM lines l
                   WHERE l.id > COALESCE((SELECT MAX(id) FROM page), $2, 0)), 0)
           AS balance_after_first
FROM page p ORDER BY p.id DESC
"""


async def page(
    session: AsyncSession, account_code: str, *, before_id: int | None, limit: int
) -> Statement:
    rows = await (await raw.connection(session)).fetch(_PAGE, account_code, before_id, limit)
    lines = [
        Line(row["id"], row["kind"], row["payment_id"], row["memo"], row["at"], row["signed_kobo"])
        for row in rows
    ]
    return Statement(lines, rows[0]["balance_after_first"] if rows else 0)


async def line_exists(session: AsyncSession, account_code: str, line_id: int) -> bool:
    """Whether ``line_id`` is one of the account's lines (a cursor from another account is
    refused rather than silently paging someone else's numbering)."""
    found = await (await raw.connection(session)).fetchval(
        "SELECT 1 FROM ledger_entries e JOIN ledger_accounts a ON a.code = $1 "
        "WHERE e.id = $2 AND (e.credit_account_id = a.id OR e.debit_account_id = a.id)",
        account_code,
        line_id,
    )
    return found is not None

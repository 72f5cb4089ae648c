"""A merchant's prepaid balance and its statement (Stripe's ``/v1/balance``).

The statement lists the entries on the client's available account: top-ups, reservations for
payments, refunds. A test key reads its test twin's balance, apart from the live one.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from billpay.balance import repository as repo
from billpay.balance.schemas import (
    BalanceOut,
    BalanceTransactionList,
    BalanceTransactionOut,
    Direction,
)
from billpay.clients.service import AuthenticatedClient
from billpay.errors import InvalidCursor
from billpay.ledger import accounts
from billpay.ledger import service as ledger

LINE_ID_PREFIX = "txn_"


async def balance(session: AsyncSession, client: AuthenticatedClient) -> BalanceOut:
    return BalanceOut(
        available_kobo=await ledger.available_balance(session, client.id),
        reserved_kobo=await ledger.reserved_balance(session, client.id),
        livemode=client.livemode,
    )


async def transactions(
    session: AsyncSession,
    client: AuthenticatedClient,
    *,
    limit: int,
    starting_after: str | None,
) -> BalanceTransactionList:
    """Newest first; ``starting_after`` (a line's id) continues after that line."""
    account = accounts.client_available(client.id)
    before_id = None
    if starting_after is not None:
        before_id = _line_id(starting_after)
        if not await repo.line_exists(session, account, before_id):
            raise _bad_cursor(starting_after)
    statement = await repo.page(session, account, before_id=before_id, limit=limit + 1)
    shown = statement.lines[:limit]
    out: list[BalanceTransactionOut] = []
    balance_after = statement.balance_after_first
    for line in shown:
        out.append(
            BalanceTransactionOut(
                id=f"{LINE_ID_PREFIX}{line.id}",
                amount_kobo=abs(line.signed_kobo),
                direction=Direction.CREDIT if line.signed_kobo > 0 else Direction.DEBIT,
                kind=line.kind,
                payment_id=line.payment_id,
                memo=line.memo,
                created_at=line.at,
                balance_after_kobo=balance_after,
            )
        )
        balance_after -= line.signed_kobo
    return BalanceTransactionList(data=out, has_more=len(statement.lines) > limit)


def _line_id(starting_after: str) -> int:
    digits = starting_after.removeprefix(LINE_ID_PREFIX)
    if starting_after == digits or not digits.isdigit() or len(digits) > 18:
        raise _bad_cursor(starting_after)
    return int(digits)


def _bad_cursor(starting_after: str) -> InvalidCursor:
    return InvalidCursor(
        f"starting_after: {starting_after[:40]!r} is not the id of one of your balance "
        "transactions",
        details={"field": "starting_after"},
    )

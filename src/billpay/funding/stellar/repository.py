"""SQL of Stellar funding: the watcher's cursors, deposits, refunds, and the payments they name."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from billpay.funding.stellar.states import OPEN_REFUNDS, DepositState, RefundStatus
from billpay.models import Payment, PaymentEvent, StellarCursor, StellarDeposit, StellarRefund
from billpay.payments.schemas import FundingMethod

# --- cursors --------------------------------------------------------------------------------


async def get_cursor(session: AsyncSession, account: str) -> str | None:
    token: str | None = await session.scalar(
        select(StellarCursor.paging_token).where(StellarCursor.account == account)
    )
    return token


async def init_cursor(session: AsyncSession, account: str, paging_token: str) -> str:
    """Store ``paging_token`` unless a cursor exists; returns the stored cursor."""
    await session.execute(
        pg_insert(StellarCursor)
        .values(account=account, paging_token=paging_token)
        .on_conflict_do_nothing(index_elements=["account"])
    )
    stored = await get_cursor(session, account)
    assert stored is not None
    return stored


async def lock_cursor(session: AsyncSession, account: str) -> str | None:
    """The stored cursor, row-locked until the transaction ends: one handler per account."""
    token: str | None = await session.scalar(
        select(StellarCursor.paging_token).where(StellarCursor.account == account).with_for_update()
    )
    return token


async def save_cursor(session: AsyncSession, account: str, paging_token: str) -> None:
    await session.execute(
        update(StellarCursor)
        .where(StellarCursor.account == account)
        .values(paging_token=paging_token, updated_at=func.now())
    )


# --- deposits -------------------------------------------------------------------------------


async def insert_deposits(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Insert the deposits not stored yet: operation id → row id of those this call inserted."""
    if not rows:
        return {}
    # One statement with a parameter list: SQLAlchemy batches it ("insertmanyvalues") with a
    # cached compilation, where ``.values(rows)`` would compile a new giant VALUES each time.
    result = await session.execute(
        pg_insert(StellarDeposit)
        .on_conflict_do_nothing(index_elements=["operation_id"])
        .returning(StellarDeposit.operation_id, StellarDeposit.id),
        [_with_all_columns(row) for row in rows],
    )
    return {op: deposit_id for op, deposit_id in result.all()}


_DEPOSIT_COLUMNS = (
    "account",
    "operation_id",
    "paging_token",
    "tx_hash",
    "from_account",
    "asset_code",
    "asset_issuer",
    "amount",
    "amount_kobo",
    "memo_type",
    "memo",
    "path_payment",
    "ledger_at",
    "payment_id",
    "funded_payment",
    "state",
    "reason",
    "raw",
)


def _with_all_columns(row: dict[str, Any]) -> dict[str, Any]:
    """Every row of an executemany names the same columns (defaults filled in)."""
    defaults = {"path_payment": False, "funded_payment": False}
    return {column: row.get(column, defaults.get(column)) for column in _DEPOSIT_COLUMNS}


async def deposit_ids(session: AsyncSession, operation_ids: Iterable[str]) -> dict[str, int]:
    ops = list(operation_ids)
    if not ops:
        return {}
    rows = await session.execute(
        select(StellarDeposit.operation_id, StellarDeposit.id).where(
            StellarDeposit.operation_id.in_(ops)
        )
    )
    return {op: deposit_id for op, deposit_id in rows.all()}


async def move_deposit(
    session: AsyncSession,
    deposit_id: int,
    state: DepositState,
    reason: str,
    *,
    state_was: Sequence[DepositState] | None = None,
) -> bool:
    query = update(StellarDeposit).where(StellarDeposit.id == deposit_id)
    if state_was is not None:
        query = query.where(StellarDeposit.state.in_([s.value for s in state_was]))
    result = await session.execute(
        query.values(
            state=state.value,
            # The evidence accumulates: why it was received as it was, then what became of it.
            reason=func.left(StellarDeposit.reason + "; " + reason, 500),
            updated_at=func.now(),
        ).returning(StellarDeposit.id)
    )
    return result.first() is not None


async def funding_deposit(session: AsyncSession, payment_id: uuid.UUID) -> StellarDeposit | None:
    """The deposit that funded the payment (there is at most one)."""
    found: StellarDeposit | None = await session.scalar(
        select(StellarDeposit)
        .where(StellarDeposit.payment_id == payment_id, StellarDeposit.funded_payment)
        .order_by(StellarDeposit.id)
        .limit(1)
    )
    return found


# --- payments named by memos ----------------------------------------------------------------


async def stellar_payments_for_update(
    session: AsyncSession, short_ids: Iterable[str]
) -> dict[str, Payment]:
    """The Stellar-funded payments with these short ids, row-locked in a stable order.

    Returned detached from the session: the caller tracks their status itself, and a session
    holding hundreds of payments would make any ORM-enabled statement of the batch scan all of
    them to synchronize."""
    wanted = sorted(set(short_ids))
    if not wanted:
        return {}
    found = await session.scalars(
        select(Payment)
        .where(Payment.short_id.in_(wanted), Payment.funding_method == FundingMethod.STELLAR.value)
        .order_by(Payment.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    payments = list(found.all())
    for payment in payments:
        session.expunge(payment)
    return {payment.short_id: payment for payment in payments}


async def note_event(
    session: AsyncSession,
    payment_id: uuid.UUID,
    status: str,
    reason: str,
    actor: str,
    data: dict[str, Any] | None = None,
) -> None:
    """An entry in the payment's history that changes nothing (``from = to``): a deposit it
    did not accept, or the fate of its refund. Clients are not notified of it."""
    await session.execute(
        insert(PaymentEvent).values(
            payment_id=payment_id,
            from_status=status,
            to_status=status,
            reason=reason[:500],
            actor=actor,
            data=data,
        )
    )


# --- refunds --------------------------------------------------------------------------------


async def insert_refunds(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> None:
    """One refund per cause: a cause already present is left as it is."""
    if rows:
        await session.execute(
            pg_insert(StellarRefund)
            .values(list(rows))
            .on_conflict_do_nothing(index_elements=["cause"])
        )


async def open_refunds(session: AsyncSession, source_account: str, limit: int) -> list[int]:
    """Refunds to drive, those with an envelope out first: until they are resolved, no new
    envelope is built (it could take the same sequence number)."""
    rows = await session.scalars(
        select(StellarRefund.id)
        .where(
            StellarRefund.status.in_(OPEN_REFUNDS), StellarRefund.source_account == source_account
        )
        .order_by(StellarRefund.envelope_xdr.is_(None), StellarRefund.id)
        .limit(limit)
    )
    return list(rows.all())


async def refund(session: AsyncSession, refund_id: int) -> StellarRefund | None:
    return await session.get(StellarRefund, refund_id, populate_existing=True)


async def update_refund(
    session: AsyncSession,
    refund_id: int,
    values: dict[str, Any],
    *,
    status_was: RefundStatus,
    tx_hash_was: str | None,
) -> bool:
    """Update a refund only if it is still as it was read (status and envelope hash)."""
    result = await session.execute(
        update(StellarRefund)
        .where(
            StellarRefund.id == refund_id,
            StellarRefund.status == status_was.value,
            StellarRefund.tx_hash.is_not_distinct_from(tx_hash_was),
        )
        .values(**values, updated_at=func.now())
        .returning(StellarRefund.id)
    )
    return result.first() is not None


@dataclass(frozen=True)
class RefundingPayment:
    payment_id: uuid.UUID
    short_id: str
    failure_reason: str | None
    reopen_refund_id: int | None  # its closing refund was quarantined: an operator asks again


# Stellar payments in ``refunding`` whose money is not on its way back: no closing refund yet,
# or only a quarantined one (an operator sent the payment back to ``refunding`` to retry).
_REFUNDING_WITHOUT_REFUND = text(
    """
    SELECT p.id, p.short_id, p.failure_reason,
           (SELECT r.id FROM stellar_refunds r
            WHERE r.payment_id = p.id AND r.closes_payment AND r.status = 'quarantined'
            ORDER BY r.id DESC LIMIT 1) AS reopen_id
    FROM payments p
    WHERE p.status = 'refunding' AND p.funding_method = 'stellar'
      AND NOT EXISTS (
        SELECT 1 FROM stellar_refunds r
        WHERE r.payment_id = p.id AND r.closes_payment AND r.status <> 'quarantined'
      )
    ORDER BY p.updated_at
    LIMIT :limit
    """
)


async def refunding_without_refund(session: AsyncSession, limit: int) -> list[RefundingPayment]:
    rows = await session.execute(_REFUNDING_WITHOUT_REFUND, {"limit": limit})
    return [RefundingPayment(*row) for row in rows.all()]


async def excess_refunded_kobo(session: AsyncSession, deposit_id: int) -> int:
    """What is (being) sent back of this deposit as an overpayment's excess."""
    total = await session.scalar(
        select(func.coalesce(func.sum(StellarRefund.amount_kobo), 0)).where(
            StellarRefund.deposit_id == deposit_id, StellarRefund.kind == "excess"
        )
    )
    return int(total or 0)


# --- the balance check ----------------------------------------------------------------------


async def inexact_cngn_deposits(
    session: AsyncSession, account: str, code: str, issuer: str
) -> list[str]:
    """Amounts of cNGN deposits that were not a whole number of kobo (their sub-kobo part
    never enters the NGN ledger)."""
    rows = await session.scalars(
        select(StellarDeposit.amount).where(
            StellarDeposit.account == account,
            StellarDeposit.asset_code == code,
            StellarDeposit.asset_issuer == issuer,
            StellarDeposit.amount_kobo.is_(None),
            StellarDeposit.amount.is_not(None),
        )
    )
    return [amount for amount in rows.all() if amount is not None]


async def refunds_in_flight(session: AsyncSession, account: str) -> list[StellarRefund]:
    rows = await session.scalars(
        select(StellarRefund)
        .where(
            StellarRefund.source_account == account,
            StellarRefund.status == RefundStatus.SUBMITTING.value,
        )
        .order_by(StellarRefund.id)
    )
    return list(rows.all())


async def count_deposits(session: AsyncSession, account: str, state: DepositState) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(StellarDeposit)
        .where(StellarDeposit.account == account, StellarDeposit.state == state.value)
    )
    return int(count or 0)

"""SQL of reconciliation: runs, adjustments, the attempts compared with providers, statements."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from billpay.models import (
    LedgerAccount,
    LedgerAdjustment,
    Payment,
    PaymentAttempt,
    ReconciliationRun,
    StellarDeposit,
    WebhookInboxEvent,
)
from billpay.payments.attempts.outcome import AttemptOutcome

# One reconciliation at a time across every worker: the periodic claim takes this lock.
_RUN_LOCK = "billpay:reconciliation"


async def start_run(session: AsyncSession, trigger: str) -> int:
    run = ReconciliationRun(trigger=trigger[:60])
    session.add(run)
    await session.flush()
    return run.id


async def claim_periodic_run(
    session: AsyncSession, trigger: str, interval_seconds: float
) -> int | None:
    """A new run, unless one started within the interval (or another worker is claiming)."""
    locked = await session.scalar(
        text("SELECT pg_try_advisory_xact_lock(hashtext(:key))"), {"key": _RUN_LOCK}
    )
    if not locked:
        return None
    recent = await session.scalar(
        select(func.count())
        .select_from(ReconciliationRun)
        .where(ReconciliationRun.started_at > func.now() - timedelta(seconds=interval_seconds))
    )
    if recent:
        return None
    return await start_run(session, trigger)


async def finish_run(
    session: AsyncSession,
    run_id: int,
    *,
    ok: bool,
    payments_checked: int,
    discrepancy_count: int,
    report: dict[str, Any],
) -> None:
    await session.execute(
        update(ReconciliationRun)
        .where(ReconciliationRun.id == run_id)
        .values(
            finished_at=func.now(),
            ok=ok,
            payments_checked=payments_checked,
            discrepancy_count=discrepancy_count,
            report=report,
        )
    )


async def recent_runs(session: AsyncSession, limit: int) -> list[ReconciliationRun]:
    rows = await session.scalars(
        select(ReconciliationRun)
        .order_by(ReconciliationRun.started_at.desc(), ReconciliationRun.id.desc())
        .limit(limit)
    )
    return list(rows.all())


async def latest_finished_run(session: AsyncSession) -> ReconciliationRun | None:
    found: ReconciliationRun | None = await session.scalar(
        select(ReconciliationRun)
        .where(ReconciliationRun.finished_at.is_not(None))
        .order_by(ReconciliationRun.finished_at.desc(), ReconciliationRun.id.desc())
        .limit(1)
    )
    return found


async def get_run(session: AsyncSession, run_id: int) -> ReconciliationRun | None:
    return await session.get(ReconciliationRun, run_id)


async def count_payments(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Payment)) or 0)


# --- adjustments ---------------------------------------------------------------------------


async def existing_accounts(session: AsyncSession, codes: set[str]) -> set[str]:
    rows = await session.scalars(select(LedgerAccount.code).where(LedgerAccount.code.in_(codes)))
    return set(rows.all())


async def payment_exists(session: AsyncSession, payment_id: uuid.UUID) -> bool:
    return await session.get(Payment, payment_id) is not None


async def insert_adjustment(session: AsyncSession, **values: Any) -> LedgerAdjustment:
    adjustment = LedgerAdjustment(**values)
    session.add(adjustment)
    await session.flush()
    await session.refresh(adjustment)
    return adjustment


async def adjustments_since_previous_run(
    session: AsyncSession, run_id: int | None
) -> list[LedgerAdjustment]:
    """Adjustments posted after the start of the last finished run before ``run_id``."""
    previous = (
        select(func.max(ReconciliationRun.started_at))
        .where(ReconciliationRun.finished_at.is_not(None), ReconciliationRun.id != (run_id or 0))
        .scalar_subquery()
    )
    rows = await session.scalars(
        select(LedgerAdjustment)
        .where((previous.is_(None)) | (LedgerAdjustment.created_at > previous))
        .order_by(LedgerAdjustment.id)
    )
    return list(rows.all())


async def recent_adjustments(session: AsyncSession, limit: int) -> list[LedgerAdjustment]:
    rows = await session.scalars(
        select(LedgerAdjustment)
        .order_by(LedgerAdjustment.created_at.desc(), LedgerAdjustment.id.desc())
        .limit(limit)
    )
    return list(rows.all())


# --- the provider side ---------------------------------------------------------------------


async def attempts_to_compare(
    session: AsyncSession, since: datetime, limit: int
) -> list[tuple[Payment, PaymentAttempt]]:
    """Decided attempts of settled payments, newest first: delivered attempts of paid
    payments, and failed attempts (whatever became of their payment). Payments still being
    worked on are the worker's: their requeries are its own."""
    rows = await session.execute(
        select(Payment, PaymentAttempt)
        .join(PaymentAttempt, PaymentAttempt.payment_id == Payment.id)
        .where(
            PaymentAttempt.updated_at >= since,
            (
                (PaymentAttempt.outcome == AttemptOutcome.SUCCEEDED.value)
                & (Payment.status == "paid")
            )
            | (
                (PaymentAttempt.outcome == AttemptOutcome.FAILED.value)
                & Payment.status.in_(("paid", "refunding", "refunded", "failed"))
            ),
        )
        .order_by(PaymentAttempt.updated_at.desc())
        .limit(limit)
    )
    return [(payment, attempt) for payment, attempt in rows.all()]


async def unknown_references(
    session: AsyncSession, since: datetime, providers: list[str]
) -> list[WebhookInboxEvent]:
    """Provider notifications in the window about a reference no attempt of ours carries."""
    rows = await session.scalars(
        select(WebhookInboxEvent)
        .where(
            WebhookInboxEvent.received_at >= since,
            WebhookInboxEvent.provider.in_(providers),
            WebhookInboxEvent.reference.is_not(None),
            ~select(PaymentAttempt.id)
            .where(
                PaymentAttempt.provider == WebhookInboxEvent.provider,
                PaymentAttempt.provider_reference == WebhookInboxEvent.reference,
            )
            .exists(),
        )
        .order_by(WebhookInboxEvent.id)
    )
    return list(rows.all())


# --- the Stellar side ----------------------------------------------------------------------


async def recorded_operations(session: AsyncSession, operation_ids: set[str]) -> set[str]:
    if not operation_ids:
        return set()
    rows = await session.scalars(
        select(StellarDeposit.operation_id).where(StellarDeposit.operation_id.in_(operation_ids))
    )
    return set(rows.all())


# --- statements ----------------------------------------------------------------------------


@dataclass(frozen=True)
class StatementRow:
    reference: str
    provider_transaction_id: str | None
    paid_to_provider_kobo: int
    at: datetime
    attempt_outcome: str
    payment_status: str
    payment_id: uuid.UUID


# What billpay's books say each attempt cost it at the provider: the payment's net postings to
# the provider's payable (vend minus reversal), on its delivered attempt only.
_STATEMENT = text(
    """
    SELECT a.provider_reference, a.provider_transaction_id,
           CAST(CASE WHEN a.outcome = 'succeeded' THEN COALESCE(owed.kobo, 0) ELSE 0 END
                AS bigint),
           a.created_at, a.outcome, p.status, p.id
    FROM payment_attempts a
    JOIN payments p ON p.id = a.payment_id
    LEFT JOIN LATERAL (
        SELECT SUM(CASE WHEN e.credit_account_id = acc.id THEN e.amount_kobo
                        ELSE -e.amount_kobo END) AS kobo
        FROM ledger_accounts acc
        JOIN ledger_entries e ON e.payment_id = p.id
             AND acc.id IN (e.credit_account_id, e.debit_account_id)
        WHERE acc.code = 'provider:' || a.provider || '\\:payable'
    ) owed ON true
    WHERE a.provider = :provider AND a.created_at >= :start AND a.created_at < :end
    ORDER BY a.created_at, a.id
    """
)


async def statement_rows(
    session: AsyncSession, provider: str, start: datetime, end: datetime
) -> list[StatementRow]:
    rows = await session.execute(_STATEMENT, {"provider": provider, "start": start, "end": end})
    return [StatementRow(*row) for row in rows.all()]

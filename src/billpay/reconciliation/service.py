"""Reconciliation's rules: a run over every side, recorded; the periodic job; operators'
adjusting entries; settlement statements. Never commits (runs commit their own steps through
the context's units of work, so a long provider comparison holds no transaction open)."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Protocol

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from billpay.catalog.plans import PlanBook
from billpay.db.context import JobContext
from billpay.errors import InvalidAdjustment, InvalidStatementRequest, RunNotFound, UnknownAccount
from billpay.funding.stellar.config import StellarConfig
from billpay.ledger import service as ledger
from billpay.ledger.reconcile import StellarAssetKey, reconcile
from billpay.ledger.repository import Posting
from billpay.models import LedgerAdjustment, ReconciliationRun
from billpay.money import kobo_to_naira
from billpay.providers.base import BillProvider, ProviderName
from billpay.reconciliation import repository as repo
from billpay.reconciliation.providers_side import compare_with_providers
from billpay.reconciliation.schemas import (
    Adjustment,
    AdjustmentIn,
    Discrepancy,
    ReconciliationOverview,
    ReconciliationReport,
    RunDetail,
    RunSummary,
    Side,
    SideReport,
)

log = structlog.get_logger(__name__)

# Where an operator's correction books the other side of an entry: billpay's own equity.
ADJUSTMENTS_ACCOUNT = "equity:adjustments"
ACTOR_PATTERN = re.compile(r"^[A-Za-z0-9 ._@:-]{1,100}$")
# A report keeps this many discrepancies per side (all are counted).
KEPT_PER_SIDE = 500
# Settlement statements are dated in Lagos time (WAT, UTC+1 all year: no daylight saving).
LAGOS = timezone(timedelta(hours=1), "WAT")
MAX_STATEMENT_DAYS = 366


class ReconciliationContext(JobContext, Protocol):
    """What a reconciliation needs of its process (``AppState`` is one)."""

    @property
    def providers(self) -> Mapping[ProviderName, BillProvider]: ...

    @property
    def plans(self) -> PlanBook: ...


# --- a run -----------------------------------------------------------------------------------


async def reconcile_and_record(
    context: ReconciliationContext, trigger: str, *, sides: frozenset[Side] = frozenset(Side)
) -> tuple[int, ReconciliationReport]:
    async with context.unit_of_work() as session:
        run_id = await repo.start_run(session, trigger)
    report = await run_sides(context, sides, run_id=run_id)
    await _record(context, run_id, report)
    return run_id, report


async def run_sides(
    context: ReconciliationContext,
    sides: frozenset[Side] = frozenset(Side),
    *,
    run_id: int | None = None,
) -> ReconciliationReport:
    started_at = datetime.now(UTC)
    clock = time.monotonic()
    payments_checked, ledger_side = await _ledger_side(context)
    async with context.unit_of_work() as session:
        adjustments = await repo.adjustments_since_previous_run(session, run_id)
    reports = [ledger_side]
    others: list[tuple[Side, Callable[[], Awaitable[SideReport]]]] = [
        (Side.PROVIDERS, lambda: compare_with_providers(context, context.providers, context.plans)),
        (Side.STELLAR, lambda: _compare_with_stellar(context)),
    ]
    for side, compare in others:
        if side not in sides:
            continue
        try:
            reports.append(await compare())
        except Exception as exc:  # one side's outage must not hide the others' findings
            log.exception("reconcile_side_failed", side=side.value)
            reports.append(
                SideReport(side=side, checked=0, notes=[f"not compared: {type(exc).__name__}"])
            )
    return ReconciliationReport(
        ok=not any(report.discrepancies for report in reports),
        started_at=started_at,
        finished_at=datetime.now(UTC),
        payments_checked=payments_checked,
        seconds=round(time.monotonic() - clock, 3),
        sides=reports,
        adjustments=[_adjustment(a) for a in adjustments],
    )


async def _compare_with_stellar(context: JobContext) -> SideReport:
    # Imported here: the Stellar side loads stellar-sdk (half a second), which a process
    # without Stellar work (the worker's start, the API) should not pay for.
    from billpay.reconciliation.stellar_side import compare_with_stellar

    return await compare_with_stellar(context)


async def _ledger_side(context: JobContext) -> tuple[int, SideReport]:
    config = StellarConfig.from_settings(context.settings)
    cngn = None
    if config is not None and config.asset.code and config.asset.issuer:
        cngn = StellarAssetKey(config.asset.code, config.asset.issuer)
    async with context.unit_of_work() as session:
        payments = await repo.count_payments(session)
        books = await reconcile(session, cngn)
    report = SideReport(
        side=Side.LEDGER,
        checked=payments,
        discrepancies=[
            Discrepancy(side=Side.LEDGER, kind=f.kind, message=f.message, evidence=f.evidence)
            for f in books.discrepancies()
        ],
    )
    if cngn is None:
        report.notes.append("Stellar is not configured: deposits were not checked for credits")
    return payments, report


async def _record(context: JobContext, run_id: int, report: ReconciliationReport) -> None:
    kept = report.model_copy(deep=True)
    for side in kept.sides:
        if len(side.discrepancies) > KEPT_PER_SIDE:
            side.notes.append(
                f"{len(side.discrepancies) - KEPT_PER_SIDE} more discrepancies not stored"
            )
            side.discrepancies = side.discrepancies[:KEPT_PER_SIDE]
    async with context.unit_of_work() as session:
        await repo.finish_run(
            session,
            run_id,
            ok=report.ok,
            payments_checked=report.payments_checked,
            discrepancy_count=len(report.discrepancies),
            report=kept.model_dump(mode="json"),
        )
    log.info(
        "reconciliation_finished",
        run_id=run_id,
        ok=report.ok,
        discrepancies=len(report.discrepancies),
        seconds=report.seconds,
    )


class PeriodicReconciliation:
    """The worker's job: a recorded run every ``reconcile_interval_seconds`` across all
    workers (the claim is taken under an advisory lock), the first one interval after the
    process started. The run goes on in the background: its rate-limited provider lookups
    must not hold up the worker's other periodic jobs (expiry, inbox, refunds)."""

    def __init__(self) -> None:
        self._started = time.monotonic()
        self._running: asyncio.Task[None] | None = None

    async def __call__(self, context: ReconciliationContext) -> int:
        interval = context.settings.reconcile_interval_seconds
        if interval <= 0 or time.monotonic() - self._started < interval:
            return 0
        if self._running is not None and not self._running.done():
            return 0
        async with context.unit_of_work() as session:
            run_id = await repo.claim_periodic_run(session, "worker", interval)
        if run_id is None:
            return 0
        self._running = asyncio.create_task(self._run(context, run_id), name="reconciliation")
        return 1

    @staticmethod
    async def _run(context: ReconciliationContext, run_id: int) -> None:
        try:
            report = await run_sides(context, run_id=run_id)
            await _record(context, run_id, report)
        except Exception:  # the run stays unfinished (ok is null); the next one is due later
            log.exception("reconciliation_failed", run_id=run_id)


# --- history ---------------------------------------------------------------------------------


def _summary(run: ReconciliationRun) -> RunSummary:
    return RunSummary(
        id=run.id,
        trigger=run.trigger,
        started_at=run.started_at,
        finished_at=run.finished_at,
        ok=run.ok,
        payments_checked=run.payments_checked,
        discrepancy_count=run.discrepancy_count,
    )


def _detail(run: ReconciliationRun) -> RunDetail:
    report = ReconciliationReport.model_validate(run.report) if run.report else None
    return RunDetail(**_summary(run).model_dump(), report=report)


async def overview(
    session: AsyncSession, runs: int = 20, adjustments: int = 20
) -> ReconciliationOverview:
    latest = await repo.latest_finished_run(session)
    return ReconciliationOverview(
        latest=_detail(latest) if latest else None,
        runs=[_summary(run) for run in await repo.recent_runs(session, runs)],
        adjustments=[_adjustment(a) for a in await repo.recent_adjustments(session, adjustments)],
    )


async def run_detail(session: AsyncSession, run_id: int) -> RunDetail:
    run = await repo.get_run(session, run_id)
    if run is None:
        raise RunNotFound(f"no reconciliation run {run_id}")
    return _detail(run)


# --- corrections -----------------------------------------------------------------------------


def _adjustment(row: LedgerAdjustment) -> Adjustment:
    return Adjustment.model_validate(row, from_attributes=True)


async def adjust(session: AsyncSession, entry: AdjustmentIn, actor: str) -> Adjustment:
    """One balanced adjusting journal (kind ``adjustment``), with who made it and why.

    It moves money only between accounts the books already have (or billpay's adjustments
    account): a correction never opens an account for an owner that may not exist."""
    reason = entry.reason.strip()
    if not reason:
        raise InvalidAdjustment("reason: say what the adjustment corrects")
    if not ACTOR_PATTERN.match(actor):
        raise InvalidAdjustment("actor: 1-100 of letters, digits, space . _ @ : -")
    if entry.debit_account == entry.credit_account:
        raise InvalidAdjustment("credit_account: must differ from debit_account")
    codes = {entry.debit_account, entry.credit_account}
    missing = codes - await repo.existing_accounts(session, codes) - {ADJUSTMENTS_ACCOUNT}
    if missing:
        raise UnknownAccount(
            f"no ledger account {', '.join(sorted(missing))}",
            details={"accounts": sorted(missing)},
        )
    if entry.payment_id is not None and not await repo.payment_exists(session, entry.payment_id):
        raise InvalidAdjustment(f"payment_id: no payment {entry.payment_id}")
    journal_id = await ledger.post(
        session,
        [
            Posting(
                entry.debit_account,
                entry.credit_account,
                entry.amount_kobo,
                "adjustment",
                f"{actor}: {reason}"[:300],
            )
        ],
        entry.payment_id,
    )
    row = await repo.insert_adjustment(
        session,
        journal_id=journal_id,
        payment_id=entry.payment_id,
        debit_account=entry.debit_account,
        credit_account=entry.credit_account,
        amount_kobo=entry.amount_kobo,
        reason=reason,
        actor=actor,
    )
    log.info(
        "ledger_adjusted",
        adjustment_id=row.id,
        journal_id=str(journal_id),
        amount_kobo=entry.amount_kobo,
        actor=actor,
    )
    return _adjustment(row)


# --- statements ------------------------------------------------------------------------------

STATEMENT_COLUMNS = (
    "reference",
    "provider_transaction_id",
    "amount_paid_to_provider_kobo",
    "amount_paid_to_provider_naira",
    "time",
    "billpay_outcome",
    "payment_status",
    "payment_id",
)


def _outcome(attempt_outcome: str, payment_status: str) -> str:
    """What billpay's books say became of one provider reference."""
    if attempt_outcome == "succeeded":
        return "delivered" if payment_status == "paid" else "reversed"
    if attempt_outcome == "failed":
        return "failed"
    return "unknown"


def statement_range(
    provider: str, start: date, end: date
) -> tuple[ProviderName, datetime, datetime]:
    """The provider and the Lagos-time bounds of ``start`` … ``end`` (both days included)."""
    try:
        name = ProviderName(provider)
    except ValueError as exc:
        known = ", ".join(p.value for p in ProviderName)
        raise InvalidStatementRequest(f"provider: {provider!r} is not one of {known}") from exc
    if end < start:
        raise InvalidStatementRequest("to: the last day comes before the first")
    if (end - start).days >= MAX_STATEMENT_DAYS:
        raise InvalidStatementRequest(f"to: at most {MAX_STATEMENT_DAYS} days in one statement")
    begin = datetime.combine(start, datetime.min.time(), LAGOS)
    finish = datetime.combine(end + timedelta(days=1), datetime.min.time(), LAGOS)
    return name, begin, finish


async def statement_csv(session: AsyncSession, provider: str, start: date, end: date) -> str:
    """Every attempt sent to ``provider`` in the range, as the CSV an operator matches against
    the provider's settlement statement: amounts are what billpay's ledger owes the provider
    for each reference (0 for one that failed or was reversed)."""
    name, begin, finish = statement_range(provider, start, end)
    rows = await repo.statement_rows(session, name.value, begin, finish)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(STATEMENT_COLUMNS)
    for row in rows:
        writer.writerow(
            [
                row.reference,
                row.provider_transaction_id or "",
                row.paid_to_provider_kobo,
                f"{kobo_to_naira(row.paid_to_provider_kobo)}",
                row.at.astimezone(LAGOS).isoformat(timespec="seconds"),
                _outcome(row.attempt_outcome, row.payment_status),
                row.payment_status,
                str(row.payment_id),
            ]
        )
    return out.getvalue()


def parse_payment_id(value: str | None) -> uuid.UUID | None:
    """A form's optional payment id."""
    if not value or not value.strip():
        return None
    try:
        return uuid.UUID(value.strip())
    except ValueError as exc:
        raise InvalidAdjustment("payment_id: not a payment id") from exc

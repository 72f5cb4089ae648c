"""The rules behind the operator views: what counts as success, health, stuck. Never commits."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from billpay.ledger.reconcile import reconcile
from billpay.models import Payment
from billpay.ops import repository as repo
from billpay.ops.repository import PaymentFilters as PaymentFilters  # re-exported for views
from billpay.ops.schemas import (
    AccountAmount,
    AccountMismatch,
    BillTypeStats,
    BreakerHealth,
    HealthStatus,
    OpsStats,
    ProviderHealth,
    ProviderPerformance,
    ProvidersReport,
    ProviderSwitchOut,
    ReconcileOut,
    ReservedMismatch,
    StuckGroup,
    StuckPayment,
    StuckReport,
    UndrainedPayment,
)
from billpay.payments.attempts import repository as attempts_repo
from billpay.payments.attempts.outcome import AttemptOutcome
from billpay.payments.service import PaymentsPage, decode_cursor, paginate
from billpay.payments.status import HOLDING_FUNDS, Status
from billpay.routing import switches
from billpay.routing.breaker import DEFAULT_BREAKER_POLICY
from billpay.routing.health import provider_health

NOT_DELIVERED = frozenset({Status.REFUNDING, Status.REFUNDED, Status.FAILED})
IN_PROGRESS = frozenset({Status.AWAITING_FUNDS, Status.PENDING, Status.PROCESSING})

# Health from the database: the share of failed attempts among those active in the window
# (unknown ones are pending answers, not ill health; ``routing`` has the breakers). "failing"
# uses the rate that opens a breaker, and only on enough samples to mean something.
FAILING_RATE = DEFAULT_BREAKER_POLICY.failure_rate
DEGRADED_RATE = 0.2
FAILING_MIN_SAMPLES = 5

BAD_OUTCOMES = frozenset({AttemptOutcome.FAILED})
IN_FLIGHT_OUTCOMES = frozenset(
    {AttemptOutcome.IN_FLIGHT, AttemptOutcome.NOT_SENT, AttemptOutcome.RESEND}
)


@dataclass(frozen=True)
class StuckThresholds:
    processing: timedelta = timedelta(minutes=15)
    refunding: timedelta = timedelta(minutes=60)
    limit: int = 50


def _now() -> datetime:
    return datetime.now(UTC)


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


# --- payments and providers ------------------------------------------------------------------


async def stats(session: AsyncSession, window: timedelta) -> OpsStats:
    now = _now()
    since = now - window
    by_status = {status.value: 0 for status in Status}
    by_status.update(await repo.count_by_status(session, since))
    return OpsStats(
        window_hours=window.total_seconds() / 3600,
        since=since,
        generated_at=now,
        total_payments=sum(by_status.values()),
        payments_by_status=by_status,
        by_bill_type=bill_type_stats(await repo.count_by_bill_type_and_status(session, since)),
        providers=await performance(session, since),
    )


def bill_type_stats(rows: Iterable[tuple[str, str, int]]) -> list[BillTypeStats]:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for bill_type, status, count in rows:
        counts[bill_type][status] += count
    return [_bill_type(bill_type, counts[bill_type]) for bill_type in sorted(counts)]


def _bill_type(bill_type: str, counts: Counter[str]) -> BillTypeStats:
    paid = counts[Status.PAID]
    failed = sum(counts[status] for status in NOT_DELIVERED)
    review = counts[Status.NEEDS_REVIEW]
    return BillTypeStats(
        bill_type=bill_type,
        total=sum(counts.values()),
        paid=paid,
        failed=failed,
        needs_review=review,
        in_progress=sum(counts[status] for status in IN_PROGRESS),
        expired=counts[Status.EXPIRED],
        success_rate=_rate(paid, paid + failed + review),
    )


async def performance(session: AsyncSession, since: datetime) -> list[ProviderPerformance]:
    counts = _by_provider(await attempts_repo.outcome_counts(session, since))
    latencies = await attempts_repo.latency_percentiles(session, since)
    return [
        _performance(provider, counts[provider], latencies.get(provider, (None, None)))
        for provider in sorted(counts)
    ]


def _by_provider(rows: Iterable[tuple[str, str, int]]) -> dict[str, Counter[str]]:
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for provider, outcome, count in rows:
        counts[provider][outcome] += count
    return counts


def _performance(
    provider: str, counts: Counter[str], latency: tuple[float | None, float | None]
) -> ProviderPerformance:
    succeeded = counts[AttemptOutcome.SUCCEEDED]
    failed = counts[AttemptOutcome.FAILED]
    unknown = counts[AttemptOutcome.UNKNOWN]
    return ProviderPerformance(
        provider=provider,
        attempts=sum(counts.values()),
        succeeded=succeeded,
        failed=failed,
        unknown=unknown,
        in_flight=sum(counts[outcome] for outcome in IN_FLIGHT_OUTCOMES),
        success_rate=_rate(succeeded, succeeded + failed + unknown),
        latency_p50_ms=latency[0],
        latency_p95_ms=latency[1],
    )


async def providers(
    session: AsyncSession,
    window: timedelta,
    health_window: timedelta,
    configured: Collection[str],
) -> ProvidersReport:
    now = _now()
    return ProvidersReport(
        window_hours=window.total_seconds() / 3600,
        health_minutes=health_window.total_seconds() / 60,
        generated_at=now,
        performance=await performance(session, now - window),
        health=await health(session, now - health_window, configured),
        routing=[
            BreakerHealth(**asdict(row))
            for row in await provider_health(session, window=health_window, now=now)
        ],
        switches=[
            ProviderSwitchOut(**(asdict(row) | {"biller": row.biller or None}))
            for row in await switches.switches(session)
        ],
    )


async def health(
    session: AsyncSession, since: datetime, configured: Collection[str]
) -> list[ProviderHealth]:
    counts = _by_provider(await attempts_repo.outcome_counts(session, since, by_activity=True))
    activity = await attempts_repo.provider_activity(session, since)
    names = sorted(set(configured) | set(counts))
    return [
        _health(name, counts[name], activity.get(name, (None, None)), name in configured)
        for name in names
    ]


def health_status(attempts: int, bad: int) -> HealthStatus:
    if attempts == 0:
        return HealthStatus.IDLE
    rate = bad / attempts
    if rate >= FAILING_RATE and attempts >= FAILING_MIN_SAMPLES:
        return HealthStatus.FAILING
    if rate >= DEGRADED_RATE:
        return HealthStatus.DEGRADED
    return HealthStatus.HEALTHY


def _health(
    provider: str,
    counts: Counter[str],
    activity: tuple[datetime | None, datetime | None],
    configured: bool,
) -> ProviderHealth:
    attempts = sum(counts.values())
    bad = sum(counts[outcome] for outcome in BAD_OUTCOMES)
    return ProviderHealth(
        provider=provider,
        status=health_status(attempts, bad),
        configured=configured,
        attempts=attempts,
        bad=bad,
        bad_rate=_rate(bad, attempts),
        last_attempt_at=activity[0],
        last_success_at=activity[1],
    )


# --- stuck payments --------------------------------------------------------------------------


async def stuck(session: AsyncSession, thresholds: StuckThresholds) -> StuckReport:
    now = _now()
    oldest = await repo.oldest_in(session, [status.value for status in HOLDING_FUNDS])
    return StuckReport(
        generated_at=now,
        processing=await _stuck_group(
            session, Status.PROCESSING, thresholds.processing, now, thresholds.limit
        ),
        needs_review=await _stuck_group(session, Status.NEEDS_REVIEW, None, now, thresholds.limit),
        refunding=await _stuck_group(
            session, Status.REFUNDING, thresholds.refunding, now, thresholds.limit
        ),
        oldest_unresolved_seconds=(now - oldest[1]).total_seconds() if oldest else None,
        oldest_unresolved_payment_id=oldest[0] if oldest else None,
    )


async def _stuck_group(
    session: AsyncSession,
    status: Status,
    older_than: timedelta | None,
    now: datetime,
    limit: int,
) -> StuckGroup:
    cutoff = now - older_than if older_than is not None else None
    rows, count = await repo.in_status_before(session, status.value, cutoff, limit)
    return StuckGroup(
        status=status.value,
        older_than_minutes=older_than.total_seconds() / 60 if older_than is not None else None,
        count=count,
        payments=[_stuck_payment(payment, entered, now) for payment, entered in rows],
    )


def _stuck_payment(payment: Payment, entered: datetime, now: datetime) -> StuckPayment:
    return StuckPayment(
        id=payment.id,
        short_id=payment.short_id,
        request_reference=payment.request_reference,
        status=payment.status,
        bill_type=payment.bill_type,
        biller=payment.biller,
        plan=payment.plan,
        provider=payment.provider,
        total_kobo=payment.total_kobo,
        created_at=payment.created_at,
        status_since=entered,
        seconds_in_status=max((now - entered).total_seconds(), 0.0),
        failure_reason=payment.failure_reason,
    )


# --- the ledger ------------------------------------------------------------------------------


async def reconciliation(session: AsyncSession) -> ReconcileOut:
    report = await reconcile(session)
    return ReconcileOut(
        ok=report.ok,
        checked_at=_now(),
        negative_balances=[AccountAmount(account=a, kobo=k) for a, k in report.negative],
        out_of_step=[
            AccountMismatch(account=a, stored_kobo=s, derived_kobo=d)
            for a, s, d in report.out_of_step
        ],
        reserved_mismatch=[
            ReservedMismatch(client_id=c, reserved_kobo=r, held_kobo=h)
            for c, r, h in report.reserved_mismatch
        ],
        undrained=[UndrainedPayment(payment_id=p, net_kobo=n) for p, n in report.undrained],
        lines=report.lines(),
    )


# --- everything at once (``billpay stats``) ----------------------------------------------------


@dataclass(frozen=True)
class OpsReport:
    stats: OpsStats
    providers: ProvidersReport
    stuck: StuckReport
    ledger: ReconcileOut


async def report(
    session: AsyncSession,
    window: timedelta,
    health_window: timedelta,
    configured: Collection[str],
) -> OpsReport:
    return OpsReport(
        stats=await stats(session, window),
        providers=await providers(session, window, health_window, configured),
        stuck=await stuck(session, StuckThresholds()),
        ledger=await reconciliation(session),
    )


# --- payments list (dashboard) ---------------------------------------------------------------


async def payments_page(
    session: AsyncSession, filters: PaymentFilters, *, limit: int, cursor: str | None
) -> PaymentsPage:
    """All clients' payments, newest first; ``cursor`` as the payments API encodes it."""
    after = decode_cursor(cursor) if cursor else None
    rows = await repo.search_payments(session, filters, limit=limit + 1, after=after)
    return paginate(rows, limit)

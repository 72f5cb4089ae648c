"""Alert rules, and incidents raised once and resolved once. Runs in the caller's transaction;
never commits.

Each rule looks at the world now and names the conditions that hold (``Condition.key``: one per
provider, breaker, payment…). A key with no open incident opens one and tells the operators
(a signed webhook and an email, through the outbox); a key with an open incident only notes it
was seen again; an open incident whose key no longer holds is resolved and the operators are
told that too. The partial unique index on open keys makes "once" hold with any number of
workers evaluating at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from billpay.alerts import notices
from billpay.alerts import repository as repo
from billpay.alerts.notices import Change
from billpay.alerts.schemas import AlertKind, AlertList, Condition, RuleResult
from billpay.config import Settings
from billpay.models import AlertIncident
from billpay.money import format_naira
from billpay.outbox import repository as outbox
from billpay.outbox.schemas import Channel
from billpay.payments.status import Status
from billpay.providers.base import BillProvider, ReportsBalance
from billpay.routing.health import ProviderHealth, provider_health

log = structlog.get_logger(__name__)

# Not final, not waiting for the payer's funds, not already before a human: in billpay's hands.
STUCK_STATUSES = (Status.PENDING, Status.PROCESSING, Status.REFUNDING)
WEBHOOK_BACKLOG_SUBJECT = "merchant-webhooks"

# A provider's float: kobo, or None when its balance call did not answer readably this time.
Floats = Mapping[str, int | None]


@dataclass(frozen=True)
class Evaluation:
    evaluated: bool  # False: another worker held the evaluation
    opened: list[AlertIncident] = field(default_factory=list)
    resolved: list[AlertIncident] = field(default_factory=list)


# --- the rules -------------------------------------------------------------------------------


def _percent(rate: float) -> str:
    return f"{rate * 100:.1f} %"


def rate_rules(health: Iterable[ProviderHealth], settings: Settings) -> list[RuleResult]:
    """A provider's failure rate, and its unknown (pending/processing) rate, over the window —
    judged once it has ``alert_min_attempts`` attempts in it."""
    window = f"{settings.alert_window_minutes:g} min"
    failing: list[Condition] = []
    pending: list[Condition] = []
    for row in health:
        if row.biller is not None or row.attempts < settings.alert_min_attempts:
            continue
        figures = {"attempts": row.attempts, "failed": row.failed, "unknown": row.unknown}
        if row.failure_rate is not None and row.failure_rate >= settings.alert_failure_rate:
            failing.append(
                Condition(
                    AlertKind.PROVIDER_FAILURE_RATE,
                    row.provider,
                    f"{row.provider} failed {_percent(row.failure_rate)} of {row.attempts} "
                    f"attempts over {window} (alert at {_percent(settings.alert_failure_rate)})",
                    {**figures, "failure_rate": round(row.failure_rate, 4)},
                )
            )
        if row.unknown_rate is not None and row.unknown_rate >= settings.alert_unknown_rate:
            pending.append(
                Condition(
                    AlertKind.PROVIDER_UNKNOWN_RATE,
                    row.provider,
                    f"{row.provider} left {_percent(row.unknown_rate)} of {row.attempts} "
                    f"attempts pending over {window} (alert at "
                    f"{_percent(settings.alert_unknown_rate)})",
                    {**figures, "unknown_rate": round(row.unknown_rate, 4)},
                )
            )
    return [
        RuleResult(AlertKind.PROVIDER_FAILURE_RATE, failing),
        RuleResult(AlertKind.PROVIDER_UNKNOWN_RATE, pending),
    ]


def breaker_rule(health: Iterable[ProviderHealth]) -> RuleResult:
    """A breaker that is not closed; half-open (probing) still counts, until it closes."""
    firing = []
    for row in health:
        if row.breaker_state == "closed":
            continue
        subject = row.provider if row.biller is None else f"{row.provider}/{row.biller}"
        since = row.breaker_since.isoformat(timespec="seconds") if row.breaker_since else None
        firing.append(
            Condition(
                AlertKind.BREAKER_OPEN,
                subject,
                f"{subject}: circuit breaker {row.breaker_state.replace('_', '-')}"
                + (f" ({row.breaker_reason})" if row.breaker_reason else ""),
                {"state": row.breaker_state, "reason": row.breaker_reason, "since": since},
            )
        )
    return RuleResult(AlertKind.BREAKER_OPEN, firing)


def stuck_rule(payments: Iterable[repo.PaymentRow], now: datetime) -> RuleResult:
    firing = []
    for payment in payments:
        minutes = int((now - payment.created_at).total_seconds() // 60)
        firing.append(
            Condition(
                AlertKind.PAYMENT_STUCK,
                str(payment.id),
                f"payment {payment.short_id} is still {payment.status} after {minutes} min",
                {
                    "payment_id": str(payment.id),
                    "short_id": payment.short_id,
                    "status": payment.status,
                    "provider": payment.provider,
                    "created_at": payment.created_at.isoformat(timespec="seconds"),
                },
            )
        )
    return RuleResult(AlertKind.PAYMENT_STUCK, firing)


def needs_review_rule(payments: Iterable[repo.PaymentRow]) -> RuleResult:
    firing = [
        Condition(
            AlertKind.PAYMENT_NEEDS_REVIEW,
            str(payment.id),
            f"payment {payment.short_id} needs review"
            + (f": {payment.reason}" if payment.reason else ""),
            {
                "payment_id": str(payment.id),
                "short_id": payment.short_id,
                "provider": payment.provider,
                "reason": payment.reason,
            },
        )
        for payment in payments
    ]
    return RuleResult(AlertKind.PAYMENT_NEEDS_REVIEW, firing)


def backlog_rule(backlog: repo.Backlog, settings: Settings) -> RuleResult:
    oldest_minutes = (backlog.oldest_seconds or 0) / 60
    too_many = backlog.pending >= settings.alert_webhook_backlog_count
    too_old = backlog.pending > 0 and oldest_minutes >= settings.alert_webhook_backlog_minutes
    if not (too_many or too_old):
        return RuleResult(AlertKind.WEBHOOK_BACKLOG, [])
    condition = Condition(
        AlertKind.WEBHOOK_BACKLOG,
        WEBHOOK_BACKLOG_SUBJECT,
        f"{backlog.pending} merchant webhooks undelivered, the oldest for {oldest_minutes:.0f} min",
        {"pending": backlog.pending, "oldest_minutes": round(oldest_minutes, 1)},
    )
    return RuleResult(AlertKind.WEBHOOK_BACKLOG, [condition])


def float_rule(floats: Floats, settings: Settings) -> RuleResult:
    """A float below the threshold; a provider whose balance did not answer is left as it was."""
    minimum = settings.alert_float_min_kobo
    firing = [
        Condition(
            AlertKind.PROVIDER_FLOAT_LOW,
            provider,
            f"{provider} float is {format_naira(kobo)}, below {format_naira(minimum)}",
            {"balance_kobo": kobo, "threshold_kobo": minimum},
        )
        for provider, kobo in sorted(floats.items())
        if minimum > 0 and kobo is not None and kobo < minimum
    ]
    undecided = frozenset(provider for provider, kobo in floats.items() if kobo is None)
    return RuleResult(AlertKind.PROVIDER_FLOAT_LOW, firing, undecided)


async def read_floats(
    providers: Iterable[BillProvider], settings: Settings
) -> dict[str, int | None]:
    """Each provider's float, where it documents a balance call (concurrently; before any
    transaction opens — it waits on the providers). None for one that did not answer."""
    if settings.alert_float_min_kobo <= 0:
        return {}
    readers = [provider for provider in providers if isinstance(provider, ReportsBalance)]
    answers = await asyncio.gather(
        *(reader.balance_kobo() for reader in readers), return_exceptions=True
    )
    floats: dict[str, int | None] = {}
    for reader, answer in zip(readers, answers, strict=True):
        if isinstance(answer, BaseException):
            log.warning(
                "provider_float_unreadable",
                provider=reader.name.value,
                error_type=type(answer).__name__,
            )
            floats[reader.name.value] = None
        else:
            floats[reader.name.value] = answer
    return floats


# --- evaluation ------------------------------------------------------------------------------


async def _rule_results(
    session: AsyncSession, settings: Settings, floats: Floats, now: datetime
) -> list[RuleResult]:
    health = await provider_health(
        session, window=timedelta(minutes=settings.alert_window_minutes), now=now
    )
    stuck = await repo.live_payments_in(
        session,
        [status.value for status in STUCK_STATUSES],
        now - timedelta(minutes=settings.alert_stuck_minutes),
    )
    review = await repo.live_payments_in(session, [Status.NEEDS_REVIEW.value], now)
    backlog = await repo.merchant_webhook_backlog(session)
    return [
        *rate_rules(health, settings),
        breaker_rule(health),
        stuck_rule(stuck, now),
        needs_review_rule(review),
        backlog_rule(backlog, settings),
        float_rule(floats, settings),
    ]


async def evaluate(
    session: AsyncSession, settings: Settings, floats: Floats, now: datetime | None = None
) -> Evaluation:
    """Run every rule; open, note and resolve incidents; queue what the operators are owed."""
    if not await repo.take_evaluation_lock(session):
        return Evaluation(evaluated=False)
    now = now or datetime.now(UTC)
    evaluation = Evaluation(evaluated=True)
    for result in await _rule_results(session, settings, floats, now):
        await _settle(session, result, now, evaluation)
    for incident in evaluation.opened:
        await _tell_operators(session, settings, incident, Change.OPENED)
    for incident in evaluation.resolved:
        await _tell_operators(session, settings, incident, Change.RESOLVED)
    return evaluation


async def _settle(
    session: AsyncSession, result: RuleResult, now: datetime, evaluation: Evaluation
) -> None:
    holding = {condition.key for condition in result.firing}
    # In key order: two evaluations never wait on each other's new keys in opposite orders.
    for condition in sorted(result.firing, key=lambda each: each.key):
        incident = await repo.open_incident(session, condition, now)
        if incident is None:
            await repo.note_still_open(session, condition, now)
        else:
            evaluation.opened.append(incident)
            log.info("alert_opened", alert_id=incident.id, key=incident.key)
    for incident in await repo.open_incidents_of(session, result.kind):
        if incident.key in holding or incident.subject in result.undecided:
            continue
        resolved = await repo.resolve(session, incident.id, now)
        if resolved is not None:
            evaluation.resolved.append(resolved)
            log.info("alert_resolved", alert_id=resolved.id, key=resolved.key)


async def _tell_operators(
    session: AsyncSession, settings: Settings, incident: AlertIncident, change: Change
) -> None:
    """The signed webhook and the email, queued in this transaction (sent by the outbox: retried,
    logged, and the webhook only to an allowed destination)."""
    messages = []
    key = f"alert:{incident.id}:{change.value}"
    if settings.alert_webhook_url:
        body = notices.webhook_event(incident, change)
        messages.append((Channel.WEBHOOK.value, settings.alert_webhook_url, body, f"{key}:webhook"))
    if settings.alert_email:
        rendered = notices.email(incident, change)
        body = {"subject": rendered.subject, "text": rendered.text, "html": rendered.html}
        messages.append((Channel.EMAIL.value, settings.alert_email, body, f"{key}:email"))
    await outbox.insert_for_alert(session, incident.id, change.event_type, messages)


# --- reading ---------------------------------------------------------------------------------


async def list_alerts(
    session: AsyncSession,
    *,
    include_resolved: bool = True,
    resolved_within: timedelta = timedelta(days=7),
    limit: int = 100,
) -> AlertList:
    """Open incidents, then the recently resolved ones, each with its deliveries."""
    incidents = await repo.recent_incidents(
        session, include_resolved=include_resolved, resolved_within=resolved_within, limit=limit
    )
    deliveries = await repo.deliveries_of(session, [incident.id for incident in incidents])
    return AlertList(
        data=[notices.alert_out(incident, deliveries[incident.id]) for incident in incidents]
    )

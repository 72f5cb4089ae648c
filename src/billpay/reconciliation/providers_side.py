"""billpay's outcome of each decided attempt against the provider's own answer for its
reference, asked through the connector's requery (a lookup: it never buys anything), at a
bounded rate. Nothing here changes a payment: a disagreement is reported, not acted on.

What each provider lets us see (``providers.md``): VTpass answers ``POST /api/requery`` per
``request_id``; Interswitch ``GET /Transactions?requestRef=``; Flutterwave
``GET /v3/bills/{reference}``. None documents a list of transactions that billpay could read:
Flutterwave's bill history (``GET /v3/bills?from=&to=``) is named with unconfirmed
parameters, and VTpass and Interswitch have none. So a reference billpay never stored cannot
be listed from here: only a provider's own notification (a webhook in the inbox) about a
reference no attempt carries shows one. ``billpay statement`` gives the operator the file to
match the provider's settlement statement against.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from billpay.catalog.plans import PlanBook
from billpay.config import Settings
from billpay.db.context import JobContext
from billpay.payments.attempts.outcome import AttemptOutcome
from billpay.payments.attempts.requests import vend_request_for
from billpay.providers.base import BillProvider, Outcome, ProviderName, VendRequest, VendResult
from billpay.reconciliation import repository as repo
from billpay.reconciliation.schemas import Discrepancy, Side, SideReport

log = structlog.get_logger(__name__)

NO_LIST_NOTE = (
    "references a provider holds that billpay never stored are found only when the provider "
    "notified billpay of them: providers.md documents no transaction list for VTpass or "
    "Interswitch, and Flutterwave's bill history (GET /v3/bills?from=&to=) only with "
    "unconfirmed parameters; match `billpay statement` against the provider's settlement "
    "statement for the rest"
)


@dataclass(frozen=True)
class Comparison:
    """One attempt as billpay decided it, and the request that asks the provider about it."""

    payment_id: str
    payment_status: str
    attempt_outcome: str
    provider: ProviderName
    reference: str
    amount_kobo: int
    request: VendRequest


class RateLimit:
    """At most ``per_second`` calls per second (spaced evenly)."""

    def __init__(self, per_second: float) -> None:
        self._gap = 1.0 / per_second
        self._next = time.monotonic()

    async def wait(self) -> None:
        now = time.monotonic()
        if self._next > now:
            await asyncio.sleep(self._next - now)
        self._next = max(now, self._next) + self._gap


async def compare_with_providers(
    context: JobContext, providers: Mapping[ProviderName, BillProvider], plans: PlanBook
) -> SideReport:
    settings = context.settings
    comparisons, notes = await _comparisons(context, settings, plans)
    report = SideReport(side=Side.PROVIDERS, checked=0, notes=notes)
    unconfigured: dict[str, int] = {}
    unanswered: dict[str, int] = {}
    limit = RateLimit(settings.reconcile_requeries_per_second)
    for comparison in comparisons:
        name = comparison.provider.value
        provider = providers.get(comparison.provider)
        if provider is None:
            unconfigured[name] = unconfigured.get(name, 0) + 1
            continue
        await limit.wait()
        try:
            answer = await provider.requery(comparison.request)
        except Exception:  # a connector bug must not stop the other comparisons
            log.exception("reconcile_requery_failed", reference=comparison.reference)
            answer = None
        report.checked += 1
        found = _judge(comparison, answer)
        if found is None and (answer is None or answer.outcome is Outcome.UNKNOWN):
            unanswered[name] = unanswered.get(name, 0) + 1
        if found is not None:
            report.discrepancies.append(found)
    report.notes += [
        f"{provider}: not configured in this process, {count} attempt(s) not compared"
        for provider, count in sorted(unconfigured.items())
    ]
    report.notes += [
        f"{provider}: {count} lookup(s) gave no definite answer (compared again next run)"
        for provider, count in sorted(unanswered.items())
    ]
    report.discrepancies += await _unknown_references(context, settings)
    report.notes.append(NO_LIST_NOTE)
    return report


async def _unknown_references(context: JobContext, settings: Settings) -> list[Discrepancy]:
    since = datetime.now(UTC) - timedelta(hours=settings.reconcile_window_hours)
    async with context.unit_of_work() as session:
        events = await repo.unknown_references(session, since, [p.value for p in ProviderName])
    return [
        _found(
            "unknown_reference",
            f"{event.provider} notified billpay about reference {event.reference}, which "
            "billpay never stored",
            {
                "provider": event.provider,
                "reference": event.reference,
                "claimed_status": event.claimed_status,
                "webhook_event_id": event.event_id,
                "received_at": event.received_at.isoformat(),
            },
        )
        for event in events
    ]


async def _comparisons(
    context: JobContext, settings: Settings, plans: PlanBook
) -> tuple[list[Comparison], list[str]]:
    since = datetime.now(UTC) - timedelta(hours=settings.reconcile_window_hours)
    comparisons: list[Comparison] = []
    notes: list[str] = []
    async with context.unit_of_work() as session:
        pairs = await repo.attempts_to_compare(session, since, settings.reconcile_max_requeries)
        for payment, attempt in pairs:
            plan = await plans.any(session, payment.plan)
            try:
                request = vend_request_for(payment, plan, attempt)
            except LookupError as exc:
                notes.append(f"attempt {attempt.provider_reference} not compared: {exc}")
                continue
            comparisons.append(
                Comparison(
                    payment_id=str(payment.id),
                    payment_status=payment.status,
                    attempt_outcome=attempt.outcome,
                    provider=ProviderName(attempt.provider),
                    reference=attempt.provider_reference,
                    amount_kobo=request.amount_kobo,
                    request=request,
                )
            )
    if len(pairs) == settings.reconcile_max_requeries:
        notes.append(
            f"only the latest {settings.reconcile_max_requeries} attempts were compared "
            "(BILLPAY_RECONCILE_MAX_REQUERIES)"
        )
    return comparisons, notes


def _judge(comparison: Comparison, answer: VendResult | None) -> Discrepancy | None:
    if answer is None:
        return None
    evidence: dict[str, Any] = {
        "payment_id": comparison.payment_id,
        "payment_status": comparison.payment_status,
        "provider": comparison.provider.value,
        "reference": comparison.reference,
        "amount_kobo": comparison.amount_kobo,
        "billpay_attempt_outcome": comparison.attempt_outcome,
        "provider_status": answer.provider_status,
        "provider_transaction_id": answer.provider_transaction_id,
    }
    where = f"{comparison.provider.value} reference {comparison.reference}"
    if comparison.attempt_outcome == AttemptOutcome.SUCCEEDED.value:
        if answer.outcome is Outcome.SUCCEEDED and answer.reversed:
            return _found(
                "paid_but_provider_reversed",
                f"payment {comparison.payment_id} is paid; {where} was reversed",
                evidence,
            )
        if answer.outcome is Outcome.FAILED:
            kind = "paid_but_provider_reversed" if answer.reversed else "paid_but_provider_failed"
            return _found(
                kind,
                f"payment {comparison.payment_id} is paid; {where} says {answer.provider_status}",
                evidence,
            )
        if answer.outcome is Outcome.NOT_FOUND:
            return _found(
                "paid_but_provider_has_no_record",
                f"payment {comparison.payment_id} is paid; {where} is unknown to the provider",
                evidence,
            )
        return None
    if answer.outcome is Outcome.SUCCEEDED and not answer.reversed:
        how = (
            "refunded"
            if comparison.payment_status in ("refunding", "refunded")
            else f"{comparison.payment_status} through another attempt"
        )
        return _found(
            "double_spend",
            f"payment {comparison.payment_id} is {how}, but {where}, which billpay recorded as "
            "failed, was delivered",
            evidence,
        )
    return None


def _found(kind: str, message: str, evidence: dict[str, Any]) -> Discrepancy:
    return Discrepancy(side=Side.PROVIDERS, kind=kind, message=message, evidence=evidence)

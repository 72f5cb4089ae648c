"""One payment's processing loop (DESIGN §2, "Attempts").

pick the route's next provider → create the attempt (reference committed) → call → classify.
``succeeded`` → paid. ``failed`` → the next provider; while none may take it now (breakers
open, providers switched off) the payment waits, and it is refunded only when none ever will.
``unknown`` → requery the same reference on the schedule until an answer or the deadline,
then ``needs_review``. A payment whose lease expired mid-call is resumed by requery, never by
a new vend. No transaction is open while a provider is being called.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from billpay.catalog.plan import NormalizedPlan
from billpay.db import raw
from billpay.db.health import DatabaseUnreachable
from billpay.models import Payment, PaymentAttempt
from billpay.payments import networks, settlement
from billpay.payments import repository as payments_repo
from billpay.payments.attempts import calls as calls_repo
from billpay.payments.attempts import repository as attempts_repo
from billpay.payments.attempts.outcome import AWAITING_ANSWER, SEND_AGAIN, AttemptOutcome
from billpay.payments.attempts.requests import (
    provider_amount,
    sale_plan,
    vend_request,
    vend_request_for,
)
from billpay.payments.attempts.resend import NotFoundStep, ResendPolicy
from billpay.payments.lifecycle import Delivered, StaleTransition, start_many
from billpay.payments.status import Status
from billpay.providers.base import BillProvider, Outcome, ProviderName, VendRequest, VendResult
from billpay.providers.calls import CallKind, ProviderCall, collect_calls
from billpay.routing.breaker import Permit
from billpay.routing.router import RouteChoice
from billpay.routing.routes import Board, Route
from billpay.state import AppState
from billpay.worker import repository as repo
from billpay.worker.metrics import observe_provider_call

log = structlog.get_logger(__name__)

ACTOR = "worker"
REFERENCE_DRAWS = 5
# Bounded: every pass ends, moves to a provider not tried before, or resends once (a resend's
# answer either ends or moves on).
MAX_PASSES = 3 * len(ProviderName) + 2

# Refund reasons as the payer reads them (their notice quotes them); the provider's own words
# stay in the payment's events and call records.
NO_PROVIDER_FAILED = "The provider could not complete this purchase"
NO_PROVIDER_SELLS = "This product is not available from any provider at the moment"
NO_PROVIDER_IN_TIME = "No provider could complete this purchase in time"


@dataclass(frozen=True)
class Call:
    """A provider call to make outside any transaction.

    ``payment`` and ``attempt`` are the rows as read when the call was prepared; every write
    that depends on them is conditional (``lifecycle.transition``), so a concurrent change by
    a webhook or an operator is detected, not overwritten.
    """

    payment: Payment
    attempt: PaymentAttempt
    provider: BillProvider
    request: VendRequest
    is_requery: bool
    permit: Permit | None = None  # the breaker's leave for a purchase call
    is_resend: bool = False  # a purchase sent again after the provider said it had no record


@dataclass(frozen=True)
class Answer:
    """A call's answer with the exchanges behind it, to apply."""

    call: Call
    result: VendResult
    latency_ms: int
    made: list[ProviderCall]


class _StepFailed(Exception):
    """A step of a shared transaction raised: the transaction is rolled back."""


_Done = TypeVar("_Done")


class Processor:
    def __init__(self, state: AppState, owner: str) -> None:
        self.state = state
        self.owner = owner
        self.settings = state.settings

    async def run_batch(
        self,
        claimed: Sequence[Payment],
        left: Callable[[set[uuid.UUID]], None] = lambda _: None,
    ) -> None:
        """Drive a leased batch (as its claim returned it) until each payment must wait or is
        finished; ``left`` is told which payments left the batch, as they do.

        Every new attempt of the batch is committed in one transaction before any request
        leaves; the calls then go out concurrently, and answers are applied as they arrive,
        those that came in together in one transaction. A payment whose step raises in a
        shared transaction sends the batch's step back to one transaction per payment, so one
        odd payment never holds up, or takes down, the others."""
        passes: dict[uuid.UUID, int] = {}
        try:
            first = await self._prepare_all(claimed, passes)
        except DatabaseUnreachable:
            log.warning("batch_prepare_database_unreachable", payments=len(claimed))
            first = []  # nothing was sent: the leases run out and the batch is claimed again
        in_flight = {self._send_soon(call): call.payment.id for call in first}
        left({payment.id for payment in claimed} - set(in_flight.values()))
        while in_flight:
            done, _ = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
            finished = {in_flight.pop(task) for task in done}
            answers = [answer for task in done if (answer := task.result()) is not None]
            follow_ups = await self._follow_ups(answers, passes)
            in_flight |= {self._send_soon(call): call.payment.id for call in follow_ups}
            left(finished - {call.payment.id for call in follow_ups})

    async def _follow_ups(
        self, answers: Sequence[Answer], passes: dict[uuid.UUID, int]
    ) -> list[Call]:
        """Apply ``answers``; the next calls of the payments that go on at once (a fallback
        or a resend). While the database is away the answers wait for nobody: the attempts
        stay as committed and are requeried once the leases run out."""
        try:
            again = await self._apply_all(answers)
            going_on = [call.payment.id for call in again if passes[call.payment.id] < MAX_PASSES]
            return await self._prepare_all(going_on, passes) if going_on else []
        except DatabaseUnreachable:
            log.warning("batch_apply_database_unreachable", payments=len(answers))
            return []

    # --- the shared transactions -------------------------------------------------------------

    async def _prepare_all(
        self, payments: Sequence[Payment | uuid.UUID], passes: dict[uuid.UUID, int]
    ) -> list[Call]:
        """The next call of each payment (a claimed row, or an id to read again), new attempts
        committed. Past a payment's last pass it is left to its lease (as a crash would)."""

        # A claimed payment still pending has no attempt yet: those start together.
        fresh: list[Payment] = []
        rest: list[tuple[uuid.UUID, Payment | None]] = []
        for payment in payments:
            if isinstance(payment, Payment) and payment.status == Status.PENDING:
                fresh.append(payment)
            elif isinstance(payment, Payment):
                rest.append((payment.id, payment))
            else:
                rest.append((payment, None))

        async def prepare_each(session: AsyncSession) -> list[Call | None]:
            started: list[Call | None] = list(await self._start_all(session, fresh))
            return started + [
                await self._prepare_in(session, payment_id, snapshot)
                for payment_id, snapshot in rest
            ]

        prepared = await self._together(prepare_each)
        if prepared is None:
            # Every row is read again: the shared transaction wrote nothing.
            ids = [p.id if isinstance(p, Payment) else p for p in payments]
            prepared = [await self._alone(pid, self._prepare_alone(pid)) for pid in ids]
        calls = [call for call in prepared if call is not None]
        for call in calls:
            passes[call.payment.id] = passes.get(call.payment.id, 0) + 1
        return calls

    async def _apply_all(self, answers: Sequence[Answer]) -> list[Call]:
        """Record each answer and move its payment; the calls whose payment goes on now.
        Deliveries, the common answer, are applied together in a few statements."""
        # In one order (the customer's number first) for every worker: the rows two workers'
        # batches both write (a number's learned network) are locked in the same order.
        answers = sorted(answers, key=lambda answer: answer.call.payment.customer_id)
        delivered = [a for a in answers if a.result.outcome is Outcome.SUCCEEDED]
        others = [a for a in answers if a.result.outcome is not Outcome.SUCCEEDED]

        async def apply_each(session: AsyncSession) -> list[Call]:
            if delivered:
                await self._apply_deliveries(session, delivered)
            return [a.call for a in others if await self._apply_in(session, a)]

        applied = await self._together(apply_each)
        if applied is not None:
            return applied
        alone = [await self._alone(a.call.payment.id, self._apply_alone(a)) for a in answers]
        return [call for call in alone if call is not None]

    async def _apply_deliveries(self, session: AsyncSession, answers: Sequence[Answer]) -> None:
        """``_apply_in`` for many delivered answers in a few statements. A payment a webhook or
        an operator settled meanwhile keeps the evidence only (and its lease is let go)."""
        evidence: dict[uuid.UUID, dict[str, Any]] = {}
        deliveries = []
        for answer in answers:
            call, result = answer.call, answer.result
            evidence[call.attempt.id] = {
                **_evidence(call, result, answer.latency_ms),
                "outcome": AttemptOutcome.SUCCEEDED,
                "finished_at": datetime.now(UTC),
            }
            deliveries.append(_delivery(call, result))
        moved = await settlement.mark_paid_many(
            session, deliveries, actor=ACTOR, lease_owner=self.owner
        )
        await attempts_repo.update_many(session, evidence)
        await calls_repo.record_many(
            session, [(a.made, a.call.payment.id, a.call.attempt.id) for a in answers]
        )
        for answer in answers:
            call = answer.call
            routes = self.state.routes_for(call.payment.livemode)
            await routes.record(
                session, call.permit, Outcome.SUCCEEDED, answer.result.provider_status
            )
            if call.payment.id not in moved:
                log.info("payment_moved_concurrently", payment_id=str(call.payment.id))
                await repo.release(session, call.payment.id, self.owner, None)

    async def _together(self, steps: Callable[[AsyncSession], Awaitable[_Done]]) -> _Done | None:
        """Many payments' ``steps`` in one transaction; None (nothing written) when a step
        raised for a reason other than the database being away. A failed commit is raised:
        it may have committed, so nothing is redone (the leases run out instead)."""
        try:
            async with self.state.unit_of_work() as session:
                try:
                    return await steps(session)
                except DatabaseUnreachable:
                    raise
                except Exception as error:
                    raise _StepFailed from error
        except _StepFailed as failed:
            log.warning("batch_step_one_by_one", error=type(failed.__cause__).__name__)
            return None

    async def _alone(self, payment_id: uuid.UUID, step: Awaitable[_Done]) -> _Done | None:
        """One payment's step on its own; when it fails, the lease is given back with a retry
        time, never lost."""
        with structlog.contextvars.bound_contextvars(payment_id=str(payment_id)):
            try:
                return await step
            except Exception:
                log.exception("payment_step_failed")
                await self._release_for_retry(payment_id)
                return None

    async def _prepare_alone(self, payment_id: uuid.UUID) -> Call | None:
        async with self.state.unit_of_work() as session:
            return await self._prepare_in(session, payment_id, None)

    async def _release_for_retry(self, payment_id: uuid.UUID) -> None:
        retry_at = datetime.now(UTC) + timedelta(seconds=self.settings.retry_schedule_seconds[0])
        try:
            async with self.state.unit_of_work() as session:
                await repo.release(session, payment_id, self.owner, retry_at)
        except Exception:  # the database is away: the lease runs out instead
            log.exception("payment_release_failed", payment_id=str(payment_id))

    # --- one call ----------------------------------------------------------------------------

    def _send_soon(self, call: Call) -> asyncio.Task[Answer | None]:
        return asyncio.create_task(self._send(call))

    async def _send(self, call: Call) -> Answer | None:
        """Make the call (no transaction is open) and keep every exchange behind its answer."""
        with structlog.contextvars.bound_contextvars(payment_id=str(call.payment.id)):
            started = time.perf_counter()
            kind = CallKind.REQUERY if call.is_requery else CallKind.PURCHASE
            try:
                with collect_calls(kind) as made:
                    if call.is_requery:
                        result = await call.provider.requery(call.request)
                    else:
                        result = await call.provider.pay(call.request)
            except Exception:
                # The attempt stays as committed (a request may be out): requeried later.
                log.exception("provider_call_failed", provider=call.provider.name.value)
                await self._release_for_retry(call.payment.id)
                return None
            elapsed = time.perf_counter() - started
            observe_provider_call(call.provider.name.value, call.is_requery, result, elapsed)
            log.info(
                "provider_answer",
                provider=call.provider.name.value,
                call="requery" if call.is_requery else "pay",
                reference=call.request.reference,
                outcome=result.outcome.value,
                provider_status=result.provider_status,
                latency_ms=int(elapsed * 1000),
                response=result.response,
            )
            return Answer(call, result, int(elapsed * 1000), made)

    async def _prepare_in(
        self, session: AsyncSession, payment_id: uuid.UUID, snapshot: Payment | None
    ) -> Call | None:
        """Decide the next call, writing any new attempt in ``session`` (committed before the
        call is made)."""
        payment = snapshot or await payments_repo.snapshot(session, payment_id)
        if payment is None or payment.lease_owner != self.owner:
            return None
        status = Status(payment.status)
        if status not in (Status.PENDING, Status.PROCESSING):
            await repo.release(session, payment.id, self.owner, None)
            return None
        if status is Status.PENDING:
            # Attempts are created with the move to processing: a pending one has none.
            started = await self._start_all(session, [payment])
            return started[0] if started else None
        plan = sale_plan(await self.state.plans.any(session, payment.plan), payment)
        attempt = await attempts_repo.latest(session, payment.id)
        if attempt is not None and attempt.outcome in AWAITING_ANSWER:
            return self._call_for(payment, attempt, plan, is_requery=True)
        if attempt is not None and attempt.outcome in SEND_AGAIN:
            await attempts_repo.update(
                session,
                attempt.id,
                {"outcome": AttemptOutcome.IN_FLIGHT, "last_sent_at": raw.DB_NOW},
            )
            call = self._call_for(payment, attempt, plan, is_requery=False)
            return replace(call, is_resend=attempt.outcome == AttemptOutcome.RESEND)
        tried = await self._tried(session, payment.id)
        return await self._next_attempt(session, payment, plan, tried)

    async def _next_attempt(
        self,
        session: AsyncSession,
        payment: Payment,
        plan: NormalizedPlan | None,
        tried: list[ProviderName],
    ) -> Call | None:
        """A processing payment's attempt with the next provider its route allows (a first
        attempt is made with the move to processing, ``_start_all``)."""
        # A test-mode payment has providers of its own (the simulators), never the live ones.
        routes = self.state.routes_for(payment.livemode)
        last = await attempts_repo.latest(session, payment.id) if tried else None
        route, choices = await routes.next_route(
            session, plan, tried, payment.amount_kobo, last.provider_status if last else None
        )
        if route is None:
            await self._no_route(session, payment, Status.PROCESSING, choices, last)
            return None
        choice = route.choice
        provider = self.state.providers_for(payment.livemode)[choice.provider]
        attempt = await self._insert_attempt(session, payment, provider, choice, len(tried) + 1)
        await payments_repo.set_fields(session, payment.id, {"provider": choice.provider.value})
        request = vend_request(payment, choice.meta, attempt.provider_reference)
        return Call(payment, attempt, provider, request, False, route.permit)

    async def _start_all(self, session: AsyncSession, payments: Sequence[Payment]) -> list[Call]:
        """Pending payments' first attempts, written in one statement, and their moves to
        processing in another (a payment its route cannot take now waits or is refunded)."""
        starts: list[tuple[Payment, BillProvider, Route, PaymentAttempt]] = []
        boards: dict[bool, Board] = {}  # read once for the batch, per mode
        for payment in payments:
            plan = sale_plan(await self.state.plans.any(session, payment.plan), payment)
            routes = self.state.routes_for(payment.livemode)
            if payment.livemode not in boards:
                boards[payment.livemode] = await routes.board(session)
            route, choices = await routes.next_route(
                session, plan, [], payment.amount_kobo, board=boards[payment.livemode]
            )
            if route is None:
                await self._no_route(session, payment, Status.PENDING, choices, None)
                continue
            provider = self.state.providers_for(payment.livemode)[route.choice.provider]
            starts.append(
                (payment, provider, route, _new_attempt(payment, provider, route.choice, 1))
            )
        if not starts:
            return []
        written = await attempts_repo.insert_many(session, [start[3] for start in starts])
        for index, (payment, provider, route, attempt) in enumerate(starts):
            if attempt.id not in written:
                log.warning("provider_reference_taken", provider=route.choice.provider.value)
                attempt = await self._insert_attempt(session, payment, provider, route.choice, 1)
                starts[index] = (payment, provider, route, attempt)
        await start_many(
            session,
            [
                (payment.id, route.choice.provider.value, _sent_reason(route.choice))
                for payment, _, route, _ in starts
            ],
            actor=ACTOR,
        )
        return [
            Call(
                payment,
                attempt,
                provider,
                vend_request(payment, route.choice.meta, attempt.provider_reference),
                False,
                route.permit,
            )
            for payment, provider, route, attempt in starts
        ]

    async def _insert_attempt(
        self,
        session: AsyncSession,
        payment: Payment,
        provider: BillProvider,
        choice: RouteChoice,
        number: int,
    ) -> PaymentAttempt:
        """A new attempt under a reference no other attempt holds. Short references collide
        (Interswitch's are a prefix and 8 random digits): another draw, never a shared one."""
        for _ in range(REFERENCE_DRAWS):
            attempt = _new_attempt(payment, provider, choice, number)
            if await attempts_repo.insert(session, attempt):
                return attempt
            log.warning("provider_reference_taken", provider=choice.provider.value)
        raise RuntimeError(f"no free {choice.provider.value} reference in {REFERENCE_DRAWS} draws")

    def _call_for(
        self,
        payment: Payment,
        attempt: PaymentAttempt,
        plan: NormalizedPlan | None,
        is_requery: bool,
    ) -> Call:
        provider = self.state.providers_for(payment.livemode)[ProviderName(attempt.provider)]
        request = vend_request_for(payment, plan, attempt)
        return Call(payment, attempt, provider, request, is_requery)

    async def _apply_in(self, session: AsyncSession, answer: Answer) -> bool:
        """Record the answer, and every exchange behind it, and move the payment. True when
        another call should follow now. Raises ``StaleTransition`` when a webhook or an
        operator moved the payment meanwhile.

        The exchanges are written with the answer they produced: a worker that dies after the
        send and before this commit leaves no call row (the attempt, committed before the
        send, still says a request may be out there, and is requeried).
        """
        call, result = answer.call, answer.result
        evidence = _evidence(call, result, answer.latency_ms)
        again = await self._decide(session, call, result, evidence)
        await self._record_evidence(session, answer, evidence)
        return again

    async def _apply_alone(self, answer: Answer) -> Call | None:
        """``_apply_in`` in a transaction of its own (the call when its payment goes on); a
        payment moved meanwhile keeps the evidence only."""
        try:
            async with self.state.unit_of_work() as session:
                return answer.call if await self._apply_in(session, answer) else None
        except StaleTransition:
            log.info("payment_moved_concurrently")
            evidence = _evidence(answer.call, answer.result, answer.latency_ms)
            async with self.state.unit_of_work() as session:
                await self._record_evidence(session, answer, evidence)
                await repo.release(session, answer.call.payment.id, self.owner, None)
            return None

    async def _record_evidence(
        self, session: AsyncSession, answer: Answer, evidence: dict[str, Any]
    ) -> None:
        call, result = answer.call, answer.result
        await attempts_repo.update(session, call.attempt.id, evidence)
        await self._record_calls(session, call, answer.made)
        # After the attempt's outcome is written: the breaker reads its verdict back.
        routes = self.state.routes_for(call.payment.livemode)
        await routes.record(
            session, call.permit, _health_outcome(result, evidence), result.provider_status
        )

    async def _record_calls(
        self, session: AsyncSession, call: Call, made: list[ProviderCall]
    ) -> None:
        await calls_repo.record(
            session, made, payment_id=call.payment.id, attempt_id=call.attempt.id
        )

    async def _decide(
        self, session: AsyncSession, call: Call, result: VendResult, evidence: dict[str, Any]
    ) -> bool:
        """Move the payment for this answer; ``evidence`` gets the attempt's new outcome."""
        payment = call.payment
        provider = call.provider.name.value
        if result.outcome is Outcome.SUCCEEDED:
            evidence.update(outcome=AttemptOutcome.SUCCEEDED, finished_at=datetime.now(UTC))
            await settlement.mark_paid(
                session,
                payment,
                from_status=Status.PROCESSING,
                provider=provider,
                provider_transaction_id=result.provider_transaction_id,
                token=result.token,
                bonus_tokens=result.bonus_tokens,
                units=result.units,
                reason=f"{provider} delivered ({result.provider_status})",
                actor=ACTOR,
                cost_kobo=call.request.amount_kobo,
            )
            await repo.release(session, payment.id, self.owner, None)
            return False
        if result.outcome is Outcome.NOT_FOUND and call.is_requery:
            return await self._not_found(session, call, result, evidence)
        never_sent = result.outcome is Outcome.UNKNOWN and not result.sent
        # A resend that never left changes nothing: the first send may still be out there.
        if never_sent and not call.is_requery and not call.is_resend:
            return await self._not_sent(session, call, evidence)
        if result.outcome in (Outcome.UNKNOWN, Outcome.NOT_FOUND):
            await self._still_unknown(session, call, result, evidence)
            return False
        evidence.update(outcome=AttemptOutcome.FAILED, finished_at=datetime.now(UTC))
        # Sold on the wrong network: every route sells that same network, so refund now.
        wrong_network = await networks.wrong_network_refund_reason(
            session, payment, provider, result.message
        )
        if wrong_network is not None:
            await self._refund(session, payment, Status.PROCESSING, wrong_network)
            return False
        return await self._after_definite_failure(session, payment, provider, result.message)

    async def _not_sent(self, session: AsyncSession, call: Call, evidence: dict[str, Any]) -> bool:
        """Connection refused before sending: retry the same reference, then give up on it."""
        sends = call.attempt.sends + 1
        if sends >= self.settings.max_retries:
            evidence.update(outcome=AttemptOutcome.FAILED, finished_at=datetime.now(UTC))
            return await self._after_definite_failure(
                session, call.payment, call.attempt.provider, f"unreachable after {sends} tries"
            )
        evidence["outcome"] = AttemptOutcome.NOT_SENT
        await repo.release(session, call.payment.id, self.owner, self._due_after(sends - 1))
        return False

    async def _not_found(
        self, session: AsyncSession, call: Call, result: VendResult, evidence: dict[str, Any]
    ) -> bool:
        """The provider has no record of the reference. Once its last send is older than the
        grace period, the purchase is sent again under the same reference: if the first one
        did arrive meanwhile, the provider's duplicate-reference guard answers, and that answer
        is unknown, settled by requery. Bounded; past the bound (or the deadline) the
        reference is only requeried, and the deadline ends in review."""
        attempt = call.attempt
        policy = ResendPolicy(
            timedelta(seconds=self.settings.resend_grace_seconds), self.settings.max_resends
        )
        step = policy.after_not_found(
            sends=attempt.sends,
            last_sent_at=attempt.last_sent_at,
            now=datetime.now(UTC),
            deadline_at=call.payment.deadline_at,
        )
        if step is NotFoundStep.REQUERY:
            await self._still_unknown(session, call, result, evidence)
            return False
        if step is NotFoundStep.WAIT:
            evidence["outcome"] = AttemptOutcome.UNKNOWN
            # Asked again when the grace ends, not a schedule step later.
            grace_ends = policy.resend_at(attempt.last_sent_at)
            due = min(self._due_after(attempt.requeries + 1), grace_ends)
            await repo.release(session, call.payment.id, self.owner, due)
            return False
        log.info("resending_unfound_reference", reference=attempt.provider_reference)
        evidence["outcome"] = AttemptOutcome.RESEND
        return True

    def _past_deadline(self, payment: Payment) -> bool:
        return payment.deadline_at is not None and datetime.now(UTC) >= payment.deadline_at

    async def _still_unknown(
        self, session: AsyncSession, call: Call, result: VendResult, evidence: dict[str, Any]
    ) -> None:
        payment, attempt = call.payment, call.attempt
        evidence["outcome"] = AttemptOutcome.UNKNOWN
        if self._past_deadline(payment):
            await settlement.send_to_review(
                session,
                payment,
                from_status=Status.PROCESSING,
                reason=(
                    f"{call.provider.name.value} outcome still unknown at the deadline "
                    f"(last: {result.provider_status}); funds stay reserved"
                ),
                actor=ACTOR,
                data={"attempt": attempt.number, "provider_reference": attempt.provider_reference},
            )
            await repo.release(session, payment.id, self.owner, None)
            return
        requeries = attempt.requeries + (1 if call.is_requery else 0)
        await repo.release(session, payment.id, self.owner, self._due_after(requeries))

    async def _after_definite_failure(
        self, session: AsyncSession, payment: Payment, provider: str, message: str
    ) -> bool:
        """Fallback is safe only now: the attempt definitely did not deliver. The next pass
        routes the payment on — to the next provider, to a wait, or to a refund."""
        log.info("provider_failed", provider=provider, detail=message)
        await payments_repo.set_fields(session, payment.id, {"next_run_at": datetime.now(UTC)})
        return True

    async def _no_route(
        self,
        session: AsyncSession,
        payment: Payment,
        status: Status,
        route: list[RouteChoice],
        last: PaymentAttempt | None,
    ) -> None:
        """No provider takes the payment now. It waits while one may (a breaker open, a trial
        out, a provider switched off), until its deadline; it is refunded only when no
        provider ever will. The payer reads the reason; the provider's detail goes in the
        event (and its call records)."""
        detail = _failure_detail(last)
        if not any(choice.temporary or choice.eligible for choice in route):
            reason = NO_PROVIDER_FAILED if last is not None else NO_PROVIDER_SELLS
            await self._refund(session, payment, status, reason, {**detail, "route": _why(route)})
            return
        if self._past_deadline(payment):
            data = {**detail, "route": _why(route)}
            await self._refund(session, payment, status, NO_PROVIDER_IN_TIME, data)
            return
        due = self._wait_until(payment)
        log.info("payment_waits_for_a_provider", until=due.isoformat(), route=_why(route))
        await repo.release(session, payment.id, self.owner, due)

    def _wait_until(self, payment: Payment) -> datetime:
        """Backoff: half the time waited so far, within the configured bounds, never past the
        deadline (the deadline is then handled)."""
        now = datetime.now(UTC)
        waited = (now - payment.created_at).total_seconds() if payment.created_at else 0.0
        delay = min(
            max(waited / 2, self.settings.routing_wait_min_seconds),
            self.settings.routing_wait_max_seconds,
        )
        due = now + timedelta(seconds=delay)
        return min(due, payment.deadline_at) if payment.deadline_at else due

    async def _refund(
        self,
        session: AsyncSession,
        payment: Payment,
        status: Status,
        reason: str,
        data: Mapping[str, Any] | None = None,
    ) -> None:
        await settlement.refund(
            session, payment, from_status=status, reason=reason, actor=ACTOR, data=data
        )
        await repo.release(session, payment.id, self.owner, None)

    async def _tried(self, session: AsyncSession, payment_id: uuid.UUID) -> list[ProviderName]:
        tried = await attempts_repo.providers_tried(session, payment_id)
        return [ProviderName(name) for name in tried]

    def _due_after(self, index: int) -> datetime:
        schedule = self.settings.retry_schedule_seconds
        delay = schedule[min(index, len(schedule) - 1)]
        return datetime.now(UTC) + timedelta(seconds=delay)


def _new_attempt(
    payment: Payment, provider: BillProvider, choice: RouteChoice, number: int
) -> PaymentAttempt:
    """An attempt under a freshly drawn reference, as it is written (in flight)."""
    return PaymentAttempt(
        id=uuid.uuid4(),
        payment_id=payment.id,
        number=number,
        provider=choice.provider.value,
        provider_reference=provider.new_reference(datetime.now(UTC)),
        route_reason=choice.reason,
        outcome=AttemptOutcome.IN_FLIGHT,
        amount_kobo=provider_amount(payment, choice.meta),
        sends=0,
        requeries=0,
        last_sent_at=datetime.now(UTC),  # as the column's default stamps it
    )


def _sent_reason(choice: RouteChoice) -> str:
    return f"sent to {choice.provider.value}: {choice.reason}"


def _delivery(call: Call, result: VendResult) -> settlement.Delivery:
    provider = call.provider.name.value
    delivered = Delivered(
        payment_id=call.payment.id,
        provider=provider,
        provider_transaction_id=result.provider_transaction_id,
        token=result.token,
        bonus_tokens=result.bonus_tokens,
        units=result.units,
        reason=f"{provider} delivered ({result.provider_status})",
    )
    return settlement.Delivery(call.payment, delivered, cost_kobo=call.request.amount_kobo)


def _health_outcome(result: VendResult, evidence: Mapping[str, Any]) -> Outcome:
    """What this answer says about the provider: a failure (a definite one, unreachable after
    every retry, or no usable answer at all), a success, or nothing (a readable pending
    answer: VTpass documents ``099`` as normal). The payment's own outcome is unaffected."""
    outcome = evidence.get("outcome")
    if outcome == AttemptOutcome.SUCCEEDED:
        return Outcome.SUCCEEDED
    if outcome == AttemptOutcome.FAILED or _no_usable_answer(result):
        return Outcome.FAILED
    return Outcome.UNKNOWN


def _no_usable_answer(result: VendResult) -> bool:
    """Sent, and then a timeout, a broken connection, a 5xx or a body that is not JSON."""
    return result.sent and (result.response is None or (result.http_status or 0) >= 500)


def _failure_detail(last: PaymentAttempt | None) -> dict[str, Any]:
    """The provider's side of a failure, for the event (never shown to the payer)."""
    if last is None:
        return {}
    return {
        "provider": last.provider,
        "provider_status": last.provider_status,
        "provider_error": last.last_error,
        "attempt": last.number,
    }


def _why(route: list[RouteChoice]) -> list[str]:
    return [f"{choice.provider.value}: {choice.reason}" for choice in route]


def _evidence(call: Call, result: VendResult, latency_ms: int) -> dict[str, Any]:
    """The attempt's columns that record this answer (secrets already masked by the connector)."""
    attempt = call.attempt
    counter = "requeries" if call.is_requery else "sends"
    response = _json_safe(result.response) or (
        {"raw_text": result.raw_text} if result.raw_text else attempt.response
    )
    return {
        counter: getattr(attempt, counter) + 1,
        "provider_status": result.provider_status[:100],
        "provider_transaction_id": result.provider_transaction_id
        or attempt.provider_transaction_id,
        "last_error": (result.message or None) and result.message[:500],
        "request": _json_safe(result.request) or attempt.request,
        "response": response,
        "last_latency_ms": latency_ms,
    }


def _json_safe(value: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if value is None:
        return None
    safe: dict[str, Any] = json.loads(json.dumps(value, default=str))
    return safe

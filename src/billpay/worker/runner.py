"""The worker: claims due payments under a lease and runs many provider calls concurrently.

New work wakes it at once through Postgres ``LISTEN/NOTIFY``; polling every
``BILL_PROCESSOR_POLL_INTERVAL_SECONDS`` is only the fallback. Scheduled requeries wake it
when they fall due. Any number of workers share the queue through ``SKIP LOCKED``.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog

from billpay.alerts.jobs import PeriodicAlerts
from billpay.catalog.service import sync as sync_catalog
from billpay.db.listen import Listener
from billpay.inbox.jobs import process_inbox
from billpay.models import Payment
from billpay.outbox.dispatcher import run_dispatcher
from billpay.payments.jobs import watch_reversals
from billpay.payments.repository import JOBS_CHANNEL, WORK_CHANNEL
from billpay.reconciliation.service import PeriodicReconciliation
from billpay.state import AppState
from billpay.worker import periodic
from billpay.worker import repository as repo
from billpay.worker.processor import Processor

log = structlog.get_logger(__name__)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    def __init__(self, state: AppState, worker_id: str | None = None) -> None:
        self.state = state
        self.settings = state.settings
        self.worker_id = worker_id or default_worker_id()
        self.processor = Processor(state, self.worker_id)
        self._wake = asyncio.Event()
        self._jobs_wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()  # one per claimed batch
        self._in_flight = 0  # payments of those batches still being driven
        self._catalog_synced_at = time.monotonic()
        self._reconcile = PeriodicReconciliation()
        self._alerts = PeriodicAlerts()

    def wake(self, *_: Any) -> None:
        self._wake.set()

    def wake_jobs(self, *_: Any) -> None:
        self._jobs_wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        listener = Listener(
            self.state.database_url, {WORK_CHANNEL: self.wake, JOBS_CHANNEL: self.wake_jobs}
        )
        await listener.ensure()
        log.info("worker_started", worker=self.worker_id)
        periodic = asyncio.create_task(self._periodic(stop))
        outbox = asyncio.create_task(run_dispatcher(self.state, stop))
        try:
            while not stop.is_set():
                try:
                    await listener.ensure()
                    if await self._claim_and_spawn():
                        continue  # more may be due right now
                    await self._sleep(stop)
                except Exception:
                    # The database refused or dropped a connection: leased payments wait out
                    # their lease, and the loop tries again after a pause instead of dying.
                    log.exception("worker_loop_failed", worker=self.worker_id)
                    await _first_of(stop, asyncio.Event(), self.settings.poll_interval_seconds)
        finally:
            periodic.cancel()
            if not stop.is_set():
                outbox.cancel()  # it runs until ``stop``, which may never come now
            await listener.close()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            await asyncio.gather(outbox, return_exceptions=True)
            log.info("worker_stopped", worker=self.worker_id)

    async def _claim_and_spawn(self) -> bool:
        free = self.settings.worker_concurrency - self._in_flight
        if free <= 0:
            return False
        wanted = min(self.settings.batch_size, free)
        async with self.state.unit_of_work() as session:
            claimed = await repo.claim_due(
                session, self.worker_id, wanted, self.settings.lease_seconds
            )
        if claimed:
            self._in_flight += len(claimed)
            task = asyncio.create_task(self._process(claimed))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return len(claimed) == wanted

    def _left(self, payments: int) -> None:
        """Payments left a batch: their slots are free for new work."""
        was_full = self._in_flight >= self.settings.worker_concurrency
        self._in_flight -= payments
        if was_full and payments:
            self._wake.set()  # slots opened while at capacity: there may be queued work

    async def _process(self, claimed: list[Payment]) -> None:
        remaining = {payment.id for payment in claimed}

        def left(payment_ids: set[uuid.UUID]) -> None:
            remaining.difference_update(payment_ids)
            self._left(len(payment_ids))

        try:
            await self.processor.run_batch(claimed, left)
        except Exception:
            # Never lose a payment: give the leases back and try again later.
            log.exception("payment_batch_failed", payments=len(remaining))
            retry_at = datetime.now(UTC) + timedelta(
                seconds=self.settings.retry_schedule_seconds[0]
            )
            try:
                async with self.state.unit_of_work() as session:
                    for payment_id in remaining:
                        await repo.release(session, payment_id, self.worker_id, retry_at)
            except Exception:  # the database is away: the leases run out instead
                log.exception("payment_release_failed", payments=len(remaining))
        finally:
            self._left(len(remaining))

    async def _periodic(self, stop: asyncio.Event) -> None:
        """Expiry, metrics, inbound webhooks, funding jobs and catalog resync, on a beat or
        at once when woken; a failing job is logged, never fatal."""
        while not stop.is_set():
            self._jobs_wake.clear()
            for job in (periodic.expire_unfunded, periodic.refresh_metrics):
                try:
                    async with self.state.unit_of_work() as session:
                        await job(session)
                except Exception:
                    log.exception("periodic_job_failed", job=job.__name__)
            state_jobs: list[Callable[[AppState], Awaitable[int]]] = [
                process_inbox,
                watch_reversals,
                *self.state.funding.periodic_jobs(),
                self._resync_catalog_when_due,
                self._reconcile,
                self._evaluate_alerts,
            ]
            for state_job in state_jobs:
                try:
                    await state_job(self.state)
                except Exception:
                    log.exception("periodic_job_failed", job=state_job.__name__)
            await _first_of(stop, self._jobs_wake, self.settings.periodic_interval_seconds)

    async def _evaluate_alerts(self, state: AppState) -> int:
        """Operator alerts, raised once per incident and resolved when it clears."""
        return await self._alerts(state)

    async def _resync_catalog_when_due(self, state: AppState) -> int:
        """Providers change their catalogs; plans are pulled again every so often."""
        if time.monotonic() - self._catalog_synced_at < self.settings.catalog_resync_seconds:
            return 0
        self._catalog_synced_at = time.monotonic()
        async with state.unit_of_work() as session:
            report = await sync_catalog(
                session, state.providers, list_prices=state.settings.plan_prices
            )
        state.plans.forget()
        log.info("catalog_resynced", plans=report.plans, deactivated=report.deactivated)
        return report.plans

    async def _sleep(self, stop: asyncio.Event) -> None:
        async with self.state.unit_of_work() as session:
            next_due = await repo.seconds_until_next_due(session)
        timeout = self.settings.poll_interval_seconds
        if next_due is not None:
            timeout = min(timeout, next_due + 0.001)
        await _first_of(stop, self._wake, timeout)
        self._wake.clear()


async def _first_of(stop: asyncio.Event, wake: asyncio.Event, timeout: float) -> None:
    """Return when either event is set or after ``timeout`` seconds."""
    stopper = asyncio.create_task(stop.wait())
    waker = asyncio.create_task(wake.wait())
    await asyncio.wait({stopper, waker}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    stopper.cancel()
    waker.cancel()

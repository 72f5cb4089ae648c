"""The worker: claims due payments under a lease and runs many provider calls concurrently.

New work wakes it at once through Postgres ``LISTEN/NOTIFY``; polling every
``BILL_PROCESSOR_POLL_INTERVAL_SECONDS`` is only the fallback. Scheduled requeries wake it
when they fall due. Any number of workers share the queue through ``SKIP LOCKED``.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import structlog

from billpay.db.engine import asyncpg_dsn
from billpay.payments.repository import WORK_CHANNEL
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
        self._tasks: set[asyncio.Task[None]] = set()

    def wake(self, *_: Any) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        listener = await asyncpg.connect(asyncpg_dsn(self.state.database_url))
        await listener.add_listener(WORK_CHANNEL, self.wake)
        log.info("worker_started", worker=self.worker_id)
        periodic = asyncio.create_task(self._periodic(stop))
        try:
            while not stop.is_set():
                claimed_all_asked = await self._claim_and_spawn()
                if claimed_all_asked:
                    continue  # more may be due right now
                await self._sleep(stop)
        finally:
            periodic.cancel()
            await listener.close()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            log.info("worker_stopped", worker=self.worker_id)

    async def _claim_and_spawn(self) -> bool:
        free = self.settings.worker_concurrency - len(self._tasks)
        if free <= 0:
            return False
        wanted = min(self.settings.batch_size, free)
        async with self.state.unit_of_work() as session:
            ids = await repo.claim_due(session, self.worker_id, wanted, self.settings.lease_seconds)
        for payment_id in ids:
            task = asyncio.create_task(self._process(payment_id))
            self._tasks.add(task)
            task.add_done_callback(self._task_done)
        return len(ids) == wanted

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if len(self._tasks) == self.settings.worker_concurrency - 1:
            self._wake.set()  # a slot opened while at capacity: there may be queued work

    async def _process(self, payment_id: uuid.UUID) -> None:
        try:
            await self.processor.run(payment_id)
        except Exception:
            # Never lose the payment: give the lease back and try again later.
            log.exception("payment_step_failed", payment_id=str(payment_id))
            retry_at = datetime.now(UTC) + timedelta(
                seconds=self.settings.retry_schedule_seconds[0]
            )
            async with self.state.unit_of_work() as session:
                await repo.release(session, payment_id, self.worker_id, retry_at)

    async def _periodic(self, stop: asyncio.Event) -> None:
        """Expiry and metrics on a fixed beat; a failing job is logged, never fatal."""
        while not stop.is_set():
            for job in (periodic.expire_unfunded, periodic.refresh_metrics):
                try:
                    async with self.state.unit_of_work() as session:
                        await job(session)
                except Exception:
                    log.exception("periodic_job_failed", job=job.__name__)
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.settings.periodic_interval_seconds)
            except TimeoutError:
                continue

    async def _sleep(self, stop: asyncio.Event) -> None:
        async with self.state.unit_of_work() as session:
            next_due = await repo.seconds_until_next_due(session)
        timeout = self.settings.poll_interval_seconds
        if next_due is not None:
            timeout = min(timeout, next_due + 0.001)
        stopper = asyncio.create_task(stop.wait())
        waker = asyncio.create_task(self._wake.wait())
        await asyncio.wait({stopper, waker}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        waker.cancel()
        self._wake.clear()

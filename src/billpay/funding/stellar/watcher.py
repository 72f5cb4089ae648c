"""The deposit watcher (``billpay watch``; also inside ``billpay up``).

It streams ``/accounts/{system}/payments?join=transactions`` from the stored cursor and hands
records to ``DepositHandler`` in batches: whatever has arrived, up to ``MAX_BATCH``. A batch is
one transaction that stores the deposits (unique operation id), applies the matching policy
and saves the cursor *in the same commit*: a record is never marked seen without its effects,
nor its effects kept without the cursor moving past it. A crash anywhere replays the batch
from the stored cursor, and the unique operation id drops anything that was already stored.

- One watcher per account: a Postgres advisory lock on a dedicated connection; a second
  watcher waits on it. The cursor row is also locked and compared in every batch (a fence:
  if the lock was lost and someone else moved on, the batch rolls back).
- A first start (no stored cursor) pins ``now`` to the latest record and stores it before
  streaming, so nothing that arrives meanwhile is missed; ``start_cursor`` overrides it.
- Outgoing, failed and non-payment operations are skipped (the cursor still moves past them).
- A record that cannot be read, or whose handling fails on its own, is stored as a
  ``quarantined`` deposit with the raw record and the reason, and the stream goes on.
- Database or Horizon trouble restarts the loop from the stored cursor after a pause.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Sequence
from typing import Any

import structlog
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from billpay.db.health import DatabaseUnreachable
from billpay.funding.base import FundingContext
from billpay.funding.stellar import repository as repo
from billpay.funding.stellar.config import StellarConfig
from billpay.funding.stellar.horizon import HorizonClient, HorizonUnavailableError
from billpay.funding.stellar.locks import AdvisoryLock, advisory_lock
from billpay.funding.stellar.matching import Applied, Matcher, PaymentView
from billpay.funding.stellar.records import (
    Classification,
    DepositRecord,
    Incoming,
    Unparseable,
    classify_record,
)
from billpay.funding.stellar.states import DepositState

log = structlog.get_logger(__name__)

MAX_BATCH = 500
QUEUE_SIZE = 4 * MAX_BATCH
RESTART_DELAY_SECONDS = 1.0
LOCK_PREFIX = "billpay:stellar-watcher:"
# SQLSTATE classes worth retrying: connection exceptions, serialization/deadlock, shutdown.
_TRANSIENT_SQLSTATES = ("08", "40", "53", "57")


class CursorMovedError(Exception):
    """The stored cursor is not where this watcher left it: someone else is handling."""


class LockLostError(Exception):
    """The advisory lock's connection is gone."""


async def run_watcher(
    context: FundingContext,
    stop: asyncio.Event,
    *,
    start_cursor: str = "now",
    reconnect_delay: float = 1.0,
) -> None:
    """Watch the system account until ``stop`` is set. Never raises: trouble restarts it."""
    config = StellarConfig.from_settings(context.settings)
    if config is None:
        log.warning("stellar_watcher_not_configured")
        return
    handler = DepositHandler(context, config)
    while not stop.is_set():
        try:
            async with advisory_lock(
                context.database_url, LOCK_PREFIX + config.account, stop=stop
            ) as lock:
                if lock is None:
                    return  # stopped while another watcher held the account
                log.info("stellar_watcher_started", account=config.account)
                await _watch(handler, config, lock, stop, start_cursor, reconnect_delay)
        except Exception as exc:
            if _is_transient(exc) or isinstance(exc, CursorMovedError | LockLostError):
                log.warning("stellar_watcher_restarting", error=repr(exc))
            else:
                log.exception("stellar_watcher_failed")
            try:
                await asyncio.wait_for(stop.wait(), timeout=RESTART_DELAY_SECONDS)
            except TimeoutError:
                continue
    log.info("stellar_watcher_stopped", account=config.account)


async def _watch(
    handler: DepositHandler,
    config: StellarConfig,
    lock: AdvisoryLock,
    stop: asyncio.Event,
    start_cursor: str,
    reconnect_delay: float,
) -> None:
    async with HorizonClient(config.horizon_url, reconnect_delay=reconnect_delay) as horizon:
        cursor = await handler.resume_cursor(horizon, start_cursor)
        queue: asyncio.Queue[object] = asyncio.Queue(maxsize=QUEUE_SIZE)
        reader = asyncio.create_task(_read(horizon, config.account, cursor, queue))
        stopper = asyncio.create_task(stop.wait())
        try:
            while True:
                batch = await _next_batch(queue, reader, stopper)
                if batch is None:
                    return
                if lock.lost:
                    raise LockLostError(lock.name)
                cursor = await handler.handle(batch, cursor)
        finally:
            for task in (reader, stopper):
                task.cancel()
            await asyncio.gather(reader, stopper, return_exceptions=True)


async def _read(
    horizon: HorizonClient, account: str, cursor: str, queue: asyncio.Queue[object]
) -> None:
    async for record in horizon.stream_payments(account, cursor):
        await queue.put(record)


async def _next_batch(
    queue: asyncio.Queue[object], reader: asyncio.Task[None], stopper: asyncio.Task[Any]
) -> list[object] | None:
    """Whatever records have arrived (at least one, at most ``MAX_BATCH``); None on stop."""
    if stopper.done():
        return None
    if queue.empty():
        getter = asyncio.create_task(queue.get())
        await asyncio.wait({getter, reader, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if not getter.done():
            getter.cancel()
            await asyncio.gather(getter, return_exceptions=True)
            if reader.done():
                reader.result()  # the stream ended by an error: raise it
                raise HorizonUnavailableError("the payments stream ended")
            return None
        batch = [getter.result()]
    else:
        batch = [queue.get_nowait()]
    while len(batch) < MAX_BATCH and not queue.empty():
        batch.append(queue.get_nowait())
    return batch


class DepositHandler:
    """Turns batches of payment records into stored deposits and their effects."""

    def __init__(self, context: FundingContext, config: StellarConfig) -> None:
        self.context = context
        self.config = config
        self.account = config.account
        self.matcher = Matcher(config.account, config.asset)

    async def resume_cursor(self, horizon: HorizonClient, start_cursor: str) -> str:
        async with self.context.unit_of_work() as session:
            stored = await repo.get_cursor(session, self.account)
        if stored is not None:
            return stored
        first = start_cursor
        if first == "now":
            first = await horizon.latest_payment_token(self.account)
        async with self.context.unit_of_work() as session:
            return await repo.init_cursor(session, self.account, first)

    async def handle(self, records: Sequence[object], cursor: str) -> str:
        """Handle ``records`` (which follow ``cursor``) in one transaction; the new cursor.

        If the batch fails for a reason of its own (not the database or the network), each
        record is retried alone, and one that fails alone is quarantined."""
        classified = [classify_record(record, self.account) for record in records]
        new_cursor = _last_token(classified, cursor)
        try:
            async with self.context.unit_of_work() as session:
                await self._fence(session, cursor)
                await self._store(session, records, classified)
                if new_cursor != cursor:
                    await repo.save_cursor(session, self.account, new_cursor)
        except Exception as exc:
            if _is_transient(exc) or isinstance(exc, CursorMovedError):
                raise
            if len(records) > 1:
                log.warning("stellar_batch_failed_retrying_singly", error=repr(exc))
                for record in records:
                    cursor = await self.handle([record], cursor)
                return cursor
            log.exception("stellar_record_failed", cursor=cursor)
            await self._quarantine_failed(records[0], classified[0], cursor, new_cursor, exc)
        return new_cursor

    async def _fence(self, session: AsyncSession, cursor: str) -> None:
        stored = await repo.lock_cursor(session, self.account)
        if stored != cursor:
            raise CursorMovedError(f"cursor is {stored}, expected {cursor}")

    async def _store(
        self, session: AsyncSession, records: Sequence[object], classified: Sequence[Classification]
    ) -> None:
        incoming: dict[str, tuple[object, DepositRecord]] = {}
        broken: list[dict[str, Any]] = []
        for record, found in zip(records, classified, strict=True):
            if isinstance(found, Incoming):
                incoming.setdefault(found.deposit.operation_id, (record, found.deposit))
            elif isinstance(found, Unparseable):
                broken.append(self._broken_row(record, found.reason, found.paging_token))
        if broken:
            await repo.insert_deposits(session, broken)
            log.warning("stellar_records_quarantined", count=len(broken))
        if not incoming:
            return
        known = await repo.deposit_ids(session, incoming)
        new = [entry for op, entry in incoming.items() if op not in known]
        if new:
            await self._apply(session, new)

    async def _apply(self, session: AsyncSession, new: list[tuple[object, DepositRecord]]) -> None:
        short_ids = {
            short_id
            for _, deposit in new
            if (short_id := self.matcher.short_id_of(deposit)) is not None
        }
        payments = await repo.stellar_payments_for_update(session, short_ids)
        views = {short_id: PaymentView.of(payment) for short_id, payment in payments.items()}
        rows: list[dict[str, Any]] = []
        refunds: list[tuple[str, dict[str, Any]]] = []
        for record, deposit in new:
            short_id = self.matcher.short_id_of(deposit)
            payment = payments.get(short_id) if short_id else None
            applied, view = await self.matcher.apply(
                session, deposit, payment, views.get(short_id) if short_id else None
            )
            if short_id and view is not None:
                views[short_id] = view
            rows.append(self._deposit_row(record, deposit, applied))
            if applied.refund is not None:
                refunds.append((deposit.operation_id, applied.refund))
        inserted = await repo.insert_deposits(session, rows)
        if len(inserted) != len(rows):
            raise CursorMovedError("a deposit of this batch was stored meanwhile")
        await repo.insert_refunds(
            session, [refund | {"deposit_id": inserted[op]} for op, refund in refunds]
        )

    def _deposit_row(
        self, record: object, deposit: DepositRecord, applied: Applied
    ) -> dict[str, Any]:
        return self._deposit_fields(deposit) | {
            "payment_id": applied.payment_id,
            "funded_payment": applied.funded_payment,
            "state": applied.state.value,
            "reason": applied.reason[:500],
            "raw": _raw(record) if applied.state is DepositState.QUARANTINED else None,
        }

    def _deposit_fields(self, deposit: DepositRecord) -> dict[str, Any]:
        return {
            "account": self.account,
            "operation_id": deposit.operation_id,
            "paging_token": deposit.paging_token,
            "tx_hash": deposit.transaction_hash,
            "from_account": deposit.from_account,
            "asset_code": deposit.asset.code,
            "asset_issuer": deposit.asset.issuer,
            "amount": deposit.amount,
            "amount_kobo": deposit.amount_kobo,
            "memo_type": deposit.memo_type,
            "memo": deposit.memo[:200] if deposit.memo is not None else None,
            "path_payment": deposit.is_path_payment,
            "ledger_at": deposit.created_at,
        }

    def _broken_row(self, record: object, reason: str, paging_token: str | None) -> dict[str, Any]:
        operation_id = record.get("id") if isinstance(record, dict) else None
        if not (isinstance(operation_id, str) and 0 < len(operation_id) <= 64):
            operation_id = "sha256:" + hashlib.sha256(_canonical(record)).hexdigest()
        return {
            "account": self.account,
            "operation_id": operation_id,
            "paging_token": paging_token if _is_token(paging_token) else None,
            "state": DepositState.QUARANTINED.value,
            "reason": f"unreadable record: {reason}"[:500],
            "raw": _raw(record),
        }

    async def _quarantine_failed(
        self,
        record: object,
        classification: Classification,
        cursor: str,
        new_cursor: str,
        error: Exception,
    ) -> None:
        token = classification.paging_token if not isinstance(classification, Incoming) else None
        row = self._broken_row(record, f"handling failed: {error!r}", token)
        if isinstance(classification, Incoming):
            # Who paid what, with which memo: the operator deciding needs it at hand.
            row |= self._deposit_fields(classification.deposit)
            row["reason"] = f"handling failed: {error!r}; an operator decides"[:500]
        async with self.context.unit_of_work() as session:
            await self._fence(session, cursor)
            await repo.insert_deposits(session, [row])
            if new_cursor != cursor:
                await repo.save_cursor(session, self.account, new_cursor)


def _last_token(classified: Sequence[Classification], cursor: str) -> str:
    """The last paging token of the batch, if it is past ``cursor`` (tokens are int64s)."""
    last = cursor
    for found in classified:
        token = found.deposit.paging_token if isinstance(found, Incoming) else found.paging_token
        if token is None or not _is_token(token):
            continue
        if not _is_token(last) or int(token) > int(last):
            last = token
    return last


def _is_token(token: str | None) -> bool:
    """A paging token as Horizon writes them: a non-negative int64."""
    return token is not None and token.isdigit() and len(token) <= 19


def _canonical(record: object) -> bytes:
    return json.dumps(record, sort_keys=True, default=str).encode()


def _raw(record: object) -> dict[str, Any]:
    if isinstance(record, dict):
        return json.loads(_canonical(record))  # type: ignore[no-any-return]
    return {"record": repr(record)[:2000]}


def _is_transient(exc: BaseException) -> bool:
    """Trouble with the database connection or the network, not with the record.

    A unit of work reports a lost connection as ``DatabaseUnreachable``: taking that for
    trouble with the record would quarantine a good deposit (the chaos soak lost one so)."""
    if isinstance(exc, OSError | TimeoutError | HorizonUnavailableError | DatabaseUnreachable):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(
            getattr(exc.orig, "__cause__", None), "sqlstate", None
        )
        return isinstance(sqlstate, str) and sqlstate.startswith(_TRANSIENT_SQLSTATES)
    return False

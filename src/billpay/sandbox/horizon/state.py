"""The simulator's whole world: the ledger, its history (transactions, payment operations,
closed ledgers) and the faults armed for the next requests.

Every submitted transaction that gets into the ledger closes a ledger of its own, so a
submission answers at once and operation ids follow Horizon's TOID layout
(``ledger << 32 | tx_order << 12 | op_index``).

A hash already in the history is never applied again: its stored result is returned, which
is what Horizon does (its submission system looks the hash up in history before submitting
to core), and the network could not apply it twice anyway since its sequence number is spent.
Rejected transactions (``tx_bad_seq``, ``tx_bad_auth``…) are not in the history, exactly like
the real network, so resubmitting one is evaluated afresh.

Thread-safe: the HTTP app runs on the server thread, tests and benchmarks call the in-process
API from theirs.
"""

from __future__ import annotations

import asyncio
import threading
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from hashlib import sha256

from stellar_sdk import Asset, Network

from billpay.sandbox.horizon import wire
from billpay.sandbox.horizon.envelope import Envelope, parse_envelope
from billpay.sandbox.horizon.faults import Faults, FaultSettings
from billpay.sandbox.horizon.ledger import (
    MAX_INT64,
    ClosedLedger,
    Ledger,
    LedgerAccount,
    TransactionOutcome,
    Trustline,
    new_account,
    to_stroops,
)
from billpay.sandbox.horizon.result_xdr import result_xdr

TESTNET_PASSPHRASE = "Test SDF Network ; September 2015"
GENESIS_LEDGER = 1
TX_ORDER_IN_LEDGER = 1  # one transaction per simulated ledger
DEFAULT_STARTING_XLM = "10000"


@dataclass(frozen=True)
class StoredTransaction:
    body: wire.JsonObject  # Horizon's transaction resource, without _links
    outcome: TransactionOutcome
    payment_ids: tuple[int, ...]


@dataclass(frozen=True)
class StoredPayment:
    body: wire.JsonObject  # Horizon's payment operation record, without _links
    successful: bool


@dataclass(frozen=True)
class Malformed:
    envelope_xdr: str
    reason: str


@dataclass(frozen=True)
class Rejected:
    """Refused before reaching the ledger: nothing was charged or changed."""

    envelope_xdr: str
    outcome: TransactionOutcome
    result_xdr: str


@dataclass(frozen=True)
class Included:
    """In the ledger, successful or failed (``transaction.outcome``)."""

    transaction: StoredTransaction


Submission = Malformed | Rejected | Included


@dataclass(frozen=True)
class TrustlineGrant:
    """A trustline to add (if missing) and an amount of the asset to credit to it."""

    asset: Asset
    balance: str = "0"
    limit: str | None = None


def _select(
    ids: Sequence[int], cursor: int | None, order: str, limit: int, keep: Callable[[int], bool]
) -> list[int]:
    """Up to ``limit`` ids strictly after ``cursor`` in ``order`` (ids are ascending)."""
    if order == "asc":
        start = 0 if cursor is None else bisect_right(ids, cursor)
        candidates: Iterator[int] = (ids[i] for i in range(start, len(ids)))
    else:
        stop = len(ids) if cursor is None else bisect_left(ids, cursor)
        candidates = (ids[i] for i in range(stop - 1, -1, -1))
    selected: list[int] = []
    for candidate in candidates:
        if len(selected) == limit:
            break
        if keep(candidate):
            selected.append(candidate)
    return selected


class HorizonState:
    def __init__(
        self,
        network_passphrase: str = TESTNET_PASSPHRASE,
        *,
        base_fee: int = 100,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.network_passphrase = network_passphrase
        self._network_id = Network(network_passphrase).network_id()
        self.base_fee = base_fee
        self.faults = Faults()
        self._clock = clock
        self._lock = threading.Lock()
        self._subscribers: set[StreamSubscription] = set()
        self._start_history()

    def _start_history(self) -> None:
        self._ledger = Ledger()
        genesis_hash = sha256(self.network_passphrase.encode()).hexdigest()
        self._ledgers = [ClosedLedger(GENESIS_LEDGER, self.now(), genesis_hash, "", 0, 0, 0)]
        self._ledger_tokens = [self._ledgers[0].paging_token]
        self._transactions: dict[str, StoredTransaction] = {}
        self._payments: dict[int, StoredPayment] = {}
        self._payment_ids: list[int] = []
        self._account_payment_ids: dict[str, list[int]] = {}

    def now(self) -> int:
        """The simulator's clock (injectable), which ledger close times and time bounds use."""
        return int(self._clock())

    def reset(self) -> None:
        """Forget every account, transaction and fault."""
        with self._lock:
            self._start_history()
        self.faults.arm(FaultSettings())

    # --- the in-process admin API ("friendbot") --------------------------------------------

    def fund_account(
        self,
        account_id: str,
        *,
        xlm: str | None = None,
        trustlines: Sequence[TrustlineGrant] = (),
    ) -> None:
        """Create the account if missing (with ``xlm``, default 10,000 XLM) or top its XLM up by
        ``xlm``; add the trustlines and credit their balances. Written straight into the ledger
        with no operation record, like balances from before history began, so a watcher never
        mistakes a test top-up for a deposit."""
        with self._lock:
            account = self._ledger.accounts.get(account_id)
            if account is None:
                starting = to_stroops(xlm or DEFAULT_STARTING_XLM)
                account = new_account(account_id, starting, self._ledgers[-1].sequence)
                self._ledger.accounts[account_id] = account
            elif xlm is not None:
                account.balance += to_stroops(xlm)
            for grant in trustlines:
                _grant_trustline(account, grant)

    def account(self, account_id: str) -> LedgerAccount | None:
        """A snapshot of the account (changing it changes nothing)."""
        with self._lock:
            account = self._ledger.accounts.get(account_id)
            return account.copy() if account is not None else None

    # --- submission ---------------------------------------------------------------------------

    def submit(self, envelope_xdr: str) -> Submission:
        try:
            envelope = parse_envelope(envelope_xdr, self._network_id)
        except (ValueError, EOFError) as exc:
            return Malformed(envelope_xdr, str(exc) or type(exc).__name__)
        with self._lock:
            submission = self._apply(envelope, envelope_xdr)
        if isinstance(submission, Included):
            self._notify()
        return submission

    def _apply(self, envelope: Envelope, envelope_xdr: str) -> Submission:
        stored = self._transactions.get(envelope.hash_hex)
        if stored is not None:
            return Included(stored)
        previous = self._ledgers[-1]
        close_time = max(self.now(), previous.close_time)
        sequence = previous.sequence + 1
        outcome = self._ledger.apply(
            envelope, close_time=close_time, ledger_sequence=sequence, base_fee=self.base_fee
        )
        result = result_xdr(envelope, outcome)
        if not outcome.applied:
            return Rejected(envelope_xdr, outcome, result)
        stored = self._record(envelope, envelope_xdr, outcome, result, sequence, close_time)
        self._close_ledger(previous, sequence, close_time, envelope.hash, outcome)
        return Included(stored)

    def _record(
        self,
        envelope: Envelope,
        envelope_xdr: str,
        outcome: TransactionOutcome,
        result: str,
        ledger: int,
        close_time: int,
    ) -> StoredTransaction:
        tx_token = (ledger << 32) | (TX_ORDER_IN_LEDGER << 12)
        body = wire.transaction_body(
            envelope=envelope,
            envelope_xdr=envelope_xdr,
            successful=outcome.successful,
            ledger=ledger,
            paging_token=tx_token,
            close_time=close_time,
            fee_charged=outcome.fee_charged,
            result_xdr=result,
        )
        payment_ids = []
        for index, op in enumerate(envelope.operations, start=1):
            payment = wire.payment_body(
                op,
                operation_id=tx_token + index,
                source=op.source or envelope.source,
                tx_hash=envelope.hash_hex,
                successful=outcome.successful,
                close_time=close_time,
            )
            if payment is not None:
                self._index_payment(tx_token + index, payment, outcome.successful)
                payment_ids.append(tx_token + index)
        stored = StoredTransaction(body, outcome, tuple(payment_ids))
        self._transactions[envelope.hash_hex] = stored
        return stored

    def _index_payment(self, op_id: int, body: wire.JsonObject, successful: bool) -> None:
        """Listed for both sides: Horizon's account payments are incoming and outgoing."""
        self._payments[op_id] = StoredPayment(body, successful)
        self._payment_ids.append(op_id)
        receiver = body.get("to") or body["account"]
        sender = body.get("from") or body["funder"]
        for account_id in {receiver, sender}:
            self._account_payment_ids.setdefault(account_id, []).append(op_id)

    def _close_ledger(
        self,
        previous: ClosedLedger,
        sequence: int,
        close_time: int,
        tx_hash: bytes,
        outcome: TransactionOutcome,
    ) -> None:
        ledger_hash = sha256(bytes.fromhex(previous.hash) + tx_hash).hexdigest()
        closed = ClosedLedger(
            sequence,
            close_time,
            ledger_hash,
            previous.hash,
            1 if outcome.successful else 0,
            0 if outcome.successful else 1,
            len(outcome.operation_codes) if outcome.successful else 0,
        )
        self._ledgers.append(closed)
        self._ledger_tokens.append(closed.paging_token)

    # --- history queries ----------------------------------------------------------------------

    def transaction(self, tx_hash: str) -> StoredTransaction | None:
        with self._lock:
            return self._transactions.get(tx_hash)

    def payments(
        self,
        *,
        account_id: str | None = None,
        tx_hash: str | None = None,
        cursor: int | None = None,
        order: str = "asc",
        limit: int = 10,
        include_failed: bool = False,
    ) -> list[tuple[StoredPayment, StoredTransaction]]:
        """A page of payment operations (of one account, or one transaction, or all), each with
        its transaction for ``join=transactions``."""
        with self._lock:
            ids = self._payment_ids_for(account_id, tx_hash)
            selected = _select(
                ids,
                cursor,
                order,
                limit,
                lambda op_id: include_failed or self._payments[op_id].successful,
            )
            payments = [self._payments[op_id] for op_id in selected]
            return [(p, self._transactions[p.body["transaction_hash"]]) for p in payments]

    def _payment_ids_for(self, account_id: str | None, tx_hash: str | None) -> Sequence[int]:
        if account_id is not None:
            return self._account_payment_ids.get(account_id, [])
        if tx_hash is not None:
            stored = self._transactions.get(tx_hash)
            return stored.payment_ids if stored is not None else ()
        return self._payment_ids

    def latest_payment_id(self) -> int:
        """The cursor called ``now``: everything applied so far is behind it."""
        with self._lock:
            return self._payment_ids[-1] if self._payment_ids else 0

    def ledgers(self, *, cursor: int | None, order: str, limit: int) -> list[ClosedLedger]:
        with self._lock:
            tokens = _select(self._ledger_tokens, cursor, order, limit, lambda _: True)
            return [self._ledgers[(token >> 32) - GENESIS_LEDGER] for token in tokens]

    def latest_ledger(self) -> ClosedLedger:
        with self._lock:
            return self._ledgers[-1]

    # --- change notification (SSE streams wait on it) -------------------------------------

    def subscribe(self) -> StreamSubscription:
        """Call on the event loop that will wait on the subscription."""
        subscription = StreamSubscription()
        with self._lock:
            self._subscribers.add(subscription)
        return subscription

    def unsubscribe(self, subscription: StreamSubscription) -> None:
        with self._lock:
            self._subscribers.discard(subscription)

    def end_streams(self) -> None:
        """Say goodbye on every open stream. uvicorn waits for open responses before it stops,
        so call this before stopping a server whose clients may still be streaming."""
        for subscription in self._subscriptions():
            subscription.end()

    def _notify(self) -> None:
        for subscription in self._subscriptions():
            subscription.wake()

    def _subscriptions(self) -> list[StreamSubscription]:
        with self._lock:
            return list(self._subscribers)


class StreamSubscription:
    """One open stream's wake-up call: rung from any thread, awaited on the server's loop."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()
        self.ended = False

    def wake(self) -> None:
        if not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._event.set)

    def end(self) -> None:
        self.ended = True
        self.wake()

    async def wait(self) -> None:
        """Returns at once if woken since the last wait, so no change is ever missed."""
        await self._event.wait()
        self._event.clear()


def _grant_trustline(account: LedgerAccount, grant: TrustlineGrant) -> None:
    if account.account_id == grant.asset.issuer:
        raise ValueError("an issuer cannot hold a trustline to its own asset")
    current = account.trustlines.get(grant.asset, Trustline(0, MAX_INT64))
    limit = to_stroops(grant.limit) if grant.limit is not None else current.limit
    balance = current.balance + to_stroops(grant.balance)
    if balance > limit:
        raise ValueError(f"a balance of {wire.amount(balance)} exceeds the trustline limit")
    account.trustlines[grant.asset] = Trustline(balance, limit)

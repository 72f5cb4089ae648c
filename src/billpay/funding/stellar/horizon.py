"""billpay's async Horizon client: stellar-sdk's ``ServerAsync`` over its ``AiohttpClient``,
with Horizon's answers turned into billpay's vocabulary (providers.md §0, §5.4).

- ``stream_payments`` never ends by itself: after any drop it reconnects from the last record
  it yielded, so the caller sees no gap and no duplicate.
- ``submit`` is three-valued: ``Submitted`` (200), ``Rejected`` (400: definite, with the result
  codes), ``Unknown`` (504, 503, other statuses, timeouts, broken connections: the envelope
  may or may not be in the ledger; resubmit the *same* envelope or look its hash up).
- Lookups raise ``HorizonUnavailableError`` rather than guess when Horizon cannot answer.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

import aiohttp
import structlog
from stellar_sdk import Account
from stellar_sdk.client.aiohttp_client import AiohttpClient
from stellar_sdk.exceptions import (
    BadRequestError,
    BaseHorizonError,
    BaseRequestError,
    NotFoundError,
    raise_request_exception,
)
from stellar_sdk.server_async import ServerAsync
from stellar_sdk.utils import urljoin_with_query

log = structlog.get_logger(__name__)

# What a call to Horizon may raise when no answer came back: stellar-sdk's own errors, aiohttp's
# (and the builtin ConnectionError aiohttp_sse_client raises on an HTTP error status),
# timeouts (an OSError), and a body that is not JSON (ValueError).
_NO_ANSWER = (BaseRequestError, aiohttp.ClientError, OSError, ValueError)


class HorizonUnavailableError(Exception):
    """Horizon gave no usable answer: try again later, decide nothing from it."""


class AccountNotFoundError(Exception):
    pass


@dataclass(frozen=True)
class Submitted:
    ledger: int
    response: dict[str, Any]


@dataclass(frozen=True)
class Rejected:
    """Horizon's 400: this envelope is not and will not be applied as a success.

    With ``transaction_code == "tx_failed"`` it *is* in the ledger as a failed transaction (fee
    and sequence number spent); other codes (``tx_bad_seq``, ``tx_too_late``…) never reached
    the ledger. ``transaction_code`` is ``transaction_malformed`` when Horizon could not decode
    the envelope."""

    transaction_code: str
    operation_codes: tuple[str, ...]
    response: dict[str, Any]


@dataclass(frozen=True)
class Unknown:
    reason: str


SubmitResult = Submitted | Rejected | Unknown


@dataclass(frozen=True)
class TransactionFound:
    transaction: dict[str, Any]

    @property
    def successful(self) -> bool:
        return self.transaction.get("successful") is True


@dataclass(frozen=True)
class TransactionNotFound:
    pass


@dataclass(frozen=True)
class LookupFailed:
    reason: str


TransactionLookup = TransactionFound | TransactionNotFound | LookupFailed


def _problem_body(error: BaseHorizonError) -> dict[str, Any]:
    try:
        body = json.loads(error.message)
    except ValueError:
        return {"status": error.status, "text": error.message}
    return body if isinstance(body, dict) else {"status": error.status, "text": error.message}


def _rejected(error: BadRequestError) -> Rejected:
    codes = (error.extras or {}).get("result_codes") or {}
    problem_type = (error.type or "").rsplit("/", 1)[-1]
    return Rejected(
        transaction_code=codes.get("transaction") or problem_type or "bad_request",
        operation_codes=tuple(codes.get("operations") or ()),
        response=_problem_body(error),
    )


def _is_replay(token: str, last: str) -> bool:
    """Horizon resumes strictly after the cursor; a record at or before it was seen already."""
    return token.isdigit() and last.isdigit() and int(token) <= int(last)


class HorizonClient:
    def __init__(
        self,
        horizon_url: str,
        *,
        request_timeout: float = 20.0,
        submit_timeout: float = 60.0,  # longer than Horizon's own 30 s, which answers 504
        reconnect_delay: float = 1.0,
    ) -> None:
        self._http = AiohttpClient(request_timeout=request_timeout, post_timeout=submit_timeout)
        self._server = ServerAsync(horizon_url, self._http)
        self._submit_url = urljoin_with_query(horizon_url, "transactions")
        self._reconnect_delay = reconnect_delay

    async def __aenter__(self) -> HorizonClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._server.close()

    # --- deposits -------------------------------------------------------------------------

    async def stream_payments(
        self, account: str, cursor: str = "now"
    ) -> AsyncIterator[dict[str, Any]]:
        """Every payment record of ``account`` after ``cursor`` (a paging token, ``"0"`` for
        the beginning, ``"now"`` for the present), joined with its transaction, forever.

        ``"now"`` is pinned to the latest record before streaming, so a reconnect never skips
        what arrived in between. Persist a record's paging token only after handling it, and
        pass it back here after a restart."""
        last = cursor
        while True:
            try:
                if last == "now":
                    last = await self._latest_payment_token(account)
                async for record in self._stream_from(account, last):
                    # Whatever arrives is yielded (the classifier flags the unreadable); only
                    # a proper paging token moves the resume point.
                    token = record.get("paging_token") if isinstance(record, dict) else None
                    if isinstance(token, str) and _is_replay(token, last):
                        continue
                    yield record
                    if isinstance(token, str) and token.isdigit():
                        last = token
            except _NO_ANSWER as exc:
                log.warning("horizon_stream_dropped", account=account, cursor=last, error=repr(exc))
            await asyncio.sleep(self._reconnect_delay)

    async def _stream_from(self, account: str, cursor: str) -> AsyncIterator[dict[str, Any]]:
        builder = self._server.payments().for_account(account).cursor(cursor).join("transactions")
        async with aclosing(builder.stream()) as stream:
            async for record in stream:
                yield record

    async def _latest_payment_token(self, account: str) -> str:
        page = await self._server.payments().for_account(account).order(desc=True).limit(1).call()
        records = page["_embedded"]["records"]
        return str(records[0]["paging_token"]) if records else "0"

    async def latest_payment_token(self, account: str) -> str:
        """The paging token of the account's latest payment record (``"0"`` when it has none):
        what ``"now"`` stands for, pinned so it can be stored."""
        try:
            return await self._latest_payment_token(account)
        except _NO_ANSWER as exc:
            raise HorizonUnavailableError(f"payments lookup failed: {exc!r}") from exc

    async def payments_page(
        self, account: str, *, cursor: str | None = None, limit: int = 200
    ) -> list[dict[str, Any]]:
        """One page of the account's payment records, newest first, joined with their
        transactions (``cursor``: continue after that paging token). For reconciliation."""
        builder = (
            self._server.payments()
            .for_account(account)
            .order(desc=True)
            .limit(limit)
            .join("transactions")
        )
        if cursor is not None:
            builder = builder.cursor(cursor)
        try:
            page = await builder.call()
        except _NO_ANSWER as exc:
            raise HorizonUnavailableError(f"payments lookup failed: {exc!r}") from exc
        records: list[dict[str, Any]] = list(page["_embedded"]["records"])
        return records

    # --- refunds --------------------------------------------------------------------------

    async def submit(self, envelope_xdr: str) -> SubmitResult:
        """POST exactly this signed envelope, as ``ServerAsync.submit_transaction`` does but
        without re-encoding it or looking destinations up first: what was stored is what is
        sent. Resubmitting it is always safe: one hash applies at most once."""
        try:
            answer = await self._http.post(self._submit_url, data={"tx": envelope_xdr})
            raise_request_exception(answer)
            response = answer.json()
        except BadRequestError as exc:
            if exc.status == 400:
                return _rejected(exc)
            return Unknown(f"HTTP {exc.status}: {exc.title}")
        except BaseHorizonError as exc:
            return Unknown(f"HTTP {exc.status}: {exc.title}")
        except _NO_ANSWER as exc:
            return Unknown(f"no answer: {exc!r}")
        if not isinstance(response, dict) or response.get("successful") is not True:
            return Unknown("HTTP 200 without successful: true")
        return Submitted(ledger=int(response["ledger"]), response=response)

    async def transaction(self, tx_hash: str) -> dict[str, Any] | None:
        """``GET /transactions/{hash}``; None when Horizon does not know the hash."""
        try:
            found: dict[str, Any] = await self._server.transactions().transaction(tx_hash).call()
        except NotFoundError:
            return None
        except _NO_ANSWER as exc:
            raise HorizonUnavailableError(f"transaction lookup failed: {exc!r}") from exc
        return found

    async def lookup_transaction(self, tx_hash: str) -> TransactionLookup:
        try:
            found = await self.transaction(tx_hash)
        except HorizonUnavailableError as exc:
            return LookupFailed(str(exc))
        return TransactionNotFound() if found is None else TransactionFound(found)

    async def load_account(self, account_id: str) -> Account:
        """The account with its current sequence number (what a new envelope builds on)."""
        try:
            account: Account = await self._server.load_account(account_id)
        except NotFoundError as exc:
            raise AccountNotFoundError(account_id) from exc
        except _NO_ANSWER as exc:
            raise HorizonUnavailableError(f"account lookup failed: {exc!r}") from exc
        return account

    async def balances(self, account_id: str) -> list[dict[str, Any]]:
        """The account's ``balances`` as Horizon lists them (trustlines, then XLM)."""
        account = await self.load_account(account_id)
        raw = account.raw_data or {}
        balances: list[dict[str, Any]] = list(raw.get("balances") or [])
        return balances

    async def base_fee(self) -> int:
        try:
            fee: int = await self._server.fetch_base_fee()
        except _NO_ANSWER as exc:
            raise HorizonUnavailableError(f"base fee lookup failed: {exc!r}") from exc
        return fee

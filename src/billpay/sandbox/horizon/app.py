"""Horizon over HTTP: the endpoints stellar-sdk uses, on Horizon's wire contract
(providers.md §5), plus ``/_sandbox/*`` admin endpoints for tests.

Horizon endpoints: ``GET /``, ``GET /accounts/{id}``, ``GET /accounts/{id}/payments`` (JSON
pages, or SSE with ``Accept: text/event-stream``), ``POST /transactions``,
``GET /transactions/{hash}``, ``GET /transactions/{hash}/payments``, ``GET /ledgers``,
``GET /fee_stats``.

Admin: ``POST /_sandbox/accounts``, ``GET|POST /_sandbox/faults``, ``POST /_sandbox/reset``,
``GET /_sandbox/payments``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from stellar_sdk import Asset, Keypair, StrKey

from billpay.sandbox.horizon import wire
from billpay.sandbox.horizon.faults import FaultSettings, StreamDrop, SubmitFault
from billpay.sandbox.horizon.ledger import TransactionOutcome
from billpay.sandbox.horizon.state import (
    GENESIS_LEDGER,
    TESTNET_PASSPHRASE,
    HorizonState,
    Included,
    Malformed,
    StoredPayment,
    StoredTransaction,
    StreamSubscription,
    Submission,
    TrustlineGrant,
)

MAX_PAGE_LIMIT = 200
DEFAULT_PAGE_LIMIT = 10
HORIZON_SSE_RETRY_MS = 1000  # what Horizon sends before its "hello"

NOT_FOUND_DETAIL = (
    "The resource at the url requested was not found.  This usually occurs for one of two "
    "reasons:  The url requested is not valid, or no data in our database could be found "
    "with the parameters provided."
)
TRANSACTION_FAILED_DETAIL = (
    "The transaction failed when submitted to the stellar network. The `extras.result_codes` "
    "field on this response contains further details.  Descriptions of each code can be found "
    "at: https://developers.stellar.org/docs/data/apis/horizon/api-reference/errors/"
    "http-status-codes/horizon-specific/transaction-failed"
)
MALFORMED_DETAIL = (
    "Horizon could not decode the transaction envelope in this request. A transaction should "
    "be an XDR TransactionEnvelope struct encoded using base64.  The envelope read from this "
    "request is echoed in the `extras.envelope_xdr` field of this response for your "
    "convenience."
)
TIMEOUT_DETAIL = (
    "Your request timed out before completing.  Please try your request again. If you are "
    "submitting a transaction make sure you are sending exactly the same transaction (with "
    "the same sequence number)."
)
UNAVAILABLE_DETAIL = (
    "The server is currently unable to handle the request due to a temporary overloading or "
    "maintenance of the server. Please try again later."
)


class InvalidFieldError(Exception):
    """A bad request parameter, answered as Horizon's ``bad_request`` problem."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class PageQuery:
    cursor: int | None
    order: str
    limit: int
    include_failed: bool
    join: bool
    params: dict[str, str]  # as received, to keep them in the page links


def _hal(body: wire.JsonObject, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status, media_type="application/hal+json; charset=utf-8")


def _problem(body: wire.JsonObject) -> JSONResponse:
    return JSONResponse(body, body["status"], media_type="application/problem+json; charset=utf-8")


def _not_found() -> JSONResponse:
    return _problem(wire.problem(404, "not_found", "Resource Missing", NOT_FOUND_DETAIL))


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _cursor(text: str, order: str, now: int) -> int | None:
    # ``now`` is the current end of the collection: nothing older in ascending order.
    if text == "now":
        return now if order == "asc" else None
    if text == "":
        return None
    if not text.isdigit():
        raise InvalidFieldError("cursor", "Invalid cursor: expected an int64 paging token")
    return int(text)


def _flag(params: dict[str, str], name: str) -> bool:
    value = params.get(name, "false")
    if value not in ("true", "false"):
        raise InvalidFieldError(name, "Must be true or false")
    return value == "true"


def _page_query(request: Request, now: int) -> PageQuery:
    """``now`` is the paging token the cursor ``now`` stands for."""
    params = dict(request.query_params)
    order = params.get("order", "asc")
    if order not in ("asc", "desc"):
        raise InvalidFieldError("order", "Must be one of: asc, desc")
    limit = params.get("limit", str(DEFAULT_PAGE_LIMIT))
    if not limit.isdigit() or not 1 <= int(limit) <= MAX_PAGE_LIMIT:
        raise InvalidFieldError("limit", f"Must be an integer between 1 and {MAX_PAGE_LIMIT}")
    join = params.get("join")
    if join not in (None, "transactions"):
        raise InvalidFieldError("join", "Accepted values: transactions")
    # An EventSource resumes with Last-Event-ID, which Horizon prefers to ``cursor``.
    cursor = request.headers.get("last-event-id") or params.get("cursor", "")
    return PageQuery(
        cursor=_cursor(cursor, order, now),
        order=order,
        limit=int(limit),
        include_failed=_flag(params, "include_failed"),
        join=join == "transactions",
        params=params,
    )


def _transaction_json(stored: StoredTransaction, base: str) -> wire.JsonObject:
    return wire.with_links(stored.body, wire.transaction_links(base, stored.body))


def _payment_json(
    payment: StoredPayment, stored: StoredTransaction, base: str, join: bool
) -> wire.JsonObject:
    record = wire.with_links(payment.body, wire.operation_links(base, payment.body))
    if join:
        record["transaction"] = _transaction_json(stored, base)
    return record


def _failed(envelope_xdr: str, outcome: TransactionOutcome, result_xdr: str) -> JSONResponse:
    result_codes: dict[str, Any] = {"transaction": outcome.code}
    if outcome.operation_codes:
        result_codes["operations"] = list(outcome.operation_codes)
    extras = {"envelope_xdr": envelope_xdr, "result_codes": result_codes, "result_xdr": result_xdr}
    return _problem(
        wire.problem(
            400, "transaction_failed", "Transaction Failed", TRANSACTION_FAILED_DETAIL, extras
        )
    )


def _submission_response(submission: Submission, base: str) -> JSONResponse:
    if isinstance(submission, Malformed):
        extras = {"envelope_xdr": submission.envelope_xdr, "error": submission.reason}
        return _problem(
            wire.problem(
                400, "transaction_malformed", "Transaction Malformed", MALFORMED_DETAIL, extras
            )
        )
    if not isinstance(submission, Included):
        return _failed(submission.envelope_xdr, submission.outcome, submission.result_xdr)
    stored = submission.transaction
    if stored.outcome.successful:
        return _hal(_transaction_json(stored, base))
    return _failed(stored.body["envelope_xdr"], stored.outcome, stored.body["result_xdr"])


class PaymentStream:
    """One SSE connection on an account's payments: Horizon's ``retry``/``"hello"`` preamble,
    then every record after the cursor with ``id:`` = paging token, then new records as they
    are applied. ``drop`` cuts it after N records (fault injection)."""

    def __init__(
        self,
        state: HorizonState,
        account_id: str,
        query: PageQuery,
        base: str,
        drop: StreamDrop | None,
        retry_ms: int,
    ) -> None:
        self._state = state
        self._account_id = account_id
        self._query = query
        self._base = base
        self._drop = drop
        self._retry_ms = retry_ms
        self.aborted = False

    async def events(self) -> AsyncIterator[bytes]:
        subscription = self._state.subscribe()
        try:
            yield f'retry: {self._retry_ms}\nevent: open\ndata: "hello"\n\n'.encode()
            async for chunk in self._records(subscription):
                yield chunk
        finally:
            self._state.unsubscribe(subscription)

    async def _records(self, subscription: StreamSubscription) -> AsyncIterator[bytes]:
        cursor, sent = self._query.cursor, 0
        while not subscription.ended:
            batch = self._state.payments(
                account_id=self._account_id,
                cursor=cursor,
                limit=self._batch_limit(sent),
                include_failed=self._query.include_failed,
            )
            if batch:
                yield b"".join(self._event(payment, stored) for payment, stored in batch)
                cursor, sent = int(batch[-1][0].body["id"]), sent + len(batch)
            if self._drop is not None and sent >= self._drop.after_events:
                self.aborted = self._drop.mode == "abort"
                return
            if not batch:
                await subscription.wait()
        yield b'event: close\ndata: "byebye"\n\n'

    def _batch_limit(self, sent: int) -> int:
        if self._drop is None:
            return MAX_PAGE_LIMIT
        return max(0, min(MAX_PAGE_LIMIT, self._drop.after_events - sent))

    def _event(self, payment: StoredPayment, stored: StoredTransaction) -> bytes:
        record = _payment_json(payment, stored, self._base, self._query.join)
        return f"id: {record['paging_token']}\ndata: {json.dumps(record)}\n\n".encode()


class EventStreamResponse(StreamingResponse):
    """SSE that can fail like a network: when the stream was aborted the chunked body is left
    unfinished, so uvicorn drops the connection (logging one error line) and the client sees a
    broken payload."""

    def __init__(self, stream: PaymentStream) -> None:
        super().__init__(
            stream.events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
        )
        self._stream = stream

    async def stream_response(self, send: Send) -> None:
        start = {
            "type": "http.response.start",
            "status": self.status_code,
            "headers": self.raw_headers,
        }
        await send(start)
        async for chunk in self.body_iterator:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        if not self._stream.aborted:
            await send({"type": "http.response.body", "body": b"", "more_body": False})


class LatencyMiddleware:
    """Delays every Horizon response (not ``/_sandbox``) by the armed latency. The request is
    handled at once, so a client that gives up waiting may find its transaction applied, as
    with a slow real Horizon."""

    def __init__(self, app: ASGIApp, state: HorizonState) -> None:
        self._app = app
        self._state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or "/_sandbox/" in scope["path"]:
            await self._app(scope, receive, send)
            return

        async def delayed_send(message: Message) -> None:
            delay = self._state.faults.latency_seconds
            if message["type"] == "http.response.start" and delay:
                await asyncio.sleep(delay)
            await send(message)

        await self._app(scope, receive, delayed_send)


def _check_account_id(account_id: str) -> None:
    if not StrKey.is_valid_ed25519_public_key(account_id):
        raise InvalidFieldError(
            "account_id", "Account ID must start with `G` and contain 56 alphanum characters"
        )


def _check_hash(tx_hash: str) -> None:
    if len(tx_hash) != 64 or any(c not in "0123456789abcdef" for c in tx_hash):
        raise InvalidFieldError(
            "tx_id", "Transaction hash must be a hex-encoded, lowercase SHA-256 hash"
        )


def _horizon_routes(state: HorizonState, sse_retry_ms: int) -> APIRouter:
    router = APIRouter()

    @router.get("/")
    async def root(request: Request) -> JSONResponse:
        return _hal(
            wire.root_json(
                state.latest_ledger(), GENESIS_LEDGER, _base(request), state.network_passphrase
            )
        )

    @router.get("/accounts/{account_id}")
    async def account(request: Request, account_id: str) -> JSONResponse:
        _check_account_id(account_id)
        found = state.account(account_id)
        return _not_found() if found is None else _hal(wire.account_json(found, _base(request)))

    @router.get("/accounts/{account_id}/payments", response_model=None)
    async def account_payments(
        request: Request, account_id: str
    ) -> JSONResponse | EventStreamResponse:
        _check_account_id(account_id)
        query = _page_query(request, state.latest_payment_id())
        base = _base(request)
        if "text/event-stream" in request.headers.get("accept", ""):
            drop = state.faults.take_stream_drop()
            return EventStreamResponse(
                PaymentStream(state, account_id, query, base, drop, sse_retry_ms)
            )
        return _payments_page(
            request, query, state.payments(account_id=account_id, **_selection(query))
        )

    @router.post("/transactions")
    async def submit(request: Request) -> JSONResponse:
        form = parse_qs((await request.body()).decode())
        envelope_xdr = form.get("tx", [""])[0]
        if not envelope_xdr:
            raise InvalidFieldError("tx", "Transaction envelope is required")
        fault = state.faults.take_submit_fault()
        if fault is SubmitFault.UNAVAILABLE_BEFORE_APPLY:
            return _problem(
                wire.problem(503, "service_unavailable", "Service Unavailable", UNAVAILABLE_DETAIL)
            )
        submission = state.submit(envelope_xdr)
        if fault is SubmitFault.TIMEOUT_AFTER_APPLY:
            return _problem(wire.problem(504, "timeout", "Timeout", TIMEOUT_DETAIL))
        return _submission_response(submission, _base(request))

    @router.get("/transactions/{tx_hash}")
    async def transaction(request: Request, tx_hash: str) -> JSONResponse:
        _check_hash(tx_hash)
        stored = state.transaction(tx_hash)
        return _not_found() if stored is None else _hal(_transaction_json(stored, _base(request)))

    @router.get("/transactions/{tx_hash}/payments")
    async def transaction_payments(request: Request, tx_hash: str) -> JSONResponse:
        _check_hash(tx_hash)
        if state.transaction(tx_hash) is None:
            return _not_found()
        query = _page_query(request, state.latest_payment_id())
        return _payments_page(request, query, state.payments(tx_hash=tx_hash, **_selection(query)))

    @router.get("/ledgers")
    async def ledgers(request: Request) -> JSONResponse:
        query = _page_query(request, state.latest_ledger().paging_token)
        base = _base(request)
        records = [
            wire.ledger_json(ledger, base, state.base_fee)
            for ledger in state.ledgers(cursor=query.cursor, order=query.order, limit=query.limit)
        ]
        return _hal(
            wire.page(
                records,
                url=f"{base}/ledgers",
                params=query.params,
                order=query.order,
                limit=query.limit,
            )
        )

    @router.get("/fee_stats")
    async def fee_stats() -> JSONResponse:
        return _hal(wire.fee_stats_json(state.latest_ledger(), state.base_fee))

    return router


def _selection(query: PageQuery) -> dict[str, Any]:
    return {
        "cursor": query.cursor,
        "order": query.order,
        "limit": query.limit,
        "include_failed": query.include_failed,
    }


def _payments_page(
    request: Request, query: PageQuery, payments: list[tuple[StoredPayment, StoredTransaction]]
) -> JSONResponse:
    base = _base(request)
    records = [_payment_json(payment, stored, base, query.join) for payment, stored in payments]
    url = f"{base}{request.url.path.removeprefix(request.scope.get('root_path', ''))}"
    return _hal(
        wire.page(records, url=url, params=query.params, order=query.order, limit=query.limit)
    )


class TrustlineIn(BaseModel):
    asset_code: str
    asset_issuer: str
    balance: str = "0"
    limit: str | None = None


class AccountIn(BaseModel):
    """``POST /_sandbox/accounts``: create or top up an account, add trustlines, credit them.
    Without ``account_id`` a new keypair is generated and its secret returned."""

    account_id: str | None = None
    xlm: str | None = None
    trustlines: list[TrustlineIn] = []


def _sandbox_routes(state: HorizonState) -> APIRouter:
    router = APIRouter(prefix="/_sandbox")

    @router.post("/accounts")
    async def fund(request: Request, body: AccountIn) -> JSONResponse:
        if body.account_id is None:
            keypair = Keypair.random()
            account_id, secret = keypair.public_key, keypair.secret
        else:
            _check_account_id(body.account_id)
            account_id, secret = body.account_id, None
        try:
            grants = [
                TrustlineGrant(Asset(t.asset_code, t.asset_issuer), t.balance, t.limit)
                for t in body.trustlines
            ]
            state.fund_account(account_id, xlm=body.xlm, trustlines=grants)
        except (ValueError, ArithmeticError) as exc:
            return _problem(wire.problem(400, "bad_request", "Bad Request", str(exc)))
        funded = state.account(account_id)
        assert funded is not None
        account = wire.account_json(funded, _base(request))
        return JSONResponse({"account_id": account_id, "secret": secret, "account": account})

    @router.get("/faults")
    async def faults() -> FaultSettings:
        return state.faults.settings

    @router.post("/faults")
    async def arm(settings: FaultSettings) -> FaultSettings:
        state.faults.arm(settings)
        return state.faults.settings

    @router.post("/reset")
    async def reset() -> dict[str, bool]:
        state.reset()
        return {"reset": True}

    @router.get("/payments")
    async def applied_payments(request: Request, account: str | None = None) -> JSONResponse:
        """Every payment-type operation applied successfully (of ``account``, or all), oldest
        first and joined with its transaction: what the network really moved."""
        payments = state.payments(account_id=account, limit=sys.maxsize)
        base = _base(request)
        return JSONResponse(
            {"records": [_payment_json(p, t, base, join=True) for p, t in payments]}
        )

    return router


def create_app(
    state: HorizonState | None = None,
    *,
    network_passphrase: str = TESTNET_PASSPHRASE,
    sse_retry_ms: int = HORIZON_SSE_RETRY_MS,
) -> FastAPI:
    """``sse_retry_ms`` is the reconnection delay streams announce (an EventSource waits twice
    that after a clean close); tests lower it to reconnect quickly."""
    if state is None:
        state = HorizonState(network_passphrase)
    elif state.network_passphrase != network_passphrase:
        raise ValueError("the state was created for another network passphrase")
    app = FastAPI(
        title="Horizon simulator", docs_url="/_sandbox/docs", openapi_url="/_sandbox/openapi.json"
    )
    app.include_router(_horizon_routes(state, sse_retry_ms))
    app.include_router(_sandbox_routes(state))
    app.add_middleware(LatencyMiddleware, state=state)

    @app.exception_handler(InvalidFieldError)
    async def invalid_field(_: Request, exc: InvalidFieldError) -> JSONResponse:
        extras = {"invalid_field": exc.field, "reason": exc.reason}
        return _problem(
            wire.problem(
                400,
                "bad_request",
                "Bad Request",
                "The request you sent was invalid in some way.",
                extras,
            )
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return _not_found()
        return await http_exception_handler(request, exc)

    return app

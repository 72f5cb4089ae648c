"""The outbox dispatcher: delivers client webhooks and payer emails/SMS, away from the payment path.

It works in batches: it claims due messages under a lease in one statement (``FOR UPDATE
SKIP LOCKED``, any number of dispatchers), in per-payment order, sends the batch concurrently,
then logs every try in ``outbox_attempts`` and moves each message on (delivered, retried on
the backoff schedule until the 24-hour window is spent, or given up) in one statement and
one commit for the batch. A try that outlasts the rest of its batch by ``RECORD_EVERY_SECONDS``
is recorded on its own later, so one slow receiver holds up no one else's next message.
Enqueueing wakes it through ``LISTEN``; polling is only the fallback. It never reads or locks
payments. Delivery is at least once: a batch whose results could not be recorded is tried
again when its lease lapses.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Mapping
from typing import Any

import aiohttp
import structlog
from structlog.typing import FilteringBoundLogger

from billpay.db.context import JobContext
from billpay.db.listen import Listener
from billpay.notifications import (
    EmailSender,
    NoticeOutcome,
    NotificationSettings,
    PaymentNotice,
    PermanentNotificationError,
    RenderedEmail,
    RetryableNotificationError,
    SmsSender,
    render_email,
    render_sms,
)
from billpay.outbox import repository as repo
from billpay.outbox import service
from billpay.outbox.backoff import next_attempt_at
from billpay.outbox.destinations import (
    Resolver,
    UnsafeDestination,
    WebhookClient,
    resolve_host,
)
from billpay.outbox.repository import OUTBOX_CHANNEL, ClaimedMessage
from billpay.outbox.schemas import Channel, DeliveryStatus
from billpay.outbox.service import RetrySchedule, Try, TryResult
from billpay.outbox.signing import SIGNATURE_HEADER, signature_header
from billpay.providers.base import BillType
from billpay.redact import mask_url_secrets

log = structlog.get_logger(__name__)

WEBHOOK_TIMEOUT_SECONDS = 10.0
# One try of any channel is cut off here, well inside the lease, so a message is never held
# by two dispatchers at once (the lease lapses only when a dispatcher died mid-try).
TRY_DEADLINE_SECONDS = 120.0
LEASE_SECONDS = 300.0
# A batch's tries finished by then are recorded together; the stragglers' in later rounds.
RECORD_EVERY_SECONDS = 1.0
USER_AGENT = "billpay-webhooks/1"


def encode_body(body: Mapping[str, Any]) -> bytes:
    """The exact bytes sent and signed; the same for every try and replay of a message."""
    return json.dumps(body, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def notice_from_body(body: Mapping[str, Any]) -> PaymentNotice:
    """A payer notice from the JSON the enqueue statement stored (its keys are the fields)."""
    return PaymentNotice(
        **{
            **body,
            "outcome": NoticeOutcome(body["outcome"]),
            "bill_type": BillType(body["bill_type"]),
        }
    )


def _email_of(message: ClaimedMessage) -> RenderedEmail:
    """A payer notice is rendered from its payment's facts; an alert's email was rendered
    when the alert was raised, and is stored whole."""
    if message.alert_id is not None:
        return RenderedEmail(**message.body)
    return render_email(notice_from_body(message.body))


async def _notification_result(send: Awaitable[object]) -> TryResult:
    try:
        await send
    except PermanentNotificationError as exc:
        return TryResult(delivered=False, error=str(exc), final=True)
    except RetryableNotificationError as exc:
        return TryResult(delivered=False, error=str(exc))
    return TryResult(delivered=True)


# A channel this dispatcher has off (an operator alert's email, or a payer message queued by a
# process configured otherwise): given up at once, quietly (replayable once turned on).
_EMAIL_OFF = TryResult(
    delivered=False, error="email is not configured (SMTP_HOST, SMTP_FROM)", final=True
)
_SMS_OFF = TryResult(
    delivered=False, error="SMS is not configured (SMS_WEBHOOK_URL, SMS_WEBHOOK_TOKEN)", final=True
)


def _bound(message: ClaimedMessage) -> FilteringBoundLogger:
    about = (
        {"alert_id": message.alert_id}
        if message.alert_id is not None
        else {"payment_id": str(message.payment_id)}
    )
    bound: FilteringBoundLogger = log.bind(
        message_id=message.id,
        **about,
        channel=message.channel,
        event_type=message.event_type,
        attempt=message.attempt,
    )
    return bound


def _log_result(tried: Try, status: DeliveryStatus | None) -> None:
    bound, result = _bound(tried.message), tried.result
    details = {"status_code": result.status_code, "duration_ms": tried.duration_ms}
    if status is None:
        bound.info("outbox_claim_lapsed", delivered=result.delivered, **details)
    elif status is DeliveryStatus.DELIVERED:
        bound.info("outbox_delivered", **details)
    elif result in (_EMAIL_OFF, _SMS_OFF):
        bound.info("outbox_channel_off", error=result.error)
    else:
        bound.warning("outbox_try_failed", status=status, error=result.error, **details)


class Dispatcher:
    def __init__(
        self,
        context: JobContext,
        notifications: NotificationSettings | None = None,
        retry_at: RetrySchedule = next_attempt_at,
        resolve: Resolver = resolve_host,
    ) -> None:
        self.context = context
        self.settings = context.settings
        self.retry_at = retry_at
        notifications = notifications or NotificationSettings()
        self.email = EmailSender(notifications) if notifications.email_enabled else None
        self.sms = SmsSender(notifications) if notifications.sms_enabled else None
        # Redirects are never followed: a 3xx is a failed try, whatever it points at.
        self.http = WebhookClient(
            allow_private=self.settings.allow_private_webhook_urls,
            timeout_seconds=WEBHOOK_TIMEOUT_SECONDS,
            max_connections=self.settings.outbox_concurrency,
            resolve=resolve,
        )
        secret = self.settings.alert_webhook_secret
        self._alert_secrets: tuple[str, ...] = (secret.get_secret_value(),) if secret else ()
        self._wake = asyncio.Event()
        self._batches: set[asyncio.Task[None]] = set()
        self._in_flight = 0  # messages claimed and not yet recorded

    def wake(self, *_: Any) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        listener = Listener(self.context.database_url, {OUTBOX_CHANNEL: self.wake})
        await listener.ensure()
        log.info("outbox_dispatcher_started")
        try:
            while not stop.is_set():
                try:
                    await listener.ensure()
                    if await self._claim_and_spawn():
                        continue  # more may be due right now
                    await self._idle(stop, await self._seconds_to_wait())
                except Exception:  # the database is away: messages wait in it, try later
                    log.exception("outbox_dispatch_failed")
                    await self._idle(stop, self.settings.poll_interval_seconds)
        finally:
            await listener.close()
            if self._batches:  # let tries in flight finish and be recorded
                await asyncio.gather(*self._batches, return_exceptions=True)
            await self.http.aclose()
            if self.sms is not None:
                await self.sms.aclose()
            log.info("outbox_dispatcher_stopped")

    async def _claim_and_spawn(self) -> bool:
        free = self.settings.outbox_concurrency - self._in_flight
        if free <= 0:
            return False
        wanted = min(self.settings.batch_size, free)
        async with self.context.unit_of_work() as session:
            claimed = await repo.claim_due(session, uuid.uuid4(), wanted, LEASE_SECONDS)
        if claimed:
            self._in_flight += len(claimed)
            batch = asyncio.create_task(self._deliver_batch(claimed))
            self._batches.add(batch)
            batch.add_done_callback(self._batches.discard)
        return len(claimed) == wanted

    async def _seconds_to_wait(self) -> float:
        """Until the next message falls due, at most the poll interval (a wake-up cuts it short)."""
        timeout = self.settings.poll_interval_seconds
        if self._in_flight:
            # A batch being recorded wakes the loop, which claims what fell due meanwhile:
            # no scan of the whole backlog for its next due time while one is out.
            return timeout
        async with self.context.unit_of_work() as session:
            next_due = await repo.seconds_until_next_due(session)
        return timeout if next_due is None else min(timeout, next_due + 0.001)

    async def _idle(self, stop: asyncio.Event, timeout: float) -> None:
        stopper = asyncio.create_task(stop.wait())
        waker = asyncio.create_task(self._wake.wait())
        await asyncio.wait({stopper, waker}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
        waker.cancel()
        self._wake.clear()

    async def _deliver_batch(self, claimed: list[ClaimedMessage]) -> None:
        """Send the batch concurrently; record what finished, together, round by round."""
        sending = {asyncio.create_task(self._timed_try(message)) for message in claimed}
        while sending:
            done, sending = await asyncio.wait(sending, timeout=RECORD_EVERY_SECONDS)
            if done:
                await self._record([task.result() for task in done])

    async def _record(self, tries: list[Try]) -> None:
        try:
            async with self.context.unit_of_work() as session:
                statuses = await service.record_tries(session, tries, self.retry_at)
        except Exception:  # unrecorded: the leases lapse and the messages are tried again
            log.exception("outbox_record_failed", message_ids=[t.message.id for t in tries])
            return
        finally:
            self._in_flight -= len(tries)
            self._wake.set()  # slots opened, and the payments' next messages may be free now
        for tried in tries:
            _log_result(tried, statuses[tried.message.id])

    async def _timed_try(self, message: ClaimedMessage) -> Try:
        started = time.monotonic()
        result = await self._try(message)
        return Try(message, result, round((time.monotonic() - started) * 1000))

    async def _try(self, message: ClaimedMessage) -> TryResult:
        try:
            async with asyncio.timeout(TRY_DEADLINE_SECONDS):
                return await self._send(message)
        except TimeoutError:
            return TryResult(delivered=False, error="timeout")
        except Exception as exc:  # a bug must not lose the message: retried, then replayable
            _bound(message).error("outbox_send_crashed", error_type=type(exc).__name__)
            return TryResult(delivered=False, error="internal_error")

    async def _send(self, message: ClaimedMessage) -> TryResult:
        match message.channel:
            case Channel.WEBHOOK:
                return await self._send_webhook(message)
            case Channel.EMAIL:
                if self.email is None:
                    return _EMAIL_OFF
                email = _email_of(message)
                return await _notification_result(
                    self.email.send(message.destination, email, message.idempotency_key)
                )
            case Channel.SMS:
                if self.sms is None:
                    return _SMS_OFF
                text = render_sms(notice_from_body(message.body))
                return await _notification_result(
                    self.sms.send(message.destination, text, message.idempotency_key)
                )
        raise ValueError(f"unknown outbox channel {message.channel!r}")

    async def _send_webhook(self, message: ClaimedMessage) -> TryResult:
        # An operator alert is signed with the operators' secret, a payment's event with its
        # client's current (and, while rotating, previous) secret.
        secrets: tuple[str, ...]
        if message.alert_id is not None:
            secrets, missing = self._alert_secrets, "BILLPAY_ALERT_WEBHOOK_SECRET is not set"
        else:
            secrets, missing = message.signing_secrets, "the client has no webhook secret"
        if not secrets:
            return TryResult(delivered=False, error=missing, final=True)
        body = encode_body(message.body)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: signature_header(body, secrets, int(time.time())),
        }
        try:
            status_code = await self.http.post(message.destination, body, headers)
        except aiohttp.ClientError as exc:
            category = delivery_error_category(exc)
            # The full story is for operators; the client sees the category only (what our
            # network answered is nobody else's business). The text may quote the URL: masked.
            log.warning(
                "webhook_send_failed",
                message_id=message.id,
                category=category,
                error_type=type(exc).__name__,
                detail=mask_url_secrets(str(exc)),
            )
            return TryResult(delivered=False, error=category)
        if 200 <= status_code < 300:
            return TryResult(delivered=True, status_code=status_code)
        return TryResult(delivered=False, status_code=status_code, error=f"HTTP {status_code}")


def delivery_error_category(exc: Exception) -> str:
    """What a client is told about a try that got no answer: a category, no internal detail."""
    if isinstance(exc, UnsafeDestination):
        return "destination_not_allowed"
    if isinstance(exc, TimeoutError):  # aiohttp's connect and read timeouts are both
        return "timeout"
    if isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
        return "invalid_url"
    return "connection_failed"


async def run_dispatcher(context: JobContext, stop: asyncio.Event) -> None:
    """Deliver the outbox until ``stop`` is set (started next to the worker)."""
    await Dispatcher(context).run(stop)

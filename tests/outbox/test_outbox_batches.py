"""A claimed batch is recorded in one statement: each try logged, each message moved on."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from outbox_helpers import HookedClient
from sqlalchemy import text

from billpay.outbox import repository as outbox_repo
from billpay.outbox import service
from billpay.outbox.schemas import DeliveryStatus
from billpay.outbox.service import Try, TryResult
from billpay.state import AppState
from flows import create, query

IN_A_MINUTE = timedelta(minutes=1)


def retry_in_a_minute(attempt: int, first_attempt_at: datetime, now: datetime) -> datetime:
    return now + IN_A_MINUTE


async def test_a_batch_is_delivered_retried_given_up_and_a_lapsed_claim_left_alone(
    api: httpx.AsyncClient, state: AppState, hooked_merchant: HookedClient
) -> None:
    for _ in range(4):
        await create(api)
    async with state.unit_of_work() as session:
        claimed = await outbox_repo.claim_due(session, uuid.uuid4(), 10, lease_seconds=60)
    assert len(claimed) == 4 and len({message.claim_id for message in claimed}) == 1
    lapsed = claimed[3]
    async with state.unit_of_work() as session:  # its lease lapsed and another took it
        await session.execute(
            text("UPDATE outbox_messages SET next_attempt_at = now() WHERE id = :id"),
            {"id": lapsed.id},
        )
        [again] = await outbox_repo.claim_due(session, uuid.uuid4(), 10, lease_seconds=60)
    assert again.id == lapsed.id
    results = [
        TryResult(delivered=True, status_code=204),
        TryResult(delivered=False, status_code=500, error="HTTP 500"),
        TryResult(delivered=False, error="the client has no webhook secret", final=True),
        TryResult(delivered=True, status_code=204),
    ]
    tries = [Try(message, result, 7) for message, result in zip(claimed, results, strict=True)]
    before = datetime.now(UTC)
    async with state.unit_of_work() as session:
        statuses = await service.record_tries(session, tries, retry_in_a_minute)

    ids = [message.id for message in claimed]
    assert statuses == {
        ids[0]: DeliveryStatus.DELIVERED,
        ids[1]: DeliveryStatus.PENDING,
        ids[2]: DeliveryStatus.FAILED,
        ids[3]: None,
    }
    rows = {
        row["id"]: row
        for row in await query(
            state,
            "SELECT id, status, claim_id, next_attempt_at, delivered_at, last_error"
            " FROM outbox_messages",
        )
    }
    assert rows[ids[0]]["status"] == "delivered" and rows[ids[0]]["delivered_at"] >= before
    assert rows[ids[1]]["status"] == "pending" and rows[ids[1]]["last_error"] == "HTTP 500"
    assert rows[ids[1]]["next_attempt_at"] >= before + IN_A_MINUTE
    assert rows[ids[2]]["status"] == "failed" and rows[ids[2]]["next_attempt_at"] is None
    assert {rows[i]["claim_id"] for i in ids[:3]} == {None}
    assert rows[ids[3]]["status"] == "pending" and rows[ids[3]]["claim_id"] == again.claim_id
    logged = await query(
        state, "SELECT message_id, status_code, duration_ms FROM outbox_attempts ORDER BY id"
    )
    assert logged == [
        {"message_id": ids[0], "status_code": 204, "duration_ms": 7},
        {"message_id": ids[1], "status_code": 500, "duration_ms": 7},
        {"message_id": ids[2], "status_code": None, "duration_ms": 7},
        {"message_id": ids[3], "status_code": 204, "duration_ms": 7},
    ]

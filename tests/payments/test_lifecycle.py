"""The state machine table and its enforcement in the database."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text

from billpay.payments.lifecycle import IllegalTransition, StaleTransition, can_move, transition
from billpay.payments.status import ALLOWED, FINAL, Status
from billpay.state import AppState
from flows import insert_payment

statuses = st.sampled_from(list(Status))


def test_final_statuses_have_no_way_out() -> None:
    assert {Status.REFUNDED, Status.FAILED, Status.EXPIRED} == FINAL


def test_table_matches_design() -> None:
    assert ALLOWED[Status.PROCESSING] == {Status.PAID, Status.REFUNDING, Status.NEEDS_REVIEW}
    assert ALLOWED[Status.PAID] == {Status.REFUNDING}
    assert not can_move(Status.PROCESSING, Status.FAILED)  # unknown is never "failed"
    assert not can_move(Status.NEEDS_REVIEW, Status.REFUNDED)  # a refund is its own step


@given(statuses, statuses)
def test_paid_is_reachable_only_from_processing_or_review(a: Status, b: Status) -> None:
    if b is Status.PAID and can_move(a, b):
        assert a in (Status.PROCESSING, Status.NEEDS_REVIEW)


@given(st.lists(statuses, min_size=1, max_size=12))
def test_no_walk_through_the_table_leaves_a_final_status(walk: list[Status]) -> None:
    current = Status.PENDING
    for nxt in walk:
        if can_move(current, nxt):
            assert current not in FINAL
            current = nxt


async def test_transition_writes_status_and_event_together(state: AppState) -> None:
    payment_id = await insert_payment(state, Status.PENDING)
    async with state.unit_of_work() as session:
        await transition(
            session, payment_id, Status.PENDING, Status.PROCESSING, reason="test", actor="test"
        )
    async with state.unit_of_work() as session:
        rows = (
            await session.execute(
                text("SELECT from_status, to_status FROM payment_events WHERE payment_id = :id"),
                {"id": payment_id},
            )
        ).all()
        status = await session.scalar(
            text("SELECT status FROM payments WHERE id = :id"), {"id": payment_id}
        )
    assert status == "processing"
    assert [tuple(r) for r in rows] == [("pending", "processing")]


async def test_illegal_and_stale_moves_raise_and_change_nothing(state: AppState) -> None:
    payment_id = await insert_payment(state, Status.PROCESSING)
    async with state.unit_of_work() as session:
        with pytest.raises(IllegalTransition):
            await transition(
                session, payment_id, Status.PROCESSING, Status.FAILED, reason="x", actor="t"
            )
        with pytest.raises(StaleTransition):
            await transition(
                session, payment_id, Status.PENDING, Status.PROCESSING, reason="x", actor="t"
            )
    async with state.unit_of_work() as session:
        count = await session.scalar(text("SELECT count(*) FROM payment_events"))
    assert count == 0


async def test_events_are_append_only(state: AppState) -> None:
    payment_id = await insert_payment(state, Status.PENDING)
    async with state.unit_of_work() as session:
        await transition(
            session, payment_id, Status.PENDING, Status.PROCESSING, reason="test", actor="test"
        )
    with pytest.raises(Exception, match="append-only"):
        async with state.unit_of_work() as session:
            await session.execute(text("UPDATE payment_events SET reason = 'rewritten'"))

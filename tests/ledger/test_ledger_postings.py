"""``billpay.ledger.service`` on its own: journals written whole, a merchant's stored balance
in step with its entries, and the available balance never spent twice.

A posting is one row moving a positive amount between two distinct accounts, so a journal is
balanced by construction; the database refuses any row that would break that."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from billpay.ledger import accounts
from billpay.ledger import repository as repo
from billpay.ledger import service as ledger
from billpay.ledger.repository import Posting
from billpay.state import AppState
from flows import account_balance, query

VTPASS_PAYABLE = accounts.provider_payable("vtpass")


async def books(state: AppState, client_id: uuid.UUID) -> dict[str, int]:
    """The merchant's two accounts: available as stored, reserved summed from entries."""
    async with state.unit_of_work() as session:
        return {
            "available": await ledger.available_balance(session, client_id),
            "reserved": await ledger.reserved_balance(session, client_id),
        }


async def test_a_journal_is_written_whole_and_zero_postings_are_skipped(state: AppState) -> None:
    client_id, payment_id = uuid.uuid4(), uuid.uuid4()
    available = accounts.client_available(client_id)
    reserved = accounts.client_reserved(client_id)
    async with state.unit_of_work() as session:
        await ledger.top_up(session, client_id, 100_000, "seed")
        journal = await ledger.post(
            session,
            [
                Posting(available, reserved, 60_000, "reserve"),
                Posting(available, accounts.FEE_REVENUE, 0, "fee"),
                Posting(reserved, VTPASS_PAYABLE, 50_000, "vend"),
            ],
            payment_id,
        )

    entries = await query(
        state,
        "SELECT payment_id, kind, amount_kobo FROM ledger_entries WHERE journal_id = :j "
        "ORDER BY id",
        j=journal,
    )
    assert [(e["kind"], e["amount_kobo"]) for e in entries] == [
        ("reserve", 60_000),
        ("vend", 50_000),
    ]
    assert {e["payment_id"] for e in entries} == {payment_id}
    codes = [available, reserved, VTPASS_PAYABLE, accounts.EXTERNAL_DEPOSITS]
    derived = [await account_balance(state, code) for code in codes]
    assert derived == [40_000, 10_000, 50_000, -100_000]
    assert sum(derived) == 0  # every kobo that arrived is somewhere
    assert await books(state, client_id) == {"available": 40_000, "reserved": 10_000}


async def test_a_journal_with_nothing_to_post_writes_nothing(state: AppState) -> None:
    client_id = uuid.uuid4()
    posting = Posting(accounts.EXTERNAL_DEPOSITS, accounts.client_available(client_id), 0, "x")
    async with state.unit_of_work() as session:
        await ledger.post(session, [posting])
    assert await query(state, "SELECT * FROM ledger_entries") == []


@pytest.mark.parametrize(
    ("amount_kobo", "same_account", "constraint"),
    [(0, False, "amount_positive"), (-500, False, "amount_positive"), (500, True, "distinct")],
)
async def test_the_database_refuses_a_posting_that_would_unbalance_the_books(
    state: AppState, amount_kobo: int, same_account: bool, constraint: str
) -> None:
    client_id = uuid.uuid4()
    async with state.unit_of_work() as session:
        await ledger.top_up(session, client_id, 1_000, "seed")
    [debit, credit] = [
        row["id"]
        for row in await query(
            state,
            "SELECT id FROM ledger_accounts WHERE code IN (:a, :b) ORDER BY code",
            a=accounts.client_available(client_id),
            b=accounts.EXTERNAL_DEPOSITS,
        )
    ]
    with pytest.raises(IntegrityError, match=constraint):
        async with state.unit_of_work() as session:
            await session.execute(
                text(
                    "INSERT INTO ledger_entries "
                    "(journal_id, kind, debit_account_id, credit_account_id, amount_kobo) "
                    "VALUES (:journal, 'test', :debit, :credit, :amount)"
                ),
                {
                    "journal": uuid.uuid4(),
                    "debit": debit,
                    "credit": debit if same_account else credit,
                    "amount": amount_kobo,
                },
            )


async def test_reserve_moves_available_into_reserved(state: AppState) -> None:
    client_id = uuid.uuid4()
    async with state.unit_of_work() as session:
        await ledger.top_up(session, client_id, 100_000, "seed")
        await ledger.reserve(session, client_id, uuid.uuid4(), 100_000)  # all of it
    assert await books(state, client_id) == {"available": 0, "reserved": 100_000}


async def test_a_reservation_the_balance_does_not_cover_leaves_nothing_behind(
    state: AppState,
) -> None:
    client_id = uuid.uuid4()
    async with state.unit_of_work() as session:
        await ledger.top_up(session, client_id, 40_000, "seed")
    with pytest.raises(ledger.InsufficientBalance) as refused:
        async with state.unit_of_work() as session:
            await ledger.reserve(session, client_id, uuid.uuid4(), 40_001)
    assert refused.value.needed_kobo == 40_001
    assert await books(state, client_id) == {"available": 40_000, "reserved": 0}
    assert await query(state, "SELECT * FROM ledger_entries WHERE kind = 'reserve'") == []


async def test_two_reservations_racing_for_one_balance_cannot_both_win(state: AppState) -> None:
    client_id = uuid.uuid4()
    async with state.unit_of_work() as session:
        await ledger.top_up(session, client_id, 100_000, "seed")

    async def reserve_60k() -> bool:
        try:
            async with state.unit_of_work() as session:
                await ledger.reserve(session, client_id, uuid.uuid4(), 60_000)
        except ledger.InsufficientBalance:
            return False
        return True

    assert sorted(await asyncio.gather(reserve_60k(), reserve_60k())) == [False, True]
    assert await books(state, client_id) == {"available": 40_000, "reserved": 60_000}


@dataclass
class Merchant:
    """What the books should say: the model the ledger is checked against."""

    available: int = 0
    open: dict[uuid.UUID, int] = field(default_factory=dict)  # reserved, not yet finished
    vended: dict[uuid.UUID, tuple[int, int]] = field(default_factory=dict)  # (amount, fee)

    @property
    def reserved(self) -> int:
        return sum(self.open.values())


Step = tuple[str, int, int]
steps = st.lists(
    st.tuples(
        st.sampled_from(["top_up", "reserve", "release", "vend", "reverse"]),
        st.integers(min_value=1, max_value=200_000),  # an amount, or which payment
        st.integers(min_value=0, max_value=5_000),  # the fee, when vending
    ),
    max_size=12,
)


def pick(payments: dict[uuid.UUID, int], which: int) -> uuid.UUID | None:
    return list(payments)[which % len(payments)] if payments else None


async def apply(state: AppState, client_id: uuid.UUID, model: Merchant, step: Step) -> None:
    """One movement of value, in its own transaction, mirrored in ``model``."""
    kind, number, fee = step
    reserved = accounts.client_reserved(client_id)
    if kind == "top_up":
        async with state.unit_of_work() as session:
            await ledger.top_up(session, client_id, number, "top-up")
        model.available += number
    elif kind == "reserve":
        payment_id = uuid.uuid4()
        try:
            async with state.unit_of_work() as session:
                await ledger.reserve(session, client_id, payment_id, number)
        except ledger.InsufficientBalance:
            assert number > model.available
            return
        model.available -= number
        model.open[payment_id] = number
    elif kind == "release" and (payment_id := pick(model.open, number)) is not None:
        total = model.open.pop(payment_id)
        async with state.unit_of_work() as session:
            await ledger.release(session, client_id, payment_id, total)
        model.available += total
    elif kind == "vend" and (payment_id := pick(model.open, number)) is not None:
        total = model.open.pop(payment_id)
        fee_kobo = min(fee, total)
        async with state.unit_of_work() as session:
            await ledger.settle_paid(
                session, reserved, payment_id, "vtpass", total - fee_kobo, fee_kobo
            )
        model.vended[payment_id] = (total - fee_kobo, fee_kobo)
    elif kind == "reverse" and (payment_id := pick(model.vended, number)) is not None:
        # The provider reversed a delivery: the money comes back, then goes to the merchant.
        amount, fee_kobo = model.vended.pop(payment_id)
        async with state.unit_of_work() as session:
            await ledger.undo_settlement(session, reserved, payment_id, "vtpass", amount, fee_kobo)
            await ledger.release(session, client_id, payment_id, amount + fee_kobo)
        model.available += amount + fee_kobo


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=steps)
async def test_any_sequence_of_reserve_release_and_vend_keeps_every_balance_in_step(
    state: AppState, steps: list[Step]
) -> None:
    client_id = uuid.uuid4()  # a merchant of its own: examples share the database
    model = Merchant()
    for step in steps:
        await apply(state, client_id, model, step)
        assert await books(state, client_id) == {
            "available": model.available,
            "reserved": model.reserved,
        }
    available = accounts.client_available(client_id)
    assert await account_balance(state, available) == model.available  # stored = entries
    async with state.unit_of_work() as session:
        assert await repo.negative_guarded(session) == []
        assert await repo.guarded_out_of_step(session) == []

"""Any sequence of funding events — deposits (exact, over, under, naming no payment), vends at
any provider cost, failures, reversals, refunds, excess refunds and quarantines — keeps the
books whole: all balances sum to zero, a Stellar or Paystack clearing account holds exactly
the money still owed to a vend or a payer, and once everything is final it holds nothing.

Postings go through the functions the Stellar and Paystack flows call (``funding.stellar.books``
and ``ledger.service``), each in its own transaction, checked against a model.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billpay.funding.stellar import books as stellar_books
from billpay.ledger import accounts
from billpay.ledger import service as ledger
from billpay.state import AppState
from flows import query

METHODS = ("stellar", "paystack")


@dataclass
class Payment:
    id: uuid.UUID
    total: int
    fee: int
    held: int = 0  # in the clearing account for it
    cost: int | None = None  # set once vended
    refunds: list[tuple[int, str]] = field(default_factory=list)  # (amount, kind) to send back
    refunding: bool = False

    @property
    def amount(self) -> int:
        return self.total - self.fee


@dataclass
class Books:
    """What the ledger should say for one example (its payments and deposits only)."""

    tag: str
    method: str
    payments: list[Payment] = field(default_factory=list)
    unmatched: list[int] = field(default_factory=list)  # deposits naming no payment, to return
    payable: int = 0
    margin: int = 0
    fees: int = 0
    quarantined: int = 0

    @property
    def held(self) -> int:
        return sum(p.held for p in self.payments) + sum(self.unmatched)


async def _receive(state: AppState, model: Books, payment_id: uuid.UUID | None, kobo: int) -> None:
    async with state.unit_of_work() as session:
        if model.method == "stellar":
            await stellar_books.receive(session, payment_id, kobo, f"{model.tag} deposit")
        else:
            assert payment_id is not None  # a Paystack collection is always for a payment
            await ledger.receive_funds(session, payment_id, "paystack", kobo)


async def _give_back(
    state: AppState, model: Books, payment_id: uuid.UUID | None, kobo: int, kind: str
) -> None:
    async with state.unit_of_work() as session:
        if model.method == "stellar":
            await stellar_books.give_back(session, payment_id, kobo, kind, f"{model.tag} back")
        else:
            assert payment_id is not None  # unmatched deposits are Stellar's only
            await ledger.return_funds(session, payment_id, "paystack", kobo, kind)


async def _quarantine(
    state: AppState, model: Books, payment_id: uuid.UUID | None, kobo: int
) -> None:
    async with state.unit_of_work() as session:
        await ledger.quarantine(session, payment_id, model.method, kobo, f"{model.tag} stuck")


def _pick(items: list[Payment], which: int) -> Payment | None:
    return items[which % len(items)] if items else None


Step = tuple[str, int, int]
STEPS = st.lists(
    st.tuples(
        st.sampled_from(
            ["deposit", "unmatched", "vend", "fail", "reverse", "refund", "quarantine"]
        ),
        st.integers(min_value=-3_000, max_value=3_000),  # over/under by, cost − price, …
        st.integers(min_value=0, max_value=50),  # which payment
    ),
    max_size=14,
)


async def _step(state: AppState, model: Books, step: Step) -> None:
    kind, delta, which = step
    holding = accounts.funding_held(model.method)
    if kind == "deposit":
        payment = Payment(uuid.uuid4(), total=50_000 + abs(delta) * 7, fee=which * 10)
        received = max(payment.total + delta, 1)
        await _receive(state, model, payment.id, received)
        payment.held = received
        if received > payment.total:  # overpaid: funded, the excess goes back
            payment.refunds.append((received - payment.total, "excess_refund"))
        elif received < payment.total:  # underpaid: never vended, everything goes back
            payment.refunding = True
            payment.refunds.append((received, "refund"))
        model.payments.append(payment)
    elif kind == "unmatched" and model.method == "stellar":
        kobo = 1_000 + abs(delta)
        await _receive(state, model, None, kobo)
        model.unmatched.append(kobo)
    elif kind == "vend":
        payment = _pick([p for p in model.payments if _vendable(p)], which)
        if payment is None:
            return
        cost = max(payment.amount + delta, 1)
        async with state.unit_of_work() as session:
            await ledger.settle_paid(
                session, holding, payment.id, "vtpass", payment.amount, payment.fee, cost
            )
        payment.cost = cost
        payment.held -= payment.total
        model.payable += cost
        model.margin += payment.amount - cost
        model.fees += payment.fee
    elif kind == "fail":
        payment = _pick([p for p in model.payments if _vendable(p)], which)
        if payment is not None:
            payment.refunding = True
            payment.refunds.append((payment.total, "refund"))
    elif kind == "reverse":
        payment = _pick([p for p in model.payments if p.cost is not None], which)
        if payment is None or payment.cost is None:
            return
        async with state.unit_of_work() as session:
            await ledger.undo_settlement(
                session, holding, payment.id, "vtpass", payment.amount, payment.fee, payment.cost
            )
        model.payable -= payment.cost
        model.margin -= payment.amount - payment.cost
        model.fees -= payment.fee
        payment.held += payment.total
        payment.cost = None
        payment.refunding = True
        payment.refunds.append((payment.total, "refund"))
    elif kind in ("refund", "quarantine"):
        await _finish_one(state, model, kind, which)


def _vendable(payment: Payment) -> bool:
    return payment.cost is None and not payment.refunding and payment.held >= payment.total


async def _finish_one(state: AppState, model: Books, kind: str, which: int) -> None:
    """Send back (or quarantine) one refund that is due: a payment's, or an unmatched deposit."""
    owed = [p for p in model.payments if p.refunds]
    if model.unmatched and (which % 2 or not owed):
        kobo = model.unmatched.pop(0)
        if kind == "refund":
            await _give_back(state, model, None, kobo, "refund")
        else:
            await _quarantine(state, model, None, kobo)
            model.quarantined += kobo
        return
    payment = _pick(owed, which)
    if payment is None:
        return
    kobo, refund_kind = payment.refunds.pop(0)
    if kind == "refund":
        await _give_back(state, model, payment.id, kobo, refund_kind)
    else:
        await _quarantine(state, model, payment.id, kobo)
        model.quarantined += kobo
    payment.held -= kobo


async def _balances(state: AppState, model: Books) -> dict[str, int]:
    """Credits − debits per account, over this example's entries only."""
    rows = await query(
        state,
        "SELECT a.code, SUM(CASE WHEN e.credit_account_id = a.id THEN e.amount_kobo "
        "ELSE -e.amount_kobo END) AS balance FROM ledger_entries e JOIN ledger_accounts a "
        "ON a.id IN (e.credit_account_id, e.debit_account_id) "
        "WHERE e.payment_id = ANY(:ids) OR e.memo LIKE :tag GROUP BY a.code",
        ids=[p.id for p in model.payments],
        tag=f"{model.tag}%",
    )
    return {row["code"]: int(row["balance"]) for row in rows}


async def _check(state: AppState, model: Books) -> None:
    balances = await _balances(state, model)
    method = model.method
    assert sum(balances.values()) == 0
    assert balances.get(accounts.funding_held(method), 0) == model.held
    assert balances.get(accounts.funding_quarantined(method), 0) == model.quarantined
    assert balances.get(accounts.provider_payable("vtpass"), 0) == model.payable
    margin = balances.get(accounts.MARGIN_REVENUE, 0) + balances.get(accounts.ROUTE_LOSSES, 0)
    assert margin == model.margin
    assert balances.get(accounts.FEE_REVENUE, 0) == model.fees
    for payment in model.payments:  # nothing a payment holds is ever negative
        assert payment.held >= 0


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(method=st.sampled_from(METHODS), steps=STEPS)
async def test_any_sequence_of_funding_events_keeps_clearing_accounts_exact(
    state: AppState, method: str, steps: list[Step]
) -> None:
    model = Books(tag=f"prop-{uuid.uuid4().hex[:12]}", method=method)
    for step in steps:
        await _step(state, model, step)
        await _check(state, model)
    # Everything becomes final: funded payments are vended, every refund due is sent back.
    while any(_vendable(p) for p in model.payments):
        await _step(state, model, ("vend", 0, 0))  # the first payment still vendable
    while any(p.refunds for p in model.payments) or model.unmatched:
        await _step(state, model, ("refund", 0, 0))
    await _check(state, model)
    assert model.held == 0
    assert (await _balances(state, model)).get(accounts.funding_held(method), 0) == 0

"""SQL for ``learned_networks``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

from sqlalchemy import String, Table, and_, bindparam, exists, func, literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import CTE

from billpay.customers.networks import PROVIDER_EVIDENCE, LearnedFrom, is_news
from billpay.db import raw
from billpay.models import LearnedNetwork


@dataclass(frozen=True)
class LearnedFact:
    """What one payment taught about a number's network."""

    livemode: bool
    phone: str
    network: str
    learned_from: LearnedFrom
    evidence: str
    payment_id: uuid.UUID | None


# Plain SQL on asyncpg (``db.raw``): this runs on every airtime/data create and delivery,
# where building the statement in SQLAlchemy cost more than the rest of the create.
_LEARNED = "SELECT network, learned_from FROM learned_networks WHERE livemode = $1 AND phone = $2"
_INSERT_LEARNED = (
    "INSERT INTO learned_networks (livemode, phone, network, learned_from, evidence, payment_id) "
)
# The upsert's WHERE decides a race between two writers as ``networks.is_news`` does: a change,
# and not a client's choice ($7) over a provider's evidence ($8).
_UNLESS_OLD_NEWS = (
    "ON CONFLICT (livemode, phone) DO UPDATE SET network = excluded.network, "
    "learned_from = excluded.learned_from, evidence = excluded.evidence, "
    "payment_id = excluded.payment_id, learned_at = now() "
    "WHERE (learned_networks.network <> excluded.network "
    "OR learned_networks.learned_from <> excluded.learned_from) "
    "AND NOT (excluded.learned_from = $7 AND learned_networks.learned_from = ANY($8::varchar[]))"
)
_LEARN = f"{_INSERT_LEARNED} VALUES ($1, $2, $3, $4, $5, $6) {_UNLESS_OLD_NEWS}"
_LEARN_MANY = (
    f"{_INSERT_LEARNED} SELECT * FROM unnest($1::boolean[], $2::varchar[], $3::varchar[], "  # noqa: S608 -- constant fragments
    f"$4::varchar[], $5::varchar[], $6::uuid[]) {_UNLESS_OLD_NEWS}"
)


async def learned(session: AsyncSession, phone: str, *, livemode: bool) -> LearnedNetwork | None:
    return await session.get(LearnedNetwork, (livemode, phone))


async def learn(
    session: AsyncSession,
    *,
    phone: str,
    livemode: bool,
    network: str,
    learned_from: LearnedFrom,
    evidence: str,
    payment_id: uuid.UUID | None,
) -> None:
    """Store what was learned, unless it repeats what is stored or is a client's choice over
    a provider's evidence (``networks.is_news``).

    A plain read first: most payments repeat what is known, and then no row is locked (one
    phone paid for concurrently would otherwise queue on its row). The upsert's own WHERE
    decides a race between two writers.
    """
    connection = await raw.connection(session)
    stored_row = await connection.fetchrow(_LEARNED, livemode, phone)
    if stored_row is not None and not is_news(
        stored_row["network"], LearnedFrom(stored_row["learned_from"]), network, learned_from
    ):
        return
    await connection.execute(
        _LEARN,
        livemode,
        phone,
        network,
        learned_from.value,
        evidence[:300],
        payment_id,
        LearnedFrom.CLIENT_CHOICE.value,
        [source.value for source in PROVIDER_EVIDENCE],
    )


async def learn_many(session: AsyncSession, facts: Sequence[LearnedFact]) -> None:
    """``learn`` for many numbers in one statement (the worker's batch of deliveries), in
    number order, so two batches lock shared rows in the same order. A number learned twice
    in the batch keeps its last fact (one statement may change a row only once)."""
    last = {(fact.livemode, fact.phone): fact for fact in facts}
    ordered = [last[key] for key in sorted(last)]
    if not ordered:
        return
    await (await raw.connection(session)).execute(
        _LEARN_MANY,
        [fact.livemode for fact in ordered],
        [fact.phone for fact in ordered],
        [fact.network for fact in ordered],
        [fact.learned_from.value for fact in ordered],
        [fact.evidence[:300] for fact in ordered],
        [fact.payment_id for fact in ordered],
        LearnedFrom.CLIENT_CHOICE.value,
        [source.value for source in PROVIDER_EVIDENCE],
    )


def client_choice_cte(payments: CTE) -> CTE:
    """For the statement that creates a payment (``payments``: the CTE returning the new row):
    the client's word for the number's network (``:choice_network``, NULL for none), stored
    unless it is old news (``is_news``): the same as stored, or a provider's evidence stands.

    Old news is skipped before the upsert, so it locks no row; the upsert's WHERE decides a
    race between two writers the same way.
    """
    table = cast(Table, LearnedNetwork.__table__)
    stored = table.alias("stored")
    network = bindparam("choice_network", type_=String)
    fact = (
        select(
            payments.c.livemode,
            payments.c.customer_id,
            network,
            literal(LearnedFrom.CLIENT_CHOICE.value, String),
            bindparam("choice_evidence", type_=String),
            payments.c.id,
        )
        .where(network.is_not(None))
        .where(
            ~exists().where(
                stored.c.livemode == payments.c.livemode,
                stored.c.phone == payments.c.customer_id,
                ~_client_choice_is_news(stored.c.network, stored.c.learned_from, network),
            )
        )
    )
    upsert = pg_insert(LearnedNetwork).from_select(
        ["livemode", "phone", "network", "learned_from", "evidence", "payment_id"], fact
    )
    return upsert.on_conflict_do_update(
        index_elements=["livemode", "phone"],
        set_={
            "network": upsert.excluded.network,
            "learned_from": upsert.excluded.learned_from,
            "evidence": upsert.excluded.evidence,
            "payment_id": upsert.excluded.payment_id,
            "learned_at": func.now(),
        },
        where=_client_choice_is_news(
            table.c.network, table.c.learned_from, upsert.excluded.network
        ),
    ).cte("client_choice")


def _client_choice_is_news(
    stored_network: ColumnElement[str], stored_from: ColumnElement[str], network: ColumnElement[str]
) -> ColumnElement[bool]:
    """``is_news`` for a client's choice: only over an earlier client choice, and a change."""
    return and_(stored_from == LearnedFrom.CLIENT_CHOICE.value, stored_network != network)

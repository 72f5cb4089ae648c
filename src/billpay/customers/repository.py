"""SQL for ``learned_networks``."""

from __future__ import annotations

import uuid
from typing import cast

from sqlalchemy import Table, and_, func, not_, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from billpay.customers.networks import PROVIDER_EVIDENCE, LearnedFrom, is_news
from billpay.models import LearnedNetwork

# Core, not ORM: this runs on the worker's path once per delivered airtime/data payment.
LEARNED_NETWORKS = cast(Table, LearnedNetwork.__table__)


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
    stored_row = (
        await session.execute(
            select(LEARNED_NETWORKS.c.network, LEARNED_NETWORKS.c.learned_from).where(
                LEARNED_NETWORKS.c.livemode == livemode, LEARNED_NETWORKS.c.phone == phone
            )
        )
    ).first()
    if stored_row is not None and not is_news(
        stored_row.network, LearnedFrom(stored_row.learned_from), network, learned_from
    ):
        return
    values = {
        "livemode": livemode,
        "phone": phone,
        "network": network,
        "learned_from": learned_from.value,
        "evidence": evidence[:300],
        "payment_id": payment_id,
    }
    statement = pg_insert(LEARNED_NETWORKS).values(values)
    stored = LEARNED_NETWORKS.c
    new = statement.excluded
    changes = or_(stored.network != new.network, stored.learned_from != new.learned_from)
    client_over_provider = and_(
        new.learned_from == LearnedFrom.CLIENT_CHOICE.value,
        stored.learned_from.in_([source.value for source in PROVIDER_EVIDENCE]),
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["livemode", "phone"],
            set_={**{key: new[key] for key in values}, "learned_at": func.now()},
            where=and_(changes, not_(client_over_provider)),
        )
    )

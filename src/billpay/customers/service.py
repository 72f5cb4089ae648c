"""A phone number's network: detected for a payment, learned from what payments showed."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from billpay.customers import repository as repo
from billpay.customers.identifiers import Network, network_hint
from billpay.customers.networks import LearnedFrom, NetworkDetection, NetworkSource
from billpay.customers.repository import LearnedFact


async def detect_network(
    session: AsyncSession, phone: str, *, livemode: bool
) -> NetworkDetection | None:
    """What billpay learned for ``phone`` (normalized), else its prefix; None if neither."""
    row = await repo.learned(session, phone, livemode=livemode)
    if row is not None:
        return NetworkDetection(
            Network(row.network),
            NetworkSource.LEARNED,
            LearnedFrom(row.learned_from),
            row.learned_at,
        )
    hint = network_hint(phone)
    return NetworkDetection(hint, NetworkSource.PREFIX) if hint else None


async def learn_network(
    session: AsyncSession,
    phone: str,
    network: Network,
    learned_from: LearnedFrom,
    *,
    livemode: bool,
    evidence: str,
    payment_id: uuid.UUID | None = None,
) -> None:
    await repo.learn(
        session,
        phone=phone,
        livemode=livemode,
        network=network.value,
        learned_from=learned_from,
        evidence=evidence,
        payment_id=payment_id,
    )


async def learn_networks(session: AsyncSession, facts: Sequence[LearnedFact]) -> None:
    """``learn_network`` for many numbers at once (a batch of deliveries)."""
    await repo.learn_many(session, facts)

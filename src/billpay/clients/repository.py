"""SQL for clients' API keys and test twins."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from billpay.models import ApiKey, Client

# Each API process listens here and forgets a revoked key (payload: its hash) at once.
REVOKED_KEYS_CHANNEL = "billpay_api_keys_revoked"


async def merchant(
    session: AsyncSession, merchant_id: uuid.UUID, *, for_update: bool
) -> Client | None:
    """A live client's row; ``for_update`` locks it until commit, so key changes of one
    merchant happen one at a time (two revocations cannot both see "another key is left")."""
    query = select(Client).where(Client.id == merchant_id, Client.livemode)
    return await session.scalar(query.with_for_update() if for_update else query)


async def twin_of(session: AsyncSession, merchant_id: uuid.UUID) -> Client | None:
    return await session.scalar(select(Client).where(Client.live_client_id == merchant_id))


async def insert_twin(session: AsyncSession, merchant: Client, webhook_secret: str) -> bool:
    """The merchant's test twin, unless it exists; whether this call created it."""
    created = await session.scalar(
        pg_insert(Client)
        .values(
            id=uuid.uuid4(),
            name=f"{merchant.name} (test mode)"[:200],
            livemode=False,
            live_client_id=merchant.id,
            webhook_secret=webhook_secret,
        )
        .on_conflict_do_nothing(index_elements=["live_client_id"])
        .returning(Client.id)
    )
    return created is not None


async def keys_of(session: AsyncSession, client_ids: list[uuid.UUID]) -> list[ApiKey]:
    """Newest first."""
    return list(
        (
            await session.scalars(
                select(ApiKey)
                .where(ApiKey.client_id.in_(client_ids))
                .order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
            )
        ).all()
    )


async def key_of(
    session: AsyncSession, client_ids: list[uuid.UUID], key_id: uuid.UUID
) -> ApiKey | None:
    return await session.scalar(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.client_id.in_(client_ids))
    )


async def active_live_keys(session: AsyncSession, merchant_id: uuid.UUID) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(ApiKey)
            .where(ApiKey.client_id == merchant_id, ApiKey.revoked_at.is_(None))
        )
        or 0
    )


async def revoke(session: AsyncSession, key: ApiKey) -> None:
    """Revoked at once, and every process told (on commit) to forget the key."""
    await session.execute(
        update(ApiKey)
        .where(ApiKey.id == key.id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )
    await session.execute(
        text("SELECT pg_notify(:channel, :key_hash)"),
        {"channel": REVOKED_KEYS_CHANNEL, "key_hash": key.key_hash},
    )
    await session.refresh(key)

"""Merchants and their API keys. Keys are random 256-bit secrets, stored only as SHA-256.

Keys are ``bp_live_…`` or ``bp_test_…``; keys made before test mode existed (``bp_…``) are
live: only the stored row says a key's mode, never its text.

A slow password hash is unnecessary for keys with this much entropy, and SHA-256 keeps the
per-request authentication cheap.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from billpay.errors import NotFound, ValidationFailed
from billpay.ledger import service as ledger
from billpay.models import ApiKey, Client
from billpay.outbox.signing import new_secret

LIVE_KEY_PREFIX = "bp_live_"
TEST_KEY_PREFIX = "bp_test_"
SHOWN_PREFIX_LENGTH = 16  # "bp_live_" and 8 random characters: names a key, proves nothing
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class AuthenticatedClient:
    """Who a request's key speaks for. A test key's client is the merchant's test twin."""

    id: uuid.UUID
    name: str
    livemode: bool = True
    key_id: uuid.UUID | None = None


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def new_api_key(livemode: bool = True) -> str:
    return (LIVE_KEY_PREFIX if livemode else TEST_KEY_PREFIX) + secrets.token_urlsafe(32)


def new_key_row(client: Client, name: str, key: str) -> ApiKey:
    """The stored form of ``key``; its mode is its client's (a test twin's keys are test)."""
    return ApiKey(
        client_id=client.id,
        name=name,
        prefix=key[:SHOWN_PREFIX_LENGTH],
        key_hash=hash_api_key(key),
        livemode=client.livemode,
    )


async def create_client(
    session: AsyncSession,
    name: str,
    webhook_url: str | None = None,
    api_key: str | None = None,
) -> tuple[Client, str]:
    """A new merchant and its first live API key (the only time the key is visible)."""
    key = api_key or new_api_key()
    client = Client(
        id=uuid.uuid4(), name=name, webhook_url=webhook_url, webhook_secret=new_secret()
    )
    session.add(client)
    await session.flush()
    session.add(new_key_row(client, "first key", key))
    await session.flush()
    return client, key


async def find_by_api_key(session: AsyncSession, api_key: str) -> AuthenticatedClient | None:
    """The client of an active key. A revoked or unknown key finds nothing.

    ``last_used_at`` is stamped at most once a minute per key: a burst of requests on a cold
    cache does not queue on one row's lock.
    """
    row = (
        await session.execute(
            select(ApiKey.id, ApiKey.client_id, ApiKey.livemode, ApiKey.last_used_at, Client.name)
            .join(Client, Client.id == ApiKey.client_id)
            .where(ApiKey.key_hash == hash_api_key(api_key), ApiKey.revoked_at.is_(None))
        )
    ).first()
    if row is None:
        return None
    if row.last_used_at is None or row.last_used_at < datetime.now(UTC) - LAST_USED_RESOLUTION:
        await session.execute(
            update(ApiKey)
            .where(
                ApiKey.id == row.id,
                or_(
                    ApiKey.last_used_at.is_(None),
                    ApiKey.last_used_at < func.now() - LAST_USED_RESOLUTION,
                ),
            )
            .values(last_used_at=func.now())
        )
    return AuthenticatedClient(
        id=row.client_id, name=row.name, livemode=row.livemode, key_id=row.id
    )


async def is_live(session: AsyncSession, client_id: uuid.UUID) -> bool:
    """False for a merchant's test twin (whose money is booked on the test accounts)."""
    return bool(await session.scalar(select(Client.livemode).where(Client.id == client_id)))


async def client_exists(session: AsyncSession, client_id: uuid.UUID) -> bool:
    """Whether the client exists; its row is share-locked until the transaction ends."""
    found = await session.scalar(
        select(Client.id).where(Client.id == client_id).with_for_update(key_share=True)
    )
    return found is not None


async def find_by_name(session: AsyncSession, name: str) -> Client | None:
    return await session.scalar(select(Client).where(Client.name == name))


async def top_up(session: AsyncSession, client_id: uuid.UUID, amount_kobo: int, memo: str) -> int:
    """Credit a merchant's prepaid balance; returns the new available balance.

    Only an existing client's: a ledger account is never opened for an owner that does not
    exist (a mistyped id would otherwise hold money nobody can spend).
    """
    if amount_kobo <= 0:
        raise ValidationFailed(
            f"amount_kobo: a top-up must be a positive number of kobo, not {amount_kobo}",
            details={"field": "amount_kobo"},
        )
    if not await client_exists(session, client_id):
        raise NotFound(f"client_id: no client {client_id}", details={"field": "client_id"})
    await ledger.top_up(
        session, client_id, amount_kobo, memo, livemode=await is_live(session, client_id)
    )
    return await ledger.available_balance(session, client_id)

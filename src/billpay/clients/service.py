"""Merchants and their API keys. Keys are random 256-bit secrets, stored only as SHA-256.

A slow password hash is unnecessary for keys with this much entropy, and SHA-256 keeps the
per-request authentication cheap.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from billpay.ledger import service as ledger
from billpay.models import Client
from billpay.outbox.signing import new_secret

API_KEY_PREFIX = "bp_"


@dataclass(frozen=True)
class AuthenticatedClient:
    id: uuid.UUID
    name: str


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def new_api_key() -> str:
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


async def create_client(
    session: AsyncSession,
    name: str,
    webhook_url: str | None = None,
    api_key: str | None = None,
) -> tuple[Client, str]:
    """A new merchant and its API key (the only time the key is visible)."""
    key = api_key or new_api_key()
    client = Client(
        name=name,
        api_key_hash=hash_api_key(key),
        api_key_prefix=key[:10],
        webhook_url=webhook_url,
        webhook_secret=new_secret(),
    )
    session.add(client)
    await session.flush()
    return client, key


async def find_by_api_key(session: AsyncSession, api_key: str) -> AuthenticatedClient | None:
    row = (
        await session.execute(
            select(Client.id, Client.name).where(Client.api_key_hash == hash_api_key(api_key))
        )
    ).first()
    return AuthenticatedClient(id=row.id, name=row.name) if row else None


async def find_by_name(session: AsyncSession, name: str) -> Client | None:
    return await session.scalar(select(Client).where(Client.name == name))


async def top_up(session: AsyncSession, client_id: uuid.UUID, amount_kobo: int, memo: str) -> int:
    """Credit a merchant's prepaid balance; returns the new available balance."""
    if amount_kobo <= 0:
        raise ValueError("a top-up must be a positive number of kobo")
    await ledger.top_up(session, client_id, amount_kobo, memo)
    return await ledger.available_balance(session, client_id)

"""A merchant's API keys: several at once (rotation without downtime), listed, revoked.

Managed with a live key, for the merchant and its test twin alike. A revoked key stops
working at once in every process (``clients.cache``). The merchant's last active live key
is not revoked unless ``force`` (the operator's CLI): the API would lock the merchant out.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from billpay.clients import repository as repo
from billpay.clients.service import new_api_key, new_key_row
from billpay.errors import NotFound
from billpay.errors.api_keys import LastLiveKey
from billpay.ledger import service as ledger
from billpay.models import ApiKey, Client
from billpay.outbox.signing import new_secret

# A new test twin starts with this much test money, so a first test payment just works.
TEST_BALANCE_KOBO = 100_000_000  # ₦1,000,000


async def test_twin(session: AsyncSession, merchant: Client) -> Client:
    """The merchant's test-mode client, created (with its test balance) on first use."""
    if await repo.insert_twin(session, merchant, new_secret()):
        twin = await repo.twin_of(session, merchant.id)
        assert twin is not None
        await ledger.top_up(
            session, twin.id, TEST_BALANCE_KOBO, "test mode starting balance", livemode=False
        )
        return twin
    twin = await repo.twin_of(session, merchant.id)
    assert twin is not None
    return twin


async def create_key(
    session: AsyncSession, merchant_id: uuid.UUID, name: str, *, livemode: bool
) -> tuple[ApiKey, str]:
    """A new key (the only time its text is visible) beside the merchant's others."""
    merchant = await _merchant(session, merchant_id)
    owner = merchant if livemode else await test_twin(session, merchant)
    key = new_api_key(livemode)
    row = new_key_row(owner, name, key)
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return row, key


async def list_keys(session: AsyncSession, merchant_id: uuid.UUID) -> list[ApiKey]:
    """The merchant's live and test keys, revoked ones included, newest first."""
    merchant = await _merchant(session, merchant_id, lock=False)
    return await repo.keys_of(session, await _owners(session, merchant))


async def revoke_key(
    session: AsyncSession, merchant_id: uuid.UUID, key_id: uuid.UUID, *, force: bool = False
) -> ApiKey:
    """Revoke one of the merchant's keys; revoking a revoked key changes nothing."""
    merchant = await _merchant(session, merchant_id)
    key = await repo.key_of(session, await _owners(session, merchant), key_id)
    if key is None:
        raise NotFound(f"key_id: no API key {key_id}", details={"field": "key_id"})
    if key.revoked_at is not None:
        return key
    if key.livemode and not force and await repo.active_live_keys(session, merchant.id) <= 1:
        raise LastLiveKey(
            f"key_id: {key.prefix}… is the last active live key; create another key and "
            "switch to it before revoking this one",
            details={"field": "key_id"},
        )
    await repo.revoke(session, key)
    return key


async def _merchant(session: AsyncSession, merchant_id: uuid.UUID, *, lock: bool = True) -> Client:
    merchant = await repo.merchant(session, merchant_id, for_update=lock)
    if merchant is None:
        raise NotFound(f"client_id: no client {merchant_id}", details={"field": "client_id"})
    return merchant


async def _owners(session: AsyncSession, merchant: Client) -> list[uuid.UUID]:
    twin = await repo.twin_of(session, merchant.id)
    return [merchant.id] if twin is None else [merchant.id, twin.id]

"""``/v1/api-keys``: create a second key, list, revoke — rotation without downtime."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from billpay.clients import keys
from billpay.clients.schemas import ApiKeyList, ApiKeyOut, CreateApiKey, CreatedApiKey, KeyMode
from billpay.clients.service import AuthenticatedClient
from billpay.deps import CurrentClient, State
from billpay.errors import API_KEY_ERRORS, NotFound, ValidationFailed, error_responses
from billpay.errors.api_keys import LastLiveKey, LiveKeyRequired
from billpay.models import ApiKey

router = APIRouter(prefix="/v1/api-keys", tags=["api keys"])


def to_out(key: ApiKey) -> ApiKeyOut:
    return ApiKeyOut(
        id=key.id,
        name=key.name,
        prefix=key.prefix,
        mode=KeyMode.LIVE if key.livemode else KeyMode.TEST,
        client_id=key.client_id,
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
    )


def _merchant_id(client: AuthenticatedClient) -> uuid.UUID:
    if not client.livemode:
        raise LiveKeyRequired("API keys are managed with a live key (bp_live_…), not a test key")
    return client.id


@router.post(
    "",
    status_code=201,
    response_model=CreatedApiKey,
    responses=error_responses(*API_KEY_ERRORS, LiveKeyRequired, ValidationFailed),
)
async def create_api_key(body: CreateApiKey, client: CurrentClient, state: State) -> CreatedApiKey:
    """A new key beside the existing ones: switch to it, then revoke the old one."""
    merchant_id = _merchant_id(client)
    async with state.unit_of_work() as session:
        row, key = await keys.create_key(
            session, merchant_id, body.name, livemode=body.mode is KeyMode.LIVE
        )
    return CreatedApiKey(**to_out(row).model_dump(), key=key)


@router.get(
    "",
    response_model=ApiKeyList,
    responses=error_responses(*API_KEY_ERRORS, LiveKeyRequired),
)
async def list_api_keys(client: CurrentClient, state: State) -> ApiKeyList:
    """The merchant's live and test keys, revoked ones included, newest first."""
    merchant_id = _merchant_id(client)
    async with state.unit_of_work() as session:
        rows = await keys.list_keys(session, merchant_id)
    return ApiKeyList(data=[to_out(row) for row in rows])


@router.delete(
    "/{key_id}",
    response_model=ApiKeyOut,
    responses=error_responses(*API_KEY_ERRORS, LiveKeyRequired, NotFound, LastLiveKey),
)
async def revoke_api_key(key_id: uuid.UUID, client: CurrentClient, state: State) -> ApiKeyOut:
    """Revoked at once in every billpay process; the merchant's last active live key is
    refused (409 ``last_live_key``) so a merchant cannot lock itself out."""
    merchant_id = _merchant_id(client)
    async with state.unit_of_work() as session:
        row = await keys.revoke_key(session, merchant_id, key_id)
    state.api_keys.forget(row.key_hash)
    return to_out(row)

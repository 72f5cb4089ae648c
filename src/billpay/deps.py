"""FastAPI dependencies: the process state and the authenticated client."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from billpay.clients.service import AuthenticatedClient, find_by_api_key, hash_api_key
from billpay.errors import InvalidApiKey, Unauthorized
from billpay.state import AppState

_bearer = HTTPBearer(auto_error=False, description="Your billpay API key")


async def get_state(request: Request) -> AppState:
    # async on purpose: FastAPI runs a plain ``def`` dependency in a thread pool, a thread
    # hand-off on every request for a dictionary lookup.
    state: AppState = request.app.state.billpay
    return state


async def get_client(
    state: Annotated[AppState, Depends(get_state)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AuthenticatedClient:
    if credentials is None or not credentials.credentials:
        raise Unauthorized("send your API key as 'Authorization: Bearer <key>'")
    key_hash = hash_api_key(credentials.credentials)
    # Cached keys are trusted only while this process hears revocations.
    trusted = await state.api_keys.watch(state.database_url)
    client = state.api_keys.get(key_hash) if trusted else None
    if client is None:
        generation = state.api_keys.generation
        async with state.unit_of_work() as session:
            client = await find_by_api_key(session, credentials.credentials)
        if client is None:
            raise InvalidApiKey("the API key is not valid or was revoked")
        if trusted:
            state.api_keys.remember(key_hash, client, generation)
    return client


State = Annotated[AppState, Depends(get_state)]
CurrentClient = Annotated[AuthenticatedClient, Depends(get_client)]

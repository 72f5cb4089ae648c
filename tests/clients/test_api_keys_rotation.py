"""API keys: a merchant creates a second key, lists its keys and revokes the old one, without
downtime; a revoked key is refused at once, in this process and in another one that had it
cached; the last live key cannot be revoked through the API."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from billpay.app import create_app
from billpay.bootstrap import build_state
from billpay.clients.service import create_client, hash_api_key, top_up
from billpay.config import Settings
from billpay.state import AppState
from flows import airtime, create, wait_until


def _client(state: AppState, key: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(state)),
        base_url="http://billpay.test",
        headers={"Authorization": f"Bearer {key}"},
    )


@pytest.fixture
async def other_process(settings: Settings, database_url: str) -> AsyncIterator[AppState]:
    """A second API process on the same database, with its own key cache."""
    other = build_state(settings, database_url)
    yield other
    await other.aclose()


async def _create_key(api: httpx.AsyncClient, name: str, mode: str = "live") -> dict[str, str]:
    response = await api.post("/v1/api-keys", json={"name": name, "mode": mode})
    assert response.status_code == 201, response.text
    created: dict[str, str] = response.json()
    return created


async def test_a_second_key_works_beside_the_first_and_both_are_listed(
    api: httpx.AsyncClient, state: AppState, merchant: tuple[uuid.UUID, str]
) -> None:
    client_id, first_key = merchant
    created = await _create_key(api, "rotation 2026")

    assert created["key"].startswith("bp_live_")
    assert created["prefix"] == created["key"][:16]
    assert created["client_id"] == str(client_id)
    async with _client(state, created["key"]) as second:
        assert (await second.get("/v1/payments")).status_code == 200

    listed = (await api.get("/v1/api-keys")).json()["data"]
    assert [key["name"] for key in listed] == ["rotation 2026", "first key"]
    assert all("key" not in key for key in listed)  # the text is shown once, at creation
    first = listed[1]
    assert first["mode"] == "live"
    assert first["revoked_at"] is None
    assert first["last_used_at"] is not None  # this request authenticated with it
    assert first["prefix"] == first_key[:16]


async def test_a_revoked_key_is_refused_at_once_in_every_process(
    api: httpx.AsyncClient,
    state: AppState,
    other_process: AppState,
    merchant: tuple[uuid.UUID, str],
) -> None:
    _, old_key = merchant
    new_key = (await _create_key(api, "new"))["key"]
    old_id = next(
        key["id"] for key in (await api.get("/v1/api-keys")).json()["data"] if key["name"] != "new"
    )
    async with _client(other_process, old_key) as elsewhere:
        # The other process hears revocations, then caches the old key on use.
        assert (await elsewhere.get("/v1/balance")).status_code == 200
        await wait_until(lambda: other_process.api_keys.listening, "the other process listening")
        assert (await elsewhere.get("/v1/balance")).status_code == 200
        assert other_process.api_keys.get(hash_api_key(old_key)) is not None
        assert (await api.get("/v1/balance")).status_code == 200  # cached here too

        async with _client(state, new_key) as rotated:
            revoked = await rotated.delete(f"/v1/api-keys/{old_id}")
            assert revoked.status_code == 200, revoked.text
            assert revoked.json()["revoked_at"] is not None

            here = await api.get("/v1/balance")
            assert here.status_code == 401
            assert here.json()["error"]["code"] == "invalid_api_key"

            async def refused_elsewhere() -> bool:
                return (await elsewhere.get("/v1/balance")).status_code == 401

            await wait_until(refused_elsewhere, "the other process refusing the revoked key")
            assert (await rotated.get("/v1/balance")).status_code == 200


async def test_the_last_live_key_cannot_be_revoked_and_test_keys_manage_nothing(
    api: httpx.AsyncClient, state: AppState
) -> None:
    test_key = (await _create_key(api, "ci", mode="test"))["key"]
    listed = (await api.get("/v1/api-keys")).json()["data"]
    live = next(key for key in listed if key["mode"] == "live")

    refused = await api.delete(f"/v1/api-keys/{live['id']}")

    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "last_live_key"
    assert "create another key" in refused.json()["error"]["message"]
    assert (await api.get("/v1/balance")).status_code == 200  # still works
    async with _client(state, test_key) as test_mode:
        assert test_key.startswith("bp_test_")
        for response in (
            await test_mode.get("/v1/api-keys"),
            await test_mode.post("/v1/api-keys", json={"name": "sneaky"}),
            await test_mode.delete(f"/v1/api-keys/{live['id']}"),
        ):
            assert response.status_code == 403, response.text
            assert response.json()["error"]["code"] == "live_key_required"
    # A test key can be revoked whenever: the live key goes on.
    test_id = next(key["id"] for key in listed if key["mode"] == "test")
    assert (await api.delete(f"/v1/api-keys/{test_id}")).status_code == 200


async def test_another_merchants_key_cannot_be_revoked(
    api: httpx.AsyncClient, state: AppState
) -> None:
    async with state.unit_of_work() as session:
        _, stranger_key = await create_client(session, "someone else")
    async with _client(state, stranger_key) as stranger:
        theirs = (await stranger.get("/v1/api-keys")).json()["data"][0]["id"]

    response = await api.delete(f"/v1/api-keys/{theirs}")

    assert response.status_code == 404
    assert response.json()["error"]["details"] == {"field": "key_id"}
    async with _client(state, stranger_key) as stranger:
        assert (await stranger.get("/v1/balance")).status_code == 200


async def test_keys_from_before_test_mode_stay_live(state: AppState) -> None:
    """A key of the old ``bp_…`` form (no mode in its text) is a live key."""
    async with state.unit_of_work() as session:
        client, legacy = await create_client(session, "legacy", api_key="bp_" + "x" * 43)
        await top_up(session, client.id, 100_000, "test")
    async with _client(state, legacy) as old:
        assert (await old.get("/v1/balance")).json()["livemode"] is True
        payment_id = await create(old, airtime())
        assert (await old.get(f"/v1/payments/{payment_id}")).status_code == 200

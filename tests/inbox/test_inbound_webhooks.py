"""``POST /v1/webhooks/{provider}``: forged, malformed, unknown and replayed events change
nothing and get the answer each provider expects; valid ones are stored once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from inbound_helpers import VTPASS_URL, transaction_update

from billpay.inbox.jobs import process_inbox
from billpay.sandbox.app import FLUTTERWAVE_SECRET_HASH
from billpay.state import AppState
from flows import inbox

FIXTURES = Path(__file__).parents[1] / "fixtures"


def fixture(provider: str, name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / provider / name).read_text())
    return loaded


def flutterwave_event(customer_reference: str = "BP-20260101-0123456789abcdef") -> bytes:
    event = fixture("flutterwave", "webhook_singlebillpayment.json")
    event["data"]["customer_reference"] = customer_reference
    return json.dumps(event).encode()


async def test_vtpass_with_a_wrong_or_missing_token_is_401_and_not_stored(
    api: httpx.AsyncClient, state: AppState
) -> None:
    body = transaction_update("202611220400abc", "delivered")

    wrong = await api.post("/v1/webhooks/vtpass/not-the-token", json=body)
    missing = await api.post("/v1/webhooks/vtpass", json=body)

    for response in (wrong, missing):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "webhook_not_authenticated"
    assert await inbox(state) == []


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[1, 2]", b'{"data": {}}', b'{"type": "transaction-update", "data": {}}'],
    ids=["not-json", "not-an-object", "no-type", "no-request-id"],
)
async def test_malformed_vtpass_callback_is_400_and_not_stored(
    api: httpx.AsyncClient, state: AppState, body: bytes
) -> None:
    response = await api.post(
        VTPASS_URL, content=body, headers={"content-type": "application/json"}
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_webhook"
    assert await inbox(state) == []


async def test_variations_update_is_acknowledged_and_recorded(
    api: httpx.AsyncClient, state: AppState
) -> None:
    body = fixture("vtpass", "webhook_variations_update.json")

    first = await api.post(VTPASS_URL, json=body)
    again = await api.post(VTPASS_URL, json=body)

    assert first.json() == again.json() == {"response": "success"}
    assert await process_inbox(state) == 1
    (event,) = await inbox(state)
    assert (event["kind"], event["reference"]) == ("variations-update", None)
    assert event["outcome"].startswith("recorded")


async def test_vtpass_update_for_someone_elses_reference_changes_nothing(
    api: httpx.AsyncClient, state: AppState
) -> None:
    response = await api.post(
        VTPASS_URL, json=transaction_update("202611220400nobody", "delivered")
    )

    assert response.json() == {"response": "success"}
    assert await process_inbox(state) == 1
    (event,) = await inbox(state)
    assert event["outcome"] == "ignored: no payment attempt has this reference"


@pytest.mark.parametrize(
    "headers",
    [{"verif-hash": "guessed-hash"}, {"verif-hash": ""}, {}],
    ids=["wrong-hash", "empty-hash", "no-hash"],
)
async def test_flutterwave_with_a_forged_hash_is_401_and_not_stored(
    api: httpx.AsyncClient, state: AppState, headers: dict[str, str]
) -> None:
    response = await api.post(
        "/v1/webhooks/flutterwave", content=flutterwave_event(), headers=headers
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "webhook_not_authenticated"
    assert await inbox(state) == []


async def test_malformed_flutterwave_event_is_400_and_not_stored(
    api: httpx.AsyncClient, state: AppState
) -> None:
    response = await api.post(
        "/v1/webhooks/flutterwave",
        content=b'{"event": "singlebillpayment.status", "data": ',
        headers={"verif-hash": FLUTTERWAVE_SECRET_HASH},
    )

    assert response.status_code == 400
    assert await inbox(state) == []


async def test_a_genuine_flutterwave_event_is_stored_once(
    api: httpx.AsyncClient, state: AppState
) -> None:
    body = flutterwave_event()
    headers = {"verif-hash": FLUTTERWAVE_SECRET_HASH, "content-type": "application/json"}

    for _ in range(2):  # Flutterwave retries: the same event twice
        response = await api.post("/v1/webhooks/flutterwave", content=body, headers=headers)
        assert response.status_code == 200

    (event,) = await inbox(state)
    assert (event["kind"], event["reference"], event["claimed_status"]) == (
        "singlebillpayment.status",
        "BP-20260101-0123456789abcdef",
        "success",
    )
    assert await process_inbox(state) == 1
    assert (await inbox(state))[0]["outcome"] == "ignored: no payment attempt has this reference"


@pytest.mark.parametrize("path", ["/v1/webhooks/stripe", "/v1/webhooks/interswitch"])
async def test_unknown_provider_is_404_in_the_error_envelope(
    api: httpx.AsyncClient, state: AppState, path: str
) -> None:
    response = await api.post(path, json={"event": "anything"})

    assert response.status_code == 404
    assert set(response.json()["error"]) == {"code", "message", "details"}
    assert await inbox(state) == []


async def test_an_oversized_body_is_refused(api: httpx.AsyncClient, state: AppState) -> None:
    body = json.dumps({"type": "variations-update", "pad": "x" * 300_000}).encode()

    response = await api.post(VTPASS_URL, content=body)

    assert response.status_code == 413
    assert await inbox(state) == []

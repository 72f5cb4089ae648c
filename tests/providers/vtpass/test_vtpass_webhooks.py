"""VTpass callbacks: URL-token authentication, parsing, dedupe keys (providers.md §1.10)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from billpay.config import Settings
from billpay.providers.base import ProviderName, WebhookRejected
from billpay.providers.vtpass import VTpassConnector
from billpay.providers.vtpass.webhooks import WEBHOOK_ACK, parse_webhook

Load = Callable[[str], Any]
TOKEN = "hook-token-5e8f"


def raw(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def test_the_ack_vtpass_waits_for():
    assert WEBHOOK_ACK == {"response": "success"}


def test_transaction_update(vtpass_json: Load):
    event = parse_webhook(raw(vtpass_json("webhook_transaction_update")), TOKEN, TOKEN)
    assert event.provider is ProviderName.VTPASS
    assert event.kind == "transaction-update"
    assert event.reference == "202503101014deliver"
    assert event.claimed_status == "delivered"
    assert event.event_id == "202503101014deliver:delivered"


def test_reversal_is_a_new_event_for_the_same_purchase(vtpass_json: Load):
    event = parse_webhook(raw(vtpass_json("webhook_reversal")), TOKEN, TOKEN)
    assert (event.reference, event.claimed_status) == ("202503101014reverse", "reversed")
    assert event.event_id == "202503101014reverse:reversed"


def test_stored_payload_is_masked(vtpass_json: Load):
    event = parse_webhook(raw(vtpass_json("webhook_reversal")), TOKEN, TOKEN)
    assert "42167939781206619049" not in json.dumps(event.payload)


def test_retries_of_one_update_share_an_event_id(vtpass_json: Load):
    body = raw(vtpass_json("webhook_transaction_update"))
    assert parse_webhook(body, TOKEN, TOKEN).event_id == parse_webhook(body, TOKEN, TOKEN).event_id


def test_update_without_inner_status_falls_back_to_the_code():
    body = raw({"type": "transaction-update", "data": {"code": "040", "requestId": "r1"}})
    event = parse_webhook(body, TOKEN, TOKEN)
    assert (event.claimed_status, event.event_id) == ("040", "r1:040")


def test_variations_update(vtpass_json: Load):
    body = raw(vtpass_json("webhook_variations_update"))
    event = parse_webhook(body, TOKEN, TOKEN)
    assert event.kind == "variations-update"
    assert event.reference is None and event.claimed_status is None
    assert event.event_id.startswith("variations-update:smile-direct:")
    assert parse_webhook(body, TOKEN, TOKEN).event_id == event.event_id
    other = raw({**vtpass_json("webhook_variations_update"), "summary": {}})
    assert parse_webhook(other, TOKEN, TOKEN).event_id != event.event_id


@pytest.mark.parametrize(
    ("path_token", "expected"),
    [("wrong", TOKEN), (None, TOKEN), ("", TOKEN), (TOKEN, None), (TOKEN, ""), (None, None)],
)
def test_wrong_or_missing_token_is_401(
    vtpass_json: Load, path_token: str | None, expected: str | None
):
    with pytest.raises(WebhookRejected) as rejected:
        parse_webhook(raw(vtpass_json("webhook_transaction_update")), path_token, expected)
    assert rejected.value.status_code == 401


def test_token_is_checked_before_the_body_is_read():
    with pytest.raises(WebhookRejected) as rejected:
        parse_webhook(b"not json", "wrong", TOKEN)
    assert rejected.value.status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"\xff\xfe",
        raw(["list"]),
        raw({"no": "type"}),
        raw({"type": "transaction-update"}),
        raw({"type": "transaction-update", "data": {"code": "000"}}),
        raw({"type": "transaction-update", "data": "text"}),
    ],
)
def test_malformed_bodies_are_400(body: bytes):
    with pytest.raises(WebhookRejected) as rejected:
        parse_webhook(body, TOKEN, TOKEN)
    assert rejected.value.status_code == 400


def test_connector_uses_the_configured_token(vtpass_settings: Settings, vtpass_json: Load):
    connector = VTpassConnector(vtpass_settings)
    body = raw(vtpass_json("webhook_transaction_update"))
    assert connector.parse_webhook({}, body, TOKEN).reference == "202503101014deliver"
    with pytest.raises(WebhookRejected):
        connector.parse_webhook({}, body, "guess")

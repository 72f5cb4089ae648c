"""Flutterwave webhook verification (providers.md §2.6): ``verif-hash`` is a shared secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest

from billpay.providers.base import ProviderName, WebhookRejected
from billpay.providers.flutterwave import webhooks
from billpay.providers.flutterwave.webhooks import FlutterwaveWebhooks

SECRET_HASH = "my-dashboard-secret-hash"
BODY = (
    Path(__file__).parents[2] / "fixtures" / "flutterwave" / "webhook_singlebillpayment.json"
).read_bytes()


def verifier(**options: Any) -> FlutterwaveWebhooks:
    return FlutterwaveWebhooks(SECRET_HASH, **options)


def signature(body: bytes, secret: str = SECRET_HASH) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def rejection(headers: dict[str, str], body: bytes = BODY, **options: Any) -> WebhookRejected:
    with pytest.raises(WebhookRejected) as caught:
        verifier(**options).parse(headers, body)
    return caught.value


def test_documented_bill_event_with_the_right_hash_is_accepted() -> None:
    event = verifier().parse({"verif-hash": SECRET_HASH}, BODY)

    assert event.provider is ProviderName.FLUTTERWAVE
    assert event.kind == "singlebillpayment.status"
    assert event.reference == "test-ref-kuf-01"  # data.customer_reference: the reference we sent
    assert event.claimed_status == "success"
    assert event.event_id == "CF-FLYAPI-20240604022555817834333:success"
    assert event.payload["data"]["customer_reference"] == "test-ref-kuf-01"


def test_header_names_are_case_insensitive() -> None:
    assert verifier().parse({"Verif-Hash": SECRET_HASH}, BODY).reference == "test-ref-kuf-01"


def test_a_later_status_for_the_same_purchase_is_a_new_event() -> None:
    failed = json.loads(BODY)
    failed["data"]["status"] = "failed"

    event = verifier().parse({"verif-hash": SECRET_HASH}, json.dumps(failed).encode())

    assert event.event_id == "CF-FLYAPI-20240604022555817834333:failed"


@pytest.mark.parametrize(
    "headers",
    [{"verif-hash": "wrong"}, {"verif-hash": ""}, {"verif-hash": SECRET_HASH + " "}],
)
def test_a_wrong_hash_is_rejected_401(headers: dict[str, str]) -> None:
    assert rejection(headers).status_code == 401


def test_a_missing_hash_is_rejected_401() -> None:
    assert rejection({"content-type": "application/json"}).status_code == 401


def test_without_a_configured_secret_nothing_is_accepted() -> None:
    with pytest.raises(WebhookRejected) as caught:
        FlutterwaveWebhooks(None).parse({"verif-hash": ""}, BODY)

    assert caught.value.status_code == 401


def test_the_hash_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(webhooks.hmac, "compare_digest", spy)

    verifier().parse({"verif-hash": SECRET_HASH}, BODY)

    assert calls == [(SECRET_HASH.encode(), SECRET_HASH.encode())]


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"data": {}}',
        b'{"event": "singlebillpayment.status"}',
        b'{"event": "singlebillpayment.status", "data": "text"}',
        b'{"event": "singlebillpayment.status", "data": {"status": ["x"]}}',
    ],
)
def test_a_verified_but_malformed_body_is_rejected_400(body: bytes) -> None:
    assert rejection({"verif-hash": SECRET_HASH}, body).status_code == 400


def test_other_events_are_returned_without_a_reference_for_the_caller_to_ignore() -> None:
    body = json.dumps({"event": "charge.completed", "data": {"id": 1, "status": "successful"}})

    event = verifier().parse({"verif-hash": SECRET_HASH}, body.encode())

    assert (event.kind, event.reference, event.claimed_status) == ("charge.completed", None, None)
    assert event.event_id.startswith("charge.completed:")


def test_the_newer_signature_header_is_refused_unless_switched_on() -> None:
    assert rejection({"flutterwave-signature": signature(BODY)}).status_code == 401


def test_the_newer_signature_is_an_hmac_of_the_raw_body_when_switched_on() -> None:
    event = verifier(accept_hmac_signature=True).parse(
        {"flutterwave-signature": signature(BODY)}, BODY
    )

    assert event.reference == "test-ref-kuf-01"


@pytest.mark.parametrize(
    "value", [signature(BODY, "another-secret"), signature(BODY + b" "), SECRET_HASH]
)
def test_a_wrong_newer_signature_is_rejected_401(value: str) -> None:
    rejected = rejection({"flutterwave-signature": value}, accept_hmac_signature=True)

    assert rejected.status_code == 401


def test_tokens_in_a_webhook_payload_are_masked() -> None:
    body = json.loads(BODY)
    body["data"]["recharge_token"] = "12345678901234567890"

    event = verifier().parse({"verif-hash": SECRET_HASH}, json.dumps(body).encode())

    assert "12345678901234567890" not in repr(event.payload)

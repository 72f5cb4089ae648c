"""Paystack webhooks: HMAC-SHA512 over the raw bytes, and parsing into events."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billpay.funding.paystack import (
    PaystackWebhookRejected,
    parse_event,
    verify_signature,
)

SECRET = "sk_test_webhook_secret_123"


def sign(raw: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), raw, hashlib.sha512).hexdigest()


def charge_success(**overrides: Any) -> dict[str, Any]:
    data = {
        "id": 4099260516,
        "status": "success",
        "reference": "bp-ref-1",
        "amount": 503_000,
        "currency": "NGN",
        "authorization": {"authorization_code": "AUTH_reusable_card", "last4": "4081"},
        "customer": {"email": "payer@example.com"},
    }
    return {"event": "charge.success", "data": {**data, **overrides}}


def signed(payload: Any, secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return raw, {"x-paystack-signature": sign(raw, secret), "content-type": "application/json"}


# --- verify_signature ------------------------------------------------------------------------


def test_signature_over_the_raw_bytes_verifies() -> None:
    raw, headers = signed(charge_success())
    assert verify_signature(raw, headers["x-paystack-signature"], SECRET)


def test_reserialised_json_with_other_whitespace_does_not_verify() -> None:
    raw, headers = signed(charge_success())
    reserialised = json.dumps(json.loads(raw), indent=2).encode()
    assert json.loads(reserialised) == json.loads(raw)
    assert not verify_signature(reserialised, headers["x-paystack-signature"], SECRET)
    spaced = json.dumps(json.loads(raw)).encode()  # default separators add spaces
    assert not verify_signature(spaced, headers["x-paystack-signature"], SECRET)


@pytest.mark.parametrize("header", [None, "", "deadbeef", "sha512=" + "0" * 128, "é" * 128])
def test_missing_or_wrong_signatures_fail(header: str | None) -> None:
    raw, _ = signed(charge_success())
    assert not verify_signature(raw, header, SECRET)


def test_signature_with_another_key_fails_and_an_empty_key_never_verifies() -> None:
    raw, _ = signed(charge_success())
    assert not verify_signature(raw, sign(raw, "sk_test_other"), SECRET)
    assert not verify_signature(raw, sign(raw, ""), "")


def test_uppercase_hex_and_surrounding_space_still_verify() -> None:
    raw, headers = signed(charge_success())
    assert verify_signature(raw, f" {headers['x-paystack-signature'].upper()} ", SECRET)


@given(st.binary(max_size=512), st.binary(min_size=1, max_size=512))
def test_any_change_to_the_body_breaks_the_signature(raw: bytes, extra: bytes) -> None:
    assert verify_signature(raw, sign(raw), SECRET)
    assert not verify_signature(raw + extra, sign(raw), SECRET)


# --- parse_event -----------------------------------------------------------------------------


def test_charge_success_is_parsed() -> None:
    raw, headers = signed(charge_success())
    event = parse_event(raw, headers, SECRET)
    assert event.event == "charge.success"
    assert (event.reference, event.amount_kobo, event.currency, event.status) == (
        "bp-ref-1",
        503_000,
        "NGN",
        "success",
    )
    assert event.paystack_id == "4099260516"
    assert event.event_id == "charge.success:4099260516:success"


def test_stored_payload_is_masked() -> None:
    raw, headers = signed(charge_success())
    event = parse_event(raw, headers, SECRET)
    assert "AUTH_reusable_card" not in json.dumps(event.payload)
    assert event.payload["data"]["authorization"] == "***"


def test_header_lookup_ignores_case() -> None:
    raw, headers = signed(charge_success())
    shouted = {"X-Paystack-Signature": headers["x-paystack-signature"]}
    assert parse_event(raw, shouted, SECRET).event == "charge.success"


@pytest.mark.parametrize("headers", [{}, {"x-paystack-signature": "0" * 128}])
def test_missing_or_bad_signature_is_rejected_401(headers: dict[str, str]) -> None:
    raw, _ = signed(charge_success())
    with pytest.raises(PaystackWebhookRejected) as rejected:
        parse_event(raw, headers, SECRET)
    assert rejected.value.status_code == 401


def test_signed_with_the_wrong_key_is_rejected_401() -> None:
    raw, headers = signed(charge_success(), secret="sk_test_attacker")
    with pytest.raises(PaystackWebhookRejected) as rejected:
        parse_event(raw, headers, SECRET)
    assert rejected.value.status_code == 401


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[]",
        b'{"data": {}}',
        b'{"event": "charge.success"}',
        b'{"event": "", "data": {}}',
        b'{"event": "charge.success", "data": []}',
    ],
)
def test_malformed_but_signed_bodies_are_rejected_400(raw: bytes) -> None:
    with pytest.raises(PaystackWebhookRejected) as rejected:
        parse_event(raw, {"x-paystack-signature": sign(raw)}, SECRET)
    assert rejected.value.status_code == 400


@pytest.mark.parametrize(
    "overrides",
    [
        {"amount": 5030.5},
        {"amount": 503000.0},
        {"amount": "5030.00"},
        {"amount": True},
        {"amount": None},
        {"reference": None},
        {"reference": 12},
        {"currency": None},
    ],
)
def test_charge_success_without_usable_facts_is_rejected_400(overrides: dict[str, Any]) -> None:
    raw, headers = signed(charge_success(**overrides))
    with pytest.raises(PaystackWebhookRejected) as rejected:
        parse_event(raw, headers, SECRET)
    assert rejected.value.status_code == 400


@pytest.mark.parametrize("status", ["pending", "processing", "processed", "failed"])
def test_refund_events_name_the_refunded_transaction(status: str) -> None:
    payload = {
        "event": f"refund.{status}",
        "data": {
            "id": 3018284,
            "status": status,
            "transaction_reference": "bp-ref-1",
            "refund_reference": "RF3018284",
            "amount": "503000",  # Paystack's refund events carry the amount as a string
            "currency": "NGN",
        },
    }
    raw, headers = signed(payload)
    event = parse_event(raw, headers, SECRET)
    assert (event.event, event.reference, event.amount_kobo, event.status) == (
        f"refund.{status}",
        "bp-ref-1",
        503_000,
        status,
    )
    assert event.event_id == f"refund.{status}:3018284:{status}"


@pytest.mark.parametrize("name", ["transfer.success", "transfer.failed", "transfer.reversed"])
def test_transfer_events_are_parsed(name: str) -> None:
    status = name.split(".")[1]
    payload = {
        "event": name,
        "data": {
            "id": 99,
            "reference": "payout-0001-abcdefgh",
            "amount": 100_000,
            "currency": "NGN",
            "status": status,
            "transfer_code": "TRF_x",
        },
    }
    raw, headers = signed(payload)
    event = parse_event(raw, headers, SECRET)
    assert (event.reference, event.amount_kobo, event.status) == (
        "payout-0001-abcdefgh",
        100_000,
        status,
    )


def test_event_ids_tell_statuses_apart_and_repeat_for_a_redelivery() -> None:
    first = parse_event(*signed(charge_success()), SECRET)
    again = parse_event(*signed(charge_success()), SECRET)
    failed = parse_event(*signed(charge_success(status="failed")), SECRET)
    assert first.event_id == again.event_id
    assert first.event_id != failed.event_id


def test_event_without_any_identifier_dedupes_on_its_bytes() -> None:
    payload = {"event": "subscription.create", "data": {"status": "active"}}
    raw, headers = signed(payload)
    event = parse_event(raw, headers, SECRET)
    assert event.event_id == parse_event(raw, headers, SECRET).event_id
    other = parse_event(*signed({**payload, "extra": 1}), SECRET)
    assert other.event_id != event.event_id


def test_events_billpay_does_not_handle_are_still_accepted() -> None:
    # Refusing them would only make Paystack retry for 72 hours.
    payload = {"event": "invoice.create", "data": {"id": 5, "amount": 100}}
    event = parse_event(*signed(payload), SECRET)
    assert (event.event, event.reference, event.amount_kobo) == ("invoice.create", None, 100)

"""Outbound webhook signatures: round trip, rotation, tampering, staleness, malformed headers."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billpay.outbox.signing import (
    DEFAULT_TOLERANCE_SECONDS,
    compute_signature,
    sign,
    signature_header,
    verify,
)

NOW = 1_771_409_702
OLD_SECRET = "whsec_old_4f1c"
NEW_SECRET = "whsec_new_9a2e"
BODY = b'{"id":"evt_1","type":"payment.paid","data":{"payment":{"status":"paid"}}}'

bodies = st.binary(max_size=2048)
secrets = st.text(min_size=1, max_size=64)
timestamps = st.integers(min_value=0, max_value=4_000_000_000)


def test_header_format_is_stripe_like() -> None:
    header = sign(BODY, OLD_SECRET, NOW)
    assert re.fullmatch(r"t=1771409702,v1=[0-9a-f]{64}", header)
    expected = hmac.new(OLD_SECRET.encode(), b"1771409702." + BODY, hashlib.sha256).hexdigest()
    assert header.endswith(expected)


@given(body=bodies, secret=secrets, timestamp=timestamps)
def test_round_trip_over_arbitrary_bodies(body: bytes, secret: str, timestamp: int) -> None:
    header = sign(body, secret, timestamp)
    assert verify(body, header, [secret], now=timestamp)


@given(body=bodies, extra=st.binary(min_size=1, max_size=8), secret=secrets)
def test_a_tampered_body_fails(body: bytes, extra: bytes, secret: str) -> None:
    header = sign(body, secret, NOW)
    assert not verify(body + extra, header, [secret], now=NOW)
    if body:
        flipped = bytes([body[0] ^ 0x01]) + body[1:]
        assert not verify(flipped, header, [secret], now=NOW)


def test_a_different_secret_fails() -> None:
    assert not verify(BODY, sign(BODY, OLD_SECRET, NOW), ["whsec_someone_else"], now=NOW)


def test_during_rotation_either_secret_verifies() -> None:
    header = signature_header(BODY, [OLD_SECRET, NEW_SECRET], NOW)
    assert header.count("v1=") == 2
    assert verify(BODY, header, [OLD_SECRET], now=NOW)  # receiver not yet updated
    assert verify(BODY, header, [NEW_SECRET], now=NOW)  # receiver already switched
    assert verify(BODY, header, [NEW_SECRET, OLD_SECRET], now=NOW)
    assert not verify(BODY, header, ["whsec_unrelated"], now=NOW)


def test_a_receiver_holding_both_secrets_accepts_either_sender() -> None:
    for secret in (OLD_SECRET, NEW_SECRET):
        assert verify(BODY, sign(BODY, secret, NOW), [OLD_SECRET, NEW_SECRET], now=NOW)


def test_the_timestamp_is_signed() -> None:
    _, signature = sign(BODY, OLD_SECRET, NOW).split(",")
    assert not verify(BODY, f"t={NOW + 1},{signature}", [OLD_SECRET], now=NOW)


@pytest.mark.parametrize(
    ("age", "accepted"),
    [
        (0, True),
        (DEFAULT_TOLERANCE_SECONDS, True),
        (DEFAULT_TOLERANCE_SECONDS + 1, False),  # stale: a captured request replayed later
        (-DEFAULT_TOLERANCE_SECONDS, True),
        (-DEFAULT_TOLERANCE_SECONDS - 1, False),  # from the future beyond clock skew
        (86_400, False),
    ],
)
def test_timestamps_outside_the_tolerance_fail(age: int, accepted: bool) -> None:
    header = sign(BODY, OLD_SECRET, NOW - age)
    assert verify(BODY, header, [OLD_SECRET], now=NOW) is accepted


def test_tolerance_is_configurable() -> None:
    header = sign(BODY, OLD_SECRET, NOW - 30)
    assert not verify(BODY, header, [OLD_SECRET], tolerance_seconds=10, now=NOW)


def test_now_defaults_to_the_clock() -> None:
    fresh = sign(BODY, OLD_SECRET, int(time.time()))
    stale = sign(BODY, OLD_SECRET, int(time.time()) - 3600)
    assert verify(BODY, fresh, [OLD_SECRET])
    assert not verify(BODY, stale, [OLD_SECRET])


VALID_SIGNATURE = compute_signature(BODY, OLD_SECRET, NOW)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        f"v1={VALID_SIGNATURE}",  # no timestamp
        f"t={NOW}",  # no signature
        f"t=,v1={VALID_SIGNATURE}",
        f"t=abc,v1={VALID_SIGNATURE}",
        f"t=-{NOW},v1={VALID_SIGNATURE}",
        f"t=１２３,v1={VALID_SIGNATURE}",  # full-width digits are not ASCII digits
        f"t={NOW},t={NOW},v1={VALID_SIGNATURE}",  # two timestamps
        f"t={NOW},v1={VALID_SIGNATURE[:-1]}",  # truncated
        f"t={NOW},v1={VALID_SIGNATURE.upper()}",
        f"t={NOW},v1={VALID_SIGNATURE[:-1]}é",  # non-ASCII must not crash compare_digest
        f"t={NOW},v0={VALID_SIGNATURE}",  # only an unknown scheme
        f"t={NOW};v1={VALID_SIGNATURE}",
        f"t={NOW},{VALID_SIGNATURE}",
    ],
)
def test_malformed_headers_fail(header: str | None) -> None:
    assert not verify(BODY, header, [OLD_SECRET], now=NOW)


def test_unknown_schemes_and_spaces_are_tolerated() -> None:
    header = f"t={NOW}, v0=deadbeef, v1={VALID_SIGNATURE}"
    assert verify(BODY, header, [OLD_SECRET], now=NOW)


@given(header=st.text(max_size=300))
def test_arbitrary_headers_never_crash(header: str) -> None:
    assert verify(BODY, header, [OLD_SECRET], now=NOW) in (True, False)


def test_no_secret_is_a_configuration_error_not_a_bad_signature() -> None:
    with pytest.raises(ValueError, match="secret"):
        verify(BODY, sign(BODY, OLD_SECRET, NOW), [], now=NOW)
    with pytest.raises(ValueError, match="secret"):
        signature_header(BODY, [], NOW)


def test_signing_and_verifying_log_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    header = signature_header(BODY, [OLD_SECRET, NEW_SECRET], NOW)
    verify(BODY, header, [OLD_SECRET], now=NOW)
    verify(BODY, "garbage", [OLD_SECRET], now=NOW)
    logged = " ".join(record.getMessage() for record in caplog.records)
    assert OLD_SECRET not in logged and NEW_SECRET not in logged

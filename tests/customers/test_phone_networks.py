"""Phone normalisation as a property, the prefix table, and reading a wrong-network rejection."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billpay.customers.identifiers import (
    MOBILE_PREFIXES,
    InvalidIdentifier,
    Network,
    network_hint,
    normalize_phone,
)
from billpay.customers.networks import LearnedFrom, is_news, wrong_network_named

national = st.builds(
    lambda prefix, rest: prefix[1:] + rest,  # "803" + 7 digits: the 10 digits after the 0
    st.sampled_from(sorted(MOBILE_PREFIXES)),
    st.text(alphabet="0123456789", min_size=7, max_size=7),
)
separator = st.sampled_from(["", " ", "-", "  ", " - "])


def spaced(digits: str, sep: str) -> str:
    return sep.join([digits[:3], digits[3:6], digits[6:]])


@given(national, separator, st.sampled_from(["0", "234", "+234", "+ 234"]))
def test_every_written_form_of_a_number_is_one_number(digits: str, sep: str, lead: str) -> None:
    written = lead + sep + spaced(digits, sep)  # e.g. "+234 803 123 4567", "0803-123-4567"
    local = normalize_phone(written)
    assert local == "0" + digits
    assert normalize_phone(local) == local  # idempotent
    assert network_hint(written) == network_hint(local)


@given(st.text(max_size=25))
def test_anything_else_is_refused_or_a_local_mobile_number(text: str) -> None:
    try:
        local = normalize_phone(text, "customer_id")
    except InvalidIdentifier as exc:
        assert exc.field == "customer_id"
        assert exc.message.startswith("customer_id:")
        return
    assert len(local) == 11 and local.isascii() and local.isdigit()
    assert local[:4] in MOBILE_PREFIXES


@pytest.mark.parametrize(
    ("phone", "network"),
    [
        ("08031234567", Network.MTN),
        ("07025123456", Network.MTN),  # 07025/07026: MTN's, though the rest of 0702 is not
        ("07041234567", Network.MTN),
        ("09161234567", Network.MTN),
        ("08021234567", Network.AIRTEL),
        ("09121234567", Network.AIRTEL),
        ("08051234567", Network.GLO),
        ("09151234567", Network.GLO),
        ("08091234567", Network.NINE_MOBILE),
        ("09081234567", Network.NINE_MOBILE),
        ("07021234567", None),  # Smile
        ("08041234567", None),  # ntel
    ],
)
def test_the_prefix_table(phone: str, network: Network | None) -> None:
    assert network_hint(phone) == network


@pytest.mark.parametrize(
    ("message", "tried", "real"),
    [
        ("TRANSACTION FAILED: 08031230001 is ported to Airtel", Network.MTN, Network.AIRTEL),
        ("Customer number belongs to Globacom", Network.MTN, Network.GLO),
        ("This is not an MTN number, it is on 9mobile", Network.MTN, Network.NINE_MOBILE),
        ("Wrong network: Etisalat subscriber", Network.GLO, Network.NINE_MOBILE),
        # Not a mismatch, or nothing (or too much) to learn from:
        ("TRANSACTION FAILED", Network.MTN, None),
        ("Airtel service is temporarily unavailable", Network.MTN, None),
        ("not an MTN number", Network.MTN, None),
        ("ported: could be Glo or Airtel", Network.MTN, None),
        ("number is ported to MTN", Network.MTN, None),
    ],
)
def test_a_rejection_is_wrong_network_only_when_it_says_so(
    message: str, tried: Network, real: Network | None
) -> None:
    assert wrong_network_named(message, tried) == real


@pytest.mark.parametrize(
    ("stored", "new", "news"),
    [
        (("mtn", LearnedFrom.CLIENT_CHOICE), ("mtn", LearnedFrom.CLIENT_CHOICE), False),
        (("mtn", LearnedFrom.CLIENT_CHOICE), ("airtel", LearnedFrom.CLIENT_CHOICE), True),
        (("mtn", LearnedFrom.CLIENT_CHOICE), ("mtn", LearnedFrom.DELIVERY), True),
        (("mtn", LearnedFrom.DELIVERY), ("airtel", LearnedFrom.CLIENT_CHOICE), False),
        (("mtn", LearnedFrom.DELIVERY), ("airtel", LearnedFrom.REJECTION), True),
        (("airtel", LearnedFrom.REJECTION), ("mtn", LearnedFrom.DELIVERY), True),
    ],
)
def test_a_clients_choice_never_overwrites_a_providers_evidence(
    stored: tuple[str, LearnedFrom], new: tuple[str, LearnedFrom], news: bool
) -> None:
    assert is_news(*stored, *new) is news

"""The simulators' own naira/kobo conversions and Flutterwave JSON, none borrowed from billpay."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billpay.sandbox.flutterwave.codec import read_json, write_json
from billpay.sandbox.units import (
    NotWholeKobo,
    kobo_from_naira,
    naira_for_people,
    naira_from_kobo,
    naira_number,
)


@pytest.mark.parametrize(
    ("naira", "kobo"),
    [("1000.00", 100_000), (" 12.5 ", 1_250), (1800, 180_000), (Decimal("500.5000"), 50_050)],
)
def test_naira_becomes_whole_kobo(naira: str | int | Decimal, kobo: int) -> None:
    assert kobo_from_naira(naira) == kobo


@pytest.mark.parametrize("naira", ["10.005", "abc", "NaN", "Infinity", ""])
def test_what_is_not_whole_kobo_is_refused(naira: str) -> None:
    with pytest.raises(NotWholeKobo):
        kobo_from_naira(naira)


@pytest.mark.parametrize("naira", [1.5, True])
def test_floats_and_bools_are_never_money(naira: float) -> None:
    with pytest.raises(TypeError):
        kobo_from_naira(naira)


def test_kobo_becomes_naira_for_wires_and_people() -> None:
    assert str(naira_from_kobo(100_000)) == "1000.00"
    assert str(naira_from_kobo(5)) == "0.05"
    assert naira_number(180_000) == 1800 and isinstance(naira_number(180_000), int)
    assert naira_number(50_050) == Decimal("500.50")
    assert naira_for_people(503_000) == "₦5,030"
    assert naira_for_people(50_050) == "₦500.50"


def test_flutterwave_json_keeps_fractional_naira_exact() -> None:
    body = read_json(b'{"amount": 500.5, "fee": 100, "ok": true}')

    assert body == {"amount": Decimal("500.5"), "fee": 100, "ok": True}
    assert write_json({"amount": Decimal("500.50"), "items": [1, None]}) == (
        b'{"amount":500.50,"items":[1,null]}'
    )
    with pytest.raises(ValueError):
        write_json({"amount": Decimal("NaN")})
    with pytest.raises(ValueError):
        read_json(b"<html>")

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billpay.money import (
    InexactAmountError,
    format_naira,
    kobo_to_naira,
    kobo_to_stellar,
    naira_to_kobo,
    stellar_to_kobo,
)

kobo = st.integers(min_value=0, max_value=10**15)


@given(kobo)
def test_naira_round_trip_is_exact(amount: int) -> None:
    assert naira_to_kobo(kobo_to_naira(amount)) == amount
    assert naira_to_kobo(str(kobo_to_naira(amount))) == amount


@given(kobo)
def test_stellar_round_trip_is_exact(amount: int) -> None:
    text = kobo_to_stellar(amount)
    assert len(text.split(".")[1]) == 7
    assert stellar_to_kobo(text) == amount


@pytest.mark.parametrize("value", ["0.001", "1.005", "abc", "NaN", "Infinity", ""])
def test_naira_with_fractions_of_a_kobo_or_garbage_is_rejected(value: str) -> None:
    with pytest.raises(InexactAmountError):
        naira_to_kobo(value)


@pytest.mark.parametrize("value", ["0.0000001", "5030.0050000", "1.00000001", "x"])
def test_stellar_amounts_below_a_kobo_are_rejected(value: str) -> None:
    with pytest.raises(InexactAmountError):
        stellar_to_kobo(value)


def test_floats_never_become_money() -> None:
    with pytest.raises(TypeError):
        naira_to_kobo(10.5)  # type: ignore[arg-type]


def test_known_values() -> None:
    assert naira_to_kobo("1000.00") == 100_000
    assert naira_to_kobo(Decimal("19.3")) == 1_930
    assert stellar_to_kobo("5030.0000000") == 503_000
    assert format_naira(503_000) == "₦5,030"
    assert format_naira(50_050) == "₦500.50"

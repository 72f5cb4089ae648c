"""One reading of electricity tokens and units for every provider (providers/tokens.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billpay.providers.tokens import Tokens, read_tokens, read_units, token_digits

token_strings = st.text(alphabet="0123456789", min_size=16, max_size=24)
labels = st.sampled_from(["", "Token : ", "Token: ", "token:", "TOKEN ", "Token No: ", "Token = "])
bonus_labels = st.sampled_from(["Bonus Token : ", "Bonus Token: ", "bonus token ", "BonusToken:"])
separators = st.sampled_from(["", " ", "-"])


def grouped(digits: str, separator: str) -> str:
    return separator.join(digits[start : start + 4] for start in range(0, len(digits), 4))


@given(token_strings, labels, separators)
def test_digits_are_preserved_whatever_the_label_and_grouping(
    digits: str, label: str, separator: str
) -> None:
    assert token_digits(label + grouped(digits, separator)) == digits


@given(token_strings, labels, separators)
def test_normalising_is_idempotent(digits: str, label: str, separator: str) -> None:
    once = token_digits(label + grouped(digits, separator))

    assert once is not None
    assert token_digits(once) == once


@given(
    token_strings,
    st.lists(token_strings, min_size=1, max_size=3, unique=True),
    labels,
    bonus_labels,
    separators,
)
def test_a_bonus_token_is_never_lost(
    main: str, bonuses: list[str], label: str, bonus_label: str, separator: str
) -> None:
    bonuses = [bonus for bonus in bonuses if bonus != main]
    display = " ".join(
        [label + grouped(main, separator)]
        + [bonus_label + grouped(bonus, separator) for bonus in bonuses]
    )

    tokens = read_tokens(display)

    assert tokens == Tokens(main, tuple(bonuses))


@given(token_strings, token_strings)
def test_bonus_fields_are_bonus_and_the_same_token_twice_counts_once(main: str, bonus: str) -> None:
    tokens = read_tokens(main, f"Token : {main}", bonus_texts=[bonus])

    assert tokens.main == main
    assert tokens.bonus == (() if bonus == main else (bonus,))


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "Virtual Top Up",
        "Customer 2348056731576 credited",  # a 13-digit phone number is not a token
        "17415980564672211596777904",  # a 26-digit transaction id is not a token
    ],
)
def test_text_without_a_token_has_none(text: str | None) -> None:
    assert read_tokens(text) == Tokens()


@pytest.mark.parametrize(
    ("values", "units"),
    [
        (("79.9 kWh",), "79.9 kWh"),
        (("79.9kwh",), "79.9 kWh"),
        ((16666.666,), "16666.666 kWh"),
        (("45.2",), "45.2 kWh"),
        ((None, "Units: 12.5"), "12.5 kWh"),
        (("Token: 4216 7939 7812 0661 9049 Units: 79.9 kWh",), "79.9 kWh"),
        (("26362054405982757802",), None),  # a bare token is not an amount of energy
        (("Virtual Top Up", None, True), None),
    ],
)
def test_units_are_read_as_kwh(values: tuple[object, ...], units: str | None) -> None:
    assert read_units(*values) == units


@given(st.decimals(min_value=0, max_value=10**9, places=3, allow_nan=False))
def test_units_read_back_unchanged(amount: object) -> None:
    once = read_units(amount)

    assert once is not None
    assert read_units(once) == once

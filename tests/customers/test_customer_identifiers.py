"""Shape checks for phones, meters, smartcards and betting accounts (DESIGN §5, seed lessons)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billpay.customers.identifiers import (
    MOBILE_PREFIXES,
    IdentifierErrorCode,
    InvalidIdentifier,
    Network,
    check_betting_account,
    check_customer_for,
    check_meter_number,
    check_smartcard,
    network_hint,
    normalize_phone,
    resolve_network,
    to_international,
)
from billpay.providers.base import BillType

# --- phones ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "local"),
    [
        ("08031234567", "08031234567"),
        ("+2348031234567", "08031234567"),
        ("2348031234567", "08031234567"),
        ("+234 803 123 4567", "08031234567"),
        ("0803-123-4567", "08031234567"),
        (" 0803 123 4567 ", "08031234567"),
        ("+234-805-123-4567", "08051234567"),
        ("07012345678", "07012345678"),
        ("09161234567", "09161234567"),
        ("08011111111", "08011111111"),  # VTpass sandbox's delivering test line
    ],
)
def test_accepted_phone_forms_normalize_to_local(raw: str, local: str) -> None:
    assert normalize_phone(raw) == local


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "0803123456",  # 10 digits: short
        "080312345678",  # 12 digits: long
        "23480312345678",  # 14 digits
        "+08031234567",  # + must be followed by 234
        "+2338031234567",  # another country
        "2331234567890",  # 13 digits not starting 234
        "08001234567",  # 0800 is toll-free, not mobile
        "01234567890",  # Lagos landline
        "09012345",  # short
        "06012345678",  # no 060 mobile block
        "07001234567",  # 0700 is not a mobile block
        "08201234567",  # 0820 is past the 08xx mobile blocks
        "09181234567",  # 0918 is past the 09xx mobile blocks
        "0803123456a",
        "0803_123_4567",
        "٠٨٠٣١٢٣٤٥٦٧",  # Arabic-Indic digits: isdigit() says yes, providers say no
        "+234 (803) 123 4567",
        "2348001234567",  # toll-free in international form
    ],
)
def test_rejected_phones_raise_invalid_phone_naming_the_field(raw: str) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        normalize_phone(raw, field="recipient")
    assert caught.value.code is IdentifierErrorCode.INVALID_PHONE
    assert str(caught.value.code) == "invalid_phone"  # what the API puts in error.code
    assert caught.value.field == "recipient"
    assert caught.value.message.startswith("recipient:")
    assert str(caught.value) == caught.value.message


def test_mobile_prefixes_are_the_ncc_blocks() -> None:
    assert {"0701", "0709", "0802", "0819", "0901", "0917"} <= MOBILE_PREFIXES
    assert not {"0700", "0800", "0820", "0900", "0918", "0100", "0201"} & MOBILE_PREFIXES


@pytest.mark.parametrize(
    ("raw", "international"),
    [
        ("08031234567", "2348031234567"),
        ("+2348031234567", "2348031234567"),
        ("234 805 123 4567", "2348051234567"),
    ],
)
def test_to_international(raw: str, international: str) -> None:
    assert to_international(raw) == international


def test_to_international_rejects_a_bad_phone() -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        to_international("0800 123 4567")
    assert caught.value.field == "phone"


_local_phones = st.builds(
    lambda prefix, rest: prefix + rest,
    st.sampled_from(sorted(MOBILE_PREFIXES)),
    st.text(alphabet="0123456789", min_size=7, max_size=7),
)


@given(_local_phones)
def test_any_valid_local_phone_round_trips_through_international_forms(local: str) -> None:
    international = to_international(local)
    assert international == "234" + local[1:]
    assert normalize_phone(international) == local
    assert normalize_phone("+" + international) == local
    assert normalize_phone(local) == local


@given(_local_phones, st.lists(st.sampled_from([" ", "-", "  ", "\t"]), max_size=4), st.data())
def test_separators_anywhere_do_not_change_a_phone(
    local: str, separators: list[str], data: st.DataObject
) -> None:
    spaced = local
    for separator in separators:
        at = data.draw(st.integers(0, len(spaced)))
        spaced = spaced[:at] + separator + spaced[at:]
    assert normalize_phone(spaced) == local


@given(st.text(max_size=20))
def test_normalize_phone_either_returns_a_valid_local_number_or_raises(raw: str) -> None:
    try:
        local = normalize_phone(raw)
    except InvalidIdentifier as exc:
        assert exc.code is IdentifierErrorCode.INVALID_PHONE
    else:
        assert len(local) == 11 and local.isascii() and local.isdigit()
        assert local[:4] in MOBILE_PREFIXES


# --- network hints ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "network"),
    [
        # Seed lesson: 3-digit detection (080 → MTN) is wrong.
        ("08021234567", Network.AIRTEL),
        ("08051234567", Network.GLO),
        ("08031234567", Network.MTN),
        ("+2348061234567", Network.MTN),
        ("07031234567", Network.MTN),
        ("07041234567", Network.MTN),
        ("07025123456", Network.MTN),  # 5-digit MTN block inside 0702
        ("07026123456", Network.MTN),
        ("08101234567", Network.MTN),
        ("08131234567", Network.MTN),
        ("08141234567", Network.MTN),
        ("08161234567", Network.MTN),
        ("09031234567", Network.MTN),
        ("09061234567", Network.MTN),
        ("09131234567", Network.MTN),
        ("09161234567", Network.MTN),
        ("07011234567", Network.AIRTEL),
        ("07081234567", Network.AIRTEL),
        ("08081234567", Network.AIRTEL),
        ("08121234567", Network.AIRTEL),
        ("09011234567", Network.AIRTEL),
        ("09021234567", Network.AIRTEL),
        ("09041234567", Network.AIRTEL),
        ("09071234567", Network.AIRTEL),
        ("09111234567", Network.AIRTEL),
        ("09121234567", Network.AIRTEL),
        ("07051234567", Network.GLO),
        ("08071234567", Network.GLO),
        ("08111234567", Network.GLO),
        ("08151234567", Network.GLO),
        ("09051234567", Network.GLO),
        ("09151234567", Network.GLO),
        ("08091234567", Network.NINE_MOBILE),
        ("08171234567", Network.NINE_MOBILE),
        ("08181234567", Network.NINE_MOBILE),
        ("09081234567", Network.NINE_MOBILE),
        ("09091234567", Network.NINE_MOBILE),
        # Valid mobile blocks whose network we do not claim to know.
        ("07021234567", None),
        ("07091234567", None),
        ("08041234567", None),
        ("08011111111", None),
    ],
)
def test_network_hint_by_prefix(phone: str, network: Network | None) -> None:
    assert network_hint(phone) == network


def test_network_hint_rejects_a_bad_phone() -> None:
    with pytest.raises(InvalidIdentifier):
        network_hint("0803123")


def test_network_values_are_catalog_biller_slugs() -> None:
    assert [n.value for n in Network] == ["mtn", "airtel", "glo", "9mobile"]


@pytest.mark.parametrize(
    ("phone", "override", "resolved"),
    [
        ("08031234567", None, Network.MTN),  # no override: the prefix hint
        ("08031234567", Network.AIRTEL, Network.AIRTEL),  # ported number: the client wins
        ("08041234567", None, None),  # unknown block, no override
        ("08041234567", Network.GLO, Network.GLO),
    ],
)
def test_resolve_network_lets_the_override_win(
    phone: str, override: Network | None, resolved: Network | None
) -> None:
    assert resolve_network(phone, override) == resolved


def test_resolve_network_still_checks_the_phone_when_overridden() -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        resolve_network("1111111111111", Network.MTN, field="customer_id")
    assert caught.value.field == "customer_id"


# --- meters, smartcards, betting accounts --------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("1111111111111", "1111111111111"),  # VTpass sandbox prepaid (13)
        ("1010101010101", "1010101010101"),  # VTpass sandbox postpaid (13)
        ("45012345678", "45012345678"),  # 11
        ("450123456789", "450123456789"),  # 12
        ("4501 2345 678", "45012345678"),
        ("4501-2345-678", "45012345678"),
    ],
)
def test_meter_numbers(raw: str, normalized: str) -> None:
    assert check_meter_number(raw) == normalized


@pytest.mark.parametrize(
    "raw", ["", "9999999999", "12345678901234", "4501234567a", "45/21/23/2345", "٤٥٠١٢٣٤٥٦٧٨"]
)
def test_bad_meter_numbers(raw: str) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        check_meter_number(raw)
    assert caught.value.code is IdentifierErrorCode.INVALID_METER_NUMBER
    assert caught.value.field == "meter_number"
    assert "meter_number" in caught.value.message


@pytest.mark.parametrize(
    ("raw", "biller", "normalized"),
    [
        ("1212121212", None, "1212121212"),  # VTpass sandbox smartcard (10)
        ("1212121212", "dstv", "1212121212"),
        ("7023456789", "gotv", "7023456789"),
        ("02134567890", "startimes", "02134567890"),
        ("02134567890", None, "02134567890"),
        ("123456789012", None, "123456789012"),  # 12
        ("1212 121 212", "dstv", "1212121212"),
        ("1212121212", "showmax", "1212121212"),  # a biller without its own rule: 10-12
    ],
)
def test_smartcards(raw: str, biller: str | None, normalized: str) -> None:
    assert check_smartcard(raw, biller=biller) == normalized


@pytest.mark.parametrize(
    ("raw", "biller"),
    [
        ("123456789", None),  # 9
        ("1234567890123", None),  # 13
        ("02134567890", "dstv"),  # DStv cards are 10 digits
        ("1212121212", "startimes"),  # StarTimes cards are 11
        ("08031234567", None),  # a phone in the smartcard field
        ("+2348031234567", None),
        ("12121212ab", None),
    ],
)
def test_bad_smartcards(raw: str, biller: str | None) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        check_smartcard(raw, biller=biller)
    assert caught.value.code is IdentifierErrorCode.INVALID_SMARTCARD
    assert caught.value.field == "smartcard"


def test_smartcard_message_states_the_biller_length() -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        check_smartcard("123", field="customer_id", biller="startimes")
    assert caught.value.message.startswith("customer_id:")
    assert "(11 digits)" in caught.value.message


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("abc", "abc"),
        ("User_Name-01", "User_Name-01"),  # case kept
        ("  08031234567 ", "08031234567"),  # SportyBet ids are phone numbers
        ("a" * 32, "a" * 32),
    ],
)
def test_betting_accounts(raw: str, normalized: str) -> None:
    assert check_betting_account(raw) == normalized


@pytest.mark.parametrize("raw", ["", "ab", "a" * 33, "user name", "user@mail", "naïve"])
def test_bad_betting_accounts(raw: str) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        check_betting_account(raw)
    assert caught.value.code is IdentifierErrorCode.INVALID_BETTING_ACCOUNT
    assert caught.value.field == "betting_account"


# --- dispatch by bill type ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bill_type", "customer_id", "normalized"),
    [
        (BillType.AIRTIME, "+2348031234567", "08031234567"),
        (BillType.DATA, "0805 123 4567", "08051234567"),
        (BillType.ELECTRICITY, "1111111111111", "1111111111111"),
        (BillType.CABLE_TV, "1212121212", "1212121212"),
        (BillType.BETTING, "bettor_42", "bettor_42"),
    ],
)
def test_check_customer_for_dispatches_on_bill_type(
    bill_type: BillType, customer_id: str, normalized: str
) -> None:
    assert check_customer_for(bill_type, customer_id) == normalized


@pytest.mark.parametrize(
    ("bill_type", "customer_id", "code"),
    [
        (BillType.AIRTIME, "1111111111111", IdentifierErrorCode.INVALID_PHONE),  # a meter
        (BillType.DATA, "1212121212", IdentifierErrorCode.INVALID_PHONE),  # a smartcard
        (BillType.CABLE_TV, "08031234567", IdentifierErrorCode.INVALID_SMARTCARD),  # a phone
        (BillType.CABLE_TV, "1111111111111", IdentifierErrorCode.INVALID_SMARTCARD),  # a meter
        (BillType.ELECTRICITY, "1212121212", IdentifierErrorCode.INVALID_METER_NUMBER),  # card
        (BillType.ELECTRICITY, "+2348031234567", IdentifierErrorCode.INVALID_METER_NUMBER),
        (BillType.BETTING, "bet me", IdentifierErrorCode.INVALID_BETTING_ACCOUNT),
    ],
)
def test_check_customer_for_reports_the_wrong_kind_against_customer_id(
    bill_type: BillType, customer_id: str, code: IdentifierErrorCode
) -> None:
    with pytest.raises(InvalidIdentifier) as caught:
        check_customer_for(bill_type, customer_id)
    assert caught.value.code is code
    assert caught.value.field == "customer_id"
    assert caught.value.message.startswith("customer_id:")


def test_check_customer_for_narrows_smartcards_by_biller() -> None:
    assert check_customer_for(BillType.CABLE_TV, "02134567890", biller="startimes")
    with pytest.raises(InvalidIdentifier):
        check_customer_for(BillType.CABLE_TV, "02134567890", biller="gotv")

"""Pure Paystack rules: what counts as funded, refund states, references, answer parsing."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billpay.funding.paystack import (
    Collection,
    InitializeFailed,
    InvalidReference,
    RefundState,
    Verification,
    VerifyAnswer,
    judge_collection,
    refund_state,
    validate_reference,
)
from billpay.funding.paystack.transformers import (
    initialize_request,
    initialized_from,
    refund_created_from,
    refund_request,
    refunds_from,
    verification_from,
)
from billpay.funding.paystack.wire import Exchange, Reply

REFERENCE = "bp-20240501-abc.1="


def paid(
    amount_kobo: int = 503_000, currency: str = "NGN", status: str = "success"
) -> Verification:
    return Verification(
        reference=REFERENCE,
        answer=VerifyAnswer.TRANSACTION,
        status=status,
        amount_kobo=amount_kobo,
        currency=currency,
        transaction_id=1,
    )


def reply(http_status: int | None, body: Any = None, failure: str | None = None) -> Reply:
    exchange = Exchange("GET", "https://api.paystack.test/x", {}, http_status, failure=failure)
    return Reply(exchange, body)


def transaction(**overrides: Any) -> dict[str, Any]:
    data = {
        "id": 4099260516,
        "status": "success",
        "reference": REFERENCE,
        "amount": 503_000,
        "currency": "NGN",
        "paid_at": "2024-05-01T10:00:00.000Z",
        "gateway_response": "Successful",
        "channel": "card",
    }
    return {**data, **overrides}


def verified(data: Any, http_status: int = 200) -> Verification:
    body = {"status": True, "message": "Verification successful", "data": data}
    return verification_from(REFERENCE, reply(http_status, body))


# --- judge_collection ------------------------------------------------------------------------


def test_exact_amount_and_currency_is_funded() -> None:
    verdict = judge_collection(paid(503_000), 503_000)
    assert verdict.collection is Collection.FUNDED
    assert verdict.paid_amount_kobo == 503_000


@pytest.mark.parametrize("paid_kobo", [502_999, 500_000, 503_001, 1_006_000])
def test_wrong_amount_is_a_mismatch_never_funded(paid_kobo: int) -> None:
    verdict = judge_collection(paid(paid_kobo), 503_000)
    assert verdict.collection is Collection.MISMATCH
    assert f"paid {paid_kobo} kobo, expected 503000 kobo" in verdict.reason
    # The amount to give back is what was collected, not what was expected.
    assert verdict.paid_amount_kobo == paid_kobo


@pytest.mark.parametrize("currency", ["USD", "GHS", "ngn", ""])
def test_wrong_currency_is_a_mismatch_even_at_the_right_amount(currency: str) -> None:
    verdict = judge_collection(paid(503_000, currency=currency), 503_000)
    assert verdict.collection is Collection.MISMATCH
    assert f"paid in {currency}, expected NGN" in verdict.reason
    assert verdict.paid_currency == currency


@pytest.mark.parametrize("status", ["abandoned", "failed", "reversed"])
def test_abandoned_failed_and_reversed_hold_no_money(status: str) -> None:
    verdict = judge_collection(paid(status=status), 503_000)
    assert verdict.collection is Collection.NOT_PAID
    assert status in verdict.reason


@pytest.mark.parametrize("status", ["ongoing", "pending", "processing", "queued"])
def test_unfinished_statuses_are_pending(status: str) -> None:
    assert judge_collection(paid(status=status), 503_000).collection is Collection.PENDING


@pytest.mark.parametrize("status", ["Success", "successful", "charged", "", None])
def test_undocumented_status_is_unknown(status: str | None) -> None:
    verdict = judge_collection(paid(status=status), 503_000)  # type: ignore[arg-type]
    assert verdict.collection is Collection.UNKNOWN


def test_no_answer_is_unknown_and_not_found_is_not_paid() -> None:
    silent = Verification(REFERENCE, VerifyAnswer.NO_ANSWER, note="no answer: timeout")
    assert judge_collection(silent, 1).collection is Collection.UNKNOWN
    assert "timeout" in judge_collection(silent, 1).reason
    missing = Verification(REFERENCE, VerifyAnswer.NOT_FOUND)
    assert judge_collection(missing, 1).collection is Collection.NOT_PAID


@given(
    paid_kobo=st.integers(min_value=0, max_value=10**12),
    expected_kobo=st.integers(min_value=1, max_value=10**12),
    currency=st.sampled_from(["NGN", "USD", "GHS", "ZAR", "KES"]),
)
def test_funded_iff_exact_amount_and_currency(
    paid_kobo: int, expected_kobo: int, currency: str
) -> None:
    verdict = judge_collection(paid(paid_kobo, currency), expected_kobo)
    exact = paid_kobo == expected_kobo and currency == "NGN"
    assert (verdict.collection is Collection.FUNDED) == exact
    if not exact:
        assert verdict.collection is Collection.MISMATCH


@given(expected_kobo=st.integers(min_value=1, max_value=10**12), nudge=st.integers(-5, 5))
def test_near_misses_are_never_funded(expected_kobo: int, nudge: int) -> None:
    paid_kobo = max(expected_kobo + nudge, 0)
    funded = judge_collection(paid(paid_kobo), expected_kobo).collection is Collection.FUNDED
    assert funded == (paid_kobo == expected_kobo)


# --- refund_state ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("pending", RefundState.IN_PROGRESS),
        ("processing", RefundState.IN_PROGRESS),
        ("processed", RefundState.DONE),
        ("failed", RefundState.FAILED),
        ("needs-attention", RefundState.NEEDS_ATTENTION),
        ("needs_attention", RefundState.UNKNOWN),
        ("reversed", RefundState.UNKNOWN),
        ("", RefundState.UNKNOWN),
        (None, RefundState.UNKNOWN),
        (3, RefundState.UNKNOWN),
    ],
)
def test_refund_status_map(status: object, state: RefundState) -> None:
    assert refund_state(status) is state


@given(st.one_of(st.text(), st.none(), st.integers(), st.lists(st.text())))
def test_refund_status_map_is_total(status: object) -> None:
    assert isinstance(refund_state(status), RefundState)


# --- references and request bodies -----------------------------------------------------------


@pytest.mark.parametrize("reference", ["abc", "BP-2024.05=01", "a.b", "0123456789"])
def test_valid_references(reference: str) -> None:
    assert validate_reference(reference) == reference


@pytest.mark.parametrize(
    "reference", ["", ".", "..", "a/b", "a b", "ref_1", "réf", "a?b=c", "١٢٣", "a\n"]
)
def test_invalid_references_are_refused(reference: str) -> None:
    with pytest.raises(InvalidReference):
        validate_reference(reference)


def test_initialize_body_is_integer_kobo_in_naira() -> None:
    body = initialize_request(REFERENCE, 503_000, "payer@example.com", metadata={"p": "1"})
    assert body == {
        "email": "payer@example.com",
        "amount": 503_000,
        "reference": REFERENCE,
        "currency": "NGN",
        "metadata": {"p": "1"},
    }


@pytest.mark.parametrize("amount", [0, -1, True, 5030.0, "503000"])
def test_initialize_refuses_amounts_that_are_not_positive_kobo(amount: Any) -> None:
    with pytest.raises(ValueError, match="kobo"):
        initialize_request(REFERENCE, amount, "payer@example.com")


def test_initialize_needs_an_email() -> None:
    with pytest.raises(ValueError, match="email"):
        initialize_request(REFERENCE, 100, "  ")


def test_refund_body_omits_the_amount_for_a_full_refund() -> None:
    assert refund_request(REFERENCE) == {"transaction": REFERENCE}
    assert refund_request(REFERENCE, 3_000, "excess") == {
        "transaction": REFERENCE,
        "amount": 3_000,
        "merchant_note": "excess",
    }


# --- reading answers -------------------------------------------------------------------------


def test_verify_answer_is_read_into_a_verification() -> None:
    verification = verified(transaction())
    assert verification.answer is VerifyAnswer.TRANSACTION
    assert (verification.status, verification.amount_kobo, verification.currency) == (
        "success",
        503_000,
        "NGN",
    )
    assert verification.transaction_id == 4099260516


@pytest.mark.parametrize(
    "data",
    [
        transaction(amount=503_000.0),  # a float is never money
        transaction(amount="5030.00"),
        transaction(amount=True),
        transaction(amount=-1),
        transaction(amount=None),
        transaction(reference="someone-else"),
        transaction(status=None),
        {"status": "success"},
        None,
        [],
    ],
)
def test_odd_verify_data_is_no_answer(data: Any) -> None:
    verification = verified(data)
    assert verification.answer is VerifyAnswer.NO_ANSWER
    assert judge_collection(verification, 503_000).collection is Collection.UNKNOWN


@pytest.mark.parametrize(
    "body",
    [
        None,
        "<html>Bad gateway</html>",
        {"status": "true", "data": transaction()},  # status must be a real boolean
        {"message": "ok", "data": transaction()},
        {"status": False, "message": "Invalid key"},
    ],
)
def test_unreadable_or_refused_verify_is_no_answer(body: Any) -> None:
    assert verification_from(REFERENCE, reply(200, body)).answer is VerifyAnswer.NO_ANSWER


@pytest.mark.parametrize("http_status", [500, 502, 503, 504, 401, 429])
def test_error_statuses_are_no_answer(http_status: int) -> None:
    body = {"status": True, "message": "Verification successful", "data": transaction()}
    verification = verification_from(REFERENCE, reply(http_status, body))
    assert verification.answer is VerifyAnswer.NO_ANSWER


def test_unknown_reference_is_not_found() -> None:
    body = {"status": False, "message": "Transaction reference not found"}
    assert verification_from(REFERENCE, reply(400, body)).answer is VerifyAnswer.NOT_FOUND


def test_a_404_is_no_answer_not_a_missing_transaction() -> None:
    body = {"status": False, "message": "Not Found"}
    assert verification_from(REFERENCE, reply(404, body)).answer is VerifyAnswer.NO_ANSWER


def test_timeout_is_no_answer() -> None:
    verification = verification_from(REFERENCE, reply(None, failure="timeout"))
    assert verification.answer is VerifyAnswer.NO_ANSWER
    assert verification.note == "no answer: timeout"


def test_initialize_answer_for_another_reference_is_a_failure() -> None:
    data = {"authorization_url": "u", "access_code": "c", "reference": "other"}
    with pytest.raises(InitializeFailed, match="other"):
        initialized_from(REFERENCE, reply(200, {"status": True, "data": data}))


def test_refund_refused_by_paystack_is_rejected_but_a_5xx_is_unknown() -> None:
    refused = {"status": False, "message": "Transaction has been fully reversed"}
    rejected = refund_created_from(reply(400, refused))
    assert rejected.state is RefundState.REJECTED
    assert "fully reversed" in rejected.note
    assert refund_created_from(reply(500, refused)).state is RefundState.UNKNOWN
    assert refund_created_from(reply(None, failure="timeout")).state is RefundState.UNKNOWN


def refund_item(refund_id: int, transaction_id: int, status: str = "pending") -> dict[str, Any]:
    return {
        "id": refund_id,
        "status": status,
        "amount": 1000,
        "currency": "NGN",
        "transaction": transaction_id,
    }


def test_refund_listing_keeps_only_the_transactions_refunds() -> None:
    body = {
        "status": True,
        "message": "Refunds retrieved",
        "data": [refund_item(1, 77), refund_item(2, 88, "processed")],
        "meta": {"total": 2, "pageCount": 1},
    }
    listing = refunds_from(reply(200, body), 77)
    assert listing.complete
    assert [refund.refund_id for refund in listing.refunds] == [1]


def test_refund_listing_over_several_pages_is_incomplete() -> None:
    body = {"status": True, "data": [refund_item(2, 88)], "meta": {"pageCount": 3}}
    listing = refunds_from(reply(200, body), 77)
    assert not listing.complete
    assert listing.refunds == ()

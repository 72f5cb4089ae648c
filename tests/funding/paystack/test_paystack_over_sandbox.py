"""PaystackClient against the Paystack sandbox over real HTTP: collections, refunds, faults."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import asdict
from typing import Any

import httpx
import pytest
from paystack_flows import EMAIL, pay

from billpay.config import Settings
from billpay.funding.paystack import (
    Collection,
    InitializeFailed,
    PaystackClient,
    RefundState,
    VerifyAnswer,
    judge_collection,
)
from billpay.sandbox.paystack import Faults, PaystackSandboxState, create_app
from billpay.sandbox.server import serve

SECRET = "sk_test_over_sandbox_0123456789"


@pytest.fixture(scope="module")
def sandbox_state() -> PaystackSandboxState:
    return PaystackSandboxState()


@pytest.fixture(scope="module")
def sandbox_url(sandbox_state: PaystackSandboxState) -> Iterator[str]:
    with serve(create_app(sandbox_state, secret_key=SECRET)) as server:
        yield server.url


@pytest.fixture(autouse=True)
def _fresh_sandbox(sandbox_state: PaystackSandboxState) -> None:
    sandbox_state.reset()


def settings_for(url: str, **overrides: Any) -> Settings:
    values = {"paystack_base_url": url, "paystack_secret_key": SECRET, **overrides}
    return Settings.model_validate({"provider_timeout_seconds": 2.0, **values})


@pytest.fixture
async def paystack(sandbox_url: str) -> AsyncIterator[PaystackClient]:
    async with PaystackClient(settings_for(sandbox_url)) as client:
        yield client


@pytest.fixture
async def browser(sandbox_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The payer's side and the sandbox controls: no API key."""
    async with httpx.AsyncClient(base_url=sandbox_url, trust_env=False) as client:
        yield client


async def collected(paystack: PaystackClient, browser: httpx.AsyncClient, reference: str) -> int:
    """A paid ₦5,030 collection; returns Paystack's transaction id."""
    await paystack.initialize(reference, 503_000, EMAIL)
    await pay(browser, reference)
    verification = await paystack.verify(reference)
    assert verification.transaction_id is not None
    return verification.transaction_id


async def test_a_paid_checkout_is_funded(
    paystack: PaystackClient, browser: httpx.AsyncClient
) -> None:
    initialized = await paystack.initialize("bp-funded-1", 503_000, EMAIL)
    assert initialized.reference == "bp-funded-1"
    page = await browser.get(initialized.authorization_url)
    assert page.status_code == 200
    assert "Pay ₦5,030" in page.text
    unpaid = await paystack.verify("bp-funded-1")
    assert judge_collection(unpaid, 503_000).collection is Collection.NOT_PAID  # abandoned
    await pay(browser, "bp-funded-1")
    verdict = judge_collection(await paystack.verify("bp-funded-1"), 503_000)
    assert verdict.collection is Collection.FUNDED


@pytest.mark.parametrize(
    ("how", "reason"),
    [
        ({"amount_kobo": 500_000}, "paid 500000 kobo, expected 503000 kobo"),
        ({"currency": "USD"}, "paid in USD, expected NGN"),
    ],
)
async def test_a_wrong_payment_is_a_mismatch(
    paystack: PaystackClient, browser: httpx.AsyncClient, how: dict[str, Any], reason: str
) -> None:
    await paystack.initialize("bp-wrong-1", 503_000, EMAIL)
    await pay(browser, "bp-wrong-1", **how)
    verdict = judge_collection(await paystack.verify("bp-wrong-1"), 503_000)
    assert verdict.collection is Collection.MISMATCH
    assert reason in verdict.reason


@pytest.mark.parametrize("outcome", ["failed", "abandoned"])
async def test_failed_and_abandoned_payments_are_not_paid(
    paystack: PaystackClient, browser: httpx.AsyncClient, outcome: str
) -> None:
    await paystack.initialize("bp-unpaid-1", 503_000, EMAIL)
    await pay(browser, "bp-unpaid-1", outcome=outcome)
    verification = await paystack.verify("bp-unpaid-1")
    assert verification.status == outcome
    assert judge_collection(verification, 503_000).collection is Collection.NOT_PAID


async def test_an_unknown_reference_is_not_found(paystack: PaystackClient) -> None:
    verification = await paystack.verify("never-initialized")
    assert verification.answer is VerifyAnswer.NOT_FOUND


async def test_a_reused_reference_cannot_be_initialized(paystack: PaystackClient) -> None:
    await paystack.initialize("bp-dup-1", 100_000, EMAIL)
    with pytest.raises(InitializeFailed, match="Duplicate Transaction Reference"):
        await paystack.initialize("bp-dup-1", 100_000, EMAIL)


async def test_a_wrong_key_is_never_a_verdict(sandbox_url: str) -> None:
    wrong = settings_for(sandbox_url, paystack_secret_key="sk_test_wrong")
    async with PaystackClient(wrong) as client:
        verification = await client.verify("anything")
    assert verification.answer is VerifyAnswer.NO_ANSWER
    assert "Invalid key" in verification.note


async def test_refund_runs_to_processed(
    paystack: PaystackClient, browser: httpx.AsyncClient
) -> None:
    await collected(paystack, browser, "bp-refund-1")
    refund = await paystack.create_refund("bp-refund-1", merchant_note="vend failed")
    assert (refund.state, refund.status, refund.amount_kobo) == (
        RefundState.IN_PROGRESS,
        "pending",
        503_000,
    )
    assert refund.refund_id is not None
    for expected in ("processing", "processed"):
        advanced = await browser.post(f"/_sandbox/refunds/{refund.refund_id}/advance")
        assert advanced.json()["data"]["status"] == expected
    fetched = await paystack.fetch_refund(refund.refund_id)
    assert fetched.state is RefundState.DONE
    reversed_ = await paystack.verify("bp-refund-1")
    assert reversed_.status == "reversed"
    assert judge_collection(reversed_, 503_000).collection is Collection.NOT_PAID
    again = await paystack.create_refund("bp-refund-1")
    assert again.state is RefundState.REJECTED
    assert "fully reversed" in again.note


@pytest.mark.parametrize(
    ("outcome", "state"),
    [("failed", RefundState.FAILED), ("needs-attention", RefundState.NEEDS_ATTENTION)],
)
async def test_refund_forced_to_fail_or_need_attention(
    paystack: PaystackClient,
    browser: httpx.AsyncClient,
    outcome: str,
    state: RefundState,
) -> None:
    await collected(paystack, browser, "bp-refund-2")
    faults = await browser.post(
        "/_sandbox/faults", json={"refund_outcome": outcome, "refund_auto_advance_after": 1}
    )
    assert faults.status_code == 200
    refund = await paystack.create_refund("bp-refund-2")
    assert refund.refund_id is not None
    assert (await paystack.fetch_refund(refund.refund_id)).status == "processing"
    assert (await paystack.fetch_refund(refund.refund_id)).state is state


async def test_a_failed_refund_leaves_the_money_refundable(
    paystack: PaystackClient, browser: httpx.AsyncClient, sandbox_state: PaystackSandboxState
) -> None:
    await collected(paystack, browser, "bp-refund-3")
    sandbox_state.faults = Faults(refund_outcome="failed", refund_auto_advance_after=1)
    first = await paystack.create_refund("bp-refund-3")
    assert first.refund_id is not None
    await paystack.fetch_refund(first.refund_id)
    assert (await paystack.fetch_refund(first.refund_id)).state is RefundState.FAILED
    assert (await paystack.verify("bp-refund-3")).status == "success"
    sandbox_state.faults = Faults()
    assert (await paystack.create_refund("bp-refund-3")).state is RefundState.IN_PROGRESS


async def test_refund_advances_by_itself_after_n_fetches(
    paystack: PaystackClient, browser: httpx.AsyncClient, sandbox_state: PaystackSandboxState
) -> None:
    await collected(paystack, browser, "bp-refund-4")
    sandbox_state.faults.refund_auto_advance_after = 2
    refund = await paystack.create_refund("bp-refund-4", amount_kobo=3_000)
    assert refund.refund_id is not None
    statuses = [(await paystack.fetch_refund(refund.refund_id)).status for _ in range(5)]
    assert statuses == ["pending", "processing", "processing", "processed", "processed"]


async def test_a_refund_that_timed_out_is_found_by_listing(
    sandbox_url: str,
    paystack: PaystackClient,
    browser: httpx.AsyncClient,
    sandbox_state: PaystackSandboxState,
) -> None:
    transaction_id = await collected(paystack, browser, "bp-refund-5")
    sandbox_state.faults = Faults(timeout_next=1, hang_seconds=1.0)
    async with PaystackClient(settings_for(sandbox_url, provider_timeout_seconds=0.2)) as hasty:
        lost = await hasty.create_refund("bp-refund-5")
    assert lost.state is RefundState.UNKNOWN
    assert lost.exchange is not None and lost.exchange.failure == "timeout"
    # The refund exists all the same: look before creating another.
    listing = await paystack.list_refunds(transaction_id)
    assert listing.complete
    assert [refund.amount_kobo for refund in listing.refunds] == [503_000]


async def test_a_5xx_is_unknown_and_the_next_call_answers(
    paystack: PaystackClient, browser: httpx.AsyncClient, sandbox_state: PaystackSandboxState
) -> None:
    await collected(paystack, browser, "bp-5xx-1")
    sandbox_state.faults.fail_next = 1
    first = await paystack.verify("bp-5xx-1")
    assert judge_collection(first, 503_000).collection is Collection.UNKNOWN
    assert first.exchange is not None and first.exchange.http_status == 500
    second = await paystack.verify("bp-5xx-1")
    assert judge_collection(second, 503_000).collection is Collection.FUNDED


async def test_no_secret_is_stored_or_logged(
    paystack: PaystackClient, browser: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    initialized = await paystack.initialize("bp-secret-1", 503_000, EMAIL)
    await pay(browser, "bp-secret-1")
    verification = await paystack.verify("bp-secret-1")
    refund = await paystack.create_refund("bp-secret-1")
    assert refund.refund_id is not None
    fetched = await paystack.fetch_refund(refund.refund_id)
    stored = json.dumps([asdict(result) for result in (initialized, verification, refund, fetched)])
    assert SECRET not in stored
    assert "AUTH_" not in stored  # card authorizations from verify and refund answers
    assert SECRET not in caplog.text

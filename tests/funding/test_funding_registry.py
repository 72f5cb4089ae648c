"""The funding registry offers balance always, a payer-funded method only when configured, and
collects every offered source's periodic jobs for the worker."""

from __future__ import annotations

import pytest

from billpay.config import Settings
from billpay.errors import FundingMethodUnavailable
from billpay.funding.base import WebhookHint
from billpay.funding.paystack import collection
from billpay.funding.paystack import refunder as paystack_refunder
from billpay.funding.registry import build_funding_registry
from billpay.funding.stellar import source as stellar_source
from billpay.payments.schemas import FundingMethod
from billpay.sandbox.app import sandbox_settings

NO_FUNDING = {
    field: None
    for field in Settings.model_fields
    if field.startswith(("paystack_", "stellar_", "cngn_"))
    and Settings.model_fields[field].default is None
}


def settings(**fields: object) -> Settings:
    return Settings().model_copy(update={**NO_FUNDING, **fields})


def everything() -> Settings:
    return settings(**sandbox_settings("http://sandbox.test"))


def test_balance_alone_is_offered_when_nothing_is_configured() -> None:
    registry = build_funding_registry(settings())

    assert registry.configured() == (FundingMethod.BALANCE,)
    assert registry.periodic_jobs() == ()
    for method in (FundingMethod.PAYSTACK, FundingMethod.STELLAR):
        with pytest.raises(FundingMethodUnavailable):
            registry.get(method)


def test_configured_methods_are_offered_under_their_own_name() -> None:
    registry = build_funding_registry(everything())

    assert set(registry.configured()) == set(FundingMethod)
    for method in FundingMethod:
        assert registry.get(method).method is method
        assert registry.named(method.value) is registry.get(method)


def test_a_name_that_is_no_funding_method_finds_nothing() -> None:
    registry = build_funding_registry(everything())

    assert registry.named("vtpass") is None
    assert registry.named("stripe") is None


def test_the_worker_gets_the_jobs_of_the_offered_sources_in_order() -> None:
    assert build_funding_registry(everything()).periodic_jobs() == (
        collection.verify_awaiting,
        paystack_refunder.run_refunds,
        stellar_source.run_refunds,  # loads the refunder (and stellar-sdk) on its first beat
    )


def test_only_balance_holds_the_money_as_the_payment_is_created() -> None:
    registry = build_funding_registry(everything())

    assert [m for m in FundingMethod if registry.get(m).funded_at_create] == [FundingMethod.BALANCE]


@pytest.mark.parametrize(
    ("kind", "hint"),
    [
        ("charge.success", WebhookHint.FUNDS),
        ("refund.processed", WebhookHint.REFUND),
        ("refund.failed", WebhookHint.REFUND),
        ("transfer.success", WebhookHint.NONE),
    ],
)
def test_paystack_webhooks_prompt_confirm_or_refund(kind: str, hint: WebhookHint) -> None:
    paystack = build_funding_registry(everything()).get(FundingMethod.PAYSTACK)

    assert paystack.webhook_hint(kind) is hint


@pytest.mark.parametrize("method", [FundingMethod.BALANCE, FundingMethod.STELLAR])
def test_sources_without_webhooks_parse_none(method: FundingMethod) -> None:
    source = build_funding_registry(everything()).get(method)

    assert source.parse_webhook({}, b"{}") is None

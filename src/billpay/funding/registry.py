"""Funding method → source. A method with no configuration is not offered (422 on create)."""

from __future__ import annotations

from billpay.config import Settings
from billpay.funding.base import FundingSource
from billpay.funding.paystack.source import PaystackFunding
from billpay.funding.stellar.source import StellarConfig, StellarFunding
from billpay.payments.schemas import FundingMethod


def build_funding_sources(settings: Settings) -> dict[FundingMethod, FundingSource]:
    sources: dict[FundingMethod, FundingSource] = {}
    if settings.paystack_base_url and settings.paystack_secret_key:
        sources[FundingMethod.PAYSTACK] = PaystackFunding(settings)
    stellar = StellarConfig.from_settings(settings)
    if stellar is not None:
        sources[FundingMethod.STELLAR] = StellarFunding(stellar)
    return sources

"""Funding method → source. A method with no configuration is not offered (422 on create)."""

from __future__ import annotations

from billpay.config import Settings
from billpay.funding.base import FundingSource
from billpay.payments.schemas import FundingMethod


def build_funding_sources(settings: Settings) -> dict[FundingMethod, FundingSource]:
    sources: dict[FundingMethod, FundingSource] = {}
    return sources

"""Funding method → source: the methods this process offers, and how they are built.

Balance is always offered; a payer-funded method only when it is configured (otherwise a
payment asking for it is refused with a 422).
"""

from __future__ import annotations

from collections.abc import Iterable

from billpay.config import Settings
from billpay.errors import FundingMethodUnavailable
from billpay.funding.balance.source import BalanceFunding
from billpay.funding.base import FundingJob, FundingSource
from billpay.funding.paystack.connection import paystack_configured
from billpay.funding.paystack.source import PaystackFunding
from billpay.funding.stellar.config import StellarConfig
from billpay.funding.stellar.source import StellarFunding
from billpay.payments.schemas import FundingMethod


class FundingRegistry:
    def __init__(self, sources: Iterable[FundingSource]) -> None:
        self._sources = {source.method: source for source in sources}

    def get(self, method: FundingMethod) -> FundingSource:
        """The source of ``method``; 422 when this server does not offer it."""
        source = self._sources.get(method)
        if source is None:
            raise FundingMethodUnavailable(
                f"funding_method: {method.value!r} is not configured on this server",
                details={"field": "funding_method"},
            )
        return source

    def named(self, name: str) -> FundingSource | None:
        """The offered source called ``name`` (as in a webhook's path), if any."""
        try:
            return self._sources.get(FundingMethod(name))
        except ValueError:
            return None

    def configured(self) -> tuple[FundingMethod, ...]:
        return tuple(self._sources)

    def periodic_jobs(self) -> tuple[FundingJob, ...]:
        """Every offered source's periodic jobs, in the order the sources were registered."""
        return tuple(job for source in self._sources.values() for job in source.periodic_jobs())


def build_funding_registry(settings: Settings) -> FundingRegistry:
    sources: list[FundingSource] = [BalanceFunding()]
    if paystack_configured(settings):
        sources.append(PaystackFunding(settings))
    stellar = StellarConfig.from_settings(settings)
    if stellar is not None:
        sources.append(StellarFunding(stellar))
    return FundingRegistry(sources)

"""cNGN on Stellar as a ``FundingSource`` (DESIGN §3): the payer sends the payment's total in
cNGN to the system account with the memo ``BILL-<short id>``.

``open`` only says what to do: the deposit watcher (``watcher.py``) confirms the money and the
refunder (``refunder.py``) sends money back. The asset is matched on code *and* issuer (codes
are case-sensitive and anyone can issue a ``cNGN``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from stellar_sdk import Keypair

from billpay.config import Settings
from billpay.funding.base import FundingOpened, FundingSource
from billpay.funding.stellar.memo import payment_memo
from billpay.funding.stellar.records import StellarAsset
from billpay.models import Payment
from billpay.money import kobo_to_stellar
from billpay.payments.schemas import FundingMethod


@dataclass(frozen=True)
class StellarConfig:
    """Everything Stellar funding needs, read once from the settings."""

    horizon_url: str
    network_passphrase: str
    system_keypair: Keypair = field(repr=False)  # signs refunds: never printed
    asset: StellarAsset  # cNGN: code + issuer
    payment_expiry: timedelta

    @property
    def account(self) -> str:
        """The system account: where deposits arrive and refunds leave from."""
        public_key: str = self.system_keypair.public_key
        return public_key

    @classmethod
    def from_settings(cls, settings: Settings) -> StellarConfig | None:
        """None unless Horizon, the system secret and the cNGN issuer are all configured."""
        if not (
            settings.stellar_horizon_url
            and settings.stellar_system_secret
            and settings.cngn_asset_issuer
        ):
            return None
        return cls(
            horizon_url=settings.stellar_horizon_url,
            network_passphrase=settings.stellar_network_passphrase,
            system_keypair=Keypair.from_secret(settings.stellar_system_secret),
            asset=StellarAsset(settings.cngn_asset_code, settings.cngn_asset_issuer),
            payment_expiry=timedelta(seconds=settings.stellar_payment_expiry_seconds),
        )


class StellarFunding:
    """Tells the payer how to pay a payment's total in cNGN."""

    method = FundingMethod.STELLAR.value

    def __init__(self, config: StellarConfig) -> None:
        self.config = config

    async def open(self, session: AsyncSession, payment: Payment) -> FundingOpened:
        expires_at = datetime.now(UTC) + self.config.payment_expiry
        return FundingOpened(
            instructions={
                "method": self.method,
                "destination": self.config.account,
                "asset_code": self.config.asset.code,
                "asset_issuer": self.config.asset.issuer,
                "amount": kobo_to_stellar(payment.total_kobo),
                "memo": payment_memo(payment.short_id),  # ≤ 28 bytes, checked by stellar-sdk
                "memo_type": "text",
                "expires_at": expires_at.isoformat(),
            },
            expires_at=expires_at,
        )


def configured(sources: Mapping[FundingMethod, FundingSource]) -> StellarFunding | None:
    """The Stellar source of this process, when Stellar is configured."""
    source = sources.get(FundingMethod.STELLAR)
    return source if isinstance(source, StellarFunding) else None

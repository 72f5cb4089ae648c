"""What Stellar funding needs, read once from the settings.

The asset is matched on code *and* issuer (codes are case-sensitive and anyone can issue a
``cNGN``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from stellar_sdk import Keypair

from billpay.config import Settings
from billpay.funding.stellar.records import StellarAsset


@dataclass(frozen=True)
class StellarConfig:
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

"""What Stellar funding needs, read once from the settings.

The asset is matched on code *and* issuer (codes are case-sensitive and anyone can issue a
``cNGN``).

stellar-sdk takes half a second to import: it is loaded on first use of the keypair (a
refund, an instruction, the watcher), not by every process that builds this at start-up.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING

from billpay.config import ConfigurationError, Settings
from billpay.funding.stellar.records import StellarAsset

if TYPE_CHECKING:
    from stellar_sdk import Keypair

_SECRET_SEED_VERSION = 18 << 3  # StrKey's version byte of an ed25519 secret seed ("S…")


def _check_secret_seed(secret: str) -> None:
    """Refuse a malformed STELLAR_SYSTEM_SECRET at start-up, as stellar-sdk's decoding would
    later: base32 of the version byte, 32 bytes of seed and their CRC16-XMODEM checksum."""
    try:
        raw = base64.b32decode(secret)
    except (binascii.Error, ValueError):
        raw = b""
    checksum = binascii.crc_hqx(raw[:-2], 0).to_bytes(2, "little")
    if len(raw) != 35 or raw[0] != _SECRET_SEED_VERSION or raw[-2:] != checksum:
        raise ConfigurationError("STELLAR_SYSTEM_SECRET is not a Stellar secret seed (S…)")


@dataclass(frozen=True)
class StellarConfig:
    horizon_url: str
    network_passphrase: str
    system_secret: str = field(repr=False)  # signs refunds: never printed
    asset: StellarAsset  # cNGN: code + issuer
    payment_expiry: timedelta

    @cached_property
    def system_keypair(self) -> Keypair:
        from stellar_sdk import Keypair

        return Keypair.from_secret(self.system_secret)

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
        _check_secret_seed(settings.stellar_system_secret)
        return cls(
            horizon_url=settings.stellar_horizon_url,
            network_passphrase=settings.stellar_network_passphrase,
            system_secret=settings.stellar_system_secret,
            asset=StellarAsset(settings.cngn_asset_code, settings.cngn_asset_issuer),
            payment_expiry=timedelta(seconds=settings.stellar_payment_expiry_seconds),
        )

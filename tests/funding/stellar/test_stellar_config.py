"""Stellar's configuration is read at every start, without loading stellar-sdk: a malformed
system secret is still refused then, in one line naming the variable."""

from __future__ import annotations

import pytest
from stellar_sdk import Keypair

from billpay.config import ConfigurationError, Settings
from billpay.funding.stellar.config import StellarConfig


def stellar_settings(secret: str) -> Settings:
    return Settings().model_copy(
        update={
            "stellar_horizon_url": "http://127.0.0.1:9/horizon",
            "stellar_system_secret": secret,
            "cngn_asset_issuer": Keypair.random().public_key,
        }
    )


def test_a_secret_seed_gives_its_account_and_is_never_printed() -> None:
    system = Keypair.random()

    config = StellarConfig.from_settings(stellar_settings(system.secret))

    assert config is not None
    assert config.account == system.public_key
    assert system.secret not in repr(config)


def _with_one_character_changed(secret: str) -> str:
    changed = "A" if secret[10] != "A" else "B"
    return secret[:10] + changed + secret[11:]


@pytest.mark.parametrize(
    "secret",
    [
        Keypair.random().public_key,  # an account id, not its secret
        _with_one_character_changed(Keypair.random().secret),  # the checksum no longer holds
        Keypair.random().secret[:-1],
        Keypair.random().secret.lower(),
        "not-a-seed",
    ],
)
def test_a_malformed_system_secret_is_refused_naming_the_variable(secret: str) -> None:
    with pytest.raises(ConfigurationError, match="STELLAR_SYSTEM_SECRET"):
        StellarConfig.from_settings(stellar_settings(secret))

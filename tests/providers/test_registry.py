"""The registry builds each configured provider from its folder's registration, and no other."""

from __future__ import annotations

from billpay.config import Settings
from billpay.providers.base import BillProvider, ProviderName
from billpay.providers.registry import REGISTRATIONS, build_providers
from billpay.sandbox.app import sandbox_settings

NOTHING_CONFIGURED = {
    field: None
    for field in Settings.model_fields
    if field.startswith(("vtpass_", "flutterwave_", "interswitch_"))
    and Settings.model_fields[field].default is None
}


def settings(**fields: object) -> Settings:
    return Settings().model_copy(update={**NOTHING_CONFIGURED, **fields})


def test_every_provider_has_one_registration() -> None:
    assert sorted(registration.name for registration in REGISTRATIONS) == sorted(ProviderName)


async def test_configured_providers_are_built_under_their_own_name() -> None:
    providers = build_providers(settings(**sandbox_settings("http://sandbox.test")))

    assert set(providers) == set(ProviderName)
    for name, provider in providers.items():
        assert isinstance(provider, BillProvider)
        assert provider.name is name
        await provider.aclose()


async def test_a_provider_without_credentials_is_not_built() -> None:
    overlay = sandbox_settings("http://sandbox.test") | {"vtpass_public_key": None}

    providers = build_providers(settings(**overlay))

    assert ProviderName.VTPASS not in providers
    assert build_providers(settings()) == {}
    for provider in providers.values():
        await provider.aclose()

"""Operators switch a provider off or on at run time, for every biller or one (issue #13).

The switch is a row in ``provider_switches`` with who and why; every worker reads it within
``routing_refresh_seconds`` (``Routes``), so no restart is needed. Switching a provider off
never touches payments already with it: their attempts are still requeried and settled.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from billpay.errors import ReasonRequired, ReasonTooLong, UnknownProvider
from billpay.providers.base import ProviderName
from billpay.routing import repository as repo
from billpay.routing.breaker import OVERALL
from billpay.routing.repository import SwitchRow

MAX_REASON = 500


def provider_named(name: str) -> ProviderName:
    try:
        return ProviderName(name.strip().lower())
    except ValueError:
        known = ", ".join(provider.value for provider in ProviderName)
        raise UnknownProvider(
            f"provider: {name!r} is not a provider billpay knows ({known})"
        ) from None


async def switch(
    session: AsyncSession,
    provider: str,
    *,
    enabled: bool,
    actor: str,
    reason: str,
    biller: str | None = None,
) -> SwitchRow:
    """Record the switch (the latest change per provider and biller is kept)."""
    name = provider_named(provider)
    reason = reason.strip()
    if not reason:
        raise ReasonRequired("reason: say why the provider is switched (kept with the change)")
    if len(reason) > MAX_REASON:
        raise ReasonTooLong(f"reason: at most {MAX_REASON} characters")
    key = (biller or "").strip().lower() or OVERALL
    return await repo.set_switch(session, name.value, key, enabled, actor, reason)


async def switches(session: AsyncSession) -> list[SwitchRow]:
    """Every switch ever changed, provider then biller ('' = every biller first)."""
    return sorted(await repo.switches(session), key=lambda row: (row.provider, row.biller))

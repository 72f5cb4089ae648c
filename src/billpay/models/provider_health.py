from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from billpay.models.base import Base


class ProviderBreaker(Base):
    """A provider's circuit breaker, shared by every worker (biller '' = the provider overall).

    No row means closed. ``open_until``: while open, when a trial may start; while half-open,
    when the trial's leave lapses (its answer never came) and another trial may start."""

    __tablename__ = "provider_breakers"

    provider: Mapped[str] = mapped_column(String(20), primary_key=True)
    biller: Mapped[str] = mapped_column(String(100), primary_key=True)
    state: Mapped[str] = mapped_column(String(20))  # a routing.breaker.BreakerState value
    reason: Mapped[str | None] = mapped_column(Text)
    since: Mapped[datetime] = mapped_column(server_default=func.now())
    open_until: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class ProviderSwitch(Base):
    """An operator's switch on a provider (biller '' = for every biller), with who and why.

    No row means enabled; the row of the last change is kept when a provider is re-enabled."""

    __tablename__ = "provider_switches"

    provider: Mapped[str] = mapped_column(String(20), primary_key=True)
    biller: Mapped[str] = mapped_column(String(100), primary_key=True)
    enabled: Mapped[bool]
    actor: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(String(500))
    changed_at: Mapped[datetime] = mapped_column(server_default=func.now())

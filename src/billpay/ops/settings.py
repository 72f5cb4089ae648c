"""Operator access: the admin's token (``BILLPAY_ADMIN_TOKEN``), who may read ``/metrics``, and
which proxies' forwarded headers are believed."""

from __future__ import annotations

import ipaddress
import os
import stat
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from billpay.operators.tokens import name_problem, new_token, token_problem
from billpay.redact import remember_secrets

ADMIN_TOKEN_ENV = "BILLPAY_ADMIN_TOKEN"  # noqa: S105 (the variable's name, not a value)
METRICS_TOKEN_ENV = "BILLPAY_METRICS_TOKEN"  # noqa: S105
ADMIN_TOKEN_FILE = "admin-token"  # noqa: S105 (in the data folder, when none is configured)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_GENERATE = "make one: python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"


class OperatorSettingsError(ValueError):
    """Operator access is misconfigured (a weak token, a bad proxy address): refuse to start."""


class OpsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    # None: only operators added with ``billpay operators add`` can sign in.
    admin_token: SecretStr | None = Field(default=None, validation_alias=ADMIN_TOKEN_ENV)
    # The identity the admin token signs in as (and is recorded on resolutions as).
    admin_name: str = Field(default="admin", validation_alias="BILLPAY_ADMIN_NAME")
    # A token Prometheus sends to read /metrics (operators' tokens work too); without any,
    # /metrics is closed.
    metrics_token: SecretStr | None = Field(default=None, validation_alias=METRICS_TOKEN_ENV)
    # Comma-separated addresses or networks of TLS-terminating proxies: only their
    # X-Forwarded-Proto / X-Forwarded-For are believed (Secure cookies, sign-in throttling).
    trusted_proxies: str = Field(default="", validation_alias="BILLPAY_TRUSTED_PROXIES")

    @field_validator("admin_token", "metrics_token")
    @classmethod
    def _strong(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value():
            problem = token_problem(value.get_secret_value())
            if problem is not None:
                raise ValueError(f"the token {problem} ({_GENERATE})")
        return value

    @field_validator("admin_name")
    @classmethod
    def _name(cls, value: str) -> str:
        problem = name_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        _parse_networks(value)
        return value

    @property
    def trusted_networks(self) -> tuple[Network, ...]:
        return _parse_networks(self.trusted_proxies)

    def admin_secret(self) -> str | None:
        token = self.admin_token.get_secret_value() if self.admin_token else ""
        return token or None

    def metrics_secret(self) -> str | None:
        token = self.metrics_token.get_secret_value() if self.metrics_token else ""
        return token or None


def _parse_networks(value: str) -> tuple[Network, ...]:
    try:
        return tuple(
            ipaddress.ip_network(part.strip(), strict=False)
            for part in value.split(",")
            if part.strip()
        )
    except ValueError as exc:
        raise ValueError(f"not an address or network: {exc}") from exc


_ENV_NAMES = {
    "admin_token": ADMIN_TOKEN_ENV,
    "metrics_token": METRICS_TOKEN_ENV,
    "admin_name": "BILLPAY_ADMIN_NAME",
    "trusted_proxies": "BILLPAY_TRUSTED_PROXIES",
}


@lru_cache(maxsize=1)
def get_ops_settings() -> OpsSettings:
    """The process's operator settings; a weak token stops it with one clear sentence."""
    try:
        settings = OpsSettings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{_ENV_NAMES.get(str(error['loc'][0]), error['loc'][0])}: "
            f"{str(error['msg']).removeprefix('Value error, ')}"
            for error in exc.errors()
        )
        raise OperatorSettingsError(f"operator access is misconfigured: {problems}") from None
    remember_secrets([settings.admin_secret(), settings.metrics_secret()])
    return settings


def ensure_admin_token(data_dir: Path) -> Path | None:
    """For ``billpay up``: without ``BILLPAY_ADMIN_TOKEN``, the admin's token is created once
    and kept in the data folder (owner-readable only), so it is the same on every start.

    Returns the file the token is in, or None when the environment configures it.
    """
    if get_ops_settings().admin_secret() is not None:
        return None
    path = data_dir / ADMIN_TOKEN_FILE
    if not path.exists():
        path.write_text(new_token() + "\n")
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)
    os.environ[ADMIN_TOKEN_ENV] = path.read_text().strip()
    get_ops_settings.cache_clear()
    get_ops_settings()  # a hand-edited weak token is refused here too
    return path

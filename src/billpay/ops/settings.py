"""The operator token (``BILLPAY_ADMIN_TOKEN``): who may use ``/v1/ops`` and the dashboard."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

ADMIN_TOKEN_ENV = "BILLPAY_ADMIN_TOKEN"  # noqa: S105 (the variable's name, not a value)


class OpsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    # None: operator access is disabled (every ops request and dashboard login is refused).
    admin_token: SecretStr | None = Field(default=None, validation_alias=ADMIN_TOKEN_ENV)


@lru_cache(maxsize=1)
def get_ops_settings() -> OpsSettings:
    return OpsSettings()


def ensure_admin_token() -> str | None:
    """Generate an operator token when none is configured, and return it (None otherwise).

    A generated token lives in this process's environment only: it changes on every start.
    """
    configured = get_ops_settings().admin_token
    if configured is not None and configured.get_secret_value():
        return None
    token = secrets.token_urlsafe(32)
    os.environ[ADMIN_TOKEN_ENV] = token
    get_ops_settings.cache_clear()
    return token

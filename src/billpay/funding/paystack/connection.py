"""Whether Paystack is configured, and a client for one call or one batch of calls."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache

import certifi
import httpx

from billpay.config import Settings
from billpay.funding.paystack.client import PaystackClient


def paystack_configured(settings: Settings) -> bool:
    return bool(settings.paystack_base_url and settings.paystack_secret_key)


@asynccontextmanager
async def connect(settings: Settings) -> AsyncIterator[PaystackClient]:
    """A Paystack client, closed afterwards."""
    async with httpx.AsyncClient(verify=_tls()) as http:
        yield PaystackClient(settings, http)


@cache
def _tls() -> ssl.SSLContext:
    # Built once: loading the CA bundle costs tens of milliseconds per HTTP client otherwise.
    return ssl.create_default_context(cafile=certifi.where())

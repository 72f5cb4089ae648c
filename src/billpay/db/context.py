"""What a background job needs of its process: settings and a transaction to work in.

Jobs take this (or a protocol extending it) rather than the process's ``AppState``, so the
domain never imports the composition root; ``AppState`` satisfies it structurally.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from billpay.config import Settings


class JobContext(Protocol):
    @property
    def settings(self) -> Settings: ...

    @property
    def database_url(self) -> str: ...

    def unit_of_work(self) -> AbstractAsyncContextManager[AsyncSession]: ...

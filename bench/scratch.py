"""A scratch database of the benchmark's own on a given server, and its removal."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import asyncpg
from sqlalchemy.engine import make_url

from billpay.db.engine import asyncpg_dsn


async def fresh_database(admin_url: str) -> str:
    """A new empty database on ``admin_url``'s server; its URL keeps the server's address
    (host and port, or the embedded server's socket, a query parameter)."""
    name = f"billpay_bench_{uuid.uuid4().hex[:10]}"
    connection = await asyncpg.connect(asyncpg_dsn(admin_url))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


async def drop_database(admin_url: str, url: str) -> None:
    name = make_url(url).database
    connection = await asyncpg.connect(asyncpg_dsn(admin_url))
    try:
        await connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@contextlib.asynccontextmanager
async def scratch_database(admin_url: str) -> AsyncIterator[str]:
    """A fresh database on ``admin_url``'s server for the block, dropped after."""
    url = await fresh_database(admin_url)
    try:
        yield url
    finally:
        await drop_database(admin_url, url)

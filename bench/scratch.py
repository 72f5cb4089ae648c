"""A scratch database of the benchmark's own on a given server, and its removal."""

from __future__ import annotations

import uuid

import asyncpg

from billpay.db.engine import asyncpg_dsn


async def fresh_database(admin_url: str) -> str:
    name = f"billpay_bench_{uuid.uuid4().hex[:10]}"
    connection = await asyncpg.connect(asyncpg_dsn(admin_url))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    base, _, _ = asyncpg_dsn(admin_url).rpartition("/")
    return f"{base}/{name}"


async def drop_database(admin_url: str, url: str) -> None:
    name = url.rpartition("/")[2]
    connection = await asyncpg.connect(asyncpg_dsn(admin_url))
    try:
        await connection.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await connection.close()

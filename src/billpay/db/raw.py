"""Hot-path statements straight on asyncpg, inside the session's own transaction.

SQLAlchemy spends ~140 µs of CPU binding and executing even a prebuilt statement, and
~400 µs when the statement object is built per call; asyncpg alone needs ~60 µs. A payment
runs some twenty statements between the API and the worker, so on that path SQLAlchemy was
most of billpay's CPU (bench/throughput.py). Statements here are plain SQL with ``$n``
parameters, prepared once per connection by asyncpg; they see and join the session's
transaction, so the unit of work still commits or rolls back as one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

import asyncpg
from sqlalchemy import Table, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement


class _DatabaseNow:
    """A column value meaning "the transaction's ``now()``"."""

    def __repr__(self) -> str:
        return "DB_NOW"


DB_NOW = _DatabaseNow()


_CACHE_KEY = "billpay.raw_connection"


@event.listens_for(Session, "after_transaction_end")
def _forget_connection(session: Session, _transaction: SessionTransaction) -> None:
    # The next transaction may run on another pooled connection.
    session.info.pop(_CACHE_KEY, None)


async def connection(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under ``session``, with the session's transaction open on it."""
    cached = session.info.get(_CACHE_KEY)
    if cached is not None:
        return cast(asyncpg.Connection, cached)
    pooled = await (await session.connection()).get_raw_connection()
    adapted = cast(Any, pooled.dbapi_connection)  # SQLAlchemy's asyncpg adapter
    # The adapter sends BEGIN with its first statement; send it now, so that statements
    # issued here belong to the unit of work instead of committing on their own.
    # (tests/db/test_raw.py fails if a SQLAlchemy upgrade changes this.)
    if adapted._transaction is None:
        await adapted._start_transaction()
    driver = cast(asyncpg.Connection, adapted.driver_connection)
    session.info[_CACHE_KEY] = driver
    return driver


def jsonb(value: Any) -> str | None:
    """A JSONB parameter: SQLAlchemy's codec on these connections takes JSON text."""
    return None if value is None else json.dumps(value, default=str)


def set_clause(table: Table, values: Mapping[str, Any], first: int) -> tuple[str, list[Any]]:
    """``column = $n, …`` for ``values`` (numbered from ``first``) and its parameters.

    Column names come from ``table`` (a typo raises ``KeyError``); ``DB_NOW`` becomes
    ``now()``; ``updated_at`` is stamped as the ORM's ``onupdate`` would.
    """
    parts: list[str] = []
    args: list[Any] = []
    for name, value in values.items():
        column = table.c[name]
        if value is DB_NOW:
            parts.append(f"{column.name} = now()")
            continue
        args.append(jsonb(value) if isinstance(column.type, JSONB) else value)
        parts.append(f"{column.name} = ${first + len(args) - 1}")
    if "updated_at" in table.c and "updated_at" not in values:
        parts.append("updated_at = now()")
    return ", ".join(parts), args


def insert_clause(table: Table, values: Mapping[str, Any]) -> tuple[str, list[Any]]:
    """``(column, …) VALUES ($1, …)`` for ``values`` (columns of ``table``) and its parameters."""
    columns = [table.c[name] for name in values]
    args = [
        jsonb(value) if isinstance(column.type, JSONB) else value
        for column, value in zip(columns, values.values(), strict=True)
    ]
    names = ", ".join(column.name for column in columns)
    numbers = ", ".join(f"${index}" for index in range(1, len(args) + 1))
    return f"({names}) VALUES ({numbers})", args


@dataclass(frozen=True)
class Compiled:
    """A SQLAlchemy Core statement compiled once to asyncpg's SQL, for statements too
    intricate to keep readable as text. Bind processors do not run: parameters must be
    values asyncpg encodes as they are (str, int, UUID, datetime, lists of those)."""

    sql: str
    order: tuple[str, ...]
    defaults: Mapping[str, Any]

    def args(self, params: Mapping[str, Any]) -> list[Any]:
        return [params[name] if name in params else self.defaults[name] for name in self.order]


@cache
def compiled(statement: ClauseElement) -> Compiled:
    result = cast(SQLCompiler, statement.compile(dialect=asyncpg_dialect()))  # type: ignore[no-untyped-call]
    order = tuple(result.positiontup or ())
    defaults = {name: bind.effective_value for name, bind in result.binds.items()}
    return Compiled(str(result), order, defaults)

"""Hot-path statements on the raw asyncpg connection belong to the session's transaction."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from billpay.db import raw
from billpay.models import Client
from billpay.models.tables import PAYMENTS
from billpay.state import AppState


async def _client_named(state: AppState, name: str) -> int:
    async with state.unit_of_work() as session:
        return int(await session.scalar(select(func.count()).where(Client.name == name)) or 0)


async def _insert_client(session: AsyncSession, name: str) -> None:
    connection = await raw.connection(session)
    await connection.execute(
        "INSERT INTO clients (id, name) VALUES ($1, $2)",
        uuid.uuid4(),
        name,
    )


async def test_raw_statement_as_first_statement_rolls_back_with_the_session(
    state: AppState,
) -> None:
    name = f"raw-{uuid.uuid4().hex[:8]}"
    with pytest.raises(RuntimeError):
        async with state.unit_of_work() as session:
            await _insert_client(session, name)  # before any SQLAlchemy statement
            raise RuntimeError("the unit of work fails")
    assert await _client_named(state, name) == 0


async def test_raw_and_sqlalchemy_statements_commit_together(state: AppState) -> None:
    name = f"raw-{uuid.uuid4().hex[:8]}"
    async with state.unit_of_work() as session:
        await session.execute(text("SELECT 1"))
        await _insert_client(session, name)
        seen_by_session = await session.scalar(select(func.count()).where(Client.name == name))
        assert seen_by_session == 1  # one transaction: SQLAlchemy sees the raw insert
    assert await _client_named(state, name) == 1


def test_set_clause_numbers_parameters_and_stamps_updated_at() -> None:
    clause, args = raw.set_clause(
        PAYMENTS, {"status": "paid", "completed_at": raw.DB_NOW, "token": "x"}, first=3
    )
    assert clause == "status = $3, completed_at = now(), token = $4, updated_at = now()"
    assert args == ["paid", "x"]


def test_set_clause_refuses_unknown_columns() -> None:
    with pytest.raises(KeyError):
        raw.set_clause(PAYMENTS, {"no_such_column": 1}, first=1)


def test_jsonb_parameters_are_json_text() -> None:
    clause, args = raw.insert_clause(PAYMENTS, {"funding_instructions": {"memo": "BILL-1"}})
    assert clause == "(funding_instructions) VALUES ($1)"
    assert args == ['{"memo": "BILL-1"}']


async def test_a_new_transaction_of_the_same_session_gets_its_own_connection(
    state: AppState,
) -> None:
    """The connection is remembered per transaction only: after a commit the session may be
    handed another pooled connection, and raw statements must follow it."""
    name = f"raw-{uuid.uuid4().hex[:8]}"
    async with state.sessions() as session:
        async with session.begin():
            await _insert_client(session, name)
        with pytest.raises(RuntimeError):
            async with session.begin():
                await _insert_client(session, name + "-rolled-back")
                raise RuntimeError("second transaction fails")
        async with session.begin():
            backend = await session.scalar(text("SELECT pg_backend_pid()"))
            raw_backend = await (await raw.connection(session)).fetchval("SELECT pg_backend_pid()")
            assert raw_backend == backend
    assert await _client_named(state, name) == 1
    assert await _client_named(state, name + "-rolled-back") == 0

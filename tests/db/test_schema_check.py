"""A process other than `db upgrade`/`up` starts only on a current schema. The check reads the
migration files without importing Alembic (a fifth of a second at every start), so it is held
to Alembic's own reading of them here."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from billpay.db.engine import asyncpg_dsn
from billpay.db.migrate import (
    Revision,
    SchemaBehind,
    alembic_config,
    covered,
    heads,
    read_revisions,
    require_current_schema,
)


def _ids(value: str | tuple[str, ...] | list[str] | None) -> frozenset[str]:
    if value is None:
        return frozenset()
    return frozenset([value] if isinstance(value, str) else value)


def test_the_migrations_are_read_as_alembic_reads_them() -> None:
    scripts = ScriptDirectory.from_config(alembic_config("postgresql://unused"))
    revisions = read_revisions()

    assert heads(revisions) == set(scripts.get_heads())
    assert {
        name: (revision.down_revisions, revision.depends_on) for name, revision in revisions.items()
    } == {
        script.revision: (_ids(script.down_revision), _ids(script.dependencies))
        for script in scripts.walk_revisions()
    }


def test_a_head_that_a_newer_revision_depends_on_counts_as_applied() -> None:
    revisions = {
        "base": Revision("base", frozenset(), frozenset()),
        "outbox": Revision("outbox", frozenset({"base"}), frozenset()),
        "alerts": Revision("alerts", frozenset({"base"}), frozenset({"outbox"})),
    }

    assert heads(revisions) == {"outbox", "alerts"}
    assert heads(revisions) - covered(revisions, {"alerts"}) == set()
    assert heads(revisions) - covered(revisions, {"outbox"}) == {"alerts"}


def test_a_database_alembic_migrated_is_current(database_url: str) -> None:
    require_current_schema(database_url)  # the session's database: `upgrade heads` ran on it


@pytest.fixture
async def versioned_database(database_url: str) -> AsyncIterator[str]:
    """An empty database of its own, with only an ``alembic_version`` table."""
    name = f"billpay_versions_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        # make_url keeps the embedded server's socket (a ``host`` query parameter).
        own = make_url(database_url).set(database=name).render_as_string(hide_password=False)
        url = asyncpg_dsn(own)
        connection = await asyncpg.connect(url)
        try:
            await connection.execute(
                "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)"
            )
        finally:
            await connection.close()
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def _record_versions(url: str, versions: set[str]) -> None:
    connection = await asyncpg.connect(url)
    try:
        await connection.executemany(
            "INSERT INTO alembic_version VALUES ($1)", [(version,) for version in versions]
        )
    finally:
        await connection.close()


async def test_a_database_missing_a_branch_is_refused_naming_it(versioned_database: str) -> None:
    revisions = read_revisions()
    needed_by_none = {
        head
        for head in heads(revisions)
        if not any(head in revision.depends_on for revision in revisions.values())
    }
    left_out = sorted(needed_by_none)[-1]
    await _record_versions(versioned_database, heads(revisions) - {left_out})

    with pytest.raises(SchemaBehind, match=f"missing {left_out}\\).*billpay db upgrade"):
        require_current_schema(versioned_database)


async def test_a_database_newer_than_this_code_is_not_refused(versioned_database: str) -> None:
    await _record_versions(versioned_database, {"9999_from_newer_code"})

    require_current_schema(versioned_database)

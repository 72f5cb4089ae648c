"""Run Alembic migrations programmatically (``billpay db upgrade``, ``billpay up``, tests)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
T = TypeVar("T")


def _quiet_alembic() -> None:
    # Importing alembic logs its plugins' set-up at INFO: noise at every start.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def alembic_config(url: str) -> Config:
    _quiet_alembic()
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # '%' is Alembic's interpolation character: escape it for URLs with encoded characters.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "heads") -> None:
    """Migrate to ``revision`` (default: every branch head — each domain adds its own tables
    as a branch off the initial schema). Runs in its own thread: env.py owns an event loop."""
    errors: list[BaseException] = []

    def run() -> None:
        try:
            config = alembic_config(url)
            from alembic import command

            command.upgrade(config, revision)
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=run, name="alembic-upgrade")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


class SchemaBehind(RuntimeError):
    """The database lacks migrations this code needs; ``billpay db upgrade`` applies them."""


def _scripts() -> ScriptDirectory:
    config = alembic_config("postgresql://unused")
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(config)


async def applied_revisions(url: str) -> set[str]:
    """The revisions the database says it is at (none: never migrated)."""
    import asyncpg

    from billpay.db.engine import asyncpg_dsn

    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        exists = await connection.fetchval("SELECT to_regclass('alembic_version') IS NOT NULL")
        if not exists:
            return set()
        return {row[0] for row in await connection.fetch("SELECT version_num FROM alembic_version")}
    finally:
        await connection.close()


def require_current_schema(url: str) -> None:
    """Refuse to start on a schema older than this code: only ``billpay db upgrade`` and
    ``billpay up`` migrate, so that restarting an API or a worker is fast. A database at a
    revision this code does not know was migrated by newer code: that is fine (migrations are
    additive), and it is not refused."""
    applied = _in_thread(lambda: asyncio.run(applied_revisions(url)))
    scripts = _scripts()
    if applied - {revision.revision for revision in scripts.walk_revisions()}:
        return
    missing = set(scripts.get_heads()) - applied
    if missing:
        raise SchemaBehind(
            f"the database schema is behind this code (missing {', '.join(sorted(missing))}): "
            "run `billpay db upgrade` first"
        )


def _in_thread(work: Callable[[], T]) -> T:
    results: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(work())
        except BaseException as exc:  # re-raised in the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=run, name="schema-check")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return results[0]

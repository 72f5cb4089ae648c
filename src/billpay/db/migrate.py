"""Run Alembic migrations programmatically (``billpay db upgrade``, ``billpay up``, tests)."""

from __future__ import annotations

import ast
import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from alembic.config import Config

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


@dataclass(frozen=True)
class Revision:
    """A migration file's identity, as Alembic reads it: its id, its parents
    (``down_revision``) and what else it needs first (``depends_on``)."""

    revision: str
    down_revisions: frozenset[str]
    depends_on: frozenset[str]


def _names(node: ast.expr | None) -> frozenset[str]:
    """``None``, ``"id"`` or a tuple/list of ids, as written in a migration file."""
    value = None if node is None else ast.literal_eval(node)
    if value is None:
        return frozenset()
    return frozenset([value] if isinstance(value, str) else value)


def _assignments(path: Path) -> dict[str, ast.expr | None]:
    assigned: dict[str, ast.expr | None] = {}
    for statement in ast.parse(path.read_text()).body:
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            assigned[statement.target.id] = statement.value
        elif isinstance(statement, ast.Assign):
            for target in statement.targets:
                if isinstance(target, ast.Name):
                    assigned[target.id] = statement.value
    return assigned


def read_revisions(versions: Path = MIGRATIONS_DIR / "versions") -> dict[str, Revision]:
    """Every migration's identity, read from the files' assignments without importing Alembic
    (a fifth of a second at every start of every process); the tests check it against
    Alembic's own reading."""
    revisions = {}
    for path in sorted(versions.glob("*.py")):
        assigned = _assignments(path)
        if "revision" not in assigned:
            continue
        (revision,) = _names(assigned["revision"])
        revisions[revision] = Revision(
            revision, _names(assigned.get("down_revision")), _names(assigned.get("depends_on"))
        )
    return revisions


def heads(revisions: dict[str, Revision]) -> set[str]:
    """The revisions no other one descends from (``depends_on`` makes no descendant)."""
    parents = {parent for revision in revisions.values() for parent in revision.down_revisions}
    return set(revisions) - parents


def covered(revisions: dict[str, Revision], applied: set[str]) -> set[str]:
    """``applied`` and everything it stands on. alembic_version keeps only the newest of a
    chain: a head another revision depends on is applied without a row of its own."""
    seen: set[str] = set()
    todo = [name for name in applied if name in revisions]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(revisions[name].down_revisions | revisions[name].depends_on)
    return seen


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
    revisions = read_revisions()
    if applied - set(revisions):
        return
    missing = heads(revisions) - covered(revisions, applied)
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

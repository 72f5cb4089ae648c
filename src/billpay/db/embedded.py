"""billpay's default database: a real PostgreSQL it starts itself in a data folder (pgserver)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pgserver


@dataclass(frozen=True)
class EmbeddedPostgres:
    url: str
    _server: Any

    def stop(self) -> None:
        """Stop the server now (otherwise it stops when the last process using it exits)."""
        self._server.cleanup()


def embedded_postgres(data_dir: Path) -> EmbeddedPostgres:
    """Start (or reuse) the embedded server under ``data_dir/postgres``."""
    pgdata = (data_dir / "postgres").resolve()
    pgdata.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
    return EmbeddedPostgres(url=server.get_uri(), _server=server)


def start_embedded_postgres(data_dir: Path) -> str:
    """The embedded server's URL; it stops when the last process using it exits."""
    return embedded_postgres(data_dir).url

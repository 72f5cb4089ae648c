"""billpay's default database: a real PostgreSQL it starts itself in a data folder (pgserver)."""

from __future__ import annotations

from pathlib import Path

import pgserver


def start_embedded_postgres(data_dir: Path) -> str:
    """Start (or reuse) the embedded server under ``data_dir/postgres`` and return its URL.

    The server outlives nothing: it stops when the last process using it exits.
    """
    pgdata = (data_dir / "postgres").resolve()
    pgdata.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
    uri: str = server.get_uri()
    return uri

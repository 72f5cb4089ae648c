"""billpay's default database: a real PostgreSQL it starts itself in a data folder (pgserver)."""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# pgserver's handle list: the pids of the processes using the server. The last one to exit
# stops it, so a pid that died without exiting cleanly (SIGKILL) would keep it running forever.
HANDLES_FILE = ".handle_pids.json"


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
    pgserver = _pgserver()
    with pgserver.PostgresServer._lock:  # the lock pgserver itself edits the list under
        forget_dead_handles(pgdata)
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    return EmbeddedPostgres(url=server.get_uri(), _server=server)


def forget_dead_handles(pgdata: Path) -> list[int]:
    """Drop the pids of processes that are gone from pgserver's handle list; the ones
    dropped. Then the last live user to exit stops the server again."""
    handles = pgdata / HANDLES_FILE
    try:
        pids = [int(pid) for pid in json.loads(handles.read_text())]
    except (OSError, ValueError, TypeError):
        return []
    alive = [pid for pid in pids if _alive(pid)]
    if alive != pids:
        handles.write_text(json.dumps(alive))
    return [pid for pid in pids if pid not in alive]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _pgserver() -> Any:
    # Imported when needed: it costs a noticeable part of a second, and on hosts without
    # XDG_RUNTIME_DIR its platformdirs warns at import, which no user needs to see.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver
    return pgserver


def start_embedded_postgres(data_dir: Path) -> str:
    """The embedded server's URL; it stops when the last process using it exits."""
    return embedded_postgres(data_dir).url

"""``billpay chaos``: the chaos soak (``billpay.chaos``), as ``python -m bench.chaos`` runs it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def chaos(
    payments: Annotated[int, typer.Option(help="How many payments to put through")] = 300,
    seed: Annotated[int, typer.Option(help="Seeds every random choice: a run can be repeated")] = 1,
    concurrency: Annotated[int, typer.Option(help="Payments created at once")] = 8,
    database_url: Annotated[
        str | None,
        typer.Option(help="A Postgres server to create the soak's own database on"),
    ] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the figures here")] = None,
    keep: Annotated[bool, typer.Option(help="Keep the logs folder")] = False,
) -> None:
    """Put payments through while providers misbehave, processes are killed and database
    connections cut; exit 0 only if every invariant held."""
    from billpay.chaos.main import main

    argv = ["--payments", str(payments), "--seed", str(seed), "--concurrency", str(concurrency)]
    if database_url:
        argv += ["--database-url", database_url]
    if json_out is not None:
        argv += ["--json", str(json_out)]
    if keep:
        argv.append("--keep")
    raise typer.Exit(main(argv))

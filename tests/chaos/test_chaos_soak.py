"""The chaos soak's short run: every bill type, provider and funding method through faults,
kills and connection cuts, judged from the simulators' records (``billpay.chaos``)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SUMMARY = re.compile(
    r"^chaos: (?P<payments>\d+) payments, (?P<faults>\d+) faults, (?P<kills>\d+) kills, "
    r"(?P<double>\d+) double vends, (?P<lost>\d+) lost deposits, (?P<tokens>\d+) lost tokens, "
    r"(?P<review>\d+) in review, (?P<reconcile>reconcile clean|reconcile \d+ discrepancies)$"
)


@pytest.mark.timeout(1500)
def test_short_soak_keeps_every_invariant(database_url: str, tmp_path: Path) -> None:
    figures = tmp_path / "chaos.json"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.chaos",
            "--payments",
            "300",
            "--seed",
            "11",
            "--database-url",
            database_url,
            "--json",
            str(figures),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1400,
    )
    last = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    summary = SUMMARY.match(last)
    assert summary, run.stdout[-3000:] + run.stderr[-3000:]
    assert run.returncode == 0, run.stdout[-5000:]
    assert summary["double"] == summary["lost"] == summary["tokens"] == "0"
    assert summary["reconcile"] == "reconcile clean"
    report = json.loads(figures.read_text())
    assert report["payments"] == 300
    assert report["kills"] > 0 and report["db_cuts"] > 0 and report["faults"]
    # Every provider delivered some of them, so each one's faults were met.
    assert set(report["paid_by_provider"]) == {"interswitch", "vtpass", "flutterwave"}

"""The re-planning throughput benchmark still runs (tiny sizes); its figures are not checked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_replan_benchmark_runs_on_tiny_sizes() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "replan.py"), "--tiny"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    names = [line[:70].rstrip() for line in lines]
    assert names == [
        "site closing touching 160 visits (visits/s)",
        "same closing, every participant planned alone (visits/s)",
        "rebaseline touching 200 visits (visits/s)",
        "site closing touching 160 visits (visits/s of CPU time)",
        "same closing, every participant planned alone (visits/s of CPU time)",
        "rebaseline touching 200 visits (visits/s of CPU time)",
        "rebaseline 20 participants by name (s)",
        "rebaseline 20 participants by name (CPU s)",
    ]
    for line in lines[:6]:
        assert " baseline " in line and " ratio " in line, line

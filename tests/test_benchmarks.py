"""The benchmark script still runs (tiny sizes); its figures are not checked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_benchmark_script_runs_on_tiny_sizes() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--tiny"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    for figure in (
        "enroll --csv (end to end, CLI)",
        "upcoming one site",
        "overdue one site",
        "large db vs small db",
        "planner --help start-up",
        "export .ics render",
        "export peak memory",
        "move an anchor with 20 dependents",
        "site closing date touching",
    ):
        assert any(figure in line for line in lines), figure
    assert lines[-1].startswith("total ")

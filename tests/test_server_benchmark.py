"""The feed server's benchmark still runs (tiny sizes); its figures are not checked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_feed_benchmark_runs_on_tiny_sizes() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "feeds.py"), "--tiny", "--duration", "1"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for figure in (
        "revalidations/s, most",
        "most p99 ms",
        "revalidations/s, paced",
        "paced p99 ms",
        "full fetch ms",
        "full fetch unchanged ms",
        "full fetch gzip ms",
    ):
        assert any(line.startswith(figure + " ") for line in done.stdout.splitlines()), figure

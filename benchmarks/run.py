"""Benchmarks: enrolment, queries, short commands, exports, re-planning and
feeds, each against a baseline measured in the same run.

    python benchmarks/run.py            # full sizes (about half an hour on 2 cores)
    python benchmarks/run.py --tiny     # seconds; what the test suite runs
    python benchmarks/run.py --only enrol --only queries

Builds its own data in a temporary folder and prints one line per figure:
our median time, the baseline's median time measured in the same run (ours
and the baseline alternate, so that a busy moment of a shared machine hurts
both), the ratio, the target and whether it is met, plus peak memory where it
matters. Sections live in ``benchmarks/bench_*.py``; ``benchmarks/replan.py``
and ``benchmarks/feeds.py`` are run as sections too. Not a test: figures
depend on the machine; the tests check behaviour.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: ``benchmarks`` is a package of the repository
    sys.path.insert(0, str(ROOT))

from benchmarks.bench_enrol import bench_enrolment  # noqa: E402
from benchmarks.bench_export import bench_export  # noqa: E402
from benchmarks.bench_queries import bench_queries  # noqa: E402
from benchmarks.common import FIXED_NOW, FULL, TINY, Figure, Sizes, fresh_db, median_time  # noqa: E402
from planner.app import Planner  # noqa: E402
from planner.core.enrolment import Enrolment  # noqa: E402

#: Visits re-planned and audited per second (issue 18).
REPLAN_TARGET = 20_000.0

# -------------------------------------------------------------------- re-plan

CHAIN_PROTOCOL = """
id = "bench-chain"
title = "Benchmark: one anchor and twenty visits that depend on it"

[[arms]]
code = "A"
label = "Arm A"

[[schedule]]
code = "ANCHOR"
label = "Anchor visit"
kind = "visit"
window = { before = 3, after = 3 }
timing = { days = [1] }

[[schedule]]
code = "DEP"
label = "Dependent visit"
kind = "visit"
window = { before = 2, after = 2 }
timing = { every = 7, count = 20, start = 7 }
anchor = { event = "ANCHOR", occurrence = 1 }
"""


def bench_replan(folder: Path, sizes: Sizes) -> list[Figure]:
    db = fresh_db(folder, "replan.db", ["S0", "S1"])
    protocol_file = folder / "chain.toml"
    protocol_file.write_text(CHAIN_PROTOCOL)
    runs = max(5, sizes.runs * 5)
    with Planner(str(db), actor="bench", clock=lambda: FIXED_NOW) as planner:
        planner.add_protocol(str(protocol_file))
        day1 = date(2026, 6, 1)
        planner.enroll_many(
            [Enrolment(f"C{i:03d}", "bench-chain", "A", "S0", day1) for i in range(runs)]
        )
        counter = iter(range(runs))

        def move() -> None:
            i = next(counter)
            planner.move(f"C{i:03d}/ANCHOR/1", date(2026, 6, 3), reason="bench")

        move_time = median_time(move, runs)
        # A closing date over N visits: every control participant's week-4 follow-up.
        count = sizes.closing_visits
        day1 = date(2026, 1, 5)
        planner.enroll_many(
            [Enrolment(f"K{i:05d}", "ucmsc-dlc", "CTRL", "S1", day1) for i in range(count)]
        )
        start = time.perf_counter()
        changed = len(
            planner.calendars.close("S1", date(2026, 2, 2), date(2026, 2, 2), "bench").replanned
        )
        close_time = time.perf_counter() - start
    return [
        Figure("move an anchor with 20 dependents", move_time, None, None,
               note="per operation, all 20 re-planned and audited"),
        Figure(f"site closing date touching {changed:,} visits", close_time, None, None,
               note=f"{changed / close_time:,.0f} visits re-planned/s"),
    ]  # fmt: skip


def bench_replan_throughput(folder: Path, sizes: Sizes) -> list[Figure]:
    """The figures of ``benchmarks/replan.py`` (closings and rebaselines)."""
    try:
        from benchmarks.replan import bench_replan_throughput as throughput
    except ImportError:
        return []
    figures = []
    for name, value, baseline in throughput(folder, sizes.tiny):
        if "visits/s" in name:
            note = f"baseline: sqlite3 writing as many, {baseline:,.0f} visits/s"
            figures.append(Figure(name, value, None, REPLAN_TARGET, unit="/s", note=note,
                                  higher=True))  # fmt: skip
        else:
            figures.append(Figure(name, value, baseline or None, None))
    return figures


def bench_feeds(folder: Path, sizes: Sizes) -> list[str]:
    """``benchmarks/feeds.py`` in its own process (it starts a server): its lines."""
    script = Path(__file__).with_name("feeds.py")
    done = subprocess.run(
        [sys.executable, str(script), *(["--tiny"] if sizes.tiny else [])],
        capture_output=True,
        text=True,
        check=True,
    )
    return [f"feeds: {line}" for line in done.stdout.splitlines() if line.strip()]


# ----------------------------------------------------------------------- main

SECTIONS = {
    "enrol": bench_enrolment,
    "queries": bench_queries,
    "export": bench_export,
    "replan": lambda folder, sizes: (
        bench_replan(folder, sizes) + bench_replan_throughput(folder, sizes)
    ),
    "feeds": bench_feeds,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="small sizes, for the test suite")
    parser.add_argument("--runs", type=int, help="repetitions for medians")
    parser.add_argument("--only", choices=list(SECTIONS), action="append")
    args = parser.parse_args(argv)
    sizes = TINY if args.tiny else FULL
    if args.runs:
        sizes.runs = args.runs
    print(f"planner benchmarks ({'tiny' if args.tiny else 'full'} sizes, medians of {sizes.runs}"
          f" runs or more, {os.cpu_count()} cores)", flush=True)  # fmt: skip
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="planner-bench-") as tmp:
        for name, bench in SECTIONS.items():
            if args.only and name not in args.only:
                continue
            for figure in bench(Path(tmp), sizes):
                print(figure if isinstance(figure, str) else figure.line(), flush=True)
    print(f"total {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

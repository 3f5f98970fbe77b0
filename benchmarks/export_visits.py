"""Benchmark of ``planner export visits``: memory stays flat with the number of visits.

    python benchmarks/export_visits.py            # 1,000,000 visits vs 100,000 (minutes)
    python benchmarks/export_visits.py --tiny     # 20,000 vs 2,000 (seconds)

Builds two SQLite databases in a temporary folder: the baseline, enrolled
through the API (past visits completed, as in a running trial), and one ten
times larger, made by copying the baseline's participants and visits in SQL.
Then runs the real command, ``planner --db DB export visits --format F``
(stdout to /dev/null), once per database and format, each in its own process,
and prints its peak resident memory (``ru_maxrss`` of that child, from
``os.wait4``, i.e. ``getrusage`` for that process) against the baseline's,
measured the same way in the same run: the ratio should be about 1. Not a
test: figures depend on the machine.

On Linux a child's ``ru_maxrss`` starts at its parent's resident size when it
was forked, so this script keeps its own process small: the databases are
built by a child (``--build``), and planner is never imported here.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

NOW = datetime(2026, 11, 22, 8, 0, 0)
FORMATS = ("json", "ndjson", "csv")
#: The large database is this many copies of the baseline.
COPIES = 10
#: A streamed export may use a little more memory for a larger database, not more.
TARGET_RATIO = 1.2


def planner_command() -> list[str]:
    found = shutil.which("planner", path=os.path.dirname(sys.executable))
    return [found] if found else [sys.executable, "-m", "planner.cli"]


def build_baseline(db: Path, visits: int) -> int:
    """Enrol about ``visits`` visits at two sites; complete those long past."""
    from planner.app import Planner
    from planner.core.bundled import BUNDLED_IDS, bundled
    from planner.core.enrolment import Enrolment

    arms = [(pid, arm) for pid in BUNDLED_IDS for arm in bundled(pid).arm_codes()]
    participants = max(len(arms), visits // 11)
    rows = [
        Enrolment(
            f"P{i:07d}",
            *arms[i % len(arms)],
            ("S0", "S1")[i % 2],
            date(2025, 1, 1) + timedelta(days=i % 700),
            60.0 + i % 30,
        )
        for i in range(participants)
    ]
    with Planner(str(db), actor="bench", clock=lambda: NOW) as planner:
        planner.add_site("S0", "Asia/Shanghai")
        planner.add_site("S1", "America/New_York")
        for start in range(0, len(rows), 20_000):
            planner.enroll_many(rows[start : start + 20_000])
    with sqlite3.connect(db) as connection:
        connection.execute(
            "UPDATE visits SET status = 'completed', actual = target WHERE target < ?",
            ((NOW.date() - timedelta(days=30)).isoformat(),),
        )
        return int(connection.execute("SELECT count(*) FROM visits").fetchone()[0])


def _columns(connection: sqlite3.Connection, table: str, skip: set[str]) -> str:
    names = [row[1] for row in connection.execute(f"PRAGMA table_info({table})")]
    return ", ".join(name for name in names if name not in skip)


def build_copies(baseline: Path, db: Path, copies: int) -> int:
    """``baseline`` with its participants and their visits ``copies`` times over."""
    shutil.copyfile(baseline, db)
    with sqlite3.connect(db) as connection:
        people = _columns(connection, "participants", {"id", "code"})
        visits = _columns(connection, "visits", {"id", "participant_id"})
        last = connection.execute("SELECT max(id) FROM participants").fetchone()[0]
        for copy in range(1, copies):
            suffix = f"-C{copy}"
            connection.execute(
                f"INSERT INTO participants (code, {people}) "
                f"SELECT code || ?, {people} FROM participants WHERE id <= ?",
                (suffix, last),
            )
            connection.execute(
                f"INSERT INTO visits (participant_id, {visits}) "
                f"SELECT n.id, {', '.join('v.' + c for c in visits.split(', '))} "
                "FROM visits v JOIN participants p ON p.id = v.participant_id "
                "JOIN participants n ON n.code = p.code || ? WHERE p.id <= ?",
                (suffix, last),
            )
        connection.execute("ANALYZE")
        return int(connection.execute("SELECT count(*) FROM visits").fetchone()[0])


def peak_rss(db: Path, fmt: str) -> tuple[float, float]:
    """Peak resident memory (MB) and seconds of one ``planner export visits``."""
    command = [*planner_command(), "--db", str(db), "export", "visits", "--format", fmt]
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        error = child.stderr.read().decode() if child.stderr else ""
        raise SystemExit(f"{' '.join(command)} failed: {error}")
    if child.stderr:
        child.stderr.close()
    return usage.ru_maxrss / 1024, seconds  # ru_maxrss is in KiB on Linux


def build(folder: Path, visits: int) -> None:
    """The two databases (run in a child process: see the module's docstring)."""
    small = build_baseline(folder / "baseline.db", visits)
    large = build_copies(folder / "baseline.db", folder / "large.db", COPIES)
    print(f"{small} {large}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tiny", action="store_true", help="2,000 vs 20,000 visits")
    parser.add_argument("--build", metavar="DIR", help=argparse.SUPPRESS)
    options = parser.parse_args()
    visits = 2_000 if options.tiny else 100_000
    if options.build:
        build(Path(options.build), visits)
        return
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="planner-bench-export-") as folder:
        small_db, large_db = Path(folder) / "baseline.db", Path(folder) / "large.db"
        builder = [sys.executable, __file__, "--build", folder, *(["--tiny"] * options.tiny)]
        counts = subprocess.run(builder, check=True, capture_output=True, text=True).stdout
        small, large = (int(count) for count in counts.split())
        print(f"databases: {small:,} and {large:,} visits ({time.perf_counter() - started:.0f} s)")
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"this process: {own:.1f} MB (a child's figure cannot be below it)", flush=True)
        for fmt in FORMATS:
            base_mb, base_s = peak_rss(small_db, fmt)
            ours_mb, ours_s = peak_rss(large_db, fmt)
            ratio = ours_mb / base_mb
            met = "met" if ratio <= TARGET_RATIO else "MISSED"
            print(
                f"export visits --format {fmt:<6} peak RSS {large:>9,} visits {ours_mb:7.1f} MB "
                f"({ours_s:6.1f} s, {large / ours_s:,.0f}/s)  baseline {small:,} visits "
                f"{base_mb:7.1f} MB ({base_s:5.1f} s)  ratio {ratio:5.2f}x  "
                f"target <= {TARGET_RATIO}x {met}",
                flush=True,
            )
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()

"""Re-planning throughput (issue 18): visits re-planned and audited per second.

    python benchmarks/replan.py             # ~10,000 visits per figure
    python benchmarks/replan.py --tiny      # seconds; what the test suite runs
    python benchmarks/replan.py --profile   # also where the time goes (cProfile)

Four measures, each the median of several runs on fresh copies of one database:

- a site closing date touching ~10,000 visits: cs-huc-mscs participants whose
  week-24 follow-up (FU/4) falls on the closed day; each one's FU/4 moves to
  an open day and its three survival calls, which count from FU/4, follow.
  They started on the same day, so one plan serves them all
  (``planner.app.apply.Plans``); the same closing is measured again with every
  participant planned on their own, the cost when no two share day 1 and history;
- a rebaseline touching ~10,000 visits: ``--all`` participants from version 1
  of cs-huc-mscs to an amendment (follow-up windows widened, a week-16
  follow-up added, the day-22 in-hospital follow-up dropped): five visits each;
- the time to rebaseline 1,000 participants named one by one (issue 13).

The baseline is what a hand-written sqlite3 script needs to write the same
number of visit updates and hash-chained audit rows (no planning at all): the
most the machine could do. ``bench_replan_throughput`` is what
``benchmarks/run.py`` imports.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import json
import pstats
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

from planner.app import Planner
from planner.app.apply import Plans
from planner.app.audit_chain import verify
from planner.core.enrolment import Enrolment

FIXED_NOW = datetime(2026, 11, 22, 8, 0, 0)
PROTOCOL = "cs-huc-mscs"
ARMS = ("LOW", "MED", "HIGH")
#: Every participant starts on this Monday; FU/4 (study day 169) is 2027-06-28.
DAY1 = date(2027, 1, 11)
FU4 = DAY1 + timedelta(days=168)

Result = tuple[str, float, float]


def amended_protocol() -> str:
    """cs-huc-mscs amendment 1 (as in docs/amendments.md)."""
    text = resources.files("planner").joinpath(f"protocols/{PROTOCOL}.toml").read_text("utf-8")
    text = text.replace("timing = { days = [4, 11, 18, 22] }", "timing = { days = [4, 11, 18] }")
    start, end = text.index("windows = [\n"), text.index("timing = { weeks = [4, 8, 12, 24] }")
    text = text[:start] + "window = { before = 7, after = 7 }\n" + text[end:]
    text = text.replace("weeks = [4, 8, 12, 24]", "weeks = [4, 8, 12, 16, 24]")
    return text.replace('{ event = "FU", occurrence = 4 }', '{ event = "FU", occurrence = 5 }')


def build(folder: Path, name: str, participants: int, spread: bool) -> Path:
    """A database with ``participants`` on version 1 of cs-huc-mscs (and version 2 stored)."""
    path = folder / name
    amendment = folder / "amendment-1.toml"
    amendment.write_text(amended_protocol(), encoding="utf-8")
    with Planner(str(path), actor="bench", clock=lambda: FIXED_NOW) as planner:
        planner.add_site("S0", "Asia/Shanghai")
        planner.enroll_many(
            [
                Enrolment(
                    f"P{i:06d}",
                    PROTOCOL,
                    ARMS[i % 3],
                    "S0",
                    DAY1 + timedelta(days=(i * 7919) % 365 if spread else 0),
                )
                for i in range(participants)
            ]
        )
        planner.add_protocol(str(amendment))
    return path


def copy_db(source: Path, target: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        Path(str(target) + suffix).unlink(missing_ok=True)
        if Path(str(source) + suffix).exists():
            shutil.copyfile(str(source) + suffix, str(target) + suffix)
    return target


def timed(
    template: Path, runs: int, action: Callable[[Planner], int], check: bool = True
) -> tuple[float, float, int]:
    """Median wall and CPU seconds of ``action`` on fresh copies of ``template``,
    and the visits it changed; the audit trail is verified after each run."""
    walls, cpus, changed = [], [], 0
    for run in range(runs):
        db = copy_db(template, template.with_name(f"run-{run}.db"))
        with Planner(str(db), actor="bench", clock=lambda: FIXED_NOW) as planner:
            planner.protocols()  # opens the database outside the timing
            wall, cpu = time.perf_counter(), time.process_time()
            changed = action(planner)
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        if check:
            found = verify(str(db))
            if not found.intact:
                raise SystemExit(f"audit verify failed after the benchmark: {found.problem}")
    return statistics.median(walls), statistics.median(cpus), changed


def close_fu4(planner: Planner) -> int:
    return len(planner.calendars.close("S0", FU4, FU4, "bench").changes)


def close_fu4_unshared(planner: Planner) -> int:
    """The same closing with every participant planned on their own: the cost
    when no two participants share day 1 and history."""
    Plans.share = False
    try:
        return close_fu4(planner)
    finally:
        Plans.share = True


def rebaseline_all(planner: Planner) -> int:
    done = planner.amendments.rebaseline([], PROTOCOL, 2, everyone=True, reason="bench")
    return sum(len(r.changes) for r in done)


def rebaseline_named(count: int) -> Callable[[Planner], int]:
    def action(planner: Planner) -> int:
        codes = [f"P{i:06d}" for i in range(count)]
        done = planner.amendments.rebaseline(codes, PROTOCOL, 2, reason="bench")
        return sum(len(r.changes) for r in done)

    return action


def cache_kib() -> int:
    """The page cache planner's connections use (KiB; SQLite's default before it set one)."""
    try:
        from planner.store.engine import CACHE_KIB
    except ImportError:  # an older planner
        return 2000
    return int(CACHE_KIB)


def raw_baseline(template: Path, visits: int, runs: int) -> tuple[float, float]:
    """Wall and CPU seconds a plain sqlite3 script takes to update ``visits``
    visits by id and append as many hash-chained audit rows, in one transaction,
    with planner's page cache."""
    walls, cpus = [], []
    for run in range(runs):
        db = copy_db(template, template.with_name(f"raw-{run}.db"))
        connection = sqlite3.connect(db, isolation_level=None)
        connection.execute(f"PRAGMA cache_size = -{cache_kib()}")
        ids = [row[0] for row in connection.execute("SELECT id FROM visits LIMIT ?", (visits,))]
        wall, cpu = time.perf_counter(), time.process_time()
        connection.execute("BEGIN IMMEDIATE")
        last_id, previous = connection.execute(
            "SELECT id, hash FROM audit ORDER BY id DESC LIMIT 1"
        ).fetchone()
        at = FIXED_NOW.isoformat(sep=" ")
        connection.executemany(
            "UPDATE visits SET target = ?, revision = revision + 1, updated_at = ? "
            "WHERE id = ? AND revision = 0",
            [("2027-06-29", at, i) for i in ids],
        )
        rows = []
        for offset, visit in enumerate(ids, start=1):
            before = json.dumps({"revision": 0, "target": "2027-06-28"}, sort_keys=True)
            after = json.dumps({"revision": 1, "target": "2027-06-29"}, sort_keys=True)
            values = [last_id + offset, at, "bench", "replan", "P", f"P/FU/{visit}", before, after]
            text = json.dumps([*values, "why", previous], separators=(",", ":"))
            previous = hashlib.sha256(text.encode()).hexdigest()
            rows.append((*values, "why", previous))
        connection.executemany(
            "INSERT INTO audit (id, at, actor, action, participant, visit, before, after, "
            "reason, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        connection.execute("COMMIT")
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        connection.close()
    return statistics.median(walls), statistics.median(cpus)


def bench_replan_throughput(folder: Path, tiny: bool) -> list[Result]:
    """``(name, value, baseline or 0.0)``: visits re-planned and audited per second
    for a closing and a rebaseline touching ~10,000 visits (baseline: plain
    sqlite3 writing as many updates and audit rows), per wall-clock second and
    per CPU second (steadier on a shared machine), and the seconds to rebaseline
    1,000 participants (no baseline)."""
    closing_n, rebase_n, named_n, runs = (40, 40, 20, 1) if tiny else (2_500, 2_000, 1_000, 3)
    closing_db = build(folder, "closing.db", closing_n, spread=False)
    rebase_db = build(folder, "rebaseline.db", rebase_n, spread=True)
    close_wall, close_cpu, closed = timed(closing_db, runs, close_fu4)
    alone_wall, alone_cpu, alone = timed(closing_db, runs, close_fu4_unshared)
    rebase_wall, rebase_cpu, rebased = timed(rebase_db, runs, rebaseline_all)
    named_wall, named_cpu, _ = timed(rebase_db, runs, rebaseline_named(named_n))
    raw_close_wall, raw_close_cpu = raw_baseline(closing_db, closed, runs)
    raw_rebase_wall, raw_rebase_cpu = raw_baseline(rebase_db, rebased, runs)
    closing = f"site closing touching {closed:,} visits"
    alone_name = "same closing, every participant planned alone"
    rebaseline = f"rebaseline touching {rebased:,} visits"
    return [
        (f"{closing} (visits/s)", closed / close_wall, closed / raw_close_wall),
        (f"{alone_name} (visits/s)", alone / alone_wall, closed / raw_close_wall),
        (f"{rebaseline} (visits/s)", rebased / rebase_wall, rebased / raw_rebase_wall),
        (f"{closing} (visits/s of CPU time)", closed / close_cpu, closed / raw_close_cpu),
        (f"{alone_name} (visits/s of CPU time)", alone / alone_cpu, closed / raw_close_cpu),
        (f"{rebaseline} (visits/s of CPU time)", rebased / rebase_cpu, rebased / raw_rebase_cpu),
        (f"rebaseline {named_n:,} participants by name (s)", named_wall, 0.0),
        (f"rebaseline {named_n:,} participants by name (CPU s)", named_cpu, 0.0),
    ]


def profile(folder: Path, tiny: bool, top: int) -> str:
    """cProfile of one closing and one rebaseline: the top entries by own time."""
    closing_n, rebase_n = (40, 40) if tiny else (2_500, 2_000)
    out = io.StringIO()
    for name, participants, spread, action in (
        ("closing", closing_n, False, close_fu4),
        ("rebaseline", rebase_n, True, rebaseline_all),
    ):
        db = build(folder, f"profile-{name}.db", participants, spread)
        with Planner(str(db), actor="bench", clock=lambda: FIXED_NOW) as planner:
            planner.protocols()
            profiler = cProfile.Profile()
            profiler.enable()
            action(planner)
            profiler.disable()
        out.write(f"\n== {name}: top {top} by own time ==\n")
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("tottime").print_stats(top)
        out.write(f"\n== {name}: top {top} by cumulative time ==\n")
        stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="small sizes, for the test suite")
    parser.add_argument("--profile", action="store_true", help="print a cProfile of each path")
    parser.add_argument("--top", type=int, default=25, help="profile entries to print")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="planner-replan-") as tmp:
        results: list[Any] = bench_replan_throughput(Path(tmp), args.tiny)
        for name, value, baseline in results:
            base = (
                f"  baseline {baseline:10,.1f}  ratio {value / baseline:5.2f}" if baseline else ""
            )
            print(f"{name:<70} {value:10,.3f}{base}", flush=True)
        if args.profile:
            print(profile(Path(tmp), args.tiny, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())

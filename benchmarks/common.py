"""What every section of ``benchmarks/run.py`` shares: sizes, figures, timing,
test data, and the peak memory of a child process."""

from __future__ import annotations

import csv
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from planner.app import Planner
from planner.core.bundled import BUNDLED_IDS, bundled
from planner.core.enrolment import Enrolment

ARMS = [(pid, arm) for pid in BUNDLED_IDS for arm in bundled(pid).arm_codes()]
FIXED_NOW = datetime(2026, 11, 22, 8, 0, 0)
AS_OF = date(2026, 11, 22)


@dataclass
class Sizes:
    enrol_participants: int  # timed against the raw sqlite3 baseline
    memory_participants: int  # peak memory (and linear time) at this size
    small_visits: int
    large_visits: int
    export_visits: int
    runs: int
    closing_visits: int
    tiny: bool


FULL = Sizes(10_000, 100_000, 10_000, 1_000_000, 100_000, 3, 1_000, False)
TINY = Sizes(200, 1_000, 2_000, 20_000, 2_000, 1, 50, True)


@dataclass
class Figure:
    """One line of output: our figure, the baseline's from the same run, the target.

    With a baseline the target is a ratio (ours / baseline, lower is better);
    without one it bounds the figure itself, from above or (``higher``) below."""

    name: str
    ours: float
    baseline: float | None
    target: float | None
    unit: str = "s"
    note: str = ""
    higher: bool = False

    def met(self, value: float) -> str:
        if self.target is None:
            return ""
        ok = value >= self.target if self.higher else value <= self.target
        return "met" if ok else "MISSED"

    def line(self) -> str:
        ours = f"{_number(self.ours)} {self.unit}"
        sign = ">=" if self.higher else "<="
        if self.baseline is None:
            limit = "" if self.target is None else f"target {sign} {_number(self.target)}"
            return f"{self.name:<48} {ours:>16}  {limit:<40} {self.met(self.ours):<6} {self.note}"
        ratio = self.ours / self.baseline if self.baseline else float("inf")
        limit = "" if self.target is None else f"target {sign} {self.target}x"
        base = f"{_number(self.baseline)} {self.unit}"
        return (
            f"{self.name:<48} {ours:>16}  baseline {base:>16}  ratio {ratio:6.2f}x "
            f"{limit:<14} {self.met(ratio):<6} {self.note}"
        )


def _number(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4f}"


def median_time(
    action: Callable[[], Any], runs: int, setup: Callable[[], Any] | None = None
) -> float:
    times = []
    for _ in range(runs):
        if setup is not None:
            setup()
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def paired_times(
    ours: Callable[[], Any],
    baseline: Callable[[], Any],
    runs: int,
    setup: tuple[Callable[[], Any] | None, Callable[[], Any] | None] = (None, None),
) -> tuple[float, float]:
    """Medians of ours and the baseline, run alternately (the machine is shared:
    a slow moment hurts both alike)."""
    mine, theirs = [], []
    for _ in range(runs):
        mine.append(median_time(ours, 1, setup[0]))
        theirs.append(median_time(baseline, 1, setup[1]))
    return statistics.median(mine), statistics.median(theirs)


def planner_command() -> list[str]:
    script = shutil.which("planner") or str(Path(sys.executable).with_name("planner"))
    return [script]


def run_quietly(command: list[str]) -> None:
    subprocess.run(command, check=True, capture_output=True)


#: Runs a command and prints its peak resident memory (KiB): a small parent
#: process, because on Linux a child's maxrss starts at its parent's size.
_RSS_PROBE = """
import os, subprocess, sys
with open(sys.argv[1], "wb") as err:
    child = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=err)
    _, status, usage = os.wait4(child.pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)
"""


def peak_rss(command: list[str], folder: Path) -> tuple[float, float]:
    """Peak resident memory (MB) and seconds of ``command`` in its own process."""
    errors = folder / "probe-stderr.txt"
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _RSS_PROBE, str(errors), *command],
        check=True,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    code, kib = (int(word) for word in done.stdout.split())
    if code != 0:
        raise SystemExit(f"{' '.join(command)} failed: {errors.read_text()}")
    return kib / 1024, seconds


# ------------------------------------------------------------------ test data


def enrolments(count: int, sites: list[str], first: date, spread_days: int) -> list[Enrolment]:
    out = []
    for i in range(count):
        protocol, arm = ARMS[i % len(ARMS)]
        weight = 60.0 + i % 30 if bundled(protocol).arm(arm).dose_per_kg else None
        out.append(
            Enrolment(
                participant=f"P{i:07d}",
                protocol=protocol,
                arm=arm,
                site=sites[i % len(sites)],
                day1=first + timedelta(days=(i * 7919) % spread_days),
                weight_kg=weight,
            )
        )
    return out


def write_csv(path: Path, rows: Iterable[Enrolment]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["participant", "protocol", "arm", "site", "day1", "weight_kg"])
        for e in rows:
            weight = "" if e.weight_kg is None else f"{e.weight_kg:g}"
            writer.writerow([e.participant, e.protocol, e.arm, e.site, e.day1.isoformat(), weight])


def remove_db(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def fresh_db(folder: Path, name: str, sites: Iterable[str] = ("S0",)) -> Path:
    path = folder / name
    remove_db(path)
    with Planner(str(path), actor="bench", clock=lambda: FIXED_NOW) as planner:
        for code in sites:
            planner.add_site(code, "Asia/Shanghai")
    return path


def build_query_db(folder: Path, name: str, visits: int) -> tuple[Path, int]:
    """Sites of equal density (~10 k visits each): a larger programme has more sites."""
    per_participant = 11  # the mean over the six bundled arms
    participants = max(len(ARMS), visits // per_participant)
    site_count = max(1, round(visits / 10_000))
    sites = [f"S{i}" for i in range(site_count)]
    db = fresh_db(folder, name, sites)
    rows = enrolments(participants, sites, date(2025, 1, 1), 730)
    with Planner(str(db), actor="bench", clock=lambda: FIXED_NOW) as planner:
        for start in range(0, len(rows), 20_000):
            planner.enroll_many(rows[start : start + 20_000])
    with sqlite3.connect(db) as connection:
        # What happened in the past happened: most past visits are completed.
        connection.execute(
            "UPDATE visits SET status = 'completed', actual = target WHERE target < ?",
            ((AS_OF - timedelta(days=30)).isoformat(),),
        )
        connection.execute("ANALYZE")
        total = connection.execute("SELECT count(*) FROM visits").fetchone()[0]
    connection.close()
    return db, total

"""What durability costs: ``PRAGMA synchronous`` FULL against NORMAL in WAL mode.

    python benchmarks/durability.py [--tiny] [--commands 200] [--participants 10000]

With NORMAL, a commit in WAL mode is not synced to disk (only checkpoints
are): a power cut may lose the last acknowledged commands, never corrupt the
file. With FULL, every commit syncs the WAL. This measures, in process and on
the file system of the current folder (not a tmpfs), the enrolment of the
benchmark (one transaction of many participants) and short write commands
(each one a new :class:`Planner`, one transaction, like a CLI command), with
each setting, alternating, and prints the medians and their ratio.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from planner.app import Planner
from planner.core.bundled import BUNDLED_IDS, bundled
from planner.core.enrolment import Enrolment
from planner.store import engine

NOW = datetime(2026, 11, 22, 8, 0, 0)
SETTINGS = ("FULL", "NORMAL")
ARMS = [(pid, arm) for pid in BUNDLED_IDS for arm in bundled(pid).arm_codes()]


def enrolments(count: int) -> list[Enrolment]:
    """The participants of ``benchmarks/run.py``'s enrolment, at one site."""
    out = []
    for i in range(count):
        protocol, arm = ARMS[i % len(ARMS)]
        weight = 60.0 + i % 30 if bundled(protocol).arm(arm).dose_per_kg else None
        day1 = date(2026, 1, 1) + timedelta(days=(i * 7919) % 365)
        out.append(Enrolment(f"P{i:07d}", protocol, arm, "S0", day1, weight))
    return out


def fresh(folder: Path, name: str) -> Path:
    path = folder / name
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    with Planner(str(path), actor="bench", clock=lambda: NOW) as planner:
        planner.add_site("S0", "Asia/Shanghai")
    return path


def enrol_time(folder: Path, participants: int) -> float:
    db = fresh(folder, f"enrol-{engine.SYNCHRONOUS}.db")
    rows = enrolments(participants)
    start = time.perf_counter()
    with Planner(str(db), actor="bench", clock=lambda: NOW) as planner:
        planner.enroll_many(rows)
    return time.perf_counter() - start


def command_times(folder: Path, commands: int) -> list[float]:
    """Complete then undo one visit, again and again: one command each."""
    db = fresh(folder, f"short-{engine.SYNCHRONOUS}.db")
    with Planner(str(db), actor="bench", clock=lambda: NOW) as planner:
        planner.enroll("P1", "cs-huc-mscs", "LOW", "S0", date(2026, 1, 5))
    times = []
    for number in range(commands):
        start = time.perf_counter()
        with Planner(str(db), actor="bench", clock=lambda: NOW) as planner:
            if number % 2 == 0:
                planner.complete("P1/INF/1", date(2026, 1, 5))
            else:
                planner.undo("P1/INF/1", reason="benchmark")
        times.append(time.perf_counter() - start)
    return times


def commit_times(folder: Path, commits: int) -> list[float]:
    """One-row commits with sqlite3 alone: the sync itself, without planner around it."""
    path = folder / f"raw-{engine.SYNCHRONOUS}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute(f"PRAGMA synchronous = {engine.SYNCHRONOUS}")
    connection.execute("CREATE TABLE t (x INTEGER)")
    times = []
    for number in range(commits):
        start = time.perf_counter()
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("INSERT INTO t VALUES (?)", (number,))
        connection.execute("COMMIT")
        times.append(time.perf_counter() - start)
    connection.close()
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="small sizes, in seconds")
    parser.add_argument("--commands", type=int, default=200)
    parser.add_argument("--participants", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3, help="enrolments per setting")
    args = parser.parse_args(argv)
    if args.tiny:
        args.commands, args.participants, args.runs = 10, 100, 1
    folder = Path(tempfile.mkdtemp(prefix="durability-", dir="."))
    enrol: dict[str, list[float]] = {name: [] for name in SETTINGS}
    short: dict[str, list[float]] = {name: [] for name in SETTINGS}
    raw: dict[str, list[float]] = {name: [] for name in SETTINGS}
    try:
        for _ in range(args.runs):
            for name in SETTINGS:  # alternating, so drift hits both alike
                engine.SYNCHRONOUS = name
                enrol[name].append(enrol_time(folder, args.participants))
                short[name] += command_times(folder, args.commands // args.runs)
                raw[name] += commit_times(folder, args.commands)
    finally:
        engine.SYNCHRONOUS = "FULL"
        shutil.rmtree(folder, ignore_errors=True)
    for label, figures, unit, scale in (
        (f"enrol {args.participants} participants", enrol, "s", 1.0),
        ("short write command (complete/undo)", short, "ms", 1000.0),
        ("one-row commit, sqlite3 alone", raw, "ms", 1000.0),
    ):
        full, normal = (statistics.median(figures[name]) * scale for name in SETTINGS)
        print(
            f"{label:40s} FULL {full:9.2f} {unit}  NORMAL {normal:9.2f} {unit}"
            f"  FULL/NORMAL {full / normal:5.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

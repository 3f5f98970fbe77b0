"""What checking for damage costs, on the benchmark's database size.

    python benchmarks/damage.py [--tiny] [--participants 10000] [--commands 40]

Builds a database of ``--participants`` participants (as ``benchmarks/run.py``
enrols them, at one site), then prints, warm cache, the median time of each
check ``planner db check`` runs (``PRAGMA quick_check``, ``integrity_check``,
``foreign_key_check``, the stored-values scan) with its cost per MB, and the
median time of a short write command (a new :class:`Planner`, one visit
completed or undone, as a CLI command does) with the quick check before the
write and without it. ``docs/architecture.md`` ("Damage") records the figures
and the choice made from them.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: ``benchmarks`` is a package of the repository
    sys.path.insert(0, str(ROOT))

from benchmarks.durability import NOW, enrolments, fresh  # noqa: E402
from planner.app import Planner  # noqa: E402
from planner.store.database import Database  # noqa: E402
from planner.store.repository import health  # noqa: E402


def median_ms(action: Callable[[], Any], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def check_times(db: Path, runs: int) -> dict[str, float]:
    engine = create_engine(f"sqlite:///{db}")
    checks: dict[str, Callable[[Any], Any]] = {
        "quick_check": health.quick_check,
        "integrity_check": health.integrity_check,
        "foreign_key_check": health.foreign_key_check,
        "stored values (with UTF-8)": health.bad_values,
    }
    try:
        with engine.connect() as connection:
            return {
                name: median_ms(lambda check=check: check(connection), runs)
                for name, check in checks.items()
            }
    finally:
        engine.dispose()


def command_ms(db: Path, commands: int) -> float:
    """Complete then undo the first participant's first infusion, a Planner each."""
    times = []
    for number in range(commands):
        start = time.perf_counter()
        with Planner(str(db), actor="bench", clock=lambda: NOW) as planner:
            if number % 2 == 0:
                planner.complete("P0000000/INF/1", date(2026, 1, 1))
            else:
                planner.undo("P0000000/INF/1", reason="benchmark")
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="small sizes, in seconds")
    parser.add_argument("--participants", type=int, default=10_000)
    parser.add_argument("--commands", type=int, default=40)
    parser.add_argument("--runs", type=int, default=5, help="runs of each check")
    args = parser.parse_args(argv)
    if args.tiny:
        args.participants, args.commands, args.runs = 100, 4, 1
    folder = Path(tempfile.mkdtemp(prefix="damage-", dir="."))
    try:
        db = fresh(folder, "damage.db")
        with Planner(str(db), actor="bench", clock=lambda: NOW) as planner:
            planner.enroll_many(enrolments(args.participants))
        megabytes = db.stat().st_size / 1e6
        print(f"database of {args.participants} participants: {megabytes:.1f} MB")
        for name, ms in check_times(db, args.runs).items():
            print(f"{name:28s} {ms:9.1f} ms  {ms / megabytes:6.2f} ms/MB")
        with_check = command_ms(db, args.commands)
        original = Database.check_before_writing
        Database.check_before_writing = lambda self: None  # type: ignore[method-assign]
        try:
            without = command_ms(db, args.commands)
        finally:
            Database.check_before_writing = original  # type: ignore[method-assign]
        print(
            f"{'short write command':28s} {with_check:9.1f} ms with the quick check, "
            f"{without:.1f} ms without (+{with_check - without:.1f} ms)"
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

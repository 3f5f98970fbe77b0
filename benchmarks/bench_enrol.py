"""``planner enroll --csv``: time against a plain sqlite3 script writing the
same rows, peak memory at two sizes, and time per participant at both."""

from __future__ import annotations

import pickle
import shutil
import sqlite3
import statistics
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

from benchmarks.common import (
    Figure,
    Sizes,
    enrolments,
    fresh_db,
    median_time,
    peak_rss,
    planner_command,
    remove_db,
    run_quietly,
    write_csv,
)

#: The tables an enrolment writes to, in the order of their foreign keys.
TABLES = ("protocol_versions", "participants", "visits", "audit")

#: The baseline: a plain sqlite3 script that writes rows it is given (pickled:
#: the fastest way to read them) in one transaction, with the connection
#: settings planner uses (arguments: database, rows, synchronous, cache KiB).
RAW_SCRIPT = """
import pickle, sqlite3, sys
with open(sys.argv[2], "rb") as handle:
    tables = pickle.load(handle)
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("PRAGMA busy_timeout = 5000")
connection.execute("PRAGMA foreign_keys = ON")
connection.execute("PRAGMA journal_mode = WAL")
connection.execute("PRAGMA synchronous = " + sys.argv[3])
connection.execute("PRAGMA cache_size = -" + sys.argv[4])
connection.execute("BEGIN IMMEDIATE")
for table, columns, rows in tables:
    marks = ", ".join("?" * len(columns))
    connection.executemany(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows
    )
connection.execute("COMMIT")
connection.close()
"""


def new_rows(
    template: Path, done: Path
) -> list[tuple[str, tuple[str, ...], list[tuple[Any, ...]]]]:
    """The rows an enrolment added: those of ``done`` beyond ``template``'s last ids."""
    found = []
    with sqlite3.connect(template) as before, sqlite3.connect(done) as after:
        for table in TABLES:
            last = before.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]
            cursor = after.execute(f"SELECT * FROM {table} WHERE id > ? ORDER BY id", (last,))
            columns = tuple(d[0] for d in cursor.description)
            found.append((table, columns, cursor.fetchall()))
    before.close()
    after.close()
    return found


def synchronous() -> str:
    try:
        from planner.store.engine import SYNCHRONOUS
    except ImportError:  # an older planner
        return "FULL"
    return str(SYNCHRONOUS)


#: SQLite's own page cache size (KiB), for the baseline with SQLite's defaults.
SQLITE_DEFAULT_CACHE_KIB = 2000


def cache_kib() -> int:
    """The page cache planner's connections use (KiB)."""
    try:
        from planner.store.engine import CACHE_KIB
    except ImportError:  # an older planner
        return SQLITE_DEFAULT_CACHE_KIB
    return int(CACHE_KIB)


def bench_enrolment(folder: Path, sizes: Sizes) -> list[Figure]:
    count = sizes.enrol_participants
    csv_path = folder / "enrol.csv"
    write_csv(csv_path, enrolments(count, ["S0"], date(2026, 1, 1), 365))
    template = fresh_db(folder, "enrol-template.db")
    db, raw = folder / "enrol.db", folder / "raw.db"

    def copy(to: Path) -> None:
        remove_db(to)
        shutil.copy(template, to)

    enrol = [*planner_command(), "--db", str(db), "enroll", "--csv", str(csv_path)]
    copy(db)
    run_quietly(enrol)  # once untimed: the rows the baseline writes
    rows = new_rows(template, db)
    dumped = folder / "rows.pickle"
    dumped.write_bytes(pickle.dumps(rows, protocol=pickle.HIGHEST_PROTOCOL))
    script = [sys.executable, "-c", RAW_SCRIPT, str(raw), str(dumped), synchronous()]
    tuned, plain = [*script, str(cache_kib())], [*script, str(SQLITE_DEFAULT_CACHE_KIB)]
    times: dict[str, list[float]] = {"ours": [], "tuned": [], "plain": []}
    for _ in range(max(3, sizes.runs)):  # alternately: a busy moment hurts all three
        times["ours"].append(median_time(lambda: run_quietly(enrol), 1, lambda: copy(db)))
        for name, command in (("tuned", tuned), ("plain", plain)):
            run = lambda command=command: subprocess.run(command, check=True)  # noqa: E731
            times[name].append(median_time(run, 1, lambda: copy(raw)))
    ours, base, default = (statistics.median(times[name]) for name in ("ours", "tuned", "plain"))
    written = {table: len(found) for table, _, found in rows}
    visits = written["visits"]
    figures = [
        Figure(
            f"enroll --csv (end to end, CLI), {count:,} participants",
            ours,
            base,
            1.5,
            note=f"{visits:,} visits, {written['audit']:,} audit rows; "
            f"{visits / ours:,.0f} visits/s; baseline: sqlite3 script, same rows, "
            f"planner's connection settings",
        ),
        Figure(
            "  the same vs the script with SQLite's default page cache",
            ours,
            default,
            None,
            note=f"{SQLITE_DEFAULT_CACHE_KIB:,} KiB instead of planner's {cache_kib():,} KiB",
        ),
    ]
    return figures + _memory(folder, sizes, template, ours)


def _memory(folder: Path, sizes: Sizes, template: Path, small_time: float) -> list[Figure]:
    """Peak RSS of enrolment at the small and the large size; time per participant."""
    measured = {}
    for count in (sizes.enrol_participants, sizes.memory_participants):
        csv_path = folder / f"enrol-{count}.csv"
        write_csv(csv_path, enrolments(count, ["S0"], date(2026, 1, 1), 365))
        db = folder / f"enrol-{count}.db"
        remove_db(db)
        shutil.copy(template, db)
        command = [*planner_command(), "--db", str(db), "enroll", "--csv", str(csv_path)]
        measured[count] = peak_rss(command, folder)
        remove_db(db)
    (small, (small_mb, _)), (large, (large_mb, large_s)) = sorted(measured.items())
    per_small, per_large = small_time / small, large_s / large
    return [
        Figure(f"enroll --csv {large:,}: peak memory", large_mb, None, 150.0, unit="MB",
               note=f"{small:,} participants: {small_mb:.0f} MB (maxrss of the process)"),
        Figure(f"enroll --csv {large:,} vs {small:,}: time each", per_large * 1e3,
               per_small * 1e3, 1.5, unit="ms", note="linear: per participant"),
    ]  # fmt: skip

"""Benchmarks: enrolment, queries, export and re-planning against baselines.

    python benchmarks/run.py            # full sizes (a few minutes on 2 cores)
    python benchmarks/run.py --tiny     # seconds; what the test suite runs

Builds its own data in a temporary folder and prints one line per figure:
our median time, the baseline's median time measured in the same run, the
ratio, the target and whether it is met, plus peak memory where it matters.
Not a test: figures depend on the machine; the tests check behaviour.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from planner.app import ExportScope, Planner
from planner.core.bundled import BUNDLED_IDS, bundled
from planner.core.enrolment import Enrolment
from planner.core.ics import render
from planner.core.schedule import expand
from planner.core.visits import VisitRecord

ARMS = [(pid, arm) for pid in BUNDLED_IDS for arm in bundled(pid).arm_codes()]
FIXED_NOW = datetime(2026, 11, 22, 8, 0, 0)
AS_OF = date(2026, 11, 22)


@dataclass
class Sizes:
    enrol_participants: int
    small_visits: int
    large_visits: int
    export_visits: int
    runs: int
    closing_visits: int


FULL = Sizes(10_000, 10_000, 1_000_000, 100_000, 3, 1_000)
TINY = Sizes(200, 2_000, 20_000, 2_000, 1, 50)


@dataclass
class Figure:
    name: str
    ours: float
    baseline: float | None
    target: float | None
    unit: str = "s"
    note: str = ""

    def line(self) -> str:
        ours = f"{self.ours:.4f} {self.unit}"
        if self.baseline is None:
            met = "" if self.target is None else ("met" if self.ours <= self.target else "MISSED")
            limit = "" if self.target is None else f"target <= {self.target} {self.unit}"
            return f"{self.name:<44} {ours:>14}  {limit:<22} {met:<6} {self.note}"
        ratio = self.ours / self.baseline if self.baseline else float("inf")
        met = "" if self.target is None else ("met" if ratio <= self.target else "MISSED")
        limit = "" if self.target is None else f"target <= {self.target}x"
        base = f"{self.baseline:.4f} {self.unit}"
        return (
            f"{self.name:<44} {ours:>14}  baseline {base:>13}  ratio {ratio:6.2f}x  "
            f"{limit:<14} {met:<6} {self.note}"
        )


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


def planner_command() -> list[str]:
    script = shutil.which("planner") or str(Path(sys.executable).with_name("planner"))
    return [script]


# ------------------------------------------------------------------ enrolment


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


def write_csv(path: Path, rows: list[Enrolment]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["participant", "protocol", "arm", "site", "day1", "weight_kg"])
        for e in rows:
            weight = "" if e.weight_kg is None else f"{e.weight_kg:g}"
            writer.writerow([e.participant, e.protocol, e.arm, e.site, e.day1.isoformat(), weight])


def fresh_db(folder: Path, name: str, sites: Iterable[str] = ("S0",)) -> Path:
    path = folder / name
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    with Planner(str(path), actor="bench", clock=lambda: FIXED_NOW) as planner:
        for code in sites:
            planner.add_site(code, "Asia/Shanghai")
    return path


def baseline_visit_rows(rows: list[Enrolment]) -> list[tuple[Any, ...]]:
    """The visit rows the command writes, precomputed (not timed)."""
    out = []
    for number, e in enumerate(rows, start=1):
        for o in expand(bundled(e.protocol), e.arm, e.day1):
            out.append(
                (number, 1, o.event, o.occurrence, o.kind, o.ideal.isoformat(),
                 o.target.isoformat(), o.window_start.isoformat(), o.window_end.isoformat(),
                 o.time.strftime("%H:%M") if o.time else None, o.duration_minutes,
                 "scheduled", None, 0, 0, 0, FIXED_NOW.isoformat(sep=" "))
            )  # fmt: skip
    return out


def bench_enrolment(folder: Path, sizes: Sizes) -> list[Figure]:
    rows = enrolments(sizes.enrol_participants, ["S0"], date(2026, 1, 1), 365)
    csv_path = folder / "enrol.csv"
    write_csv(csv_path, rows)
    db_template = fresh_db(folder, "enrol-template.db")
    db = folder / "enrol.db"

    def setup() -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(str(db) + suffix).unlink(missing_ok=True)
        shutil.copy(db_template, db)

    def ours() -> None:
        subprocess.run(
            [*planner_command(), "--db", str(db), "enroll", "--csv", str(csv_path)],
            check=True,
            capture_output=True,
        )

    ours_time = median_time(ours, sizes.runs, setup)
    with sqlite3.connect(db) as connection:
        visits = connection.execute("SELECT count(*) FROM visits").fetchone()[0]
        schema = [
            sql
            for (sql,) in connection.execute(
                "SELECT sql FROM sqlite_master WHERE tbl_name = 'visits' AND sql IS NOT NULL"
            )
        ]
    visit_rows = baseline_visit_rows(rows)
    assert len(visit_rows) == visits, (len(visit_rows), visits)
    raw = folder / "raw.db"

    def raw_setup() -> None:
        raw.unlink(missing_ok=True)
        with sqlite3.connect(raw) as connection:
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("CREATE TABLE participants (id INTEGER PRIMARY KEY)")
            connection.execute("CREATE TABLE sites (id INTEGER PRIMARY KEY)")
            for statement in schema:
                connection.execute(statement)

    def baseline() -> None:
        connection = sqlite3.connect(raw)
        connection.execute("PRAGMA synchronous = NORMAL")
        with connection:
            connection.executemany(
                "INSERT INTO visits (participant_id, site_id, event, occurrence, kind, ideal, "
                "target, window_start, window_end, time, duration_minutes, status, actual, "
                "pinned, deviation, revision, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                visit_rows,
            )
        connection.close()

    base_time = median_time(baseline, sizes.runs, raw_setup)
    note = (
        f"{sizes.enrol_participants} participants, {visits} visits; "
        f"{visits / ours_time:,.0f} visits/s end to end"
    )
    return [Figure("enroll --csv (end to end, CLI)", ours_time, base_time, 4.0, note=note)]


# -------------------------------------------------------------------- queries


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
    return db, total


#: Hand-written queries returning the same rows (same columns, joins and order) as the API.
_HAND_SELECT = """
SELECT v.event, v.occurrence, v.ideal, v.target, v.window_start, v.window_end, v.time,
       v.duration_minutes, v.status, v.actual, v.deviation, v.revision, v.updated_at,
       p.code, p.arm, p.day1, p.weight_kg, p.protocol_version_id, s.code, s.timezone
FROM visits v JOIN participants p ON p.id = v.participant_id JOIN sites s ON s.id = v.site_id
"""
_HAND_ORDER = "ORDER BY v.target, coalesce(v.time, ''), p.code, v.event, v.occurrence"
HAND_UPCOMING = (
    _HAND_SELECT
    + "WHERE v.site_id = ? AND v.target >= ? AND v.target < ? AND v.status = 'scheduled'\n"
    + _HAND_ORDER
)
HAND_OVERDUE = (
    _HAND_SELECT
    + "WHERE v.site_id = ? AND v.status = 'scheduled' AND v.window_end < ?\n"
    + _HAND_ORDER
)


def time_queries(db: Path, total: int, runs: int) -> tuple[list[Figure], dict[str, float]]:
    """Our API against hand-written sqlite3 queries on one database."""
    figures = []
    times: dict[str, float] = {}
    week_end = (AS_OF + timedelta(days=7)).isoformat()
    with Planner(str(db), actor="bench", clock=lambda: FIXED_NOW) as planner:
        cases: list[tuple[str, Callable[[], list[VisitRecord]], str, tuple[Any, ...]]] = [
            ("upcoming", lambda: planner.upcoming(AS_OF, 7, site="S0"), HAND_UPCOMING,
             (1, AS_OF.isoformat(), week_end)),
            ("overdue", lambda: planner.overdue(AS_OF, site="S0"), HAND_OVERDUE,
             (1, AS_OF.isoformat())),
        ]  # fmt: skip
        connection = sqlite3.connect(db)
        for name, ours, sql, params in cases:
            found = len(ours())
            hand = connection.execute(sql, params).fetchall()
            assert len(hand) == found, (name, len(hand), found)

            def by_hand(sql: str = sql, params: tuple[Any, ...] = params) -> list[Any]:
                return connection.execute(sql, params).fetchall()

            times[name] = median_time(ours, runs)
            base_time = median_time(by_hand, runs)
            figures.append(
                Figure(
                    f"{name} one site, {total:,} visits (API)",
                    times[name],
                    base_time,
                    2.0,
                    note=f"{found} rows",
                )
            )
        connection.close()
    cli_args = {
        "upcoming": ["upcoming", "--from", AS_OF.isoformat(), "--days", "7", "--site", "S0"],
        "overdue": ["overdue", "--as-of", AS_OF.isoformat(), "--site", "S0"],
    }
    for name, args in cli_args.items():
        command = [*planner_command(), "--db", str(db), *args]
        cli_time = median_time(
            lambda command=command: subprocess.run(command, check=True, capture_output=True),
            max(3, runs // 5),
        )
        figures.append(Figure(f"{name} one site, {total:,} visits (CLI)", cli_time, None, None))
    return figures, times


def bench_queries(folder: Path, sizes: Sizes) -> list[Figure]:
    figures = []
    per_size: dict[int, dict[str, float]] = {}
    for visits in (sizes.small_visits, sizes.large_visits):
        db, total = build_query_db(folder, f"query-{visits}.db", visits)
        found, per_size[visits] = time_queries(db, total, max(5, sizes.runs * 5))
        figures.extend(found)
    for name in ("upcoming", "overdue"):
        small, large = per_size[sizes.small_visits][name], per_size[sizes.large_visits][name]
        figures.append(
            Figure(f"{name}: large db vs small db (API)", large, small, 1.5, note="flat scaling")
        )
    startup = median_time(
        lambda: subprocess.run([*planner_command(), "--help"], check=True, capture_output=True),
        5,
    )
    python = median_time(
        lambda: subprocess.run([sys.executable, "-c", "pass"], check=True, capture_output=True),
        5,
    )
    figures.append(Figure("planner --help start-up (vs bare python)", startup, python, None))
    return figures


# --------------------------------------------------------------------- export


def plain_writer(records: Iterable[VisitRecord]) -> Iterator[bytes]:
    """The baseline: the same events as plain strings, no escaping or folding."""
    yield b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\nMETHOD:PUBLISH\r\n"
    for r in records:
        on = r.actual if r.status == "completed" and r.actual else r.target
        if r.time:
            hh, mm = r.time.split(":")
            start = f"DTSTART;TZID={r.timezone}:{on:%Y%m%d}T{hh}{mm}00"
            end = f"DTEND;TZID={r.timezone}:{on:%Y%m%d}T{hh}{mm}00"
        else:
            start = f"DTSTART;VALUE=DATE:{on:%Y%m%d}"
            end = f"DTEND;VALUE=DATE:{on + timedelta(days=1):%Y%m%d}"
        yield (
            f"BEGIN:VEVENT\r\nUID:{r.uid}\r\nSEQUENCE:{r.revision}\r\n"
            f"DTSTAMP:{r.updated:%Y%m%dT%H%M%SZ}\r\n{start}\r\n{end}\r\n"
            f"SUMMARY:{r.participant} · {r.label} {r.occurrence}/{r.count} · {r.arm}\r\n"
            f"DESCRIPTION:Window: {r.window_start} to {r.window_end}\\nStudy day: "
            f"{r.study_day}\\nDose: {r.dose}\r\nSTATUS:CONFIRMED\r\nEND:VEVENT\r\n"
        ).encode()
    yield b"END:VCALENDAR\r\n"


def drain(chunks: Iterable[bytes]) -> int:
    size = 0
    with open(os.devnull, "wb") as sink:
        for chunk in chunks:
            sink.write(chunk)
            size += len(chunk)
    return size


def time_export(planner: Planner, total: int, runs: int) -> list[Figure]:
    scope = ExportScope()
    zones = planner.exports.zones(scope)
    records = list(planner.visits(scope))
    ours = median_time(lambda: drain(render(records, name="bench", zones=zones)), runs)
    base = median_time(lambda: drain(plain_writer(records)), runs)

    def from_db() -> int:
        return drain(
            render(planner.visits(scope), name="bench", zones=planner.exports.zones(scope))
        )

    end_to_end = median_time(from_db, runs)
    return [
        Figure(f"export .ics render, {total:,} events", ours, base, 3.0,
               note=f"{total / ours:,.0f} events/s"),
        Figure(f"export .ics from the db (API), {total:,} events", end_to_end, None, None,
               note=f"{total / end_to_end:,.0f} events/s"),
    ]  # fmt: skip


def peak_export_memory(planner: Planner) -> float:
    """Peak traced memory (MB) of a streamed export from the database."""
    scope = ExportScope()
    tracemalloc.start()
    try:
        drain(render(planner.visits(scope), name="bench", zones=planner.exports.zones(scope)))
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def bench_export(folder: Path, sizes: Sizes) -> list[Figure]:
    figures = []
    peaks: dict[int, float] = {}
    for visits in (sizes.export_visits // 10, sizes.export_visits):
        db, total = build_query_db(folder, f"export-{visits}.db", visits)
        with Planner(str(db), actor="bench", clock=lambda: FIXED_NOW) as planner:
            if visits == sizes.export_visits:
                figures.extend(time_export(planner, total, sizes.runs))
            peaks[total] = peak_export_memory(planner)
    (small, small_peak), (large, large_peak) = sorted(peaks.items())
    figures.append(
        Figure(
            f"export peak memory {large:,} vs {small:,} events",
            large_peak,
            small_peak,
            1.5,
            unit="MB",
            note="streamed: must not grow with the number of events",
        )
    )
    return figures


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


# ----------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="small sizes, for the test suite")
    parser.add_argument("--runs", type=int, help="repetitions for medians")
    parser.add_argument("--only", choices=["enrol", "queries", "export", "replan"], action="append")
    args = parser.parse_args(argv)
    sizes = TINY if args.tiny else FULL
    if args.runs:
        sizes.runs = args.runs
    sections = {
        "enrol": bench_enrolment,
        "queries": bench_queries,
        "export": bench_export,
        "replan": bench_replan,
    }
    print(f"planner benchmarks ({'tiny' if args.tiny else 'full'} sizes, medians of {sizes.runs}"
          f" runs or more, {os.cpu_count()} cores)")  # fmt: skip
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="planner-bench-") as tmp:
        for name, bench in sections.items():
            if args.only and name not in args.only:
                continue
            for figure in bench(Path(tmp), sizes):
                print(figure.line(), flush=True)
    print(f"total {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

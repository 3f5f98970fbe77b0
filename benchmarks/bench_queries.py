"""What coordinators ask, through the API against hand-written sqlite3 queries
returning the same rows, at two database sizes; and short commands end to end
against a bare ``python -c pass``."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from benchmarks.common import (
    AS_OF,
    FIXED_NOW,
    Figure,
    Sizes,
    build_query_db,
    paired_times,
    planner_command,
    run_quietly,
)
from planner.app import Planner

_HAND_SELECT = """
SELECT v.event, v.occurrence, v.ideal, v.target, v.window_start, v.window_end, v.time,
       v.duration_minutes, v.status, v.actual, v.deviation, v.revision, v.updated_at,
       p.code, p.arm, p.day1, p.weight_kg, p.protocol_version_id, s.code, s.timezone,
       v.kind, v.label
FROM visits v JOIN participants p ON p.id = v.participant_id JOIN sites s ON s.id = v.site_id
"""
_BY_TARGET = "ORDER BY v.target, coalesce(v.time, ''), p.code, v.event, v.occurrence"
_BY_END = "ORDER BY v.window_end, v.target, coalesce(v.time, ''), p.code, v.event, v.occurrence"
_SCHEDULED = "WHERE v.site_id = ? AND v.status = 'scheduled' "
#: Every visit in the order of the API's visit query (exports).
HAND_BY_TARGET = _HAND_SELECT + _BY_TARGET
#: Hand-written queries returning the same rows (columns, joins and order) as the API.
HAND = {
    "upcoming": _HAND_SELECT + _SCHEDULED + "AND v.target >= ? AND v.target < ?\n" + _BY_TARGET,
    "due": _HAND_SELECT + _SCHEDULED + "AND v.window_start <= ? AND v.window_end >= ?\n" + _BY_END,
    "overdue": _HAND_SELECT + _SCHEDULED + "AND v.window_end < ?\n" + _BY_END,
}


def _cases(planner: Planner) -> dict[str, tuple[Callable[[], list[Any]], tuple[Any, ...]]]:
    day, week_end = AS_OF.isoformat(), (AS_OF + timedelta(days=7)).isoformat()
    return {
        "upcoming": (lambda: planner.upcoming(AS_OF, 7, site="S0"), (1, day, week_end)),
        "due": (lambda: planner.due(AS_OF, site="S0"), (1, day, day)),
        "overdue": (lambda: planner.overdue_by(AS_OF, site="S0"), (1, day)),
    }


def forget(planner: Planner) -> Callable[[], None]:
    """Drop the records the process kept between queries
    (planner.store.repository.keyed), so that the next answer is a first one."""

    def forget_records() -> None:
        planner._ctx.db.protocols.records = {}  # a benchmark may look inside

    return forget_records


def time_queries(db: Path, total: int, runs: int) -> tuple[list[Figure], dict[str, float]]:
    """Our API against hand-written sqlite3 queries on one database."""
    figures = []
    times: dict[str, float] = {}
    with Planner(str(db), actor="bench", clock=lambda: FIXED_NOW) as planner:
        connection = sqlite3.connect(db)
        for name, (ours, params) in _cases(planner).items():
            found = len(ours())
            hand = connection.execute(HAND[name], params).fetchall()
            assert len(hand) == found, (name, len(hand), found)

            def by_hand(sql: str = HAND[name], params: tuple[Any, ...] = params) -> list[Any]:
                return connection.execute(sql, params).fetchall()

            times[name], base = paired_times(ours, by_hand, runs)
            figures.append(
                Figure(f"{name} one site, {total:,} visits (API)", times[name], base, 2.0,
                       note=f"{found} rows, asked again: records kept")
            )  # fmt: skip
            first, base = paired_times(ours, by_hand, runs, setup=(forget(planner), None))
            figures.append(
                Figure(f"{name} one site, {total:,} visits (API, first)", first, base, 2.0,
                       note=f"{found} rows, nothing kept (as a new process)")
            )  # fmt: skip
        connection.close()
    return figures, times


def bench_queries(folder: Path, sizes: Sizes) -> list[Figure]:
    figures = []
    dbs = []
    for visits in (sizes.small_visits, sizes.large_visits):
        db, total = build_query_db(folder, f"query-{visits}.db", visits)
        dbs.append(db)
        figures.extend(time_queries(db, total, max(7, sizes.runs * 5))[0])
    return figures + flat_scaling(*dbs, max(7, sizes.runs * 5)) + short_commands(dbs[0], sizes)


def flat_scaling(small_db: Path, large_db: Path, runs: int) -> list[Figure]:
    """Each query on the large database against the same on the small one,
    run alternately (so that the machine's load hurts both alike)."""
    figures = []
    with (
        Planner(str(small_db), actor="bench", clock=lambda: FIXED_NOW) as small,
        Planner(str(large_db), actor="bench", clock=lambda: FIXED_NOW) as large,
    ):
        small_cases, large_cases = _cases(small), _cases(large)
        for name, (ours, _) in large_cases.items():
            on_large, on_small = paired_times(ours, small_cases[name][0], runs)
            figures.append(
                Figure(f"{name}: large db vs small db (API)", on_large, on_small, 1.5,
                       note="flat scaling")
            )  # fmt: skip
    return figures


def _completable(db: Path, count: int) -> list[tuple[str, str]]:
    """Scheduled visits at S0 that may be completed today (target not after today)."""
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT p.code || '/' || v.event || '/' || v.occurrence, v.target FROM visits v "
            "JOIN participants p ON p.id = v.participant_id "
            "WHERE v.site_id = 1 AND v.status = 'scheduled' AND v.target <= ? "
            "AND NOT EXISTS (SELECT 1 FROM visits w WHERE w.participant_id = v.participant_id "
            "AND w.event = v.event AND w.occurrence < v.occurrence AND w.status = 'scheduled') "
            "ORDER BY v.target DESC LIMIT ?",
            (min(date.today(), AS_OF).isoformat(), count),
        ).fetchall()
    connection.close()
    return [(visit, target) for visit, target in rows]


def short_commands(db: Path, sizes: Sizes) -> list[Figure]:
    """Short commands end to end (a new process each) against ``python -c pass``."""
    runs = 3 if sizes.tiny else 11
    day = AS_OF.isoformat()
    base = [*planner_command(), "--db", str(db)]
    commands = {
        "upcoming": [*base, "upcoming", "--from", day, "--days", "7", "--site", "S0"],
        "due": [*base, "due", "--as-of", day, "--site", "S0"],
        "overdue": [*base, "overdue", "--as-of", day, "--site", "S0"],
    }
    python = [sys.executable, "-c", "pass"]
    ours, bare = paired_times(
        lambda: run_quietly([*planner_command(), "--help"]), lambda: run_quietly(python), runs
    )
    figures = [_short("planner --help start-up (CLI)", ours, bare)]
    for name, command in commands.items():
        ours, bare = paired_times(
            lambda c=command: run_quietly(c), lambda: run_quietly(python), runs
        )
        figures.append(_short(f"planner {name} (CLI, 10k visits)", ours, bare))
    visits = iter(_completable(db, runs))

    def complete() -> None:
        visit, target = next(visits)
        run_quietly([*base, "visit", "complete", visit, "--on", target])

    if len(_completable(db, runs)) == runs:
        ours, bare = paired_times(complete, lambda: run_quietly(python), runs)
        figures.append(_short("planner visit complete (CLI, 10k visits)", ours, bare))
    return figures


def _short(name: str, ours: float, bare: float) -> Figure:
    met = "met" if ours <= 0.150 else "over"
    note = f"{ours * 1000:.0f} ms ({met} 150 ms); baseline python -c pass"
    return Figure(name, ours, bare, 8.0, note=note)

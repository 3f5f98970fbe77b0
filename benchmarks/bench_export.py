"""Exports: ``.ics`` rendering against plain string formatting; ``.ics`` and
visit files from the database end to end, in events/s (the issue's target)
and against a hand-written baseline in the same run (a sqlite3 query of the
same rows in the same order, each row written with plain formatting: the most
this machine does with no records, escaping or folding); memory flat."""

from __future__ import annotations

import csv
import io
import itertools
import json
import os
import sqlite3
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from benchmarks.bench_queries import HAND_BY_TARGET
from benchmarks.common import FIXED_NOW, Figure, Sizes, build_query_db, paired_times
from planner.app import ExportScope, Planner
from planner.core.ics import render
from planner.core.visits import VisitRecord

#: Events per second an export from the database reaches, end to end, in process.
RATE_TARGET = 150_000.0


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


def _streams(planner: Planner) -> dict[str, Callable[[], int]]:
    """Each export of every visit, from the database to /dev/null."""
    return {
        ".ics": lambda: drain(planner.exports.ics()),
        "visits json": lambda: drain(planner.exports.visits(fmt="json")),
        "visits csv": lambda: drain(planner.exports.visits(fmt="csv")),
    }


def _hand_ics(rows: Iterable[tuple[Any, ...]]) -> Iterator[bytes]:
    """Raw rows (``HAND_BY_TARGET``'s columns) as plain VEVENTs."""
    yield b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\n"
    for r in rows:
        on = (r[9] if r[8] == "completed" and r[9] else r[3]).replace("-", "")
        yield (
            f"BEGIN:VEVENT\r\nUID:{r[13]}/{r[0]}/{r[1]}\r\nSEQUENCE:{r[11]}\r\n"
            f"DTSTAMP:{r[12]}\r\nDTSTART;VALUE=DATE:{on}\r\n"
            f"SUMMARY:{r[13]} · {r[21] or r[0]} {r[1]} · {r[14]}\r\n"
            f"DESCRIPTION:Window: {r[4]} to {r[5]}\r\nEND:VEVENT\r\n"
        ).encode()
    yield b"END:VCALENDAR\r\n"


def _hand_json(names: list[str], rows: Iterable[tuple[Any, ...]]) -> Iterator[bytes]:
    yield b"["
    for row in rows:
        yield (json.dumps(dict(zip(names, row, strict=True)), ensure_ascii=False) + ",\n").encode()
    yield b"]\n"


def _hand_csv(names: list[str], rows: Iterable[tuple[Any, ...]]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(names)
    for row in rows:
        writer.writerow(row)
        if buffer.tell() > 65536:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def hand_streams(db: Path) -> dict[str, Callable[[], int]]:
    """The baselines of :func:`_streams`: the same rows by a sqlite3 query,
    2,000 at a time, written with plain formatting."""

    def rows(names: list[str]) -> Iterator[tuple[Any, ...]]:
        connection = sqlite3.connect(db)
        try:
            cursor = connection.execute(HAND_BY_TARGET)
            names.extend(d[0] for d in cursor.description)
            while batch := cursor.fetchmany(2000):
                yield from batch
        finally:
            connection.close()

    def run(write: Callable[[list[str], Iterator[tuple[Any, ...]]], Iterator[bytes]]) -> int:
        names: list[str] = []
        found = rows(names)
        first = next(found, None)  # the query runs: its column names are known
        chained = found if first is None else itertools.chain([first], found)
        return drain(write(names, chained))

    return {
        ".ics": lambda: run(lambda _names, found: _hand_ics(found)),
        "visits json": lambda: run(_hand_json),
        "visits csv": lambda: run(_hand_csv),
    }


def time_export(planner: Planner, db: Path, total: int, runs: int) -> list[Figure]:
    scope = ExportScope()
    zones = planner.exports.zones(scope)
    records = list(planner.visits(scope))
    ours, base = paired_times(
        lambda: drain(render(records, name="bench", zones=zones)),
        lambda: drain(plain_writer(records)),
        runs,
    )
    figures = [
        Figure(f"export .ics render, {total:,} events", ours, base, 3.0,
               note=f"{total / ours:,.0f} events/s; baseline: plain f-strings"),
    ]  # fmt: skip
    hand = hand_streams(db)
    for name, stream in _streams(planner).items():
        seconds, base = paired_times(stream, hand[name], runs)
        figures.append(
            Figure(f"export {name} from the db (API), {total:,}", total / seconds, None,
                   RATE_TARGET, unit="events/s", higher=True, note=f"{seconds:.2f} s")
        )  # fmt: skip
        figures.append(
            Figure(f"export {name} vs hand-written, {total:,}", seconds, base, None,
                   note=f"baseline: sqlite3 query + plain formatting, {total / base:,.0f} events/s")
        )  # fmt: skip
    return figures


def peak_memory(stream: Callable[[], int]) -> float:
    """Peak traced memory (MB) of a streamed export from the database."""
    tracemalloc.start()
    try:
        stream()
        return tracemalloc.get_traced_memory()[1] / 1e6
    finally:
        tracemalloc.stop()


def bench_export(folder: Path, sizes: Sizes) -> list[Figure]:
    figures = []
    peaks: dict[int, dict[str, float]] = {}
    for visits in (sizes.export_visits // 10, sizes.export_visits):
        db, total = build_query_db(folder, f"export-{visits}.db", visits)
        with Planner(str(db), actor="bench", clock=lambda: FIXED_NOW) as planner:
            if visits == sizes.export_visits:
                figures.extend(time_export(planner, db, total, max(3, sizes.runs)))
            streams = _streams(planner)
            peaks[total] = {name: peak_memory(streams[name]) for name in (".ics", "visits json")}
    (small, small_peaks), (large, large_peaks) = sorted(peaks.items())
    for name, large_peak in large_peaks.items():
        figures.append(
            Figure(f"export peak memory, {name}, {large:,} vs {small:,}", large_peak,
                   small_peaks[name], 1.5, unit="MB",
                   note="streamed: must not grow with the number of events")
        )  # fmt: skip
    return figures

"""Exports: ``.ics`` rendering against plain string formatting, and ``.ics``
and visit files from the database end to end (events/s), memory flat."""

from __future__ import annotations

import os
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from pathlib import Path

from benchmarks.common import FIXED_NOW, Figure, Sizes, build_query_db, median_time, paired_times
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


def time_export(planner: Planner, total: int, runs: int) -> list[Figure]:
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
    for name, stream in _streams(planner).items():
        seconds = median_time(stream, runs)
        figures.append(
            Figure(f"export {name} from the db (API), {total:,}", total / seconds, None,
                   RATE_TARGET, unit="events/s", higher=True, note=f"{seconds:.2f} s")
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
                figures.extend(time_export(planner, total, max(3, sizes.runs)))
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

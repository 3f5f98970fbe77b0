"""Exports: what a scope holds, rendered, streamed or written whole.

:func:`visits_file` writes every field of every visit (the JSON visit object,
:meth:`VisitRecord.to_json`) as a JSON array, NDJSON (one object a line) or
CSV (a header, then one line a visit; ``true``/``false``, empty for null, and
text cells starting ``= + - @``, a tab or a carriage return prefixed with
``'`` so that spreadsheets do not run them). Records are read 2,000 at a time
and written in chunks: memory stays flat however many visits there are.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import timedelta
from typing import Any

from planner.app import queries
from planner.app.context import Context
from planner.app.results import ExportScope
from planner.core.errors import InputError
from planner.core.visits import VisitRecord
from planner.store.engine import sqlite_path
from planner.store.files import new_file_mode, protected_paths, write_atomically


def check_scope(scope: ExportScope) -> None:
    if scope.start and scope.end and scope.end < scope.start:
        raise InputError(
            f"the last day {scope.end} is before the first, {scope.start}",
            field="end",
            value=scope.end,
        )


def calendar_name(scope: ExportScope) -> str:
    """What a calendar application shows as the calendar's name."""
    if scope.participant:
        return f"planner: {scope.participant}"
    if scope.site:
        return f"planner: site {scope.site}"
    return f"planner: {scope.protocol or 'all visits'}"


def ics(ctx: Context, scope: ExportScope, alarm: timedelta | None = None) -> Iterator[bytes]:
    """A scope's visits as iCalendar, streamed; errors come before the first byte."""
    from planner.core.ics import render  # icalendar: only when rendering

    check_scope(scope)
    zones = queries.zones(ctx, scope)
    found = queries.visits(ctx, scope)
    return joined(render(found, name=calendar_name(scope), zones=zones, alarm=alarm))


#: Bytes gathered into one chunk of a stream written out (fewer, larger writes).
CHUNK_BYTES = 64 * 1024


def joined(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """The same bytes in chunks of at least :data:`CHUNK_BYTES` (the last may be less)."""
    pending: list[bytes] = []
    size = 0
    for chunk in chunks:
        pending.append(chunk)
        size += len(chunk)
        if size >= CHUNK_BYTES:
            yield b"".join(pending)
            pending, size = [], 0
    if pending:
        yield b"".join(pending)


def write(ctx: Context, path: str, chunks: Iterator[bytes], *, force: bool = False) -> int:
    """Write an export whole or not at all, never over the database (nor over
    another SQLite database unless ``force``); return its size."""
    database = sqlite_path(ctx.db.url)
    return write_atomically(
        path, chunks, protect=protected_paths(database), mode=new_file_mode(database), force=force
    )


# ---------------------------------------------------------------- visit files

#: Visits per chunk of output.
BATCH = 1000
#: The header of a CSV export without visits (with visits: the keys of the JSON object).
EMPTY_CSV_COLUMNS = (
    "visit_id", "participant", "site", "protocol", "protocol_version", "arm", "event", "label",
    "kind", "contact", "setting", "occurrence", "count", "study_day", "ideal", "target",
    "window_start", "window_end", "time", "duration_minutes", "timezone", "status", "actual",
    "deviation", "revision", "uid",
)  # fmt: skip


#: What ``json.dumps(..., ensure_ascii=False, separators=(",", ":"))`` uses,
#: made once (``json.dumps`` with options makes an encoder per call).
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _dumps(record: VisitRecord) -> str:
    return _ENCODER.encode(record.to_json())


def _batches(found: Iterable[VisitRecord]) -> Iterator[list[VisitRecord]]:
    iterator = iter(found)
    while batch := list(itertools.islice(iterator, BATCH)):
        yield batch


def json_array(found: Iterable[VisitRecord]) -> Iterator[bytes]:
    """One JSON array, one visit object a line."""
    separator = "[\n"
    for batch in _batches(found):
        yield (separator + ",\n".join(_dumps(record) for record in batch)).encode("utf-8")
        separator = ",\n"
    yield b"[]\n" if separator == "[\n" else b"\n]\n"


def ndjson_lines(found: Iterable[VisitRecord]) -> Iterator[bytes]:
    """One visit object a line."""
    for batch in _batches(found):
        yield "".join(_dumps(record) + "\n" for record in batch).encode("utf-8")


def csv_value(value: Any) -> str:
    """A JSON value as a CSV cell, neutralised against formula injection."""
    from planner.core.sdtm.datasetjson import csv_cell  # the SDTM package: only for CSV

    if isinstance(value, bool):
        return "true" if value else "false"
    return csv_cell(value)


def csv_lines(found: Iterable[VisitRecord]) -> Iterator[bytes]:
    """A header (the JSON object's keys), then one line a visit.

    Each cell as :func:`csv_value` makes it, spelled out for the value types a
    visit object holds (a hot loop: 26 cells a visit): text neutralised, flags
    as ``true``/``false``, numbers as digits and null as an empty cell (what
    the ``csv`` module writes for ints and None); anything else through
    :func:`csv_value`.
    """
    from planner.core.csvsafe import FORMULA_STARTS, safe_cell

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    header = False
    plain = (int, type(None))
    for batch in _batches(found):
        for record in batch:
            values = record.to_json()
            if not header:
                writer.writerow(values)
                header = True
            writer.writerow(
                [
                    (safe_cell(value) if value.startswith(FORMULA_STARTS) else value)
                    if type(value) is str
                    else ("true" if value else "false")
                    if type(value) is bool
                    else value
                    if type(value) in plain
                    else csv_value(value)
                    for value in values.values()
                ]
            )
        yield buffer.getvalue().encode("utf-8")
        buffer.seek(0)
        buffer.truncate()
    if not header:
        writer.writerow(EMPTY_CSV_COLUMNS)
        yield buffer.getvalue().encode("utf-8")


VISIT_FORMATS: dict[str, Callable[[Iterable[VisitRecord]], Iterator[bytes]]] = {
    "csv": csv_lines,
    "json": json_array,
    "ndjson": ndjson_lines,
}


def visits_file(ctx: Context, scope: ExportScope, fmt: str) -> Iterator[bytes]:
    """Every field of a scope's visits, streamed; errors come before the first byte."""
    writer = VISIT_FORMATS.get(fmt)
    if writer is None:
        raise InputError(
            f"unknown format {fmt!r} for visits",
            field="format",
            value=fmt,
            choices=list(VISIT_FORMATS),
        )
    check_scope(scope)
    found = queries.visits(ctx, scope)
    first = next(found, None)  # runs the scope's checks (unknown site, protocol...)
    return writer(found if first is None else itertools.chain([first], found))

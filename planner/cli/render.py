"""Printing visits and other rows as a table, JSON or CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from typing import Any, Literal

from planner.core.visits import CSV_COLUMNS, VisitRecord

Format = Literal["table", "json", "csv"]
WIDTH = 80


def table(
    headers: Sequence[str], rows: Iterable[Sequence[str]], *, shrink: Sequence[int] = (-1,)
) -> str:
    """A plain text table that fits in 80 columns.

    Columns ``shrink`` are cut first (to 10 characters at the least), then the
    widest column, until the table fits; a cut value ends in "…".
    """
    body = [list(row) for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in body)]) for i, h in enumerate(headers)]

    def excess() -> int:
        return sum(widths) + 2 * (len(widths) - 1) - WIDTH

    for index in shrink:
        index %= len(headers)
        if excess() > 0:
            widths[index] = max(10, widths[index] - excess())
    while excess() > 0:
        widest = max(range(len(widths)), key=lambda i: widths[i])
        widths[widest] = max(4, widths[widest] - excess())

    def cell(text: str, width: int) -> str:
        return text if len(text) <= width else text[: width - 1] + "…"

    lines = [
        "  ".join(cell(value, widths[i]).ljust(widths[i]) for i, value in enumerate(row)).rstrip()
        for row in [list(headers), *body]
    ]
    return "\n".join(lines)


def _status(record: VisitRecord) -> str:
    text: str = record.status
    if record.status == "completed" and record.actual:
        text = f"done {record.actual.isoformat()}"
    return text + (" !" if record.deviation else "")


def visit_rows(records: Sequence[VisitRecord], *, status: bool = True) -> str:
    """Visits as a table; a SITE column appears when they come from several sites."""
    several_sites = len({r.site for r in records}) > 1
    headers = ["DATE", "TIME", *(["SITE"] if several_sites else []), "VISIT", "WHAT", "WINDOW"]
    headers += ["STATUS"] if status else []
    rows = []
    for r in records:
        row = [
            r.target.isoformat(),
            r.time or "",
            *([r.site] if several_sites else []),
            r.visit_id,
            f"{r.label} {r.occurrence}/{r.count}",
            f"{r.window_start:%m-%d}..{r.window_end:%m-%d}",
        ]
        if status:
            row.append(_status(r))
        rows.append(row)
    if not rows:
        return "(no visits)"
    what = headers.index("WHAT")
    return table(headers, rows, shrink=(what, what - 1))


def render_visits(records: Sequence[VisitRecord], fmt: Format, *, status: bool = True) -> str:
    if fmt == "json":
        return json.dumps([r.to_json() for r in records], ensure_ascii=False, indent=2)
    if fmt == "csv":
        return render_csv(CSV_COLUMNS, (r.to_json() for r in records))
    return visit_rows(records, status=status)


def render_csv(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n"
    )
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_value(v) for k, v in row.items()})
    return buffer.getvalue().rstrip("\n")


def _csv_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value

"""Every command's rows, printed as a table, JSON or CSV.

Commands hand their results to one of the ``render_*`` functions and print
what comes back; none formats rows on its own.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

from planner.core.visits import CSV_COLUMNS, VisitRecord

if TYPE_CHECKING:
    from planner.app import AuditRecord, CapacityProblem, ProtocolInfo, SiteInfo

Format = Literal["table", "json", "csv"]
Row = dict[str, Any]
WIDTH = 80


def render_rows(
    rows: Sequence[Row], fmt: Format, columns: Sequence[str], text: Callable[[], str]
) -> str:
    """``rows`` as a JSON array, as CSV with ``columns``, or as ``text()``."""
    if fmt == "json":
        return json.dumps(list(rows), ensure_ascii=False, indent=2)
    if fmt == "csv":
        return render_csv(columns, rows)
    return text()


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


def render_csv(columns: Sequence[str], rows: Iterable[Row]) -> str:
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
    if isinstance(value, list | tuple):
        return " ".join(str(item) for item in value)
    return value


# -------------------------------------------------------------------- visits


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
    rows = [r.to_json() for r in records] if fmt != "table" else []
    return render_rows(rows, fmt, CSV_COLUMNS, lambda: visit_rows(records, status=status))


def render_conflicts(found: Sequence[tuple[VisitRecord, str]], fmt: Format) -> str:
    """Visits on a closed day, each with why the day is closed."""
    rows = [{**record.to_json(), "closed": why} for record, why in found]
    columns = ["visit_id", "site", "target", "window_start", "window_end", "closed"]

    def text() -> str:
        reasons = [f"  {record.visit_id} on {record.target}: {why}" for record, why in found]
        return "\n".join([visit_rows([record for record, _ in found], status=False), *reasons])

    return render_rows(rows, fmt, columns, text)


# --------------------------------------------------------- sites, protocols


def render_sites(sites: Sequence[SiteInfo]) -> str:
    if not sites:
        return "(no sites)"
    return table(["CODE", "TIMEZONE", "NAME"], [[s.code, s.timezone, s.name] for s in sites])


def render_protocols(infos: Sequence[ProtocolInfo], fmt: Format) -> str:
    rows = [
        {
            "id": i.id,
            "version": i.version,
            "arms": ",".join(i.arms),
            "source": "bundled" if i.bundled and i.version in (None, 1) else "added",
            "title": i.title,
        }
        for i in infos
    ]
    body = [[str(r["id"]), str(r["version"] or "-"), str(r["arms"]), str(r["title"])] for r in rows]
    columns = ["id", "version", "arms", "source", "title"]
    return render_rows(rows, fmt, columns, lambda: table(["ID", "VERSION", "ARMS", "TITLE"], body))


def render_capacity(
    problems: Sequence[CapacityProblem], fmt: Format, first: date, days: int
) -> str:
    """Days over a site's cap, with the visits involved."""
    rows = [
        {
            "site": p.site,
            "date": p.day.isoformat(),
            "kind": p.kind,
            "per_day": p.per_day,
            "count": p.count,
            "visits": list(p.visits),
        }
        for p in problems
    ]
    body = [
        [p.day.isoformat(), p.site, p.kind, f"{p.count}/{p.per_day}", " ".join(p.visits)]
        for p in problems
    ]

    def text() -> str:
        if not problems:
            return f"(no day over capacity in the {days} days from {first})"
        return table(["DATE", "SITE", "KIND", "BOOKED", "VISITS"], body)

    return render_rows(rows, fmt, ["site", "date", "kind", "per_day", "count", "visits"], text)


# --------------------------------------------------------------------- audit

AUDIT_COLUMNS = ["at", "actor", "action", "participant", "visit", "before", "after", "reason"]


def render_audit(entries: Sequence[AuditRecord], fmt: Format) -> str:
    body = [
        [
            e.at.strftime("%Y-%m-%d %H:%M"),
            e.actor,
            e.action,
            e.visit or e.participant or "",
            change_text(e.before, e.after),
        ]
        for e in entries
    ]

    def text() -> str:
        if not entries:
            return "(no audit entries)"
        return table(["AT (UTC)", "ACTOR", "ACTION", "WHAT", "CHANGE"], body)

    return render_rows([e.to_json() for e in entries], fmt, AUDIT_COLUMNS, text)


def change_text(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """``status scheduled→completed, actual 2026-03-08``: what a change changed."""
    after = after or {}
    before = before or {}
    parts = [
        f"{key} {before[key]}→{value}" if key in before else f"{key} {value}"
        for key, value in after.items()
        if key != "revision" and before.get(key, object()) != value
    ]
    return ", ".join(parts)

"""Every command's rows, printed as a table, JSON or CSV.

Commands hand their results to one of the ``render_*`` functions and print
what comes back; none formats rows on its own.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, Literal

from planner.cli.tables import plural
from planner.cli.tables import render_csv as render_csv  # re-exported
from planner.cli.tables import table as table  # re-exported
from planner.core.visits import CSV_COLUMNS, VisitRecord, occurrence_text

if TYPE_CHECKING:
    from planner.app import AuditRecord, CapacityProblem, FeedInfo, NewFeed, ProtocolInfo, SiteInfo
    from planner.app.judged import VisitAsOf

Format = Literal["table", "json", "csv"]
Row = dict[str, Any]


def render_rows(
    rows: Sequence[Row], fmt: Format, columns: Sequence[str], text: Callable[[], str]
) -> str:
    """``rows`` as a JSON array, as CSV with ``columns``, or as ``text()``."""
    if fmt == "json":
        return json.dumps(list(rows), ensure_ascii=False, indent=2)
    if fmt == "csv":
        return render_csv(columns, rows)
    return text()


# -------------------------------------------------------------------- visits


#: The flag a deviation carries in a STATUS column, and its legend.
DEVIATION_FLAG = "!"
DEVIATION_LEGEND = f"{DEVIATION_FLAG} = done or moved outside its window (a protocol deviation)"


def _status(record: VisitRecord) -> str:
    text: str = record.status
    if record.status == "completed" and record.actual:
        text = f"done {record.actual.isoformat()}"
    return text + (f" {DEVIATION_FLAG}" if record.deviation else "")


def count_line(records: Sequence[VisitRecord]) -> str:
    """``12 visits, 9 participants``."""
    who = len({r.participant for r in records})
    return f"{plural(len(records), 'visit')}, {plural(who, 'participant')}"


def visit_rows(
    records: Sequence[VisitRecord],
    *,
    status: bool = True,
    count: bool = False,
    extra: tuple[str, Sequence[str]] | None = None,
) -> str:
    """Visits as a table; a SITE column appears when they come from several sites.

    ``extra`` is one more column (header, one value per visit); ``count`` ends
    the table with how many visits and participants it holds.
    """
    several_sites = len({r.site for r in records}) > 1
    headers = ["DATE", "TIME", *(["SITE"] if several_sites else []), "VISIT", "WHAT", "WINDOW"]
    headers += ["STATUS"] if status else []
    headers += [extra[0]] if extra else []
    rows = []
    for index, r in enumerate(records):
        row = [
            r.target.isoformat(),
            r.time or "",
            *([r.site] if several_sites else []),
            r.visit_id,
            f"{r.label} {occurrence_text(r.occurrence, r.count, r.event)}".rstrip(),
            f"{r.window_start:%m-%d}..{r.window_end:%m-%d}",
        ]
        row += [_status(r)] if status else []
        row += [extra[1][index]] if extra else []
        rows.append(row)
    if not rows:
        return "(no visits)"
    what = headers.index("WHAT")
    lines = [table(headers, rows, shrink=(what, what - 1))]  # labels, then ids; never dates
    if status and any(r.deviation for r in records):
        lines.append(DEVIATION_LEGEND)
    if count:
        lines.append(count_line(records))
    return "\n".join(lines)


def render_visits(
    records: Sequence[VisitRecord], fmt: Format, *, status: bool = True, count: bool = False
) -> str:
    from planner.app.rows import visit_rows as json_rows  # not at start-up: app is heavy

    rows = json_rows(records) if fmt != "table" else []
    return render_rows(
        rows, fmt, CSV_COLUMNS, lambda: visit_rows(records, status=status, count=count)
    )


def render_judged(
    records: Sequence[VisitAsOf], fmt: Format, key: Literal["days_left", "days_overdue"]
) -> str:
    """Due or overdue visits, each with the days left in its window or past it."""
    from planner.app.rows import judged_rows

    rows = judged_rows(records, key)
    days = [row[key] for row in rows]
    if key == "days_left":
        column = ("LEFT", ["last day" if n == 0 else f"{plural(n, 'day')} left" for n in days])
    else:
        column = ("LATE BY", [plural(n, "day") for n in days])
    visits = [r.visit for r in records]
    return render_rows(
        rows,
        fmt,
        [*CSV_COLUMNS, key],
        lambda: visit_rows(visits, status=False, count=True, extra=column),
    )


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
    problems: Sequence[CapacityProblem], fmt: Format, first: date | None, days: int
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
            since = first or "today at each site"
            return f"(no day over capacity in the {days} days from {since})"
        return table(["DATE", "SITE", "KIND", "BOOKED", "VISITS"], body)

    return render_rows(rows, fmt, ["site", "date", "kind", "per_day", "count", "visits"], text)


# --------------------------------------------------------------------- feeds

FEED_COLUMNS = ["id", "scope", "label", "created", "expires", "state", "last_used", "hits"]


def render_new_feed(feed: NewFeed, fmt: Literal["table", "json"]) -> str:
    """A feed's secret path, shown once (JSON: one object)."""
    if fmt == "json":
        return json.dumps(feed.to_json(), ensure_ascii=False, indent=2)
    until = f", until {feed.expires}" if feed.expires else ""
    return (
        f"feed {feed.id} ({feed.scope.to_string()}{until}): {feed.path}\n"
        "Keep this path secret: anyone who has it can read the calendar. "
        "It is shown only now."
    )


def render_feeds(feeds: Sequence[FeedInfo], fmt: Format) -> str:
    """Feeds without their tokens."""
    rows = [f.to_json() for f in feeds]
    body = [
        [
            str(f.id),
            f.scope.to_string(),
            f.label,
            f"{f.created:%Y-%m-%d}",
            str(f.expires or "-"),
            f.state,
            f"{f.last_used:%Y-%m-%d %H:%M}" if f.last_used else "-",
            str(f.hits),
        ]
        for f in feeds
    ]
    headers = ["ID", "SCOPE", "LABEL", "CREATED", "EXPIRES", "STATE", "LAST USED", "HITS"]

    def text() -> str:
        return table(headers, body, shrink=(2,)) if feeds else "(no feeds)"

    return render_rows(rows, fmt, FEED_COLUMNS, text)


# --------------------------------------------------------------------- audit

AUDIT_COLUMNS = ["at", "actor", "action", "participant", "visit", "before", "after", "reason"]


def render_audit(entries: Sequence[AuditRecord], fmt: Format) -> str:
    from planner.app.rows import audit_rows, change_text

    body = [
        [
            e.at.strftime("%Y-%m-%d %H:%M"),
            e.actor,
            e.action,
            e.visit or e.participant or "",
            change_text(e.before, e.after),
            e.reason or "",
        ]
        for e in entries
    ]

    def text() -> str:
        if not entries:
            return "(no audit entries)"
        return table(
            ["AT (UTC)", "ACTOR", "ACTION", "WHAT", "CHANGE", "WHY"], body, shrink=(-1, -2)
        )

    return render_rows(audit_rows(entries), fmt, AUDIT_COLUMNS, text)

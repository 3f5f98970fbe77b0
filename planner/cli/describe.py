"""Protocols and sites as people read them: a protocol's schedule (study
days, or dates for a day 1) and a site's settings and closed days.

Imported only by the commands that use it: it needs the scheduling core.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from planner.cli.render import Format, render_rows, table
from planner.core.errors import InputError
from planner.core.protocol import StudyProtocol
from planner.core.schedule import add_months, expand
from planner.core.texts import printable

if TYPE_CHECKING:
    from planner.app import SiteInfo
    from planner.core.sitedays import SiteCalendar

#: Study days are shown by expanding from a nominal day 1; any date works
#: because the listing shows study days, not dates.
_NOMINAL_DAY1 = date(2001, 1, 1)


def schedule_rows(
    protocol: StudyProtocol, arm: str | None, day1: date | None
) -> list[dict[str, object]]:
    arms = protocol.arm_codes()
    if arm is not None and arm not in arms:
        raise InputError(
            f"unknown arm {arm!r} for protocol {protocol.id} (arms: {', '.join(arms)})"
        )
    rows: list[dict[str, object]] = []
    for code in [arm] if arm else arms:
        for o in expand(protocol, code, day1 or _NOMINAL_DAY1):
            rows.append(
                {
                    "arm": code,
                    "event": o.event,
                    "occurrence": o.occurrence,
                    "count": o.count,
                    "label": o.label,
                    "kind": o.kind,
                    "study_day": o.study_day,
                    "target": o.target.isoformat() if day1 else None,
                    "window_before": (o.ideal - o.window_start).days,
                    "window_after": (o.window_end - o.ideal).days,
                    "window_start": o.window_start.isoformat() if day1 else None,
                    "window_end": o.window_end.isoformat() if day1 else None,
                    "time": o.time.strftime("%H:%M") if o.time else None,
                    "anchor": o.anchor.to_string() if o.anchor else "day1",
                }
            )
    return rows


def protocol_schedule(
    protocol: StudyProtocol, arm: str | None, day1: date | None, fmt: Format
) -> str:
    rows = schedule_rows(protocol, arm, day1)

    def text() -> str:
        out = [f"{protocol.id}: {protocol.title}"]
        for code in [arm] if arm else protocol.arm_codes():
            out.append("")
            out.append(f"Arm {code}: {protocol.arm(code).label}")
            out.append(_arm_table([r for r in rows if r["arm"] == code], with_dates=bool(day1)))
        return "\n".join(out)

    return render_rows(rows, fmt, list(rows[0]) if rows else ["arm"], text)


def _arm_table(rows: list[dict[str, object]], *, with_dates: bool) -> str:
    headers = ["DAY", "DATE", "TIME", "EVENT", "WHAT", "WINDOW", "FROM"]
    if not with_dates:
        headers.remove("DATE")
    body = []
    for r in rows:
        line = [
            str(r["study_day"]),
            str(r["target"]),
            str(r["time"] or ""),
            f"{r['event']}/{r['occurrence']}",
            f"{r['label']} {r['occurrence']}/{r['count']}",
            f"-{r['window_before']}/+{r['window_after']}",
            str(r["anchor"]),
        ]
        if not with_dates:
            del line[1]
        body.append(line)
    return table(headers, body, shrink=(-3,)) if body else "(no events)"


def site_added(info: SiteInfo) -> str:
    """``added site WUH (Asia/Shanghai, closed sat,sun, CN holidays)``."""
    extra = "".join(
        [
            f", closed {info.closed_weekdays}" if info.closed_weekdays else "",
            f", {info.holidays} holidays" if info.holidays else "",
        ]
    )
    return f"added site {info.code} ({info.timezone}{extra})"


def site_summary(
    info: SiteInfo,
    calendar: SiteCalendar,
    capacities: dict[str, int],
    start: date,
    months: int,
) -> str:
    """A site's settings and every closed day from ``start`` for ``months``."""
    end = add_months(start, months)
    lines = [
        f"Site {info.code}" + (f" ({info.name})" if info.name else ""),
        f"Time zone: {info.timezone}",
        f"Closed weekdays: {info.closed_weekdays or 'none'}",
        f"Public holidays: {info.holidays or 'none'}",
        "Capacity: "
        + (", ".join(f"{n} {kind}/day" for kind, n in sorted(capacities.items())) or "no caps"),
        "",
        f"Closed days from {start} to {end - timedelta(days=1)}:",
    ]
    day = start
    closed = []
    while day < end:
        reason = calendar.closed_reason(day)
        if reason and day.weekday() not in calendar.closed_weekdays:
            closed.append(f"  {day} {day:%a}  {printable(reason)}")
        day += timedelta(days=1)
    if calendar.closed_weekdays:
        closed.insert(0, f"  every {info.closed_weekdays}")
    lines.extend(closed or ["  (none)"])
    return "\n".join(lines)

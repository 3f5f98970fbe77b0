"""Participants as a table, JSON or CSV, and a participant's status line."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from planner.cli.render import Format, render_rows
from planner.cli.tables import plural, table, terminal_width, without_columns

if TYPE_CHECKING:
    from planner.app.participants import ParticipantInfo

_COUNTS = ("COMPLETED", "MISSED", "CANCELLED", "SCHEDULED")


def participation(info: ParticipantInfo, on: str = " on ") -> str:
    """``on study``, ``finished``, ``withdrawn on 2026-06-15``, ``died on ...``."""
    if info.status_date is not None:
        return f"{info.status}{on}{info.status_date}"
    return info.status.replace("-", " ")


def status_line(info: ParticipantInfo, width: int | None = None) -> str:
    """``WUH-001 · cs-huc-mscs v1 · arm MED · site WUH · withdrawn on 2026-06-15``,
    broken between parts where it would not fit the terminal."""
    parts = [
        info.participant,
        f"{info.protocol} v{info.protocol_version}",
        f"arm {info.arm}",
        f"site {info.site}",
        participation(info),
    ]
    limit = width or terminal_width()
    lines = [parts[0]]
    for part in parts[1:]:
        if len(lines[-1]) + 3 + len(part) > limit:
            lines.append(part)
        else:
            lines[-1] += f" · {part}"
    return "\n".join(lines)


def _next(info: ParticipantInfo) -> str:
    """``2026-04-27 INF/2``: the next visit's date and its id within the participant."""
    if info.next_visit is None:
        return "-"
    return f"{info.next_target} {info.next_visit.removeprefix(info.participant + '/')}"


def _row(p: ParticipantInfo) -> list[str]:
    return [
        p.participant,
        p.site,
        f"{p.protocol} v{p.protocol_version}",
        p.arm,
        p.day1.isoformat(),
        participation(p, " "),
        _next(p),
        *(str(n) for n in (p.completed, p.missed, p.cancelled, p.scheduled)),
    ]


#: Left out, in this order, while a table is too wide; and how to name them.
_OPTIONAL = {_COUNTS: "visit counts", ("DAY 1",): "day 1"}


def render_participants(infos: Sequence[ParticipantInfo], fmt: Format) -> str:
    """One row per participant; on a narrow terminal the visit counts, then
    day 1, are left out (and it says so)."""
    headers = ["PARTICIPANT", "SITE", "PROTOCOL", "ARM", "DAY 1", "STATUS", "NEXT VISIT"]
    headers += _COUNTS

    def text() -> str:
        if not infos:
            return "(no participants)"
        body = [_row(p) for p in infos]
        shown, rows, dropped = without_columns(headers, body, list(_OPTIONAL))
        lines = [table(shown, rows, shrink=(shown.index("NEXT VISIT"),))]
        left_out = [name for group, name in _OPTIONAL.items() if group[0] in dropped]
        if left_out:
            lines.append(f"({' and '.join(left_out)} left out to fit; --format csv has them)")
        lines.append(plural(len(infos), "participant"))
        return "\n".join(lines)

    from planner.app.rows import PARTICIPANT_COLUMNS, participant_rows

    return render_rows(participant_rows(infos), fmt, PARTICIPANT_COLUMNS, text)

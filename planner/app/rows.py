"""Records as JSON rows: the one shaping the command line's ``--format json``
and the web API share, so both give the same answer to the same question.
The objects themselves come from each record's ``to_json()``; this module
adds what a query adds (the days left or overdue) and fixes the column order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from planner.app.judged import VisitAsOf
    from planner.app.participants import ParticipantInfo
    from planner.app.results import AuditRecord
    from planner.core.visits import VisitRecord

Row = dict[str, Any]
JudgedKey = Literal["days_left", "days_overdue"]

#: Column order of participants in CSV (and the keys of their JSON objects).
PARTICIPANT_COLUMNS = (
    "participant",
    "site",
    "protocol",
    "protocol_version",
    "arm",
    "day1",
    "status",
    "status_date",
    "next_visit",
    "next_target",
    "completed",
    "missed",
    "cancelled",
    "scheduled",
)


def visit_rows(records: Sequence[VisitRecord]) -> list[Row]:
    """Each visit as the JSON object of SPEC §6."""
    return [record.to_json() for record in records]


def judged_rows(records: Sequence[VisitAsOf], key: JudgedKey) -> list[Row]:
    """Due or overdue visits, each with ``days_left`` or ``days_overdue``."""
    return [{**r.visit.to_json(), key: judged_days(r, key)} for r in records]


def judged_days(record: VisitAsOf, key: JudgedKey) -> int:
    return record.days_left() if key == "days_left" else record.days_overdue()


def participant_rows(infos: Sequence[ParticipantInfo]) -> list[Row]:
    return [info.to_json() for info in infos]


def audit_rows(entries: Sequence[AuditRecord]) -> list[Row]:
    return [entry.to_json() for entry in entries]


#: Values of an audit row that are for ``audit verify``, not for people.
UNSHOWN = frozenset({"revision", "plan", "source_sha256"})


def change_text(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    """``status scheduled→completed, actual 2026-03-08``: what a change changed."""
    after = after or {}
    before = before or {}
    parts = [
        f"{key} {_said(before[key])}→{_said(value)}" if key in before else f"{key} {_said(value)}"
        for key, value in after.items()
        if key not in UNSHOWN and before.get(key, object()) != value
    ]
    return ", ".join(parts)


def _said(value: Any) -> str:
    """A value as people read it: ``none``, ``yes``, ``no``, else as it is."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)

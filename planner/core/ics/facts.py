"""What a visit's calendar event says: the date it is on, its summary and its description.

A completed visit is shown on its actual date (a completed visit without one
falls back to its target date), every other visit on its target date. The
SUMMARY is ``"WUH-001 · Infusion 2/3 · LOW"`` (participant · label
occurrence/count · arm), followed by ``" (done)"``, ``" (missed)"`` or
``" (cancelled)"`` for those statuses. The DESCRIPTION holds only structured
lines: window, study day (of the target date), dose (when there is one),
contact mode, status (with the actual date of a completed visit, and
"protocol deviation" when flagged), protocol and arm, visit id; no notes, no
names, no location. These are plain strings: escaping is for
:mod:`planner.core.ics.text`.
"""

from __future__ import annotations

from datetime import date

from planner.core.visits import UNSCHEDULED, VisitRecord, occurrence_text

_CONTACT = {"in-person": "in person", "phone": "by phone"}
_SUFFIX = {"completed": " (done)", "missed": " (missed)", "cancelled": " (cancelled)"}


def event_date(visit: VisitRecord) -> date:
    """The date a visit is shown on: the actual date once completed, else the target."""
    if visit.status == "completed" and visit.actual is not None:
        return visit.actual
    return visit.target


def summary(visit: VisitRecord) -> str:
    """``"WUH-001 · Infusion 2/3 · LOW"``, plus ``" (done)"`` and the like.

    An unscheduled visit is ``"WUH-001 · Unscheduled visit 1 · LOW"``: its
    label is free text typed by a coordinator, which calendars never carry.
    """
    if visit.event == UNSCHEDULED:
        what = f"Unscheduled visit {visit.occurrence}"
    else:
        what = f"{visit.label} {occurrence_text(visit.occurrence, visit.count)}"
    base = f"{visit.participant} · {what} · {visit.arm}"
    return base + _SUFFIX.get(visit.status, "")


def description(visit: VisitRecord) -> str:
    """The DESCRIPTION text: structured facts only, one per line."""
    if visit.status == "completed":
        status = f"completed on {event_date(visit).isoformat()}"
    else:
        status = visit.status
    if visit.deviation:
        status += ", protocol deviation"
    lines = [
        f"Window: {visit.window_start.isoformat()} to {visit.window_end.isoformat()}",
        f"Study day: {visit.study_day}",
    ]
    if visit.dose:
        lines.append(f"Dose: {visit.dose}")
    lines += [
        f"Contact: {_CONTACT.get(visit.contact, visit.contact)}",
        f"Status: {status}",
        f"Protocol: {visit.protocol}, arm {visit.arm}",
        f"Visit: {visit.visit_id}",
    ]
    return "\n".join(lines)

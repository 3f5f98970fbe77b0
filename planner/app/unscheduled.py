"""Unscheduled visits: added outside the protocol, never re-planned.

An unscheduled visit is ``PARTICIPANT/UNS/N`` (N = 1, 2, ... per
participant), planned on one day with a window of that day alone. It is
completed, missed, moved, listed and exported like any other visit.
"""

from __future__ import annotations

import re
from datetime import date

from planner.app.context import Context
from planner.app.lifecycle import outcome
from planner.app.results import Outcome, VisitChange
from planner.core.errors import Conflict, InputError, StaleData
from planner.core.protocol.base import KIND_PATTERN, TIME_PATTERN
from planner.core.texts import refused_character
from planner.core.visits import UNSCHEDULED, visit_id
from planner.store.repository import visits

MAX_LABEL = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _check(label: str, kind: str, time: str | None) -> str:
    label = label.strip()
    if not label or len(label) > MAX_LABEL or _CONTROL.search(label):
        raise InputError(
            f"the label must be 1 to {MAX_LABEL} characters of one line",
            field="label",
            value=label,
        )
    if (found := refused_character(label, allowed="")) is not None:
        raise InputError(f"the label holds {found}; remove it", field="label")
    if not re.fullmatch(KIND_PATTERN.strip("^$"), kind):
        raise InputError(
            f"kind {kind!r} is not allowed: use lower-case letters and '-', e.g. visit",
            field="kind",
            value=kind,
        )
    if time is not None and not TIME_PATTERN.match(time):
        raise InputError(f"time {time!r} is not HH:MM (00:00 to 23:59)", field="time", value=time)
    return label


def add(
    ctx: Context,
    code: str,
    on: date,
    label: str,
    kind: str,
    time: str | None,
    reason: str | None,
    expected_number: int | None = None,
) -> Outcome:
    """Add an unscheduled visit on a day; refused after a withdrawal or death.

    ``expected_number`` is the N of ``P/UNS/N`` a form showed it would add: a
    form sent twice (or after someone else added one) adds nothing the second time.
    """
    label = _check(label, kind, time)
    with ctx.db.write() as session, session.begin():
        ctx.lock(session, participants=[code])
        participant = ctx.participant(session, code)
        if participant.ended_on is not None and on > participant.ended_on:
            raise Conflict(
                f"participant {code!r} {participant.status} on {participant.ended_on}; "
                f"no visit can be added after that (asked for {on})",
                field="on",
                value=on,
            )
        number = visits.last_occurrence(session, participant.id, UNSCHEDULED) + 1
        if expected_number is not None and number != expected_number:
            raise StaleData(
                f"{visit_id(code, UNSCHEDULED, number - 1)} was added since this form was "
                "shown (perhaps by this same form, sent twice); look at the visits again "
                "before adding another",
                field="number",
                value=expected_number,
                subject=code,
            )
        row = {
            "participant_id": participant.id,
            "site_id": participant.site_id,
            "event": UNSCHEDULED,
            "occurrence": number,
            "kind": kind,
            "ideal": on,
            "target": on,
            "window_start": on,
            "window_end": on,
            "time": time,
            "duration_minutes": None,
            "status": "scheduled",
            "pinned": True,
            "deviation": False,
            "revision": 0,
            "updated_at": ctx.now(),
            "label": label,
            "reason": reason,
        }
        visits.insert_many(session, [row])
        name = visit_id(code, UNSCHEDULED, number)
        after = {"target": on, "kind": kind, "label": label, "time": time}
        ctx.audit(session, "add", participant=code, visit=name, after=after, reason=reason)
        change = VisitChange(name, "add", {}, after)
        return outcome(ctx, session, participant, [change])

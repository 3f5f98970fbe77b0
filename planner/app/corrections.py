"""Corrections, never deletions: undo a completion or a miss, reinstate a
participant whose withdrawal or death was recorded in error.

Each correction raises the revisions it touches (so calendars learn of it),
is audited with before, after and reason, and re-plans what depended on it.
"""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING

from planner.app.context import Context
from planner.app.lifecycle import locked_visit, outcome
from planner.app.reconcile import reconcile
from planner.core.errors import Conflict, InputError
from planner.core.visits import VisitId
from planner.store.repository import audit, participants, visits

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from planner.app.results import Outcome, VisitChange
    from planner.store.models import Participant


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise InputError("a correction needs a reason", field="reason", value=reason)
    return reason


def undo(ctx: Context, visit: str, reason: str, expected_revision: int | None = None) -> Outcome:
    """Return a completed or missed visit to scheduled, as if it had not happened;
    what counted from it counts from its planned date again."""
    why = _reason(reason)
    with ctx.db.write() as session, session.begin():
        row, participant, _ = locked_visit(session, visit, expected_revision)
        if row.status not in ("completed", "missed"):
            raise Conflict(
                f"{visit} is {row.status}; only a completed or missed visit can be undone"
                + (
                    " (a cancelled one returns when its participant is reinstated)"
                    if row.status == "cancelled"
                    else ""
                ),
                field="visit",
                value=visit,
                subject=visit,
            )
        deviation = row.pinned and not row.window_start <= row.target <= row.window_end
        values = {"status": "scheduled", "actual": None, "deviation": deviation, "reason": None}
        changes = [ctx.change(session, row, participant, "undo", values, reason=why)]
        changes += reconcile(ctx, session, participant, why)  # after a rebaseline
        changes += ctx.replan(session, participant, reason=why)
        return outcome(ctx, session, participant, changes)


def reinstate(ctx: Context, code: str, reason: str) -> Outcome:
    """Undo the latest withdrawal or death: the visits it cancelled are
    scheduled again and re-planned; the participant returns to the state
    before it (on study, or withdrawn when a death followed a withdrawal)."""
    why = _reason(reason)
    with ctx.db.write() as session, session.begin():
        ctx.lock(session, participants=[code])
        participant = ctx.participant(session, code)
        found = audit.last_ending(session, code) if participant.status != "active" else None
        if found is None:
            raise Conflict(
                f"participant {code!r} is on study; only a withdrawal or death can be undone",
                field="participant",
                value=code,
            )
        ending, cancelled = found
        changes = _restore_visits(ctx, session, participant, cancelled, why)
        _restore_participant(ctx, session, participant, json.loads(ending or "{}"), why)
        changes += reconcile(ctx, session, participant, why)  # after a rebaseline
        changes += ctx.replan(session, participant, reason=why)
        return outcome(ctx, session, participant, changes)


def _restore_visits(
    ctx: Context, session: Session, participant: Participant, ids: list[str], why: str
) -> list[VisitChange]:
    rows = {(r.event, r.occurrence): r for r in visits.of_participant(session, participant.id)}
    changes = []
    for visit in sorted(ids):
        key = VisitId.from_string(visit)
        row = rows.get((key.event, key.occurrence))
        if row is not None and row.status == "cancelled":
            values = {"status": "scheduled", "reason": None}
            changes.append(ctx.change(session, row, participant, "reinstate", values, reason=why))
    return changes


def _restore_participant(
    ctx: Context, session: Session, participant: Participant, before: dict[str, str], why: str
) -> None:
    status = before.get("status") or "active"
    ended = before.get("ended_on")
    was = {"status": participant.status, "ended_on": participant.ended_on}
    participants.end(session, participant, status, date.fromisoformat(ended) if ended else None)
    ctx.audit(
        session,
        "reinstate",
        participant=participant.code,
        before=was,
        after={"status": status, "ended_on": ended},
        reason=why,
    )

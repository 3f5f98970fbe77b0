"""A participant's visits against the protocol version they are on, after a
correction.

A rebaseline leaves cancelled and done visits as they are (history), and adds
nothing after an ending. A correction that brings visits back to scheduled —
a reinstatement, an undo — may therefore bring back an occurrence the
participant's version no longer has, or leave missing one it has (not added
while the participant was withdrawn). :func:`reconcile` cancels the first and
adds the second, as the rebaseline would have (the same pure
:func:`planner.core.amend.rebaseline`, audited ``amend-cancel`` and
``amend-add`` with the correction's reason); the re-planning that follows
moves the rest. For a participant never moved to another version it changes
nothing: every occurrence was planned at enrolment.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from planner.app.context import Context
from planner.app.results import VisitChange
from planner.core.amend import Amendment, added_visit, rebaseline
from planner.core.replan import continuing_after
from planner.core.visits import visit_id
from planner.store.models import Participant
from planner.store.repository import sites, visits

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def reconcile(
    ctx: Context, session: Session, participant: Participant, why: str
) -> list[VisitChange]:
    """Cancel scheduled visits the participant's version does not have; add
    the occurrences it has that are missing (up to the participant's end)."""
    rows = visits.of_participant(session, participant.id)
    ended = participant.ended_on if participant.status != "active" else None
    protocol = ctx.protocol_of(session, participant)
    plan = rebaseline(
        protocol,
        participant.arm,
        participant.day1,
        rows,
        place=sites.calendar(session, participant.site_id).place,
        ended_on=ended,
        continuing=continuing_after(protocol, participant.arm, rows, ended, participant.status),
    )
    by_key = {(row.event, row.occurrence): row for row in rows}
    changes = []
    for change in plan:
        if change.action == "cancel":
            # As a rebaseline's cancellation: the date stays, and is named.
            values = {"status": "cancelled", "target": change.day, "reason": why}
            row = by_key[change.key]
            changes.append(
                ctx.change(session, row, participant, "amend-cancel", values, reason=why)
            )
        elif change.action == "add":
            changes.append(_add(ctx, session, participant, change, why))
    return changes


def _add(
    ctx: Context, session: Session, participant: Participant, change: Amendment, why: str
) -> VisitChange:
    """A missing occurrence, as a rebaseline adds it (``amend-add``)."""
    columns, after = added_visit(change)
    row = {**columns, "participant_id": participant.id, "site_id": participant.site_id,
           "updated_at": ctx.now()}  # fmt: skip
    visits.insert_many(session, [row])
    name = visit_id(participant.code, *change.key)
    ctx.audit(
        session, "amend-add", participant=participant.code, visit=name, after=after, reason=why
    )
    return VisitChange(name, "amend-add", {}, after)

"""Ending participation: withdrawal and death, each cancelling the scheduled
visits after its date (a withdrawal keeps survival follow-up as the protocol
says). An ending dated before a visit already completed (outside the series a
withdrawal keeps) contradicts the record and is refused: the completion, if
wrong, is undone first.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from planner.app.context import Context
from planner.app.lifecycle import outcome
from planner.app.results import Outcome, VisitChange
from planner.core.errors import Conflict, InputError, NotFound
from planner.core.replan import SurvivalChoice, cancellations, done_after, kept_after_withdrawal
from planner.core.visits import visit_id
from planner.store.models import Participant
from planner.store.repository import participants, visits

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def withdraw(
    ctx: Context, code: str, on: date, reason: str | None, survival: SurvivalChoice
) -> Outcome:
    """Withdraw from a date: cancel every later scheduled visit.

    Survival follow-up is kept as the protocol marks it, unless ``survival``
    says to keep or cancel it.
    """
    with ctx.db.write() as session, session.begin():
        ctx.lock(session, participants=[code])
        participant = _active(session, code)
        keep = kept_after_withdrawal(
            ctx.protocol_of(session, participant), participant.arm, survival
        )
        changes = _cancel_after(ctx, session, participant, on, keep, reason or "withdraw")
        _end(ctx, session, participant, "withdrawn", on, reason, len(changes))
        return outcome(ctx, session, participant, changes)


def died(ctx: Context, code: str, on: date, reason: str | None = None) -> Outcome:
    """Record a death: cancel every scheduled visit after the date."""
    with ctx.db.write() as session, session.begin():
        ctx.lock(session, participants=[code])
        participant = ctx.participant(session, code)
        if participant.status == "died":
            raise Conflict(
                f"participant {code!r} is already recorded as died",
                field="participant",
                value=code,
            )
        today = ctx.today(participants.zone(session, participant))
        if on > today:
            raise InputError(
                f"date of death {on} is in the future (today is {today})", field="on", value=on
            )
        changes = _cancel_after(ctx, session, participant, on, frozenset(), reason or "died")
        _end(ctx, session, participant, "died", on, reason, len(changes))
        return outcome(ctx, session, participant, changes)


def _cancel_after(
    ctx: Context,
    session: Session,
    participant: Participant,
    on: date,
    keep: frozenset[str],
    reason: str,
) -> list[VisitChange]:
    rows = visits.of_participant(session, participant.id)
    done = done_after(rows, on, keep)
    if done is not None:
        name = visit_id(participant.code, done.event, done.occurrence)
        raise Conflict(
            f"cannot end {participant.code}'s participation on {on}: {name} was completed "
            f"after it, on {done.actual} (undo that first if it was recorded in error)",
            field="on",
            value=on,
            subject=participant.code,
        )
    by_key = {(row.event, row.occurrence): row for row in rows}
    return [
        ctx.change(
            session,
            by_key[key],
            participant,
            "cancel",
            {"status": "cancelled", "reason": reason},
            reason=reason,
        )
        for key in cancellations(rows, on, keep)
    ]


def _end(
    ctx: Context,
    session: Session,
    row: Participant,
    status: str,
    on: date,
    reason: str | None,
    cancelled: int,
) -> None:
    before = {"status": row.status, "ended_on": row.ended_on}
    participants.end(session, row, status, on)
    ctx.audit(
        session,
        "withdraw" if status == "withdrawn" else "died",
        participant=row.code,
        before=before,
        after={"status": status, "ended_on": on, "cancelled": cancelled},
        reason=reason,
    )


def _active(session: Session, code: str) -> Participant:
    row = participants.by_code(session, code)
    if row is None:
        raise NotFound(f"unknown participant {code!r}", field="participant", value=code)
    if row.status != "active":
        raise Conflict(
            f"participant {code!r} is already "
            f"{'recorded as died' if row.status == 'died' else row.status} (on {row.ended_on})",
            field="participant",
            value=code,
        )
    return row

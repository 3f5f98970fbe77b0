"""What happens to visits: completed, moved, missed; withdrawals and deaths.

Each use case checks, applies its change and the re-planning that follows in
one transaction, and returns an :class:`Outcome` listing every visit changed.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from planner.app.context import Context
from planner.app.results import Outcome, VisitChange
from planner.core.errors import Conflict, InputError, NotFound, StaleData
from planner.core.visits import UNSCHEDULED, VisitId
from planner.store.models import Participant, Visit
from planner.store.repository import sites, visits

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def locked_visit(
    session: Session, visit: str, expected_revision: int | None
) -> tuple[Visit, Participant, str]:
    """A visit, its participant and site zone, locked for a change and at the
    revision expected (when one is given)."""
    key = VisitId.from_string(visit)
    Context.lock(session, participants=[key.participant])
    found = visits.by_id(session, key)
    if found is None:
        raise NotFound(f"unknown visit {visit!r}", field="visit", value=visit)
    row = found[0]
    if expected_revision is not None and expected_revision > row.revision:
        raise InputError(
            f"{visit} has never been at revision {expected_revision} (it is at revision "
            f"{row.revision}); give the revision you read",
            field="revision",
            value=expected_revision,
            subject=visit,
        )
    if expected_revision is not None and row.revision != expected_revision:
        raise StaleData(
            f"{visit} changed since you read it (revision {row.revision}, you saw "
            f"{expected_revision}); look at it again and retry",
            field="revision",
            value=expected_revision,
            subject=visit,
        )
    return found


def _for_change(
    session: Session, visit: str, expected_revision: int | None
) -> tuple[Visit, Participant, str]:
    """A scheduled visit, its participant and site zone, at the revision expected
    (after any change to them in progress: see :meth:`Context.lock`)."""
    row, participant, zone = locked_visit(session, visit, expected_revision)
    if row.status != "scheduled":
        when = f" on {row.actual}" if row.actual else ""
        raise Conflict(
            f"{visit} is {row.status}{when}; only scheduled visits can change",
            field="visit",
            value=visit,
            subject=visit,
        )
    return row, participant, zone


def outcome(
    ctx: Context, session: Session, participant: Participant, changes: list[VisitChange]
) -> Outcome:
    """What a change did, with the participant's schedule afterwards."""
    return Outcome(tuple(changes), tuple(ctx.schedule(session, participant.id)))


def complete(
    ctx: Context, visit: str, on: date, expected_revision: int | None, reason: str | None = None
) -> Outcome:
    """Record that a visit happened on a date; re-plan what depends on it.

    Outside the window it is still recorded, and flagged as a deviation.
    """
    with ctx.db.write() as session, session.begin():
        row, participant, zone = _for_change(session, visit, expected_revision)
        today = ctx.today(zone)
        if on > today:
            raise InputError(
                f"cannot complete {visit} on {on}: that is in the future (today is {today})",
                field="on",
                value=on,
                subject=visit,
            )
        _in_series_order(session, row, visit, on)
        _within_participation(participant, row, visit, on, "complete")
        _not_before_the_study(participant, row, visit, on, "complete")
        # An unscheduled visit is outside the protocol: it cannot deviate from it.
        deviation = row.event != UNSCHEDULED and not row.window_start <= on <= row.window_end
        values = {"status": "completed", "actual": on, "deviation": deviation, "reason": reason}
        changes = [ctx.change(session, row, participant, "complete", values, reason=reason)]
        changes += ctx.replan(session, participant)
        return outcome(ctx, session, participant, changes)


def move(
    ctx: Context,
    visit: str,
    to: date,
    reason: str | None,
    force: bool,
    expected_revision: int | None,
) -> Outcome:
    """Move a scheduled visit; outside its window only with ``force``."""
    with ctx.db.write() as session, session.begin():
        row, participant, _ = _for_change(session, visit, expected_revision)
        _within_participation(participant, row, visit, to, "move")
        _not_before_the_study(participant, row, visit, to, "move")
        if row.event == UNSCHEDULED:  # its window is its day, and moves with it
            return _move_unscheduled(ctx, session, row, participant, visit, to, reason)
        outside = not row.window_start <= to <= row.window_end
        if outside and not force:
            raise InputError(
                f"cannot move {visit} to {to}: its window is {row.window_start} to "
                f"{row.window_end}; a date outside it must be forced, and is flagged as a "
                "deviation",
                field="force",
                value=to,
                allowed=f"{row.window_start}..{row.window_end}",
                subject=visit,
            )
        if to == row.target:
            raise Conflict(f"{visit} is already planned for {to}", field="to", value=to)
        values = {"target": to, "pinned": True, "deviation": outside, "reason": reason}
        changes = [ctx.change(session, row, participant, "move", values, reason=reason)]
        changes += ctx.replan(session, participant)
        warnings = _day_warnings(session, row, visit, to)
        done = outcome(ctx, session, participant, changes)
        return Outcome(done.changes, done.schedule, warnings)


def _move_unscheduled(
    ctx: Context,
    session: Session,
    row: Visit,
    participant: Participant,
    visit: str,
    to: date,
    reason: str | None,
) -> Outcome:
    """An unscheduled visit moves with its one-day window: never a deviation."""
    if to == row.target:
        raise Conflict(f"{visit} is already planned for {to}", field="to", value=to)
    values = {"ideal": to, "target": to, "window_start": to, "window_end": to, "reason": reason}
    changes = [ctx.change(session, row, participant, "move", values, reason=reason)]
    done = outcome(ctx, session, participant, changes)
    return Outcome(done.changes, done.schedule, _day_warnings(session, row, visit, to))


def _in_series_order(session: Session, row: Visit, visit: str, on: date) -> None:
    """Series keep their order (infusion 2 is not given before infusion 1);
    unscheduled visits are each their own (one recorded late may well have
    happened before one recorded earlier)."""
    if row.event == UNSCHEDULED:
        return
    previous = visits.previous_completion(session, row)
    if previous is not None and on < previous:
        raise InputError(
            f"cannot complete {visit} on {on}: the previous {row.event} visit was "
            f"completed later, on {previous}",
            field="on",
            value=on,
            subject=visit,
        )
    following = visits.next_completion(session, row)
    if following is not None and on > following:
        raise InputError(
            f"cannot complete {visit} on {on}: a later {row.event} visit was "
            f"completed earlier, on {following}",
            field="on",
            value=on,
            subject=visit,
        )


def _not_before_the_study(
    participant: Participant, row: Visit, visit: str, day: date, doing: str
) -> None:
    """Refuse a day before day 1 (and before the visit's window) for a visit
    planned from day 1 on. A visit planned before it (screening) may be early,
    as any visit may be late: a deviation, recorded as such."""
    if day >= min(participant.day1, row.window_start) or row.ideal < participant.day1:
        return
    raise InputError(
        f"cannot {doing} {visit} {'on' if doing == 'complete' else 'to'} {day}: "
        f"that is before {participant.code}'s day 1 ({participant.day1})",
        field="on" if doing == "complete" else "to",
        value=day,
        subject=visit,
    )


def _within_participation(
    participant: Participant, row: Visit, visit: str, day: date, doing: str
) -> None:
    """Refuse a day after the participant died, or after their withdrawal
    for a visit the withdrawal did not keep (kept survival calls go on)."""
    ended = participant.ended_on
    if ended is None or day <= ended:
        return
    if participant.status == "withdrawn" and row.target > ended:
        return  # still scheduled after the withdrawal: kept (survival follow-up)
    raise Conflict(
        f"cannot {doing} {visit} {'on' if doing == 'complete' else 'to'} {day}: "
        f"participant {participant.code!r} "
        f"{participant.status} on {ended}",
        field="on" if doing == "complete" else "to",
        value=day,
        subject=visit,
    )


def _day_warnings(session: Session, row: Visit, visit: str, to: date) -> tuple[str, ...]:
    """What a coordinator should know about the day a visit moved to."""
    found = []
    closed = sites.calendar(session, row.site_id).closed_reason(to)
    if closed:
        found.append(f"{visit} is now on {to}, a closed day at its site ({closed})")
    for _, kind, per_day in sites.capacities(session, row.site_id):
        if kind != row.kind:
            continue
        for _, count in visits.over_capacity(session, row.site_id, kind, per_day, to, to):
            found.append(
                f"{to} now has {count} {kind} visits at the site, over its cap of {per_day}"
            )
    return tuple(found)


def miss(
    ctx: Context, visit: str, expected_revision: int | None, reason: str | None = None
) -> Outcome:
    """Record that a scheduled visit did not happen (and why, when known)."""
    with ctx.db.write() as session, session.begin():
        row, participant, _ = _for_change(session, visit, expected_revision)
        values = {"status": "missed", "reason": reason}
        changes = [ctx.change(session, row, participant, "miss", values, reason=reason)]
        return outcome(ctx, session, participant, changes)

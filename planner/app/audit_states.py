"""Every visit against its audit trail, a batch of participants at a time.

The hash chain shows audit rows edited; these checks show visits edited
behind planner's back, whatever their revision says:

- a visit an audit row changed (or added) holds the values the last such row
  set (:func:`~planner.core.chain.audited_state`; an added one, until changed,
  is scheduled, not done and no deviation, as every added visit starts);
- every participant stored was enrolled by an audit row (one added behind
  planner's back would be in lists, calendars and exports);
- every visit is at its participant's site (a visit moved to another site
  leaves one site's lists and calendars for another's);
- the visits planned at enrolment, each put back to its values before its
  first audited change (:func:`~planner.core.chain.as_enrolled`), are the ones
  the enrolment's audit row vouches for (its ``plan``,
  :func:`~planner.core.chain.plan_digest`): a visit never changed since, a
  visit added without an audit row and one removed all show. Enrolments
  recorded before planner kept that digest are checked by the first rule only;
- a visit's ``reason`` (what exports give as why it was missed, moved or
  cancelled) is the one its audit rows' actions left it
  (:func:`~planner.core.chain.audited_reason`). Visits stored before planner
  kept reasons with them (schema 0004) have none though their rows have one:
  for participants enrolled before the digest above, a visit with no reason
  is not compared.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from planner.core.chain import (
    AUDITED_COLUMNS,
    PLAN_FORMAT,
    PLANNED_COLUMNS,
    as_enrolled,
    audited_reason,
    audited_state,
    rows_digest,
    state_mismatch,
)
from planner.core.visits import visit_id
from planner.store.repository import audit, participants, visits

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

#: Participants checked at a time (their audit rows and visits in memory).
BATCH = 500

#: What a visit added after enrolment (unscheduled, or by a rebaseline) holds
#: when added, beyond what its ``add`` row shows.
ADDED = {"status": "scheduled", "actual": None, "deviation": False, "revision": 0}

#: The visit columns read: those an enrolment vouches for and those audit rows
#: set, then the reason.
COLUMNS = tuple(dict.fromkeys((*PLANNED_COLUMNS, *AUDITED_COLUMNS)))
READ = (*COLUMNS, "reason")


@dataclass
class Trail:
    """One participant's audit rows, as the checks need them."""

    #: The digest of the visits planned at enrolment (None: not recorded).
    plan: str | None = None
    #: Each visit's ``before`` and ``after`` values, in id order.
    befores: dict[str, list[str]] = field(default_factory=dict)
    afters: dict[str, list[str]] = field(default_factory=dict)
    #: Visits whose first audit row has no ``before``: added after enrolment.
    added: set[str] = field(default_factory=set)
    #: Each visit's rows' (action, reason), in id order.
    reasons: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)
    #: The participant's own values as their rows set them (enrolment, endings,
    #: reinstatements, rebaselines); empty when no enrolment row was read.
    own: dict[str, Any] = field(default_factory=dict)

    def take(
        self,
        action: str,
        visit: str | None,
        before: str | None,
        after: str | None,
        reason: str | None = None,
    ) -> None:
        if visit is None:  # the participant's own row
            values = json.loads(after) if after else {}
            if action == "enroll":
                self.plan = _plan_of(after)
                self.own = {"status": "active", "ended_on": None}
            if isinstance(values, dict) and self.own:
                self.own.update((k, v) for k, v in values.items() if k in participants.OWN)
            return
        if visit not in self.befores and visit not in self.afters and before is None:
            self.added.add(visit)
        self.reasons.setdefault(visit, []).append((action, reason))
        if before is not None:
            self.befores.setdefault(visit, []).append(before)
        if after is not None:
            self.afters.setdefault(visit, []).append(after)


def first_problem(session: Session) -> tuple[str, str] | None:
    """The first visit (or participant) whose stored visits the trail
    contradicts, and why; None when every one agrees."""
    away = visits.away_from_participant_site(session)
    if away is not None:
        code, event, number, at, home = away
        name = visit_id(code, event, number)
        why = (
            f"visit {name} is stored at site {at}, but its participant is at {home} "
            "(changed without an audit row)"
        )
        return name, why
    stray = participants.first_unenrolled(session)
    if stray is not None:
        why = f"participant {stray} is stored, but no audit row enrolled them (added without one)"
        return stray, why
    with closing(audit.participant_rows(session)) as rows:
        for group in _groups(rows, BATCH):
            problem = _check(session, group)
            if problem is not None:
                return problem
    return None


def _plan_of(after: str | None) -> str | None:
    values = json.loads(after) if after else None
    plan = values.get("plan") if isinstance(values, dict) else None
    return plan if isinstance(plan, str) and plan.startswith(PLAN_FORMAT) else None


def _groups(rows: Iterable[audit.TrailRow], size: int) -> Iterator[dict[str, Trail]]:
    """Trails of ``size`` participants at a time (a participant's rows come together)."""
    group: dict[str, Trail] = {}
    for participant, action, visit, before, after, reason in rows:
        trail = group.get(participant)
        if trail is None:
            if len(group) == size:
                yield group
                group = {}
            trail = group[participant] = Trail()
        trail.take(action, visit, before, after, reason)
    if group:
        yield group


def _check(session: Session, group: dict[str, Trail]) -> tuple[str, str] | None:
    stored: dict[str, dict[str, tuple[Any, ...]]] = {}
    reasons: dict[str, str | None] = {}
    for code, event, number, *values, reason in visits.stored_values(session, list(group), READ):
        name = visit_id(code, event, number)
        stored.setdefault(code, {})[name] = tuple(values)
        reasons[name] = reason
    own = participants.own_values(session, list(group))
    for participant, trail in group.items():
        why = _own_mismatch(participant, own.get(participant), trail)
        if why is not None:
            return participant, why
        now = stored.get(participant, {})
        for name, afters in trail.afters.items():
            if name not in now:
                return name, f"visit {name} is in the audit trail but no longer stored"
            current = dict(zip(COLUMNS, now[name], strict=True))
            # A visit added after enrolment starts as every added visit does.
            said = (
                {**ADDED, **audited_state(afters)} if name in trail.added else audited_state(afters)
            )
            why = state_mismatch(current, said)
            if why is not None:
                return name, f"visit {name}: {why} (changed without an audit row)"
        mismatch = _reason_mismatch(now, reasons, trail)
        if mismatch is not None:
            return mismatch
        if trail.plan is not None and _enrolled_digest(now, trail) != trail.plan:
            why = (
                f"participant {participant}: the visits planned at enrolment are not the ones "
                "its enrolment recorded (a visit changed, added or removed without an audit row)"
            )
            return participant, why
    return None


def _reason_mismatch(
    now: dict[str, tuple[Any, ...]], reasons: dict[str, str | None], trail: Trail
) -> tuple[str, str] | None:
    """The first visit whose stored reason is not the one its rows left it."""
    for name in now:
        stored = reasons[name]
        if stored is None and trail.plan is None:
            continue  # may predate reasons kept with visits (see the module's note)
        said = audited_reason(trail.reasons.get(name, ()))
        if stored != said:
            shown = "none" if stored is None else repr(stored)
            return name, (
                f"visit {name}: its reason is {shown} but the audit trail says "
                f"{'none' if said is None else repr(said)} (changed without an audit row)"
            )
    return None


def _own_mismatch(code: str, current: dict[str, Any] | None, trail: Trail) -> str | None:
    """Why a participant's own values are not those their audit rows set, or None."""
    if not trail.own:
        return None  # no enrolment row read (a visit's rows only)
    if current is None:
        return f"participant {code} is in the audit trail but no longer stored"
    why = state_mismatch(current, trail.own)
    return None if why is None else f"participant {code}: {why} (changed without an audit row)"


def _enrolled_digest(now: dict[str, tuple[Any, ...]], trail: Trail) -> str:
    planned = len(PLANNED_COLUMNS)  # the first of COLUMNS
    return rows_digest(
        as_enrolled(values[:planned], trail.befores.get(name, ()))
        for name, values in now.items()
        if name not in trail.added
    )

"""Moving a participant to a new protocol version, as a pure function.

:func:`rebaseline` re-plans one participant's visits under another version of
their protocol and returns the changes as :class:`Amendment` values; it writes
nothing. The rules (``docs/amendments.md``):

- completed, missed and cancelled visits are history: never changed;
- scheduled visits are planned again with :func:`~planner.core.schedule.expand`
  from the facts known (actual dates, coordinators' moves, the site calendar);
- a visit whose series and occurrence exist in both versions keeps its
  identity; it changes only when its date, window, time or kind changes;
- a series or occurrence new in the version adds a visit;
- a scheduled visit whose series or occurrence the version no longer has is
  cancelled;
- a participant who ended (withdrew or died) gets nothing new after the date,
  but for the series a withdrawal kept going (:func:`~planner.core.replan.continuing_after`:
  survival follow-up), which get the version's new occurrences too.

Unscheduled visits (``UNS``) are outside the protocol and never touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, Protocol

from planner.core.protocol import StudyProtocol
from planner.core.replan import StoredVisit
from planner.core.schedule import Occurrence, Placer, VisitKey, expand
from planner.core.visits import UNSCHEDULED

Action = Literal["add", "cancel", "move"]

#: The fields of a scheduled visit that a new version may change.
AMEND_FIELDS = (
    "ideal",
    "target",
    "window_start",
    "window_end",
    "time",
    "duration_minutes",
    "kind",
)


class AmendedVisit(StoredVisit, Protocol):
    """What re-baselining reads of a stored visit, beyond re-planning."""

    @property
    def time(self) -> str | None: ...
    @property
    def duration_minutes(self) -> int | None: ...
    @property
    def kind(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Amendment:
    """One visit a new version adds, cancels or moves (the fields that change)."""

    key: VisitKey
    action: Action
    before: dict[str, Any]
    after: dict[str, Any]
    #: The date the change is about: the new planned date, else the old one.
    day: date


def planned_fields(occurrence: Occurrence) -> dict[str, Any]:
    """A planned occurrence as the stored visit's fields."""
    return {
        "ideal": occurrence.ideal,
        "target": occurrence.target,
        "window_start": occurrence.window_start,
        "window_end": occurrence.window_end,
        "time": occurrence.time.strftime("%H:%M") if occurrence.time else None,
        "duration_minutes": occurrence.duration_minutes,
        "kind": occurrence.kind,
    }


def added_visit(change: Amendment) -> tuple[dict[str, Any], dict[str, Any]]:
    """The columns of the visit an ``add`` change inserts (but its participant,
    site and ``updated_at``), and the values its ``amend-add`` audit row shows."""
    event, occurrence = change.key
    row = {
        **change.after,
        "event": event,
        "occurrence": occurrence,
        "status": "scheduled",
        "pinned": False,
        "deviation": False,
        "revision": 0,
    }
    return row, {**change.after, "revision": 0}


def _key(visit: StoredVisit) -> VisitKey:
    return VisitKey(visit.event, visit.occurrence)


def _fixed(visit: StoredVisit) -> bool:
    return visit.status in ("missed", "cancelled") or (visit.pinned and visit.status == "scheduled")


def _moved(visit: AmendedVisit, occurrence: Occurrence) -> Amendment | None:
    """A scheduled visit planned again: what differs, or None."""
    after = planned_fields(occurrence)
    if visit.pinned:
        # A coordinator's date stays; only the window and the rest follow the version.
        after["ideal"], after["target"] = occurrence.ideal, visit.target
    changed = {name: value for name, value in after.items() if getattr(visit, name) != value}
    if not changed:
        return None
    if visit.pinned:
        inside = occurrence.window_start <= visit.target <= occurrence.window_end
        if visit.deviation == inside:
            changed["deviation"] = not inside
    before = {name: getattr(visit, name) for name in changed}
    return Amendment(_key(visit), "move", before, changed, after["target"])


def _past_the_end(moved: Amendment, ended_on: date | None, continuing: frozenset[str]) -> bool:
    """A visit the new version would move past the participant's death or
    withdrawal (outside the series the withdrawal kept going): cancelled instead."""
    return ended_on is not None and moved.day > ended_on and moved.key.event not in continuing


def rebaseline(
    protocol: StudyProtocol,
    arm: str,
    day1: date,
    visits: Sequence[AmendedVisit],
    *,
    place: Placer | None = None,
    ended_on: date | None = None,
    continuing: frozenset[str] = frozenset(),
) -> list[Amendment]:
    """The visits a participant's move to ``protocol`` (arm ``arm``) adds,
    cancels and moves, in date order; after ``ended_on``, only occurrences of
    the series in ``continuing`` are added."""
    planned = [v for v in visits if v.event != UNSCHEDULED]
    plan = expand(
        protocol,
        arm,
        day1,
        actual={_key(v): v.actual for v in planned if v.actual},
        moved={_key(v): v.target for v in planned if _fixed(v)},
        place=place,
    )
    stored = {_key(v): v for v in planned}
    found: list[Amendment] = []
    for occurrence in plan:
        visit = stored.get(occurrence.key)
        if visit is None:
            if ended_on is None or occurrence.target <= ended_on or occurrence.event in continuing:
                found.append(
                    Amendment(
                        occurrence.key, "add", {}, planned_fields(occurrence), occurrence.target
                    )
                )
        elif visit.status == "scheduled":
            moved = _moved(visit, occurrence)
            if moved is not None and _past_the_end(moved, ended_on, continuing):
                before = {"status": "scheduled", "target": visit.target}
                moved = Amendment(
                    moved.key, "cancel", before, {"status": "cancelled"}, visit.target
                )
            if moved is not None:
                found.append(moved)
    kept = {occurrence.key for occurrence in plan}
    for key, visit in stored.items():
        if visit.status == "scheduled" and key not in kept:
            before = {"status": "scheduled", "target": visit.target}
            found.append(Amendment(key, "cancel", before, {"status": "cancelled"}, visit.target))
    found.sort(key=lambda change: (change.day, change.key.event, change.key.occurrence))
    return found

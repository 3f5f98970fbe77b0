"""Re-planning and ending participation, as pure functions over stored visits.

When a visit is completed, moved or a site closes, the visits that count from
it move. :func:`replan` says which, and to where, as a list of
:class:`Change` values; :func:`cancellations` says which visits a withdrawal
or a death cancels. Neither writes anything: the application applies the
changes in one transaction and audits each one.

The stored visits are read through :class:`StoredVisit`, a structural type
that the database rows satisfy, so there is no extra copy of a visit here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, Protocol

from planner.core.protocol import StudyProtocol
from planner.core.schedule import Placer, VisitKey, expand
from planner.core.visits import UNSCHEDULED

SurvivalChoice = Literal["protocol", "keep", "cancel"]

#: Fields re-planning may change on a scheduled visit.
PLAN_FIELDS = ("ideal", "target", "window_start", "window_end")


class StoredVisit(Protocol):
    """What re-planning reads of a stored visit."""

    @property
    def event(self) -> str: ...
    @property
    def occurrence(self) -> int: ...
    @property
    def status(self) -> str: ...
    @property
    def ideal(self) -> date: ...
    @property
    def target(self) -> date: ...
    @property
    def window_start(self) -> date: ...
    @property
    def window_end(self) -> date: ...
    @property
    def actual(self) -> date | None: ...
    @property
    def pinned(self) -> bool: ...
    @property
    def deviation(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Change:
    """One visit's fields before and after a change (only the fields that change)."""

    key: VisitKey
    before: dict[str, Any]
    after: dict[str, Any]
    #: ``replan`` (new dates), or ``cancel``: planned past the participant's end.
    action: Literal["replan", "cancel"] = "replan"


def _key(visit: StoredVisit) -> VisitKey:
    return VisitKey(visit.event, visit.occurrence)


def _fixed(visit: StoredVisit) -> bool:
    """A date that no longer follows the protocol: a visit a coordinator moved,
    or a missed or cancelled visit, which stays where it was."""
    return visit.status in ("missed", "cancelled") or (visit.pinned and visit.status == "scheduled")


def replan(
    protocol: StudyProtocol,
    arm: str,
    day1: date,
    visits: Sequence[StoredVisit],
    *,
    place: Placer | None = None,
    ended_on: date | None = None,
    status: str = "active",
) -> list[Change]:
    """The scheduled visits whose dates follow from the dates known now, moved.

    A moved (pinned) visit keeps its date; when its window moves away from
    it, the change flags (or clears) it as a deviation. For a participant who
    died or withdrew (``status`` on ``ended_on``), a visit that would move past
    that date is cancelled instead (a visit on the day itself stays until
    then), but in the series a withdrawal kept going (:func:`continuing_after`).
    """
    going = continuing_after(protocol, arm, visits, ended_on, status)
    plan = {
        o.key: o
        for o in expand(
            protocol,
            arm,
            day1,
            actual={_key(v): v.actual for v in visits if v.actual},
            moved={_key(v): v.target for v in visits if _fixed(v)},
            place=place,
        )
    }
    changes: list[Change] = []
    for visit in visits:
        occurrence = plan.get(_key(visit))
        if visit.status != "scheduled" or occurrence is None:
            continue
        after: dict[str, Any] = {name: getattr(occurrence, name) for name in PLAN_FIELDS}
        if all(getattr(visit, name) == value for name, value in after.items()):
            continue
        if visit.pinned:
            after["deviation"] = not (
                occurrence.window_start <= visit.target <= occurrence.window_end
            )
        if ended_on is not None and after["target"] > ended_on and visit.event not in going:
            changes.append(Change(_key(visit), {"status": "scheduled"}, {"status": "cancelled"},
                                  "cancel"))  # fmt: skip
            continue
        before = {name: getattr(visit, name) for name in after}
        changes.append(Change(_key(visit), before, after))
    return changes


def kept_after_withdrawal(
    protocol: StudyProtocol, arm: str, survival: SurvivalChoice
) -> frozenset[str]:
    """The series a withdrawal keeps: survival follow-up as the protocol marks
    it, also every phone-contact series with ``keep``, nothing with ``cancel``."""
    if survival == "cancel":
        return frozenset()
    series = protocol.series_for(arm)
    kept = {s.code for s in series if s.survival}
    if survival == "keep":
        kept |= {s.code for s in series if s.contact == "phone"}
    return frozenset(kept)


def done_after(
    visits: Iterable[StoredVisit], on: date, keep: frozenset[str] = frozenset()
) -> StoredVisit | None:
    """The earliest visit completed after a date, outside the series in ``keep``:
    an ending dated before it would contradict what was recorded."""
    done = [
        v for v in visits
        if v.status == "completed" and v.actual is not None and v.actual > on
        and v.event not in keep
    ]  # fmt: skip
    return min(done, key=lambda v: (v.actual, v.event, v.occurrence), default=None)


def cancellations(
    visits: Iterable[StoredVisit], after: date, keep: frozenset[str] = frozenset()
) -> list[VisitKey]:
    """The scheduled visits after a date that ending participation cancels,
    in date order; visits of the series in ``keep`` stay."""
    cancelled = [
        v for v in visits if v.status == "scheduled" and v.target > after and v.event not in keep
    ]
    cancelled.sort(key=lambda v: (v.target, v.event, v.occurrence))
    return [_key(v) for v in cancelled]


def continuing_after(
    protocol: StudyProtocol,
    arm: str,
    visits: Sequence[StoredVisit],
    ended_on: date | None,
    status: str,
) -> frozenset[str]:
    """The series a withdrawal kept going after its date: those with a visit
    after it that the withdrawal did not cancel, and, when one of them is
    survival follow-up, every series ``protocol`` marks as survival follow-up
    (one new in it included). Nothing goes on after a death, nor after a
    withdrawal that cancelled all follow-up (``--cancel-survival``)."""
    if status != "withdrawn" or ended_on is None:
        return frozenset()
    going = {
        v.event for v in visits
        if v.event != UNSCHEDULED and v.target > ended_on and v.status != "cancelled"
    }  # fmt: skip
    survival = {series.code for series in protocol.series_for(arm) if series.survival}
    return frozenset(going | survival if going & survival else going)

"""Changes to many visits, planned one participant at a time and written together.

A site closing or a rebaseline re-plans hundreds or thousands of participants
in one transaction. Writing each change as it is planned (:meth:`Context.change`:
an ``UPDATE``, then an audit row chained to the last one read back) costs
several statements per visit; here a :class:`Batch` collects the changes, new
visits and audit rows in the order the one-at-a-time path makes them, and
:meth:`Batch.write` sends them as a few executemany statements: visit updates
grouped by the columns they change, each still guarded by the revision read;
new visits in one insert; the audit rows in one append, their hash chain
computed in that same order. The rows written, revisions, audit rows and their
order are those of the one-at-a-time path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import attrgetter
from typing import TYPE_CHECKING, Any, TypeVar

from planner.app.context import applied
from planner.app.results import VisitChange
from planner.core.errors import StaleData
from planner.core.replan import Change, replan
from planner.core.visits import visit_id
from planner.store.repository import audit, bulk, sites, visits
from planner.store.repository.bulk import ParticipantState, VisitState

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from planner.app.context import Context

#: Participants read, planned and written per round (bounds memory, not the transaction).
BLOCK = 500

_T = TypeVar("_T")


class Batch:
    """Visit changes, new visits, participant moves and audit rows waiting to be
    written, in order; :meth:`write` writes them in one go."""

    def __init__(self, ctx: Context) -> None:
        self._actor = ctx.actor
        self.now = ctx.now()
        self._updates: list[tuple[int, int, dict[str, Any]]] = []
        self._names: dict[int, str] = {}
        self._inserts: list[dict[str, Any]] = []
        self._moves: list[tuple[int, int, str]] = []
        self._audit: list[dict[str, Any]] = []

    def audit(self, action: str, **values: Any) -> None:
        """An audit row, appended after the ones before it."""
        self._audit.append(audit.entry(self.now, self._actor, action, **values))

    def change(
        self,
        row: VisitState,
        participant: str,
        action: str,
        values: dict[str, Any],
        *,
        reason: str | None = None,
    ) -> VisitChange:
        """Update one visit (if nobody changed it since it was read) and audit it,
        as :meth:`planner.app.context.Context.change` does."""
        name = visit_id(participant, row.event, row.occurrence)
        # The reason is the audit row's own column, not a before/after field.
        shown = [field for field in values if field != "reason"]
        before = {field: getattr(row, field) for field in shown}
        before["revision"] = row.revision
        revision = row.revision + 1
        self._updates.append(
            (row.id, row.revision, {**values, "revision": revision, "updated_at": self.now})
        )
        self._names[row.id] = name
        after = {field: values[field] for field in shown}
        after["revision"] = revision
        self.audit(
            action, participant=participant, visit=name, before=before, after=after, reason=reason
        )
        return VisitChange(name, action, before, after)

    def add(
        self,
        row: dict[str, Any],
        participant: str,
        action: str,
        after: dict[str, Any],
        *,
        reason: str | None = None,
    ) -> VisitChange:
        """Insert a new visit (``row``: its columns but ``updated_at``) and audit
        it with the values ``after`` shows."""
        name = visit_id(participant, row["event"], row["occurrence"])
        self._inserts.append({**row, "updated_at": self.now})
        self.audit(action, participant=participant, visit=name, after=after, reason=reason)
        return VisitChange(name, action, {}, after)

    def move_participant(self, participant_id: int, version_id: int, arm: str) -> None:
        self._moves.append((participant_id, version_id, arm))

    def write(self, session: Session) -> None:
        """Write everything collected so far, then start empty."""
        stale = bulk.update_visits(session, self._updates)
        if stale:
            first = next(visit for visit, _, _ in self._updates if visit in stale)
            name = self._names[first]
            raise StaleData(
                f"{name} was changed by someone else meanwhile; look at it again and retry",
                subject=name,
            )
        visits.insert_many(session, self._inserts)
        bulk.move_participants(session, self._moves)
        audit.add(session, self._audit)
        self._updates, self._inserts, self._moves, self._audit = [], [], [], []
        self._names = {}


class Plans:
    """Each distinct plan computed once per batch.

    A plan is a pure function of its inputs: the protocol version, arm, day 1,
    site (its calendar is read once per transaction) and the facts of the
    participant's visits. Participants who share all of them (a cohort that
    started on one day, nothing recorded yet) share one plan.
    """

    #: Off, every participant is planned on their own (benchmarks measure both).
    share = True

    def __init__(self) -> None:
        self._known: dict[tuple[Any, ...], Any] = {}

    @staticmethod
    def key(*inputs: Any, rows: Sequence[VisitState]) -> tuple[Any, ...]:
        return (*inputs, tuple(map(_FACTS, rows)))

    def get(self, key: tuple[Any, ...], plan: Callable[[], _T]) -> _T:
        if not Plans.share:
            return plan()
        found: _T | None = self._known.get(key)
        if found is None:
            found = self._known[key] = plan()
        return found


#: What planning reads of a visit (all but its row id, participant and revision).
_FACTS = attrgetter(
    "event",
    "occurrence",
    "status",
    "ideal",
    "target",
    "window_start",
    "window_end",
    "actual",
    "pinned",
    "deviation",
    "time",
    "duration_minutes",
    "kind",
)


def replan_participants(
    ctx: Context,
    session: Session,
    participant_ids: Sequence[int],
    *,
    reason: str | None,
    progress: Callable[[int, int], None] | None = None,
) -> list[VisitChange]:
    """Re-plan every scheduled visit of these participants from the dates known
    now, as :meth:`Context.replan` does for one, audited as ``replan``;
    ``progress(done, total)`` after each round written."""
    batch, plans, changes, total = Batch(ctx), Plans(), [], len(participant_ids)
    for first in range(0, total, BLOCK):
        block = bulk.participants_by_id(session, participant_ids[first : first + BLOCK])
        rows = bulk.visits_of(session, [p.id for p in block])
        for participant in block:
            mine = rows[participant.id]
            plan = _plan(ctx, session, plans, participant, mine)
            if plan:
                by_key = {(row.event, row.occurrence): row for row in mine}
                ended = participant.ended_on if participant.status != "active" else None
                for change in plan:
                    action, values, why = applied(change, ended, reason)
                    row = by_key[change.key]
                    changes.append(batch.change(row, participant.code, action, values, reason=why))
        batch.write(session)
        if progress is not None:
            progress(min(first + BLOCK, total), total)
    return changes


def _plan(
    ctx: Context,
    session: Session,
    plans: Plans,
    participant: ParticipantState,
    rows: list[VisitState],
) -> list[Change]:
    """The changes :func:`planner.core.replan.replan` makes to a participant's visits."""
    version, arm, day1, site = (
        participant.protocol_version_id,
        participant.arm,
        participant.day1,
        participant.site_id,
    )

    ended = participant.ended_on if participant.status != "active" else None

    def plan() -> list[Change]:
        protocol, _ = ctx.db.protocols.get(session.connection(), version)
        place = sites.calendar(session, site).place
        return replan(
            protocol, arm, day1, rows, place=place, ended_on=ended, status=participant.status
        )

    key = Plans.key(version, arm, day1, site, ended, participant.status, rows=rows)
    return plans.get(key, plan)

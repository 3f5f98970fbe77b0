"""Visits and participants read and written many at a time.

Re-planning many participants at once (a site closing, a rebaseline) reads
every participant's visits in a few queries, as plain :class:`VisitState`
values (no ORM objects), and writes the changes as a few executemany
statements: one ``UPDATE`` per set of changed columns, each row guarded by the
revision it was read at, as :func:`planner.store.repository.visits.update_revision`
guards one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from planner.store.models import participants_table, visits_table
from planner.store.repository import inserts

#: Ids per ``IN (...)`` list: well under every database's parameter limit.
CHUNK = 500


@dataclass(frozen=True, slots=True)
class VisitState:
    """A stored visit as re-planning reads it (fields in :data:`_VISIT_COLUMNS` order)."""

    id: int
    participant_id: int
    event: str
    occurrence: int
    status: str
    ideal: date
    target: date
    window_start: date
    window_end: date
    actual: date | None
    pinned: bool
    deviation: bool
    revision: int
    time: str | None
    duration_minutes: int | None
    kind: str


@dataclass(frozen=True, slots=True)
class ParticipantState:
    """What re-planning needs of a participant."""

    id: int
    code: str
    protocol_version_id: int
    arm: str
    site_id: int
    day1: date
    status: str
    ended_on: date | None


_V = visits_table.c
_VISIT_COLUMNS = (
    _V.id,
    _V.participant_id,
    _V.event,
    _V.occurrence,
    _V.status,
    _V.ideal,
    _V.target,
    _V.window_start,
    _V.window_end,
    _V.actual,
    _V.pinned,
    _V.deviation,
    _V.revision,
    _V.time,
    _V.duration_minutes,
    _V.kind,
)
_P = participants_table.c
_PARTICIPANT_COLUMNS = (
    _P.id,
    _P.code,
    _P.protocol_version_id,
    _P.arm,
    _P.site_id,
    _P.day1,
    _P.status,
    _P.ended_on,
)


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for first in range(0, len(ids), CHUNK):
        yield ids[first : first + CHUNK]


def visits_of(session: Session, participant_ids: Sequence[int]) -> dict[int, list[VisitState]]:
    """Every visit of these participants, by participant id; each participant's
    visits by series and occurrence."""
    found: dict[int, list[VisitState]] = {pid: [] for pid in participant_ids}
    connection = session.connection()
    for ids in _chunks(participant_ids):
        query = (
            select(*_VISIT_COLUMNS)
            .where(_V.participant_id.in_(ids))
            .order_by(_V.participant_id, _V.event, _V.occurrence)
        )
        rows: Sequence[tuple[Any, ...]] = connection.execute(query).all()  # not row by row
        for row in rows:
            state = VisitState(*row)
            found[state.participant_id].append(state)
    return found


def participants_by_id(session: Session, ids: Sequence[int]) -> list[ParticipantState]:
    """These participants, in the order of ``ids``."""
    found: dict[int, ParticipantState] = {}
    connection = session.connection()
    for chunk in _chunks(ids):
        query = select(*_PARTICIPANT_COLUMNS).where(_P.id.in_(chunk))
        found.update((row[0], ParticipantState(*row)) for row in connection.execute(query).all())
    return [found[pid] for pid in ids]


def update_visits(session: Session, updates: Sequence[tuple[int, int, dict[str, Any]]]) -> set[int]:
    """Write ``(visit id, revision read, new values)`` to every visit still at the
    revision read; return the ids of those that were not (changed meanwhile).
    The new values hold the new ``revision``.

    Rows changing the same columns go in one executemany ``UPDATE``, their
    values converted for the driver once (:mod:`planner.store.repository.inserts`).
    """
    groups: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    for visit_id, revision, values in updates:
        names = tuple(sorted(values))
        row = (*(values[name] for name in names), visit_id, revision)
        groups.setdefault(names, []).append(row)
    written = 0
    for names, rows in groups.items():
        convert = inserts.Rows(session, visits_table, (*names, "id", "revision"), inserting=False)
        written += inserts.update(session, convert, 2, map(convert.convert, rows))
    if written == len(updates):
        return set()
    return _stale(session, updates)


def _stale(session: Session, updates: Sequence[tuple[int, int, dict[str, Any]]]) -> set[int]:
    """The visits of ``updates`` not at the revision the update gave them."""
    wanted = {visit_id: values.get("revision") for visit_id, _, values in updates}
    connection = session.connection()
    now: dict[int, int | None] = {}
    for ids in _chunks(list(wanted)):
        query = select(_V.id, _V.revision).where(_V.id.in_(ids))
        now.update((row[0], row[1]) for row in connection.execute(query))
    return {visit_id for visit_id, revision in wanted.items() if now.get(visit_id) != revision}


def move_participants(session: Session, moves: Sequence[tuple[int, int, str]]) -> None:
    """Put participants ``(id, protocol version id, arm)`` on other versions and arms."""
    if not moves:
        return
    statement = (
        update(participants_table)
        .where(_P.id == bindparam("old_id"))
        .values(protocol_version_id=bindparam("new_version"), arm=bindparam("new_arm"))
    )
    rows = [{"old_id": pid, "new_version": vid, "new_arm": arm} for pid, vid, arm in moves]
    session.connection().execute(statement, rows)

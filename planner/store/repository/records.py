"""Queries that answer with :class:`~planner.core.visits.VisitRecord` objects."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Date, String, bindparam, case, func, select, type_coerce
from sqlalchemy.orm import Session

from planner.core.visits import VisitRecord
from planner.store.models import Participant, Site, Visit
from planner.store.records import (
    VISIT_ORDER,
    AnySelect,
    ProtocolCache,
    read_records,
    to_records,
    visit_select,
)

_UPCOMING = visit_select().where(
    Visit.site_id == bindparam("site"),
    Visit.target >= bindparam("first", type_=Date),
    Visit.target < bindparam("end", type_=Date),
    Visit.status == "scheduled",
)

_OVERDUE = visit_select().where(
    Visit.site_id == bindparam("site"),
    Visit.status == "scheduled",
    Visit.window_end < bindparam("cutoff", type_=Date),
)


@dataclass(frozen=True, slots=True)
class Filter:
    """Which visits a query holds, with codes already resolved to row ids;
    every field narrows it."""

    participant_id: int | None = None
    site_id: int | None = None
    version_ids: tuple[int, ...] | None = None
    arm: str | None = None
    kind: str | None = None
    start: date | None = None
    end: date | None = None
    include_cancelled: bool = True

    def conditions(self) -> list[Any]:
        found: list[Any] = []
        if self.participant_id is not None:
            found.append(Visit.participant_id == self.participant_id)
        if self.site_id is not None:
            found.append(Visit.site_id == self.site_id)
        if self.version_ids is not None:
            found.append(Participant.protocol_version_id.in_(self.version_ids))
        if self.arm is not None:
            found.append(Participant.arm == self.arm)
        if self.kind is not None:
            found.append(Visit.kind == self.kind)
        if self.start is not None:
            found.append(Visit.target >= self.start)
        if self.end is not None:
            found.append(Visit.target <= self.end)
        if not self.include_cancelled:
            found.append(Visit.status != "cancelled")
        return found


def _run(session: Session, query: AnySelect, cache: ProtocolCache) -> list[VisitRecord]:
    return list(read_records(session.connection(), query, cache))


def matching(session: Session, cache: ProtocolCache, where: Filter) -> list[VisitRecord]:
    return _run(session, visit_select().where(*where.conditions()), cache)


def streamed(session: Session, cache: ProtocolCache, where: Filter) -> Iterator[VisitRecord]:
    """Like :func:`matching`, fetched 2,000 rows at a time (exports)."""
    query = visit_select().where(*where.conditions()).execution_options(yield_per=2000)
    return read_records(session.connection(), query, cache)


#: What can change in a visit's record: its revision and last change (a
#: visit's columns change only with them), and its participant's columns.
#: Sites and stored protocol versions never change. Raw values: only compared.
_KEYS = select(
    Visit.id,
    Visit.revision,
    type_coerce(Visit.updated_at, String),
    Participant.code,
    Participant.arm,
    type_coerce(Participant.day1, String),
    Participant.weight_kg,
    Participant.protocol_version_id,
).join(Participant, Participant.id == Visit.participant_id)


def keys(session: Session, where: Filter) -> list[tuple[Any, ...]]:
    """A key of every visit ``where`` holds, in :func:`matching`'s order: the
    visit's row id, then what its record is made of that can change. Equal
    keys give equal records, so a caller can keep what it made of a visit and
    read again (:func:`by_ids`) only the visits whose key it has not seen."""
    query = _KEYS.where(*where.conditions()).order_by(*VISIT_ORDER)
    return [tuple(row) for row in session.connection().execute(query).fetchall()]


def by_ids(session: Session, cache: ProtocolCache, ids: list[int]) -> dict[int, VisitRecord]:
    """The records of visits by row id (read 500 at a time)."""
    found: dict[int, VisitRecord] = {}
    for start in range(0, len(ids), 500):
        found.update(_with_ids(session, cache, Visit.id.in_(ids[start : start + 500])))
    return found


def with_ids(session: Session, cache: ProtocolCache, where: Filter) -> dict[int, VisitRecord]:
    """The records of :func:`matching`, by row id (one query: when most are wanted)."""
    return _with_ids(session, cache, *where.conditions())


def _with_ids(session: Session, cache: ProtocolCache, *where: Any) -> dict[int, VisitRecord]:
    connection = session.connection()
    query = visit_select().add_columns(Visit.id).order_by(None).where(*where)
    found = connection.execute(query).all()
    made = to_records(connection, [row[:-1] for row in found], cache)
    return dict(zip((row[-1] for row in found), made, strict=True))


def due(
    session: Session, cache: ProtocolCache, site_id: int, first: date, end: date, where: Filter
) -> list[VisitRecord]:
    """Scheduled visits at a site with ``first <= target < end``."""
    query = _UPCOMING.where(*where.conditions()) if where != Filter() else _UPCOMING
    return _fetch(session, cache, query, {"site": site_id, "first": first, "end": end})


def overdue(
    session: Session, cache: ProtocolCache, site_id: int, cutoff: date
) -> list[VisitRecord]:
    """Scheduled visits at a site whose window ended before ``cutoff``."""
    return _fetch(session, cache, _OVERDUE, {"site": site_id, "cutoff": cutoff})


def _fetch(
    session: Session, cache: ProtocolCache, query: AnySelect, params: dict[str, Any]
) -> list[VisitRecord]:
    """A prepared query's rows, fetched at once, as records."""
    connection = session.connection()
    rows = connection.execute(query, params).fetchall()
    return list(to_records(connection, rows, cache))


def _by_window_end(query: AnySelect) -> AnySelect:
    """Who must be seen first: window end, then target, time, participant."""
    return query.order_by(None).order_by(
        Visit.window_end,
        Visit.target,
        func.coalesce(Visit.time, ""),
        Participant.code,
        Visit.event,
        Visit.occurrence,
    )


_DUE_ON = _by_window_end(
    visit_select().where(
        Visit.site_id == bindparam("site"),
        Visit.status == "scheduled",
        Visit.window_start <= bindparam("day", type_=Date),
        Visit.window_end >= bindparam("day", type_=Date),
    )
)

_OVERDUE_ON = _by_window_end(
    visit_select().where(
        Visit.site_id == bindparam("site"),
        Visit.status == "scheduled",
        Visit.window_end < bindparam("day", type_=Date),
    )
)


def due_on(
    session: Session, cache: ProtocolCache, site_id: int, day: date, where: Filter
) -> list[VisitRecord]:
    """Scheduled visits at a site whose window holds ``day``, by window end."""
    query = _DUE_ON.where(*where.conditions()) if where != Filter() else _DUE_ON
    return _fetch(session, cache, query, {"site": site_id, "day": day})


def overdue_on(
    session: Session, cache: ProtocolCache, site_id: int, day: date, where: Filter
) -> list[VisitRecord]:
    """Scheduled visits at a site whose window ended before ``day``, by window end."""
    query = _OVERDUE_ON.where(*where.conditions()) if where != Filter() else _OVERDUE_ON
    return _fetch(session, cache, query, {"site": site_id, "day": day})


_ZONES = select(Site.id, Site.timezone).order_by(Site.code)
_ZONE = _ZONES.where(Site.code == bindparam("code"))


def site_zones(session: Session, code: str | None = None) -> list[tuple[int, str]]:
    """``(site id, time zone)`` of every site, or of one, by code: the sites a
    query of this module runs at (prepared statements, for short queries)."""
    connection = session.connection()
    if code is None:
        return [(row_id, zone) for row_id, zone in connection.execute(_ZONES)]
    return [(row_id, zone) for row_id, zone in connection.execute(_ZONE, {"code": code})]


def kinds(session: Session) -> set[str]:
    """Every kind of visit stored."""
    return set(session.scalars(select(Visit.kind).distinct()))


def deviations(session: Session, cache: ProtocolCache, site_id: int | None) -> list[VisitRecord]:
    query = visit_select().where(Visit.deviation.is_(True))
    if site_id is not None:
        query = query.where(Visit.site_id == site_id)
    return _run(session, query, cache)


def scheduled(
    session: Session,
    cache: ProtocolCache,
    site_id: int,
    kind: str | None = None,
    on: date | None = None,
) -> list[VisitRecord]:
    """Scheduled visits at a site, optionally of one kind on one day."""
    query = visit_select().where(Visit.site_id == site_id, Visit.status == "scheduled")
    if kind is not None:
        query = query.where(Visit.kind == kind)
    if on is not None:
        query = query.where(Visit.target == on)
    return _run(session, query, cache)


def zone_ranges(session: Session, where: Filter) -> dict[str, tuple[date, date]]:
    """The time zones of the timed visits a filter holds, each with its date range."""
    on = case(
        (Visit.status == "completed", func.coalesce(Visit.actual, Visit.target)),
        else_=Visit.target,
    )
    query = (
        select(Site.timezone, func.min(on), func.max(on))
        .select_from(Visit)
        .join(Participant, Participant.id == Visit.participant_id)
        .join(Site, Site.id == Visit.site_id)
        .where(Visit.time.is_not(None), *where.conditions())
        .group_by(Site.timezone)
    )
    return {zone: (first, last) for zone, first, last in session.execute(query)}

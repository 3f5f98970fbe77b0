"""Queries that answer with :class:`~planner.core.visits.VisitRecord` objects."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Date, bindparam, case, func, literal_column, select
from sqlalchemy.orm import Session

from planner.core.visits import VisitRecord
from planner.store.models import Participant, Site, Visit
from planner.store.records import (
    AnySelect,
    ProtocolCache,
    read_records,
    visit_select,
)
from planner.store.repository.keyed import Key, Keyed, cached

#: Scheduled visits at a site with ``first <= target < end`` (also compiled
#: for the command line's reading path: :mod:`planner.store.lite_sql`).
UPCOMING = visit_select().where(
    Visit.site_id == bindparam("site"),
    Visit.target >= bindparam("first", type_=Date),
    Visit.target < bindparam("end", type_=Date),
    Visit.status == "scheduled",
)
_UPCOMING = Keyed.of(UPCOMING)

_OVERDUE = Keyed.of(
    visit_select().where(
        Visit.site_id == bindparam("site"),
        Visit.status == "scheduled",
        Visit.window_end < bindparam("cutoff", type_=Date),
    )
)


#: The day a visit is shown on (in calendars, exports): the day a completed
#: visit happened, else its planned day.
shown_on = case((Visit.status == "completed", func.coalesce(Visit.actual, Visit.target)),
                else_=Visit.target)  # fmt: skip


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
            found.append(shown_on >= self.start)
        if self.end is not None:
            found.append(shown_on <= self.end)
        if not self.include_cancelled:
            found.append(Visit.status != "cancelled")
        return found


def _run(session: Session, query: AnySelect, cache: ProtocolCache) -> list[VisitRecord]:
    return [record for _, record in cached(session, cache, Keyed.of(query), {})]


def matching(session: Session, cache: ProtocolCache, where: Filter) -> list[VisitRecord]:
    return _run(session, visit_select().where(*where.conditions()), cache)


def streamed(session: Session, cache: ProtocolCache, where: Filter) -> Iterator[VisitRecord]:
    """Like :func:`matching`, fetched 2,000 rows at a time (exports)."""
    query = visit_select().where(*where.conditions()).execution_options(yield_per=2000)
    return read_records(session.connection(), query, cache)


def keyed(session: Session, cache: ProtocolCache, where: Filter) -> list[tuple[Key, VisitRecord]]:
    """The visits of :func:`matching`, in its order, each with its key: equal
    keys are equal records (:mod:`planner.store.repository.keyed`)."""
    return cached(session, cache, Keyed.of(visit_select().where(*where.conditions())), {})


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
    session: Session, cache: ProtocolCache, query: Keyed, params: dict[str, Any]
) -> list[VisitRecord]:
    """A prepared query's records, those made before for the same keys reused."""
    return [record for _, record in cached(session, cache, query, params)]


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


#: The status written out, not bound: the partial index of scheduled visits
#: (migration 0008) is then usable whatever the parameters.
_SCHEDULED = Visit.status == literal_column("'scheduled'")

DUE_ON = _by_window_end(
    visit_select().where(
        Visit.site_id == bindparam("site"),
        _SCHEDULED,
        Visit.window_start <= bindparam("day", type_=Date),
        Visit.window_end >= bindparam("day", type_=Date),
    )
)
_DUE_ON = Keyed.of(DUE_ON)

OVERDUE_ON = _by_window_end(
    visit_select().where(
        Visit.site_id == bindparam("site"),
        Visit.status == "scheduled",
        Visit.window_end < bindparam("day", type_=Date),
    )
)
_OVERDUE_ON = Keyed.of(OVERDUE_ON)


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


ZONES = select(Site.id, Site.timezone).order_by(Site.code)
ZONE = ZONES.where(Site.code == bindparam("code"))


def site_zones(
    session: Session, code: str | None = None, cache: ProtocolCache | None = None
) -> list[tuple[int, str]]:
    """``(site id, time zone)`` of every site, or of one, by code: the sites a
    query of this module runs at (prepared statements, for short queries).
    A site's id and zone never change, so one found is kept in ``cache``."""
    kept = cache.sites if cache is not None else {}
    if code is not None and code in kept:
        return [kept[code]]
    connection = session.connection()
    if code is None:
        return [(row_id, zone) for row_id, zone in connection.execute(ZONES)]
    found = [(row_id, zone) for row_id, zone in connection.execute(ZONE, {"code": code})]
    if found and connection.get_execution_options().get("readonly", False):
        kept[code] = found[0]  # committed (a writing transaction may roll back)
    return found


def kinds(session: Session, site_ids: Sequence[int] | None = None) -> set[str]:
    """Every kind of visit stored (at these sites, when given)."""
    query = select(Visit.kind).distinct()
    if site_ids is not None:
        query = query.where(Visit.site_id.in_(site_ids))
    return set(session.scalars(query))


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

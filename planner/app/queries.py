"""What coordinators ask: schedules, what is due, what is overdue, exports."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Date, bindparam, case, func, select
from sqlalchemy.orm import Session

from planner.app.base import (
    AuditRecord,
    ExportScope,
    Service,
)
from planner.core.bundled import BUNDLED_IDS
from planner.core.errors import InputError, NotFound
from planner.core.visits import VisitRecord
from planner.store.models import (
    AuditEntry,
    Participant,
    ProtocolVersion,
    Site,
    Visit,
)
from planner.store.records import (
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


class QueriesPart(Service):
    """Read-only questions: schedules, due, overdue, deviations, exports, audit."""

    def upcoming(
        self,
        start: date | None = None,
        days: int = 14,
        *,
        site: str | None = None,
        protocol: str | None = None,
        arm: str | None = None,
        kind: str | None = None,
    ) -> list[VisitRecord]:
        """Scheduled visits whose target lies in ``days`` days from ``start``.

        Without ``start``, each site's own today (in its time zone) is used.
        """
        if not 1 <= days <= 3660:
            raise InputError(f"--days {days} must be between 1 and 3660")
        with self._read() as session:
            spans = self._site_spans(session, site, start, lambda today: today)
            records: list[VisitRecord] = []
            connection = session.connection()
            query = _UPCOMING
            if protocol or arm or kind:
                query = self._filter(session, query, protocol, arm, kind)
            for site_id, first in spans:
                params = {"site": site_id, "first": first, "end": first + timedelta(days=days)}
                rows = connection.execute(query, params)
                records.extend(to_records(connection, iter(rows), self._protocols))
        return _sorted(records) if len(spans) > 1 else records

    def overdue(self, as_of: date | None = None, *, site: str | None = None) -> list[VisitRecord]:
        """Scheduled visits whose window ended before ``as_of`` (default: today)."""
        with self._read() as session:
            spans = self._site_spans(session, site, as_of, lambda today: today)
            records: list[VisitRecord] = []
            connection = session.connection()
            for site_id, cutoff in spans:
                rows = connection.execute(_OVERDUE, {"site": site_id, "cutoff": cutoff})
                records.extend(to_records(connection, iter(rows), self._protocols))
        return _sorted(records) if len(spans) > 1 else records

    def deviations(self, *, site: str | None = None) -> list[VisitRecord]:
        """Visits recorded or moved outside their window."""
        with self._read() as session:
            query = visit_select().where(Visit.deviation.is_(True))
            if site is not None:
                query = query.where(Visit.site_id == self._site_id(session, site))
            return list(read_records(session.connection(), query, self._protocols))

    def visits(self, scope: ExportScope | None = None) -> Iterator[VisitRecord]:
        """Visits for an export, streamed in date order."""
        with self._read() as session:
            query = visit_select().where(*self._scope(session, scope or ExportScope()))
            yield from read_records(
                session.connection(), query.execution_options(yield_per=2000), self._protocols
            )

    def calendar_zones(self, scope: ExportScope | None = None) -> dict[str, tuple[date, date]]:
        """The time zones of an export's timed visits, each with its date range."""
        on = case(
            (Visit.status == "completed", func.coalesce(Visit.actual, Visit.target)),
            else_=Visit.target,
        )
        with self._read() as session:
            query = (
                select(Site.timezone, func.min(on), func.max(on))
                .select_from(Visit)
                .join(Participant, Participant.id == Visit.participant_id)
                .join(Site, Site.id == Visit.site_id)
                .where(Visit.time.is_not(None), *self._scope(session, scope or ExportScope()))
                .group_by(Site.timezone)
            )
            return {zone: (first, last) for zone, first, last in session.execute(query)}

    def _scope(self, session: Session, scope: ExportScope) -> list[Any]:
        conditions: list[Any] = []
        if scope.participant is not None:
            pid = session.scalar(
                select(Participant.id).where(Participant.code == scope.participant)
            )
            if pid is None:
                raise NotFound(f"unknown participant {scope.participant!r}")
            conditions.append(Visit.participant_id == pid)
        if scope.site is not None:
            conditions.append(Visit.site_id == self._site_id(session, scope.site))
        if scope.protocol is not None:
            conditions.append(
                Participant.protocol_version_id.in_(self._version_ids(session, scope.protocol))
            )
        if scope.start is not None:
            conditions.append(Visit.target >= scope.start)
        if scope.end is not None:
            conditions.append(Visit.target <= scope.end)
        if not scope.include_cancelled:
            conditions.append(Visit.status != "cancelled")
        return conditions

    def _version_ids(self, session: Session, protocol: str) -> list[int]:
        version_ids = list(
            session.scalars(
                select(ProtocolVersion.id).where(ProtocolVersion.protocol_id == protocol)
            )
        )
        if not version_ids and protocol not in BUNDLED_IDS:
            raise NotFound(f"unknown protocol {protocol!r} ({self._protocol_choices()})")
        return version_ids

    def _site_spans(
        self,
        session: Session,
        site: str | None,
        given: date | None,
        default: Callable[[date], date],
    ) -> list[tuple[int, date]]:
        query = select(Site.id, Site.timezone).order_by(Site.code)
        if site is not None:
            query = query.where(Site.code == site)
        spans = [
            (site_id, given if given is not None else default(self.today(zone)))
            for site_id, zone in session.execute(query)
        ]
        if site is not None and not spans:
            raise NotFound(f"unknown site {site!r} ({self._site_choices()})")
        return spans

    def _filter(
        self,
        session: Session,
        query: Any,
        protocol: str | None,
        arm: str | None,
        kind: str | None,
    ) -> Any:
        if protocol is not None:
            query = query.where(
                Participant.protocol_version_id.in_(self._version_ids(session, protocol))
            )
        if arm is not None:
            query = query.where(Participant.arm == arm)
        if kind is not None:
            query = query.where(Visit.kind == kind)
        return query

    def audit(self, participant: str | None = None) -> list[AuditRecord]:
        with self._read() as session:
            query = select(AuditEntry).order_by(AuditEntry.id)
            if participant is not None:
                if (
                    session.scalar(select(Participant.id).where(Participant.code == participant))
                    is None
                ):
                    raise NotFound(f"unknown participant {participant!r}")
                query = query.where(AuditEntry.participant == participant)
            return [
                AuditRecord(
                    at=entry.at,
                    actor=entry.actor,
                    action=entry.action,
                    participant=entry.participant,
                    visit=entry.visit,
                    before=json.loads(entry.before) if entry.before else None,
                    after=json.loads(entry.after) if entry.after else None,
                    reason=entry.reason,
                )
                for entry in session.scalars(query)
            ]


def _sorted(records: list[VisitRecord]) -> list[VisitRecord]:
    return sorted(
        records,
        key=lambda r: (r.target, r.time or "", r.participant, r.event, r.occurrence),
    )

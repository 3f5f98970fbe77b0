"""The Python API: every use case of planner, as a method of :class:`Planner`.

>>> from datetime import date
>>> with Planner("sqlite://") as planner:  # an in-memory database
...     _ = planner.add_site("WUH", "Asia/Shanghai")
...     visits = planner.enroll("WUH-001", "cs-huc-mscs", "MED", "WUH", date(2026, 4, 20))
...     [v.target.isoformat() for v in visits[:3]]
['2026-04-20', '2026-04-23', '2026-04-27']

Each method is one transaction: it validates everything first and writes
nothing when anything is wrong. "Now" comes from the clock given to
:class:`Planner` (the system clock by default); "today" is today in the
site's time zone. The methods only delegate: the use cases live in one
module per concern (:mod:`planner.app.sites`, :mod:`planner.app.lifecycle`...).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Self

from planner.app import capacity, enrol, exports, lifecycle, maintenance, protocols, queries, sites
from planner.app.context import Context
from planner.app.results import (
    AuditRecord,
    CapacityProblem,
    Clock,
    ExportScope,
    Outcome,
    ProtocolInfo,
    SiteInfo,
)
from planner.core.bundled import bundled
from planner.core.enrolment import Enrolment
from planner.core.protocol import StudyProtocol
from planner.core.replan import SurvivalChoice
from planner.core.sitedays import Closure, SiteCalendar
from planner.core.visits import VisitRecord

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.engine import URL


class Planner:
    """A planner database: protocols, sites, participants and their visits."""

    def __init__(
        self, db: str | None = None, *, actor: str | None = None, clock: Clock | None = None
    ) -> None:
        self._ctx = Context(db, actor, clock)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._ctx.db.close()

    @property
    def url(self) -> URL:
        return self._ctx.db.url

    @property
    def engine(self) -> Engine:
        return self._ctx.db.engine

    @property
    def actor(self) -> str:
        return self._ctx.actor

    def now(self) -> datetime:
        """The current moment, UTC, naive (as stored)."""
        return self._ctx.now()

    def today(self, zone: str) -> date:
        """Today's date in a time zone."""
        return self._ctx.today(zone)

    # -- protocols

    @staticmethod
    def bundled(protocol_id: str) -> StudyProtocol:
        """A bundled protocol (parsed once per process)."""
        return bundled(protocol_id)

    def protocols(self) -> list[ProtocolInfo]:
        """Bundled and added protocols (latest stored version of each)."""
        return protocols.list_protocols(self._ctx)

    def protocol(self, protocol_id: str) -> StudyProtocol:
        """The current version of a protocol, stored or bundled."""
        return protocols.current(self._ctx, protocol_id)

    def add_protocol(self, path: str) -> tuple[StudyProtocol, int, bool]:
        """Store a protocol file: ``(protocol, version, added)``."""
        return protocols.add(self._ctx, path)

    # -- sites

    def add_site(
        self,
        code: str,
        timezone: str,
        name: str = "",
        *,
        closed: str = "",
        holidays: str | None = None,
    ) -> SiteInfo:
        """Add a site; ``closed`` weekdays as ``sat,sun``, ``holidays`` as ``CN``."""
        return sites.add(self._ctx, code, timezone, name, closed, holidays)

    def sites(self) -> list[SiteInfo]:
        return sites.list_sites(self._ctx)

    def site(self, code: str) -> SiteInfo:
        return sites.one(self._ctx, code)

    def today_at(self, site: str) -> date:
        """Today's date at a site, in its time zone."""
        return sites.today_at(self._ctx, site)

    def close_site(
        self, code: str, start: date, end: date | None = None, reason: str = ""
    ) -> Outcome:
        """Close a site on a date or range; re-plan the visits it touches."""
        return sites.close(self._ctx, code, start, end, reason)

    def site_calendar(self, code: str) -> SiteCalendar:
        return sites.calendar(self._ctx, code)

    def closures(self, code: str) -> list[Closure]:
        return sites.closures(self._ctx, code)

    def set_capacity(self, code: str, kind: str, per_day: int) -> None:
        """Cap events of a kind per day at a site (0 removes the cap)."""
        capacity.set_cap(self._ctx, code, kind, per_day)

    def capacities(self, code: str) -> dict[str, int]:
        return capacity.caps(self._ctx, code)

    def conflicts(self, *, site: str | None = None) -> list[tuple[VisitRecord, str]]:
        """Scheduled visits on a closed day because their window had no open day."""
        return capacity.conflicts(self._ctx, site)

    def capacity_report(
        self, start: date, days: int, *, site: str | None = None
    ) -> list[CapacityProblem]:
        """Days on which scheduled events of a kind exceed a site's cap."""
        return capacity.report(self._ctx, start, days, site)

    # -- enrolment

    def enroll(
        self,
        participant: str,
        protocol: str,
        arm: str,
        site: str,
        day1: date,
        weight_kg: float | None = None,
    ) -> list[VisitRecord]:
        """Enrol one participant and plan every visit; return the schedule."""
        self.enroll_many([Enrolment(participant, protocol, arm, site, day1, weight_kg)])
        return self.schedule(participant)

    def enroll_csv(self, path: str) -> int:
        """Enrol every participant of a CSV file, all or nothing."""
        return enrol.enroll_csv(self._ctx, path)

    def enroll_many(self, enrolments: Sequence[Enrolment], source: str | None = None) -> int:
        """Enrol many participants in one transaction; return how many."""
        return enrol.enroll_many(self._ctx, enrolments, source)

    # -- questions

    def schedule(self, participant: str) -> list[VisitRecord]:
        """Every visit of a participant, in date order."""
        return queries.schedule(self._ctx, participant)

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
        """Scheduled visits due in ``days`` days from ``start`` (default: today at each site)."""
        return queries.upcoming(self._ctx, start, days, site, protocol, arm, kind)

    def overdue(self, as_of: date | None = None, *, site: str | None = None) -> list[VisitRecord]:
        """Scheduled visits whose window ended before ``as_of`` (default: today)."""
        return queries.overdue(self._ctx, as_of, site)

    def deviations(self, *, site: str | None = None) -> list[VisitRecord]:
        """Visits recorded or moved outside their window."""
        return queries.deviations(self._ctx, site)

    def visits(self, scope: ExportScope | None = None) -> Iterator[VisitRecord]:
        """Visits for an export, streamed in date order."""
        return queries.visits(self._ctx, scope or ExportScope())

    def calendar_zones(self, scope: ExportScope | None = None) -> dict[str, tuple[date, date]]:
        """The time zones of an export's timed visits, each with its date range."""
        return queries.zones(self._ctx, scope or ExportScope())

    def audit(self, participant: str | None = None) -> list[AuditRecord]:
        """The audit trail, oldest first, of everything or of one participant."""
        return queries.audit_trail(self._ctx, participant)

    # -- exports

    def export_ics(
        self, scope: ExportScope | None = None, *, alarm: timedelta | None = None
    ) -> Iterator[bytes]:
        """A scope's visits as an iCalendar stream (checked before the first byte)."""
        return exports.ics(self._ctx, scope or ExportScope(), alarm)

    def write_export(self, path: str, chunks: Iterator[bytes]) -> int:
        """Write an export whole or not at all, never over the database; its size."""
        return exports.write(self._ctx, path, chunks)

    # -- what happens to visits

    def complete(self, visit: str, on: date, *, expected_revision: int | None = None) -> Outcome:
        """Record that a visit happened on a date; re-plan what depends on it."""
        return lifecycle.complete(self._ctx, visit, on, expected_revision)

    def move(
        self,
        visit: str,
        to: date,
        *,
        reason: str | None = None,
        force: bool = False,
        expected_revision: int | None = None,
    ) -> Outcome:
        """Move a scheduled visit; outside its window only with ``force``."""
        return lifecycle.move(self._ctx, visit, to, reason, force, expected_revision)

    def miss(self, visit: str, *, expected_revision: int | None = None) -> Outcome:
        """Record that a scheduled visit did not happen."""
        return lifecycle.miss(self._ctx, visit, expected_revision)

    def withdraw(
        self,
        participant: str,
        on: date,
        *,
        reason: str | None = None,
        survival: SurvivalChoice = "protocol",
    ) -> Outcome:
        """Withdraw from a date: cancel every later scheduled visit (survival
        follow-up kept as the protocol marks it, unless ``survival`` says)."""
        return lifecycle.withdraw(self._ctx, participant, on, reason, survival)

    def died(self, participant: str, on: date) -> Outcome:
        """Record a death: cancel every scheduled visit after the date."""
        return lifecycle.died(self._ctx, participant, on)

    # -- maintenance

    def backup(self, destination: str) -> int:
        """A consistent copy of this (SQLite) database, even while others write."""
        return maintenance.backup_database(
            self.url.render_as_string(hide_password=False), destination
        )

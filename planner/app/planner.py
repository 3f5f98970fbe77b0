"""The Python API: class :class:`Planner`, one method per use case, each one
transaction delegated to its module (:mod:`planner.app.lifecycle`...). Groups are
attributes: ``planner.calendars``, ``exports``, ``feeds``, ``amendments``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Self

from planner.app import (
    corrections,
    endings,
    enrol,
    lifecycle,
    participants,
    protocols,
    queries,
    sites,
    unscheduled,
)
from planner.app.context import Context
from planner.app.enrol import Enrolled, Progress
from planner.app.groups import Groups
from planner.app.judged import VisitAsOf
from planner.app.participants import ParticipantInfo
from planner.app.results import AuditRecord, Clock, ExportScope, Outcome, ProtocolInfo, SiteInfo
from planner.core.dates import check_date
from planner.core.enrolment import Enrolment
from planner.core.protocol import StudyProtocol
from planner.core.replan import SurvivalChoice
from planner.core.visits import VisitRecord

if TYPE_CHECKING:
    from sqlalchemy.engine import URL


class Planner(Groups):
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

    def now(self) -> datetime:
        return self._ctx.now()  # UTC, naive (as stored)

    def today(self, zone: str) -> date:
        return self._ctx.today(zone)

    def acting_as(self, actor: str) -> Planner:
        """This database and clock, with changes signed by ``actor`` (a web user)."""
        other = object.__new__(Planner)
        other._ctx = self._ctx.acting(actor)
        return other

    def protocols(self) -> list[ProtocolInfo]:
        return protocols.list_protocols(self._ctx)

    def protocol(self, protocol_id: str) -> StudyProtocol:
        return protocols.current(self._ctx, protocol_id)

    def add_protocol(self, path: str) -> tuple[StudyProtocol, int, bool]:
        return protocols.add(self._ctx, path)

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

    def enroll_many(self, enrolments: Sequence[Enrolment], source: str | None = None) -> int:
        """Enrol many participants in one transaction; return how many."""
        return enrol.enroll_many(self._ctx, enrolments, source)

    def schedule(self, participant: str) -> list[VisitRecord]:
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
        start = check_date(start, "start date", field="start")
        return queries.upcoming(self._ctx, start, days, site, protocol, arm, kind)

    def overdue(self, as_of: date | None = None, *, site: str | None = None) -> list[VisitRecord]:
        """Scheduled visits whose window ended before ``as_of`` (default: today)."""
        return queries.overdue(self._ctx, check_date(as_of, "date", field="as_of"), site)

    def deviations(self, *, site: str | None = None) -> list[VisitRecord]:
        return queries.deviations(self._ctx, site)

    def visits(self, scope: ExportScope | None = None) -> Iterator[VisitRecord]:
        """Visits for an export, streamed in date order."""
        return queries.visits(self._ctx, scope or ExportScope())

    def audit(self, participant: str | None = None) -> list[AuditRecord]:
        """The audit trail, oldest first, of everything or of one participant."""
        return queries.audit_trail(self._ctx, participant)

    def complete(
        self,
        visit: str,
        on: date,
        *,
        reason: str | None = None,
        expected_revision: int | None = None,
    ) -> Outcome:
        """Record that a visit happened on a date; re-plan what depends on it."""
        on = check_date(on, "date", field="on")
        return lifecycle.complete(self._ctx, visit, on, expected_revision, reason)

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
        to = check_date(to, "date", field="to")
        return lifecycle.move(self._ctx, visit, to, reason, force, expected_revision)

    def miss(
        self, visit: str, *, reason: str | None = None, expected_revision: int | None = None
    ) -> Outcome:
        """Record that a scheduled visit did not happen (and why, when known)."""
        return lifecycle.miss(self._ctx, visit, expected_revision, reason)

    def withdraw(
        self,
        participant: str,
        on: date,
        *,
        reason: str | None = None,
        survival: SurvivalChoice = "protocol",
    ) -> Outcome:
        """Withdraw from a date: cancel later scheduled visits (survival as ``survival`` says)."""
        on = check_date(on, "date", field="on")
        return endings.withdraw(self._ctx, participant, on, reason, survival)

    def died(self, participant: str, on: date, *, reason: str | None = None) -> Outcome:
        """Record a death: cancel every scheduled visit after the date."""
        return endings.died(self._ctx, participant, check_date(on, "date", field="on"), reason)

    def undo(self, visit: str, *, reason: str, expected_revision: int | None = None) -> Outcome:
        """Return a completed or missed visit to scheduled; re-plan what counted from it."""
        return corrections.undo(self._ctx, visit, reason, expected_revision)

    def reinstate(self, participant: str, *, reason: str) -> Outcome:
        """Undo a withdrawal or death recorded in error; its cancelled visits return."""
        return corrections.reinstate(self._ctx, participant, reason)

    def add_visit(
        self,
        participant: str,
        on: date,
        label: str,
        *,
        kind: str = "visit",
        time: str | None = None,
        reason: str | None = None,
        expected_number: int | None = None,
    ) -> Outcome:
        """Add an unscheduled visit (``P/UNS/N``), never re-planned; with
        ``expected_number``, only if it would be that N (a form sent twice adds one)."""
        on = check_date(on, "date", field="on")
        return unscheduled.add(
            self._ctx, participant, on, label, kind, time, reason, expected_number
        )

    def due(
        self,
        as_of: date | None = None,
        *,
        site: str | None = None,
        protocol: str | None = None,
        arm: str | None = None,
        kind: str | None = None,
    ) -> list[VisitAsOf]:
        """Scheduled visits whose window holds ``as_of`` (default: today at each site)."""
        as_of = check_date(as_of, "date", field="as_of")
        return queries.due(self._ctx, as_of, site, protocol, arm, kind)

    def overdue_by(
        self,
        as_of: date | None = None,
        *,
        site: str | None = None,
        protocol: str | None = None,
        arm: str | None = None,
        kind: str | None = None,
    ) -> list[VisitAsOf]:
        """Like :meth:`overdue`, by window end, each visit with its day (``days_overdue()``)."""
        as_of = check_date(as_of, "date", field="as_of")
        return queries.overdue_by(self._ctx, as_of, site, protocol, arm, kind)

    def kinds(self, *, sites: Sequence[str] | None = None) -> list[str]:
        """The kinds of visit that stored or bundled protocols use, and stored
        visits (at ``sites``, when given)."""
        return queries.kinds(self._ctx, sites)

    def participants(
        self, *, site: str | None = None, protocol: str | None = None, status: str | None = None
    ) -> list[ParticipantInfo]:
        """Participants by code; ``status`` is on-study, withdrawn, died or finished."""
        return participants.list_participants(self._ctx, site, protocol, status)

    def participant(self, code: str) -> ParticipantInfo:
        return participants.one(self._ctx, code)

    def participant_schedule(self, code: str) -> tuple[ParticipantInfo, list[VisitRecord]]:
        """A participant and every visit, read in one transaction."""
        return participants.with_schedule(self._ctx, code)

    def enroll_file(
        self, path: str, *, skip_existing: bool = False, progress: Progress | None = None
    ) -> Enrolled:
        """Enrol every row of a CSV file, all or nothing (``skip_existing``: same rows skipped)."""
        return enrol.enroll_file(self._ctx, path, skip_existing, progress)

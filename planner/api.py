"""The Python API: everything the command line does, as methods.

>>> from datetime import date
>>> with Planner("sqlite://") as planner:  # an in-memory database
...     _ = planner.add_site("WUH", "Asia/Shanghai")
...     visits = planner.enroll("WUH-001", "cs-huc-mscs", "MED", "WUH", date(2026, 4, 20))
...     [v.target.isoformat() for v in visits[:3]]
['2026-04-20', '2026-04-23', '2026-04-27']

Each method is one transaction: it validates everything first and writes
nothing when anything is wrong. "Now" comes from the clock given to
:class:`Planner` (the system clock by default); "today" is today in the
site's time zone.
"""

from __future__ import annotations

import getpass
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Date, Engine, bindparam, case, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from planner.bundled import BUNDLED_IDS, bundled_source
from planner.calendar import (
    Closure,
    SiteCalendar,
    calendar_from_row,
    check_holidays,
    format_weekdays,
    parse_weekdays,
)
from planner.dates import check_zone
from planner.enrolment import Enrolment, check_participant_code, parse_weight, read_csv
from planner.errors import InputError, NotFound, StaleData
from planner.protocol import CODE_PATTERN, StudyProtocol, fingerprint, load, parse
from planner.schedule import VisitKey, expand
from planner.store.engine import make_engine, resolve_url
from planner.store.migrate import ensure_current
from planner.store.models import (
    AuditEntry,
    Participant,
    ProtocolVersion,
    Site,
    SiteCapacity,
    SiteClosure,
    Visit,
    participants_table,
    visits_table,
)
from planner.store.records import (
    ProtocolCache,
    parse_snapshot,
    read_records,
    to_records,
    visit_select,
)
from planner.visits import VisitRecord

Clock = Callable[[], datetime]
SurvivalChoice = Literal["protocol", "keep", "cancel"]


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)


def default_actor() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


@dataclass(frozen=True, slots=True)
class ExportScope:
    """Which visits an export holds; every field narrows it."""

    participant: str | None = None
    site: str | None = None
    protocol: str | None = None
    start: date | None = None
    end: date | None = None
    include_cancelled: bool = True


@dataclass(frozen=True, slots=True)
class ProtocolInfo:
    id: str
    version: int | None
    title: str
    arms: tuple[str, ...]
    bundled: bool


@dataclass(frozen=True, slots=True)
class SiteInfo:
    code: str
    name: str
    timezone: str
    closed_weekdays: str = ""
    holidays: str | None = None


@dataclass(frozen=True, slots=True)
class CapacityProblem:
    """More scheduled events of a kind on a day than a site's cap."""

    site: str
    day: date
    kind: str
    per_day: int
    count: int
    visits: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AuditRecord:
    at: datetime
    actor: str
    action: str
    participant: str | None
    visit: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat() + "Z",
            "actor": self.actor,
            "action": self.action,
            "participant": self.participant,
            "visit": self.visit,
            "before": self.before,
            "after": self.after,
            "reason": self.reason,
        }


class Planner:
    """A planner database: protocols, sites, participants and their visits."""

    def __init__(
        self, db: str | None = None, *, actor: str | None = None, clock: Clock | None = None
    ) -> None:
        self.url = resolve_url(db)
        self.engine: Engine = make_engine(self.url)
        try:
            ensure_current(self.url, self.engine)
        except BaseException:
            self.engine.dispose()
            raise
        self.actor = (actor or default_actor())[:100]
        self._protocols = ProtocolCache()
        self._clock = clock or utc_now

    def __enter__(self) -> Planner:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self.engine.dispose()

    def now(self) -> datetime:
        """The current moment, UTC, naive (as stored)."""
        return self._clock()

    def today(self, zone: str) -> date:
        """Today's date in a time zone."""
        return self.now().replace(tzinfo=UTC).astimezone(ZoneInfo(zone)).date()

    def _write(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    def _read(self) -> Session:
        return Session(self.engine.execution_options(readonly=True))

    # ------------------------------------------------------------ protocols

    def protocols(self) -> list[ProtocolInfo]:
        """Bundled and added protocols (latest stored version of each)."""
        with self._read() as session:
            stored = {row.protocol_id: row for row in _latest_versions(session)}
        infos = []
        for pid in sorted(set(BUNDLED_IDS) | set(stored)):
            row = stored.get(pid)
            protocol = self._parse_version(row) if row else self.bundled(pid)
            infos.append(
                ProtocolInfo(
                    id=pid,
                    version=row.version if row else None,
                    title=protocol.title,
                    arms=tuple(protocol.arm_codes()),
                    bundled=pid in BUNDLED_IDS,
                )
            )
        return infos

    @staticmethod
    def bundled(protocol_id: str) -> StudyProtocol:
        return parse(bundled_source(protocol_id), f"bundled:{protocol_id}")

    def protocol(self, protocol_id: str) -> StudyProtocol:
        """The current version of a protocol, stored or bundled."""
        with self._read() as session:
            row = _latest_version(session, protocol_id)
        if row is not None:
            return self._parse_version(row)
        if protocol_id in BUNDLED_IDS:
            return self.bundled(protocol_id)
        raise NotFound(f"unknown protocol {protocol_id!r} ({self._protocol_choices()})")

    def add_protocol(self, path: str) -> tuple[StudyProtocol, int, bool]:
        """Store a protocol file: ``(protocol, version, added)``.

        An unchanged file is a no-op; a changed one becomes a new version.
        """
        protocol = load(path)
        with open(path, encoding="utf-8-sig") as handle:
            source = handle.read()
        with self._write() as session, session.begin():
            row, added = self._store_protocol(session, protocol, source)
            if added:
                self._audit(
                    session,
                    "protocol-add",
                    after={"protocol": protocol.id, "version": row.version},
                )
            return protocol, row.version, added

    def _store_protocol(
        self, session: Session, protocol: StudyProtocol, source: str
    ) -> tuple[ProtocolVersion, bool]:
        mark = fingerprint(protocol.model_dump_json())
        existing = session.scalars(
            select(ProtocolVersion).where(
                ProtocolVersion.protocol_id == protocol.id, ProtocolVersion.fingerprint == mark
            )
        ).first()
        if existing is not None:
            return existing, False
        latest = _latest_version(session, protocol.id)
        row = ProtocolVersion(
            protocol_id=protocol.id,
            version=(latest.version + 1) if latest else 1,
            fingerprint=mark,
            title=protocol.title,
            source=source,
            created_at=self.now(),
        )
        session.add(row)
        session.flush()
        return row, True

    def _version_for(self, session: Session, protocol_id: str) -> ProtocolVersion:
        """The version new participants get; a bundled protocol is stored on first use."""
        row = _latest_version(session, protocol_id)
        if row is not None:
            return row
        if protocol_id not in BUNDLED_IDS:
            raise NotFound(f"unknown protocol {protocol_id!r} ({self._protocol_choices()})")
        source = bundled_source(protocol_id)
        row, _ = self._store_protocol(session, self.bundled(protocol_id), source)
        return row

    def _protocol_choices(self) -> str:
        with self._read() as session:
            stored = {row.protocol_id for row in _latest_versions(session)}
        return "protocols: " + ", ".join(sorted(set(BUNDLED_IDS) | stored))

    @staticmethod
    def _parse_version(row: ProtocolVersion) -> StudyProtocol:
        return parse_snapshot(row.source, f"{row.protocol_id} v{row.version}")

    # ---------------------------------------------------------------- sites

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
        _check_code(code, "site code")
        check_zone(timezone)
        weekdays = format_weekdays(parse_weekdays(closed))
        holidays = check_holidays(holidays) if holidays else None
        if len(name) > 200:
            raise InputError("site name is longer than 200 characters")
        with self._write() as session, session.begin():
            if session.scalar(select(Site.id).where(Site.code == code)) is not None:
                raise InputError(f"site {code!r} exists already")
            session.add(
                Site(
                    code=code,
                    name=name,
                    timezone=timezone,
                    closed_weekdays=weekdays,
                    holidays=holidays,
                    created_at=self.now(),
                )
            )
            self._audit(
                session,
                "site-add",
                after={
                    "site": code,
                    "timezone": timezone,
                    "closed": weekdays,
                    "holidays": holidays,
                },
            )
        return SiteInfo(code, name, timezone, weekdays, holidays)

    def sites(self) -> list[SiteInfo]:
        with self._read() as session:
            rows = session.scalars(select(Site).order_by(Site.code)).all()
            return [
                SiteInfo(row.code, row.name, row.timezone, row.closed_weekdays, row.holidays)
                for row in rows
            ]

    def close_site(self, code: str, start: date, end: date | None = None, reason: str = "") -> int:
        """Close a site on a date or range; re-plan the visits it touches.

        Returns how many visits were re-planned.
        """
        end = end or start
        if end < start:
            raise InputError(f"--to {end} is before the closing date {start}")
        if (end - start).days > 366:
            raise InputError("a closing period may last at most a year")
        if len(reason) > 200:
            raise InputError("the reason is longer than 200 characters")
        with self._write() as session, session.begin():
            site_id = self._site_id(session, code)
            session.add(
                SiteClosure(
                    site_id=site_id, start=start, end=end, reason=reason, created_at=self.now()
                )
            )
            session.info.pop("calendars", None)
            self._audit(
                session,
                "site-close",
                after={"site": code, "start": start, "end": end},
                reason=reason or None,
            )
            session.flush()
            participant_ids = session.scalars(
                select(Visit.participant_id)
                .where(
                    Visit.site_id == site_id,
                    Visit.status == "scheduled",
                    Visit.window_start <= end,
                    Visit.window_end >= start,
                )
                .distinct()
            ).all()
            why = f"site {code} closed {start}" + (f" to {end}" if end != start else "")
            why += f": {reason}" if reason else ""
            changed = 0
            for participant_id in participant_ids:
                participant = session.get_one(Participant, participant_id)
                changed += self._replan(session, participant, reason=why)
            return changed

    def set_capacity(self, code: str, kind: str, per_day: int) -> None:
        """Cap events of a kind per day at a site (0 removes the cap)."""
        if not 0 <= per_day <= 10_000:
            raise InputError(f"--per-day {per_day} must be between 0 and 10000")
        with self._write() as session, session.begin():
            site_id = self._site_id(session, code)
            existing = session.scalar(
                select(SiteCapacity).where(
                    SiteCapacity.site_id == site_id, SiteCapacity.kind == kind
                )
            )
            before = {"per_day": existing.per_day} if existing else None
            if existing is not None:
                session.delete(existing)
                session.flush()
            if per_day:
                session.add(SiteCapacity(site_id=site_id, kind=kind, per_day=per_day))
            self._audit(
                session,
                "site-capacity",
                before=before,
                after={"site": code, "kind": kind, "per_day": per_day},
            )

    def site_calendar(self, code: str) -> SiteCalendar:
        with self._read() as session:
            return self._calendar(session, self._site_id(session, code))

    def capacities(self, code: str) -> dict[str, int]:
        with self._read() as session:
            site_id = self._site_id(session, code)
            rows = session.execute(
                select(SiteCapacity.kind, SiteCapacity.per_day).where(
                    SiteCapacity.site_id == site_id
                )
            )
            return {kind: per_day for kind, per_day in rows}

    def closures(self, code: str) -> list[Closure]:
        with self._read() as session:
            return list(self._calendar(session, self._site_id(session, code)).closures)

    def _calendar(self, session: Session, site_id: int) -> SiteCalendar:
        """A site's calendar, read once per transaction."""
        cache: dict[int, SiteCalendar] = session.info.setdefault("calendars", {})
        if site_id not in cache:
            cache[site_id] = self._load_calendar(session, site_id)
        return cache[site_id]

    def _load_calendar(self, session: Session, site_id: int) -> SiteCalendar:
        site = session.get_one(Site, site_id)
        closures = [
            Closure(row.start, row.end, row.reason)
            for row in session.scalars(
                select(SiteClosure)
                .where(SiteClosure.site_id == site_id)
                .order_by(SiteClosure.start, SiteClosure.id)
            )
        ]
        return calendar_from_row(site, closures)

    def conflicts(self, *, site: str | None = None) -> list[tuple[VisitRecord, str]]:
        """Scheduled visits on a closed day because their window had no open day."""
        found: list[tuple[VisitRecord, str]] = []
        with self._read() as session:
            query = select(Site.id).order_by(Site.code)
            if site is not None:
                query = query.where(Site.id == self._site_id(session, site))
            for site_id in session.scalars(query).all():
                calendar = self._calendar(session, site_id)
                if calendar.always_open:
                    continue
                rows = session.execute(
                    visit_select().where(Visit.site_id == site_id, Visit.status == "scheduled")
                )
                for record in to_records(session.connection(), iter(rows), self._protocols):
                    reason = calendar.closed_reason(record.target)
                    if reason and calendar.is_conflict(record.target, record.setting):
                        found.append((record, reason))
        return found

    def capacity_report(
        self, start: date, days: int, *, site: str | None = None
    ) -> list[CapacityProblem]:
        """Days on which scheduled events of a kind exceed a site's cap."""
        if not 1 <= days <= 3660:
            raise InputError(f"--days {days} must be between 1 and 3660")
        end = start + timedelta(days=days - 1)
        problems: list[CapacityProblem] = []
        with self._read() as session:
            caps = select(SiteCapacity.site_id, SiteCapacity.kind, SiteCapacity.per_day)
            if site is not None:
                caps = caps.where(SiteCapacity.site_id == self._site_id(session, site))
            for site_id, kind, per_day in session.execute(caps).all():
                over = session.execute(
                    select(Visit.target, func.count())
                    .where(
                        Visit.site_id == site_id,
                        Visit.kind == kind,
                        Visit.status == "scheduled",
                        Visit.target >= start,
                        Visit.target <= end,
                    )
                    .group_by(Visit.target)
                    .having(func.count() > per_day)
                ).all()
                code = session.get_one(Site, site_id).code
                for day, count in over:
                    rows = session.execute(
                        visit_select().where(
                            Visit.site_id == site_id,
                            Visit.kind == kind,
                            Visit.status == "scheduled",
                            Visit.target == day,
                        )
                    )
                    found = to_records(session.connection(), iter(rows), self._protocols)
                    ids = tuple(r.visit_id for r in found)
                    problems.append(CapacityProblem(code, day, kind, per_day, count, ids))
        return sorted(problems, key=lambda p: (p.day, p.site, p.kind))

    def site(self, code: str) -> SiteInfo:
        for info in self.sites():
            if info.code == code:
                return info
        raise NotFound(f"unknown site {code!r} ({self._site_choices()})")

    def _site_choices(self) -> str:
        codes = [info.code for info in self.sites()]
        if not codes:
            return "no sites yet: add one with `planner site add CODE --timezone ZONE`"
        return "sites: " + ", ".join(codes)

    # ------------------------------------------------------------ enrolment

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
        return self.enroll_many(read_csv(path), source=path)

    def enroll_many(self, enrolments: Sequence[Enrolment], source: str | None = None) -> int:
        """Enrol many participants in one transaction; return how many."""
        now = self.now()
        with self._write() as session, session.begin():
            sites = {row.code: row for row in session.scalars(select(Site))}
            versions: dict[str, tuple[ProtocolVersion, StudyProtocol]] = {}
            codes = [e.participant for e in enrolments]
            taken = _existing_codes(session, codes)
            for enrolment in enrolments:
                where = f"{source} line {enrolment.line}: " if source else ""
                try:
                    check_participant_code(enrolment.participant)
                    parse_weight(enrolment.weight_kg)
                    if enrolment.participant in taken:
                        raise InputError(
                            f"participant {enrolment.participant!r} is already enrolled"
                        )
                    if enrolment.protocol not in versions:
                        stored = self._version_for(session, enrolment.protocol)
                        versions[enrolment.protocol] = (stored, self._parse_version(stored))
                    protocol = versions[enrolment.protocol][1]
                    if enrolment.arm not in protocol.arm_codes():
                        raise InputError(
                            f"unknown arm {enrolment.arm!r} for protocol {protocol.id} "
                            f"(arms: {', '.join(protocol.arm_codes())})"
                        )
                    if enrolment.site not in sites:
                        raise NotFound(f"unknown site {enrolment.site!r} ({self._site_choices()})")
                except InputError as error:
                    raise type(error)(f"{where}{error}") from None
            if not enrolments:
                return 0

            participant_rows = [
                {
                    "code": e.participant,
                    "protocol_version_id": versions[e.protocol][0].id,
                    "arm": e.arm,
                    "site_id": sites[e.site].id,
                    "day1": e.day1,
                    "weight_kg": e.weight_kg,
                    "status": "active",
                    "created_at": now,
                }
                for e in enrolments
            ]
            connection = session.connection()
            try:
                connection.execute(insert(participants_table), participant_rows)
            except IntegrityError:
                raise InputError("a participant code was enrolled meanwhile; retry") from None
            ids = _ids_by_code(session, codes)
            plans: dict[tuple[int, str, date, int], list[dict[str, Any]]] = {}
            calendars: dict[int, SiteCalendar] = {}
            visit_rows: list[dict[str, Any]] = []
            audit_rows: list[dict[str, Any]] = []
            for enrolment in enrolments:
                version_row, protocol = versions[enrolment.protocol]
                site_id = sites[enrolment.site].id
                key = (version_row.id, enrolment.arm, enrolment.day1, site_id)
                if site_id not in calendars:
                    calendars[site_id] = self._calendar(session, site_id)
                plan = plans.get(key)
                if plan is None:
                    plan = plans[key] = _plan_rows(
                        protocol, enrolment.arm, enrolment.day1, calendars[site_id]
                    )
                participant_id = ids[enrolment.participant]
                for row in plan:
                    visit_rows.append(
                        {
                            **row,
                            "participant_id": participant_id,
                            "site_id": site_id,
                            "updated_at": now,
                        }
                    )
                audit_rows.append(
                    {
                        "at": now,
                        "actor": self.actor,
                        "action": "enroll",
                        "participant": enrolment.participant,
                        "visit": None,
                        "before": None,
                        "after": _dump(
                            {
                                "protocol": protocol.id,
                                "version": version_row.version,
                                "arm": enrolment.arm,
                                "site": enrolment.site,
                                "day1": enrolment.day1,
                                "weight_kg": enrolment.weight_kg,
                                "visits": len(plan),
                            }
                        ),
                        "reason": None,
                    }
                )
            if visit_rows:
                connection.execute(insert(visits_table), visit_rows)
            session.execute(insert(AuditEntry), audit_rows)
        return len(enrolments)

    # -------------------------------------------------------------- queries

    def schedule(self, participant: str) -> list[VisitRecord]:
        """Every visit of a participant, in date order."""
        with self._read() as session:
            pid = session.scalar(select(Participant.id).where(Participant.code == participant))
            if pid is None:
                raise NotFound(f"unknown participant {participant!r}")
            query = visit_select().where(Visit.participant_id == pid)
            return list(read_records(session.connection(), query, self._protocols))

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

    def _site_id(self, session: Session, code: str) -> int:
        site_id = session.scalar(select(Site.id).where(Site.code == code))
        if site_id is None:
            raise NotFound(f"unknown site {code!r} ({self._site_choices()})")
        return site_id

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

    # ------------------------------------------------------------ lifecycle

    def complete(
        self, visit: str, on: date, *, expected_revision: int | None = None
    ) -> list[VisitRecord]:
        """Record that a visit happened on a date; re-plan what depends on it.

        Outside the window it is still recorded, and flagged as a deviation.
        """
        with self._write() as session, session.begin():
            row, participant, zone = self._visit_for_change(session, visit, expected_revision)
            today = self.today(zone)
            if on > today:
                raise InputError(
                    f"cannot complete {visit} on {on}: that is in the future (today is {today})"
                )
            previous = session.scalar(
                select(Visit.actual)
                .where(
                    Visit.participant_id == row.participant_id,
                    Visit.event == row.event,
                    Visit.occurrence < row.occurrence,
                    Visit.status == "completed",
                )
                .order_by(Visit.occurrence.desc())
                .limit(1)
            )
            if previous is not None and on < previous:
                raise InputError(
                    f"cannot complete {visit} on {on}: the previous {row.event} visit was "
                    f"completed later, on {previous}"
                )
            deviation = not row.window_start <= on <= row.window_end
            self._change(
                session,
                row,
                participant,
                "complete",
                {"status": "completed", "actual": on, "deviation": deviation},
            )
            self._replan(session, participant)
        return self.schedule(participant.code)

    def move(
        self,
        visit: str,
        to: date,
        *,
        reason: str | None = None,
        force: bool = False,
        expected_revision: int | None = None,
    ) -> list[VisitRecord]:
        """Move a scheduled visit; outside its window only with ``force``."""
        with self._write() as session, session.begin():
            row, participant, _ = self._visit_for_change(session, visit, expected_revision)
            outside = not row.window_start <= to <= row.window_end
            if outside and not force:
                raise InputError(
                    f"cannot move {visit} to {to}: its window is {row.window_start} to "
                    f"{row.window_end}; use --force to move it outside (it will be flagged "
                    "as a deviation)"
                )
            if to == row.target:
                raise InputError(f"{visit} is already planned for {to}")
            self._change(
                session,
                row,
                participant,
                "move",
                {"target": to, "pinned": True, "deviation": outside},
                reason=reason,
            )
            self._replan(session, participant)
        return self.schedule(participant.code)

    def miss(self, visit: str, *, expected_revision: int | None = None) -> list[VisitRecord]:
        """Record that a scheduled visit did not happen."""
        with self._write() as session, session.begin():
            row, participant, _ = self._visit_for_change(session, visit, expected_revision)
            self._change(session, row, participant, "miss", {"status": "missed"})
        return self.schedule(participant.code)

    def withdraw(
        self,
        participant: str,
        on: date,
        *,
        reason: str | None = None,
        survival: SurvivalChoice = "protocol",
    ) -> int:
        """Withdraw from a date: cancel every later scheduled visit.

        Survival follow-up is kept as the protocol marks it, unless
        ``survival`` says to keep or cancel it. Returns how many were cancelled.
        """
        with self._write() as session, session.begin():
            row = self._active_participant(session, participant)
            protocol = self._participant_protocol(session, row)
            survival_codes = {s.code for s in protocol.series_for(row.arm) if s.survival}
            if survival == "keep":
                survival_codes |= {s.code for s in protocol.series_for(row.arm) if s.kind == "call"}

            def keep(visit: Visit) -> bool:
                return survival != "cancel" and visit.event in survival_codes

            count = self._cancel_after(session, row, on, keep, "withdraw", reason)
            self._end_participant(session, row, "withdrawn", on, reason, count)
            return count

    def died(self, participant: str, on: date) -> int:
        """Record a death: cancel every scheduled visit after the date."""
        with self._write() as session, session.begin():
            row = session.scalar(select(Participant).where(Participant.code == participant))
            if row is None:
                raise NotFound(f"unknown participant {participant!r}")
            if row.status == "died":
                raise InputError(f"participant {participant!r} is already recorded as died")
            zone = session.scalar(select(Site.timezone).where(Site.id == row.site_id)) or "UTC"
            today = self.today(zone)
            if on > today:
                raise InputError(f"date of death {on} is in the future (today is {today})")
            count = self._cancel_after(session, row, on, lambda _: False, "died", None)
            self._end_participant(session, row, "died", on, None, count)
            return count

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

    # ------------------------------------------------------- lifecycle parts

    def _visit_for_change(
        self, session: Session, visit: str, expected_revision: int | None
    ) -> tuple[Visit, Participant, str]:
        parts = visit.rsplit("/", 2)
        if len(parts) != 3 or not re.fullmatch("[0-9]{1,6}", parts[2]):
            raise InputError(
                f"visit id {visit!r} is not of the form PARTICIPANT/EVENT/N (e.g. WUH-001/INF/2)"
            )
        code, event, number = parts
        found = session.execute(
            select(Visit, Participant, Site.timezone)
            .join(Participant, Participant.id == Visit.participant_id)
            .join(Site, Site.id == Visit.site_id)
            .where(
                Participant.code == code,
                Visit.event == event,
                Visit.occurrence == int(number),
            )
        ).first()
        if found is None:
            raise NotFound(f"unknown visit {visit!r}")
        row, participant, zone = found
        if expected_revision is not None and row.revision != expected_revision:
            raise StaleData(
                f"{visit} changed since you read it (revision {row.revision}, you saw "
                f"{expected_revision}); look at it again and retry"
            )
        if row.status != "scheduled":
            when = f" on {row.actual}" if row.actual else ""
            raise InputError(f"{visit} is {row.status}{when}; only scheduled visits can change")
        return row, participant, zone

    def _change(
        self,
        session: Session,
        row: Visit,
        participant: Participant,
        action: str,
        values: dict[str, Any],
        *,
        reason: str | None = None,
    ) -> None:
        """Update one visit if nobody changed it since it was read; audit it."""
        before = {name: getattr(row, name) for name in values}
        before["revision"] = row.revision
        changed = {**values, "revision": row.revision + 1, "updated_at": self.now()}
        result = session.execute(
            update(Visit)
            .where(Visit.id == row.id, Visit.revision == row.revision)
            .values(**changed)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise StaleData(
                f"{participant.code}/{row.event}/{row.occurrence} was changed by someone else "
                "while this command ran; look at it again and retry"
            )
        session.expire(row)
        after = {name: changed[name] for name in values}
        after["revision"] = changed["revision"]
        self._audit(
            session,
            action,
            participant=participant.code,
            visit=f"{participant.code}/{row.event}/{row.occurrence}",
            before=before,
            after=after,
            reason=reason,
        )

    def _replan(
        self, session: Session, participant: Participant, *, reason: str | None = None
    ) -> int:
        """Re-plan every scheduled visit from the dates known now."""
        protocol = self._participant_protocol(session, participant)
        rows = session.scalars(select(Visit).where(Visit.participant_id == participant.id)).all()
        actual = {VisitKey(r.event, r.occurrence): r.actual for r in rows if r.actual}
        # Dates that no longer follow the protocol: visits a coordinator moved,
        # and missed or cancelled visits, which stay where they were.
        fixed = {
            VisitKey(r.event, r.occurrence): r.target
            for r in rows
            if r.status in ("missed", "cancelled") or (r.pinned and r.status == "scheduled")
        }
        plan = {
            o.key: o
            for o in expand(
                protocol,
                participant.arm,
                participant.day1,
                actual=actual,
                moved=fixed,
                place=self._calendar(session, participant.site_id).place,
            )
        }
        changed = 0
        for row in rows:
            occurrence = plan.get(VisitKey(row.event, row.occurrence))
            if row.status != "scheduled" or occurrence is None:
                continue
            values: dict[str, Any] = {
                "ideal": occurrence.ideal,
                "target": occurrence.target,
                "window_start": occurrence.window_start,
                "window_end": occurrence.window_end,
            }
            if all(getattr(row, name) == value for name, value in values.items()):
                continue
            if row.pinned:
                values["deviation"] = not (
                    occurrence.window_start <= row.target <= occurrence.window_end
                )
            self._change(session, row, participant, "replan", values, reason=reason)
            changed += 1
        return changed

    def _cancel_after(
        self,
        session: Session,
        participant: Participant,
        on: date,
        keep: Callable[[Visit], bool],
        action: str,
        reason: str | None,
    ) -> int:
        rows = session.scalars(
            select(Visit)
            .where(
                Visit.participant_id == participant.id,
                Visit.status == "scheduled",
                Visit.target > on,
            )
            .order_by(Visit.target, Visit.event, Visit.occurrence)
        ).all()
        count = 0
        for row in rows:
            if keep(row):
                continue
            self._change(
                session,
                row,
                participant,
                "cancel",
                {"status": "cancelled"},
                reason=reason or action,
            )
            count += 1
        return count

    def _end_participant(
        self,
        session: Session,
        row: Participant,
        status: str,
        on: date,
        reason: str | None,
        cancelled: int,
    ) -> None:
        before = {"status": row.status, "ended_on": row.ended_on}
        row.status = status
        row.ended_on = on
        self._audit(
            session,
            "withdraw" if status == "withdrawn" else "died",
            participant=row.code,
            before=before,
            after={"status": status, "ended_on": on, "cancelled": cancelled},
            reason=reason,
        )

    def _active_participant(self, session: Session, code: str) -> Participant:
        row = session.scalar(select(Participant).where(Participant.code == code))
        if row is None:
            raise NotFound(f"unknown participant {code!r}")
        if row.status != "active":
            raise InputError(f"participant {code!r} is already {row.status} (on {row.ended_on})")
        return row

    def _participant_protocol(self, session: Session, participant: Participant) -> StudyProtocol:
        protocol, _ = self._protocols.get(session.connection(), participant.protocol_version_id)
        return protocol

    def _audit(
        self,
        session: Session,
        action: str,
        *,
        participant: str | None = None,
        visit: str | None = None,
        before: dict[str, Any] | None = None,
        after: dict[str, Any] | None = None,
        reason: str | None = None,
    ) -> None:
        session.add(
            AuditEntry(
                at=self.now(),
                actor=self.actor,
                action=action,
                participant=participant,
                visit=visit,
                before=_dump(before) if before is not None else None,
                after=_dump(after) if after is not None else None,
                reason=reason,
            )
        )


# ------------------------------------------------------------------- helpers

#: The coordinators' daily queries, built once (parameters bound per call).
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


def _check_code(code: str, what: str) -> None:
    if not re.fullmatch(CODE_PATTERN.strip("^$"), code):
        raise InputError(
            f"{what} {code!r} is not allowed: use 1 to 32 of A-Z a-z 0-9 _ - "
            "starting with a letter or digit"
        )


def _dump(values: dict[str, Any]) -> str:
    return json.dumps(values, default=str, sort_keys=True, ensure_ascii=False)


def _latest_versions(session: Session) -> list[ProtocolVersion]:
    rows = session.scalars(
        select(ProtocolVersion).order_by(ProtocolVersion.protocol_id, ProtocolVersion.version)
    ).all()
    latest: dict[str, ProtocolVersion] = {}
    for row in rows:
        latest[row.protocol_id] = row
    return list(latest.values())


def _latest_version(session: Session, protocol_id: str) -> ProtocolVersion | None:
    return session.scalars(
        select(ProtocolVersion)
        .where(ProtocolVersion.protocol_id == protocol_id)
        .order_by(ProtocolVersion.version.desc())
        .limit(1)
    ).first()


def _existing_codes(session: Session, codes: Iterable[str]) -> set[str]:
    found: set[str] = set()
    batch: list[str] = []
    for code in codes:
        batch.append(code)
        if len(batch) == 500:
            found |= set(
                session.scalars(select(Participant.code).where(Participant.code.in_(batch)))
            )
            batch = []
    if batch:
        found |= set(session.scalars(select(Participant.code).where(Participant.code.in_(batch))))
    return found


def _ids_by_code(session: Session, codes: Sequence[str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for first in range(0, len(codes), 500):
        batch = codes[first : first + 500]
        rows = session.execute(
            select(Participant.code, Participant.id).where(Participant.code.in_(batch))
        )
        ids.update({code: pid for code, pid in rows})
    return ids


def _plan_rows(
    protocol: StudyProtocol, arm: str, day1: date, calendar: SiteCalendar
) -> list[dict[str, Any]]:
    return [
        {
            "event": o.event,
            "occurrence": o.occurrence,
            "kind": o.kind,
            "ideal": o.ideal,
            "target": o.target,
            "window_start": o.window_start,
            "window_end": o.window_end,
            "time": o.time.strftime("%H:%M") if o.time else None,
            "duration_minutes": o.duration_minutes,
            "status": "scheduled",
            "pinned": False,
            "deviation": False,
            "revision": 0,
        }
        for o in expand(protocol, arm, day1, place=calendar.place)
    ]


def _sorted(records: list[VisitRecord]) -> list[VisitRecord]:
    return sorted(
        records,
        key=lambda r: (r.target, r.time or "", r.participant, r.event, r.occurrence),
    )


__all__ = [
    "AuditRecord",
    "CapacityProblem",
    "ExportScope",
    "Planner",
    "ProtocolInfo",
    "SiteInfo",
    "utc_now",
]

"""What every part of the planner service shares: the database, the clock,
protocol versions, site calendars, re-planning and the audit trail.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal, Self
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from planner.core.bundled import BUNDLED_IDS, bundled_source
from planner.core.bundled import bundled as bundled_protocol
from planner.core.errors import NotFound, StaleData
from planner.core.protocol import StudyProtocol, fingerprint
from planner.core.schedule import VisitKey, expand
from planner.core.sitedays import (
    Closure,
    SiteCalendar,
    calendar_from_row,
)
from planner.core.visits import VisitRecord
from planner.store.engine import make_engine, resolve_url
from planner.store.migrate import ensure_current
from planner.store.models import (
    AuditEntry,
    Participant,
    ProtocolVersion,
    Site,
    SiteClosure,
    Visit,
)
from planner.store.records import (
    ProtocolCache,
    parse_snapshot,
    read_records,
    visit_select,
)

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


class Service:
    """The database, the clock and the shared steps of every command."""

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

    def __enter__(self) -> Self:
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

    @staticmethod
    def bundled(protocol_id: str) -> StudyProtocol:
        """A bundled protocol (parsed once per process)."""
        return bundled_protocol(protocol_id)

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
        latest = latest_version(session, protocol.id)
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
        row = latest_version(session, protocol_id)
        if row is not None:
            return row
        if protocol_id not in BUNDLED_IDS:
            raise NotFound(f"unknown protocol {protocol_id!r} ({self._protocol_choices()})")
        source = bundled_source(protocol_id)
        row, _ = self._store_protocol(session, self.bundled(protocol_id), source)
        return row

    def _protocol_choices(self) -> str:
        with self._read() as session:
            stored = {row.protocol_id for row in latest_versions(session)}
        return "protocols: " + ", ".join(sorted(set(BUNDLED_IDS) | stored))

    @staticmethod
    def _parse_version(row: ProtocolVersion) -> StudyProtocol:
        return parse_snapshot(row.source, f"{row.protocol_id} v{row.version}")

    def _site_id(self, session: Session, code: str) -> int:
        site_id = session.scalar(select(Site.id).where(Site.code == code))
        if site_id is None:
            raise NotFound(f"unknown site {code!r} ({self._site_choices()})")
        return site_id

    def _site_choices(self) -> str:
        with self._read() as session:
            codes = list(session.scalars(select(Site.code).order_by(Site.code)))
        if not codes:
            return "no sites yet: add one with `planner site add CODE --timezone ZONE`"
        return "sites: " + ", ".join(codes)

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

    def schedule(self, participant: str) -> list[VisitRecord]:
        """Every visit of a participant, in date order."""
        with self._read() as session:
            pid = session.scalar(select(Participant.id).where(Participant.code == participant))
            if pid is None:
                raise NotFound(f"unknown participant {participant!r}")
            query = visit_select().where(Visit.participant_id == pid)
            return list(read_records(session.connection(), query, self._protocols))

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
                before=dump_json(before) if before is not None else None,
                after=dump_json(after) if after is not None else None,
                reason=reason,
            )
        )


def dump_json(values: dict[str, Any]) -> str:
    return json.dumps(values, default=str, sort_keys=True, ensure_ascii=False)


def latest_versions(session: Session) -> list[ProtocolVersion]:
    rows = session.scalars(
        select(ProtocolVersion).order_by(ProtocolVersion.protocol_id, ProtocolVersion.version)
    ).all()
    latest: dict[str, ProtocolVersion] = {}
    for row in rows:
        latest[row.protocol_id] = row
    return list(latest.values())


def latest_version(session: Session, protocol_id: str) -> ProtocolVersion | None:
    return session.scalars(
        select(ProtocolVersion)
        .where(ProtocolVersion.protocol_id == protocol_id)
        .order_by(ProtocolVersion.version.desc())
        .limit(1)
    ).first()

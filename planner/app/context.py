"""What every use case shares: the database, the clock, who acts, and the
steps that several use cases take (find a site, a protocol version or a
participant; change one visit and audit it; re-plan a participant).
"""

from __future__ import annotations

import getpass
from collections.abc import Collection
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from planner.app.judged import today_in, utc_now
from planner.app.results import Clock, VisitChange
from planner.core.bundled import BUNDLED_IDS, bundled, bundled_source
from planner.core.errors import InputError, NotFound, StaleData
from planner.core.facts import facts_json
from planner.core.protocol import StudyProtocol, fingerprint
from planner.core.replan import Change, replan
from planner.core.visits import VisitRecord, visit_id
from planner.store.database import Database
from planner.store.models import Participant, ProtocolVersion, Visit
from planner.store.records import parse_snapshot
from planner.store.repository import (
    audit,
    locks,
    participants,
    protocols,
    records,
    sites,
    visits,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


def default_actor() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


#: The longest actor name the audit trail keeps (longer ones are refused, never cut).
ACTOR_MAX = 100


def checked_actor(actor: str) -> str:
    """Who acts, as the audit trail records it: one line of printable text."""
    if len(actor) > ACTOR_MAX:
        raise InputError(
            f"the actor name is {len(actor)} characters long; at most {ACTOR_MAX} are kept",
            field="actor",
            value=actor,
            allowed=f"1..{ACTOR_MAX} characters",
        )
    if not actor.strip():
        raise InputError(
            "the actor name is blank; say who is making changes", field="actor", value=actor
        )
    if not actor.isprintable():
        raise InputError(
            f"the actor name {actor!r} holds control characters, line breaks or other "
            "characters that do not print",
            field="actor",
            value=actor,
            allowed="printable characters",
        )
    return actor


class Context:
    """The database, the clock and who is acting, for one :class:`Planner`."""

    def __init__(self, db: str | None, actor: str | None, clock: Clock | None) -> None:
        self.actor = checked_actor(actor or default_actor())  # before the database is opened
        self.db = Database(db)
        self.clock = clock or utc_now

    def acting(self, actor: str) -> Context:
        """The same database and clock, with another actor (never a second engine)."""
        other = object.__new__(Context)
        other.actor, other.db, other.clock = checked_actor(actor), self.db, self.clock
        return other

    def now(self) -> datetime:
        """The current moment, UTC, naive (as stored)."""
        return self.clock()

    def today(self, zone: str) -> date:
        """Today's date in a time zone."""
        return today_in(self.now(), zone)

    # -- protocols

    def parse_version(self, row: ProtocolVersion) -> StudyProtocol:
        return parse_snapshot(row.source, f"{row.protocol_id} v{row.version}")

    def store_protocol(
        self, session: Session, protocol: StudyProtocol, source: str
    ) -> tuple[ProtocolVersion, bool]:
        """The version holding this protocol, stored now if it is new."""
        mark = fingerprint(protocol.model_dump_json())
        locks.protocol_versions(session)  # two first uses store one version, not two
        existing = protocols.by_fingerprint(session, protocol.id, mark)
        if existing is not None:
            return existing, False
        texts = (source, facts_json(protocol))
        row = protocols.add_version(session, protocol.id, mark, protocol.title, texts, self.now())
        return row, True

    def version_for(self, session: Session, protocol_id: str) -> ProtocolVersion:
        """The version new participants get; a bundled protocol is stored on first use."""
        row = protocols.latest_version(session, protocol_id)
        if row is not None:
            return row
        if protocol_id not in BUNDLED_IDS:
            raise self.unknown_protocol(session, protocol_id)
        row, _ = self.store_protocol(session, bundled(protocol_id), bundled_source(protocol_id))
        return row

    def version_ids(self, session: Session, protocol_id: str) -> tuple[int, ...]:
        found = protocols.version_ids(session, protocol_id)
        if not found and protocol_id not in BUNDLED_IDS:
            raise self.unknown_protocol(session, protocol_id)
        return tuple(found)

    @staticmethod
    def unknown_protocol(session: Session, protocol_id: str) -> NotFound:
        choices = sorted(set(BUNDLED_IDS) | protocols.stored_ids(session))
        return NotFound(
            f"unknown protocol {protocol_id!r} (protocols: {', '.join(choices)})",
            field="protocol",
            value=protocol_id,
            choices=choices,
        )

    def protocol_of(self, session: Session, participant: Participant) -> StudyProtocol:
        protocol, _ = self.db.protocols.get(session.connection(), participant.protocol_version_id)
        return protocol

    # -- sites and participants

    @staticmethod
    def lock(
        session: Session,
        *,
        participants: Collection[str] = (),
        sites: Collection[str] = (),
        calendar: bool = False,
    ) -> None:
        """Wait for every write in progress to these participants (by code,
        with their sites' calendars) and sites (by code); then hold them until
        this transaction ends. First thing in a writing transaction that reads
        them; ``calendar`` when it changes the sites' calendars. A no-op on
        SQLite, whose writing transactions hold the whole database."""
        locks.take(session, participants=participants, sites=sites, calendar=calendar)

    @staticmethod
    def site_id(session: Session, code: str) -> int:
        found = sites.site_id(session, code)
        if found is None:
            raise unknown_site(session, code)
        return found

    @staticmethod
    def participant(session: Session, code: str) -> Participant:
        row = participants.by_code(session, code)
        if row is None:
            raise unknown_participant(code)
        return row

    def schedule(self, session: Session, participant_id: int) -> list[VisitRecord]:
        where = records.Filter(participant_id=participant_id)
        return records.matching(session, self.db.protocols, where)

    # -- changes, always audited

    def audit(self, session: Session, action: str, **values: Any) -> None:
        audit.add(session, [audit.entry(self.now(), self.actor, action, **values)])

    def change(
        self,
        session: Session,
        row: Visit,
        participant: Participant,
        action: str,
        values: dict[str, Any],
        *,
        reason: str | None = None,
    ) -> VisitChange:
        """Update one visit if nobody changed it since it was read; audit it."""
        name = visit_id(participant.code, row.event, row.occurrence)
        # The reason is the audit row's own column, not a before/after field.
        shown = [field for field in values if field != "reason"]
        before = {field: getattr(row, field) for field in shown}
        before["revision"] = row.revision
        changed = {**values, "revision": row.revision + 1, "updated_at": self.now()}
        if not visits.update_revision(session, row, changed):
            raise StaleData(
                f"{name} was changed by someone else meanwhile; look at it again and retry",
                subject=name,
            )
        after = {field: changed[field] for field in shown}
        after["revision"] = changed["revision"]
        self.audit(
            session,
            action,
            participant=participant.code,
            visit=name,
            before=before,
            after=after,
            reason=reason,
        )
        return VisitChange(name, action, before, after)

    def replan(
        self, session: Session, participant: Participant, *, reason: str | None = None
    ) -> list[VisitChange]:
        """Re-plan every scheduled visit of a participant from the dates known now."""
        rows = visits.of_participant(session, participant.id)
        ended = participant.ended_on if participant.status != "active" else None
        plan = replan(
            self.protocol_of(session, participant),
            participant.arm,
            participant.day1,
            rows,
            place=sites.calendar(session, participant.site_id).place,
            ended_on=ended,
            status=participant.status,
        )
        by_key = {(row.event, row.occurrence): row for row in rows}
        done = []
        for change in plan:
            action, values, why = applied(change, ended, reason)
            done.append(self.change(session, by_key[change.key], participant, action, values,
                                    reason=why))  # fmt: skip
        return done


def applied(
    change: Change, ended: date | None, reason: str | None
) -> tuple[str, dict[str, Any], str | None]:
    """A re-planning change as (action, values, reason) to write and audit: a
    visit planned past the participant's death or withdrawal is cancelled."""
    if change.action != "cancel":
        return "replan", change.after, reason
    why = f"planned after the participant's end of participation on {ended}"
    return "cancel", {**change.after, "reason": why}, why


def unknown_site(session: Session, code: str) -> NotFound:
    codes = sites.site_codes(session)
    known = f"sites: {', '.join(codes)}" if codes else "no sites yet"
    return NotFound(f"unknown site {code!r} ({known})", field="site", value=code, choices=codes)


def unknown_participant(code: str) -> NotFound:
    return NotFound(f"unknown participant {code!r}", field="participant", value=code)

"""Enrolment: one participant or many, all or nothing, every visit planned."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from planner.app.base import (
    Service,
    dump_json,
)
from planner.core.enrolment import Enrolment, check_participant_code, parse_weight, read_csv
from planner.core.errors import InputError, NotFound
from planner.core.protocol import StudyProtocol
from planner.core.schedule import expand
from planner.core.sitedays import (
    SiteCalendar,
)
from planner.core.visits import VisitRecord
from planner.store.models import (
    AuditEntry,
    Participant,
    ProtocolVersion,
    Site,
    participants_table,
    visits_table,
)


class EnrolmentPart(Service):
    """Enrolment, all or nothing, with every visit planned at once."""

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
            taken = _ids_by_code(session, codes).keys()
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
                        "after": dump_json(
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


def _ids_by_code(session: Session, codes: Sequence[str]) -> dict[str, int]:
    """Row ids of the participants among ``codes`` that exist, 500 codes a query."""
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

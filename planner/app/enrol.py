"""Enrolment: one participant or many, all or nothing, every visit planned."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from planner.app.context import Context, unknown_site
from planner.core.enrolment import Enrolment, check_participant_code, parse_weight, read_csv
from planner.core.errors import Conflict, InputError
from planner.core.protocol import StudyProtocol
from planner.core.schedule import expand
from planner.core.sitedays import SiteCalendar
from planner.store.models import ProtocolVersion, Site
from planner.store.repository import audit, participants, sites, visits

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@dataclass(frozen=True, slots=True)
class _Checked:
    """What enrolment resolved once for all rows: sites and protocol versions."""

    sites: dict[str, Site]
    versions: dict[str, tuple[ProtocolVersion, StudyProtocol]]


def enroll_csv(ctx: Context, path: str) -> int:
    """Enrol every participant of a CSV file, all or nothing."""
    return enroll_many(ctx, read_csv(path), source=path)


def enroll_many(ctx: Context, enrolments: Sequence[Enrolment], source: str | None = None) -> int:
    """Enrol many participants in one transaction; return how many."""
    with ctx.db.write() as session, session.begin():
        checked = _check_all(ctx, session, enrolments, source)
        if not enrolments:
            return 0
        _insert(ctx, session, enrolments, checked)
    return len(enrolments)


def _check_all(
    ctx: Context, session: Session, enrolments: Sequence[Enrolment], source: str | None
) -> _Checked:
    checked = _Checked({row.code: row for row in sites.all_sites(session)}, {})
    taken = participants.ids_by_code(session, [e.participant for e in enrolments]).keys()
    for enrolment in enrolments:
        try:
            _check_one(ctx, session, enrolment, checked, enrolment.participant in taken)
        except InputError as error:
            if source is None:
                raise
            raise type(error)(
                f"{source} line {enrolment.line}: {error}",
                field=error.field,
                value=error.value,
                choices=error.choices,
                subject=enrolment.participant,
            ) from None
    return checked


def _check_one(
    ctx: Context, session: Session, enrolment: Enrolment, checked: _Checked, taken: bool
) -> None:
    check_participant_code(enrolment.participant)
    parse_weight(enrolment.weight_kg)
    if taken:
        raise Conflict(
            f"participant {enrolment.participant!r} is already enrolled",
            field="participant",
            value=enrolment.participant,
        )
    if enrolment.protocol not in checked.versions:
        stored = ctx.version_for(session, enrolment.protocol)
        checked.versions[enrolment.protocol] = (stored, ctx.parse_version(stored))
    protocol = checked.versions[enrolment.protocol][1]
    if enrolment.arm not in protocol.arm_codes():
        raise InputError(
            f"unknown arm {enrolment.arm!r} for protocol {protocol.id} "
            f"(arms: {', '.join(protocol.arm_codes())})",
            field="arm",
            value=enrolment.arm,
            choices=protocol.arm_codes(),
        )
    if enrolment.site not in checked.sites:
        raise unknown_site(session, enrolment.site)


def _insert(
    ctx: Context, session: Session, enrolments: Sequence[Enrolment], checked: _Checked
) -> None:
    now = ctx.now()
    participant_rows = [
        {
            "code": e.participant,
            "protocol_version_id": checked.versions[e.protocol][0].id,
            "arm": e.arm,
            "site_id": checked.sites[e.site].id,
            "day1": e.day1,
            "weight_kg": e.weight_kg,
            "status": "active",
            "created_at": now,
        }
        for e in enrolments
    ]
    try:
        participants.insert_many(session, participant_rows)
    except participants.CodeTaken:
        raise Conflict("a participant code was enrolled meanwhile; retry") from None
    ids = participants.ids_by_code(session, [e.participant for e in enrolments])
    plans: dict[tuple[int, str, date, int], list[dict[str, Any]]] = {}
    visit_rows: list[dict[str, Any]] = []
    audit_rows: list[dict[str, Any]] = []
    for enrolment in enrolments:
        version_row, protocol = checked.versions[enrolment.protocol]
        site_id = checked.sites[enrolment.site].id
        key = (version_row.id, enrolment.arm, enrolment.day1, site_id)
        plan = plans.get(key)
        if plan is None:
            calendar = sites.calendar(session, site_id)
            plan = plans[key] = _plan_rows(protocol, enrolment.arm, enrolment.day1, calendar)
        common = {"participant_id": ids[enrolment.participant], "site_id": site_id}
        visit_rows.extend({**row, **common, "updated_at": now} for row in plan)
        audit_rows.append(_audit_row(ctx, now, enrolment, protocol, version_row, len(plan)))
    visits.insert_many(session, visit_rows)
    audit.add(session, audit_rows)


def _audit_row(
    ctx: Context,
    now: datetime,
    enrolment: Enrolment,
    protocol: StudyProtocol,
    version: ProtocolVersion,
    count: int,
) -> dict[str, Any]:
    after = {
        "protocol": protocol.id,
        "version": version.version,
        "arm": enrolment.arm,
        "site": enrolment.site,
        "day1": enrolment.day1,
        "weight_kg": enrolment.weight_kg,
        "visits": count,
    }
    return audit.entry(now, ctx.actor, "enroll", participant=enrolment.participant, after=after)


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

"""Enrolment: one participant or many, all or nothing, every visit planned."""

from __future__ import annotations

from collections.abc import Callable, Sequence
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


#: Told ``(done, total)`` as participants are planned; for progress bars.
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class Enrolled:
    """What an enrolment from a file did: how many enrolled, how many skipped
    because they were already enrolled exactly so."""

    enrolled: int
    skipped: int


def enroll_file(
    ctx: Context, path: str, skip_existing: bool = False, progress: Progress | None = None
) -> Enrolled:
    """Enrol every participant of a CSV file, all or nothing.

    With ``skip_existing``, a row identical to a participant already enrolled
    (same protocol, arm, site, day 1 and weight) is skipped; a row that
    differs from one is still refused.
    """
    return _enroll(ctx, read_csv(path), path, skip_existing, progress)


def enroll_many(ctx: Context, enrolments: Sequence[Enrolment], source: str | None = None) -> int:
    """Enrol many participants in one transaction; return how many."""
    return _enroll(ctx, enrolments, source, False, None).enrolled


def _enroll(
    ctx: Context,
    enrolments: Sequence[Enrolment],
    source: str | None,
    skip_existing: bool,
    progress: Progress | None,
) -> Enrolled:
    with ctx.db.write() as session, session.begin():
        checked, new = _check_all(ctx, session, enrolments, source, skip_existing)
        if new:
            _insert(ctx, session, new, checked, progress)
    return Enrolled(len(new), len(enrolments) - len(new))


def _check_all(
    ctx: Context,
    session: Session,
    enrolments: Sequence[Enrolment],
    source: str | None,
    skip_existing: bool,
) -> tuple[_Checked, list[Enrolment]]:
    """Every row checked; the rows to enrol (those not skipped)."""
    checked = _Checked({row.code: row for row in sites.all_sites(session)}, {})
    codes = [e.participant for e in enrolments]
    existing = participants.enrolled_as(session, codes) if skip_existing else {}
    taken = participants.ids_by_code(session, codes).keys()
    new = []
    for enrolment in enrolments:
        try:
            if enrolment.participant in taken:
                before = existing.get(enrolment.participant)
                if _same(before, enrolment):
                    continue
                raise _already_enrolled(enrolment, before)
            _check_one(ctx, session, enrolment, checked)
            new.append(enrolment)
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
    return checked, new


def _already_enrolled(enrolment: Enrolment, existing: tuple[Any, ...] | None) -> Conflict:
    """A participant code taken, with what differs when it is known."""
    text = f"participant {enrolment.participant!r} is already enrolled"
    if existing is not None:
        names = ("protocol", "arm", "site", "day 1", "weight")
        asked = (enrolment.protocol, enrolment.arm, enrolment.site, enrolment.day1)
        differ = [
            f"{name} {_text(was)}, not {_text(now)}"
            for name, was, now in zip(names, existing, (*asked, enrolment.weight_kg), strict=True)
            if was != now
        ]
        text += f" with {'; '.join(differ)}"
    return Conflict(text, field="participant", value=enrolment.participant)


def _text(value: Any) -> str:
    return "none" if value is None else f"{value:g} kg" if isinstance(value, float) else str(value)


def _same(existing: tuple[Any, ...] | None, enrolment: Enrolment) -> bool:
    """Whether a participant was enrolled exactly as ``enrolment`` asks."""
    wanted = (enrolment.protocol, enrolment.arm, enrolment.site, enrolment.day1)
    return existing is not None and existing == (*wanted, enrolment.weight_kg)


def _check_one(ctx: Context, session: Session, enrolment: Enrolment, checked: _Checked) -> None:
    check_participant_code(enrolment.participant)
    parse_weight(enrolment.weight_kg)
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
    ctx: Context,
    session: Session,
    enrolments: Sequence[Enrolment],
    checked: _Checked,
    progress: Progress | None = None,
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
    for done, enrolment in enumerate(enrolments, 1):
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
        if progress is not None and (done % 100 == 0 or done == len(enrolments)):
            progress(done, len(enrolments))
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

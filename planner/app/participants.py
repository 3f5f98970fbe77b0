"""Who is on study: one summary per participant, and a participant's schedule
with the state of their participation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Literal, get_args

from planner.app.context import Context
from planner.core.errors import InputError
from planner.core.visits import VisitRecord, visit_id
from planner.store.repository import participants

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

ParticipationStatus = Literal["on-study", "withdrawn", "died", "finished"]
PARTICIPATION_STATUSES: tuple[str, ...] = get_args(ParticipationStatus)


@dataclass(frozen=True, slots=True)
class ParticipantInfo:
    """A participant: where, on what, how far along.

    ``status`` is ``withdrawn`` or ``died`` once recorded (``status_date`` is
    then the day), else ``on-study`` while a visit is scheduled and
    ``finished`` when none is left.
    """

    participant: str
    site: str
    protocol: str
    protocol_version: int
    arm: str
    day1: date
    status: ParticipationStatus
    status_date: date | None
    next_visit: str | None
    next_target: date | None
    completed: int
    missed: int
    cancelled: int
    scheduled: int

    def to_json(self) -> dict[str, Any]:
        return {
            "participant": self.participant,
            "site": self.site,
            "protocol": self.protocol,
            "protocol_version": self.protocol_version,
            "arm": self.arm,
            "day1": self.day1.isoformat(),
            "status": self.status,
            "status_date": self.status_date.isoformat() if self.status_date else None,
            "next_visit": self.next_visit,
            "next_target": self.next_target.isoformat() if self.next_target else None,
            "completed": self.completed,
            "missed": self.missed,
            "cancelled": self.cancelled,
            "scheduled": self.scheduled,
        }


def participation_status(stored: str, scheduled: int) -> ParticipationStatus:
    """``withdrawn`` and ``died`` as recorded; else on study while visits are left."""
    if stored == "withdrawn":
        return "withdrawn"
    if stored == "died":
        return "died"
    return "on-study" if scheduled else "finished"


def _summaries(
    session: Session,
    *,
    site_id: int | None = None,
    version_ids: tuple[int, ...] | None = None,
    participant_id: int | None = None,
) -> list[ParticipantInfo]:
    narrow: dict[str, Any] = {
        "site_id": site_id,
        "version_ids": version_ids,
        "participant_id": participant_id,
    }
    upcoming = participants.next_visits(session, **narrow)
    found = []
    for row in participants.summaries(session, **narrow):
        event, occurrence, target = upcoming.get(row.id, (None, 0, None))
        found.append(
            ParticipantInfo(
                participant=row.code,
                site=row.site,
                protocol=row.protocol,
                protocol_version=row.version,
                arm=row.arm,
                day1=row.day1,
                status=participation_status(row.status, row.scheduled),
                status_date=row.ended_on if row.status in ("withdrawn", "died") else None,
                next_visit=visit_id(row.code, event, occurrence) if event else None,
                next_target=target,
                completed=row.completed,
                missed=row.missed,
                cancelled=row.cancelled,
                scheduled=row.scheduled,
            )
        )
    return found


def list_participants(
    ctx: Context, site: str | None, protocol: str | None, status: str | None
) -> list[ParticipantInfo]:
    """Every participant (at a site, on a protocol, in a status), by code."""
    if status is not None and status not in PARTICIPATION_STATUSES:
        raise InputError(
            f"unknown participation status {status!r} "
            f"(statuses: {', '.join(PARTICIPATION_STATUSES)})",
            field="status",
            value=status,
            choices=PARTICIPATION_STATUSES,
        )
    with ctx.db.read() as session:
        site_id = ctx.site_id(session, site) if site is not None else None
        versions = ctx.version_ids(session, protocol) if protocol is not None else None
        found = _summaries(session, site_id=site_id, version_ids=versions)
    return [p for p in found if status is None or p.status == status]


def one(ctx: Context, code: str) -> ParticipantInfo:
    """One participant's summary."""
    with ctx.db.read() as session:
        return _one(ctx, session, code)


def _one(ctx: Context, session: Session, code: str) -> ParticipantInfo:
    (found,) = _summaries(session, participant_id=ctx.participant(session, code).id)
    return found


def with_schedule(ctx: Context, code: str) -> tuple[ParticipantInfo, list[VisitRecord]]:
    """A participant's summary and every visit, read at the same moment."""
    with ctx.db.read() as session:
        info = _one(ctx, session, code)
        row = ctx.participant(session, code)
        return info, ctx.schedule(session, row.id)

"""Participants: enrolment rows and the state of their participation."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import case, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from planner.store.models import (
    AuditEntry,
    Participant,
    ProtocolVersion,
    Site,
    Visit,
    participants_table,
)
from planner.store.repository import inserts


class CodeTaken(Exception):
    """A participant code was enrolled by someone else meanwhile."""


def by_code(session: Session, code: str) -> Participant | None:
    return session.scalar(select(Participant).where(Participant.code == code))


def id_by_code(session: Session, code: str) -> int | None:
    return session.scalar(select(Participant.id).where(Participant.code == code))


def by_id(session: Session, participant_id: int) -> Participant:
    return session.get_one(Participant, participant_id)


def ids_by_code(session: Session, codes: Sequence[str]) -> dict[str, int]:
    """Row ids of the participants among ``codes`` that exist, 500 codes a query."""
    ids: dict[str, int] = {}
    for first in range(0, len(codes), 500):
        batch = codes[first : first + 500]
        rows = session.execute(
            select(Participant.code, Participant.id).where(Participant.code.in_(batch))
        )
        ids.update({code: pid for code, pid in rows})
    return ids


def codes_like(session: Session, codes: Sequence[str]) -> dict[str, str]:
    """Stored codes equal to one of ``codes`` but for letter case, by the
    lower-cased code (ASCII: codes are ASCII), 500 codes a query."""
    found: dict[str, str] = {}
    for first in range(0, len(codes), 500):
        lowered = sorted({code.lower() for code in codes[first : first + 500]})
        rows = session.scalars(
            select(Participant.code).where(func.lower(Participant.code).in_(lowered))
        )
        found.update({str(code).lower(): str(code) for code in rows})
    return found


#: The values of a new participant, in the order :func:`new_rows` takes them.
NEW_COLUMNS = (
    "code",
    "protocol_version_id",
    "arm",
    "site_id",
    "day1",
    "weight_kg",
    "status",
    "created_at",
)


def new_rows(session: Session) -> inserts.Rows:
    """Converts new participants (values in :data:`NEW_COLUMNS` order) for :func:`insert_rows`."""
    return inserts.Rows(session, participants_table, NEW_COLUMNS)


def insert_rows(session: Session, rows: inserts.Rows, values: Iterable[tuple[Any, ...]]) -> None:
    """Insert many converted participants at once; :class:`CodeTaken` on a race."""
    try:
        inserts.insert(session, rows, values)
    except IntegrityError:
        raise CodeTaken from None


def zone(session: Session, participant: Participant) -> str:
    """The time zone of a participant's site."""
    return session.scalar(select(Site.timezone).where(Site.id == participant.site_id)) or "UTC"


def end(session: Session, row: Participant, status: str, on: Any) -> None:
    """Mark a participation as ended (withdrawn or died) on a date."""
    row.status = status
    row.ended_on = on
    session.flush()


class Summary(NamedTuple):
    """A participant with their protocol, site and visit counts by status."""

    id: int
    code: str
    site: str
    protocol: str
    version: int
    arm: str
    day1: date
    status: str
    ended_on: date | None
    completed: int
    missed: int
    cancelled: int
    scheduled: int


def _count(status: str) -> Any:
    return func.count(case((Visit.status == status, 1)))


def summaries(
    session: Session,
    *,
    site_id: int | None = None,
    version_ids: Sequence[int] | None = None,
    participant_id: int | None = None,
) -> list[Summary]:
    """Participants (all, or those narrowed to), by code, with their visit counts."""
    query = (
        select(
            Participant.id,
            Participant.code,
            Site.code,
            ProtocolVersion.protocol_id,
            ProtocolVersion.version,
            Participant.arm,
            Participant.day1,
            Participant.status,
            Participant.ended_on,
            *(_count(status) for status in ("completed", "missed", "cancelled", "scheduled")),
        )
        .join(Site, Site.id == Participant.site_id)
        .join(ProtocolVersion, ProtocolVersion.id == Participant.protocol_version_id)
        .outerjoin(Visit, Visit.participant_id == Participant.id)
        .where(*_narrow(site_id, version_ids, participant_id))
        .group_by(Participant.id, Site.id, ProtocolVersion.id)
        .order_by(Participant.code)
    )
    return [Summary(*row) for row in session.execute(query)]


def _narrow(
    site_id: int | None, version_ids: Sequence[int] | None, participant_id: int | None
) -> list[Any]:
    found: list[Any] = []
    if site_id is not None:
        found.append(Participant.site_id == site_id)
    if version_ids is not None:
        found.append(Participant.protocol_version_id.in_(version_ids))
    if participant_id is not None:
        found.append(Participant.id == participant_id)
    return found


def next_visits(
    session: Session,
    *,
    site_id: int | None = None,
    version_ids: Sequence[int] | None = None,
    participant_id: int | None = None,
) -> dict[int, tuple[str, int, date]]:
    """Each participant's earliest scheduled visit: ``{id: (event, occurrence, target)}``."""
    rank = (
        func.row_number()
        .over(
            partition_by=Visit.participant_id,
            order_by=(Visit.target, func.coalesce(Visit.time, ""), Visit.event, Visit.occurrence),
        )
        .label("rank")
    )
    ranked = (
        select(Visit.participant_id, Visit.event, Visit.occurrence, Visit.target, rank)
        .join(Participant, Participant.id == Visit.participant_id)
        .where(Visit.status == "scheduled", *_narrow(site_id, version_ids, participant_id))
        .subquery()
    )
    first = ranked.c
    query = select(first.participant_id, first.event, first.occurrence, first.target)
    rows = session.execute(query.where(first.rank == 1))
    return {pid: (event, occurrence, target) for pid, event, occurrence, target in rows}


def enrolled_as(session: Session, codes: Sequence[str]) -> dict[str, tuple[Any, ...]]:
    """What each existing participant among ``codes`` was enrolled with:
    ``(protocol, arm, site, day1, weight_kg)``, 500 codes a query."""
    found: dict[str, tuple[Any, ...]] = {}
    for first in range(0, len(codes), 500):
        rows = session.execute(
            select(
                Participant.code,
                ProtocolVersion.protocol_id,
                Participant.arm,
                Site.code,
                Participant.day1,
                Participant.weight_kg,
            )
            .join(Site, Site.id == Participant.site_id)
            .join(ProtocolVersion, ProtocolVersion.id == Participant.protocol_version_id)
            .where(Participant.code.in_(codes[first : first + 500]))
        )
        found.update({code: tuple(rest) for code, *rest in rows})
    return found


def arms(session: Session, version_ids: Sequence[int] | None = None) -> set[str]:
    """The arms participants are on (of these protocol versions, when given)."""
    query = select(Participant.arm).distinct()
    if version_ids is not None:
        query = query.where(Participant.protocol_version_id.in_(version_ids))
    return {str(arm) for arm in session.scalars(query)}


#: A participant's own values, as :func:`own_values` gives them.
OWN = ("protocol", "version", "arm", "site", "day1", "weight_kg", "status", "ended_on")


def own_values(session: Session, codes: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The participants' own values (:data:`OWN`) by code, as their audit rows name them."""
    query = (
        select(
            Participant.code,
            ProtocolVersion.protocol_id,
            ProtocolVersion.version,
            Participant.arm,
            Site.code,
            Participant.day1,
            Participant.weight_kg,
            Participant.status,
            Participant.ended_on,
        )
        .join(ProtocolVersion, ProtocolVersion.id == Participant.protocol_version_id)
        .join(Site, Site.id == Participant.site_id)
        .where(Participant.code.in_(codes))
    )
    return {str(row[0]): dict(zip(OWN, row[1:], strict=True)) for row in session.execute(query)}


def first_unenrolled(session: Session) -> str | None:
    """The first participant (by code) stored with no enrolment audit row:
    added behind planner's back, who would then be in lists, calendars and
    exports though nobody enrolled them."""
    enrolled = exists().where(
        AuditEntry.participant == Participant.code, AuditEntry.action == "enroll"
    )
    return session.scalar(select(Participant.code).where(~enrolled).order_by(Participant.code))

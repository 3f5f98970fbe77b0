"""Participants: enrolment rows and the state of their participation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from planner.store.models import Participant, Site, participants_table


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


def insert_many(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert participants in one statement; :class:`CodeTaken` on a race."""
    try:
        session.connection().execute(insert(participants_table), rows)
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

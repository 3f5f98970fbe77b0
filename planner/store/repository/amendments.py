"""What protocol amendments read: versions and who is on them (the move is written
in bulk, :func:`planner.store.repository.bulk.move_participants`)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from planner.store.models import Participant, ProtocolVersion


def all_versions(session: Session) -> Sequence[ProtocolVersion]:
    """Every stored version of every protocol, by protocol id and version."""
    return session.scalars(
        select(ProtocolVersion).order_by(ProtocolVersion.protocol_id, ProtocolVersion.version)
    ).all()


def participant_counts(session: Session) -> dict[int, int]:
    """How many participants each version (by row id) has."""
    rows = session.execute(
        select(Participant.protocol_version_id, func.count()).group_by(
            Participant.protocol_version_id
        )
    )
    return {version_id: count for version_id, count in rows}


def on_versions(session: Session, version_ids: Sequence[int]) -> Sequence[Participant]:
    """The participants on any of these versions, by code."""
    return session.scalars(
        select(Participant)
        .where(Participant.protocol_version_id.in_(version_ids))
        .order_by(Participant.code)
    ).all()


def by_codes(session: Session, codes: Sequence[str]) -> dict[str, Participant]:
    """The participants among ``codes`` that exist, 500 codes a query."""
    found: dict[str, Participant] = {}
    for first in range(0, len(codes), 500):
        rows = session.scalars(
            select(Participant).where(Participant.code.in_(codes[first : first + 500]))
        )
        found.update({row.code: row for row in rows})
    return found

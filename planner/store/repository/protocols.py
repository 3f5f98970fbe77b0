"""Stored protocol versions: a version never changes once written."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from planner.store.models import ProtocolVersion


def latest_versions(session: Session) -> list[ProtocolVersion]:
    """The newest stored version of every protocol, by protocol id."""
    rows = session.scalars(
        select(ProtocolVersion).order_by(ProtocolVersion.protocol_id, ProtocolVersion.version)
    ).all()
    latest: dict[str, ProtocolVersion] = {}
    for row in rows:
        latest[row.protocol_id] = row
    return list(latest.values())


def versions(session: Session, protocol_id: str) -> list[ProtocolVersion]:
    """Every stored version of a protocol, oldest first."""
    return list(
        session.scalars(
            select(ProtocolVersion)
            .where(ProtocolVersion.protocol_id == protocol_id)
            .order_by(ProtocolVersion.version)
        )
    )


def latest_version(session: Session, protocol_id: str) -> ProtocolVersion | None:
    return session.scalars(
        select(ProtocolVersion)
        .where(ProtocolVersion.protocol_id == protocol_id)
        .order_by(ProtocolVersion.version.desc())
        .limit(1)
    ).first()


def stored_ids(session: Session) -> set[str]:
    return set(session.scalars(select(ProtocolVersion.protocol_id).distinct()))


def version_ids(session: Session, protocol_id: str) -> list[int]:
    """Row ids of every stored version of a protocol."""
    return list(
        session.scalars(
            select(ProtocolVersion.id).where(ProtocolVersion.protocol_id == protocol_id)
        )
    )


def by_fingerprint(session: Session, protocol_id: str, mark: str) -> ProtocolVersion | None:
    return session.scalars(
        select(ProtocolVersion).where(
            ProtocolVersion.protocol_id == protocol_id, ProtocolVersion.fingerprint == mark
        )
    ).first()


def add_version(
    session: Session,
    protocol_id: str,
    mark: str,
    title: str,
    source: tuple[str, str],
    now: datetime,
) -> ProtocolVersion:
    """Store the next version of a protocol: ``source`` is its text and its
    facts (:func:`planner.core.facts.facts_json`)."""
    latest = latest_version(session, protocol_id)
    row = ProtocolVersion(
        protocol_id=protocol_id,
        version=(latest.version + 1) if latest else 1,
        fingerprint=mark,
        title=title,
        source=source[0],
        facts=source[1],
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def stored_facts(session: Session) -> list[tuple[str, int, str, str, str]]:
    """Protocol id, version, source, stored facts and title of every stored version."""
    query = select(
        ProtocolVersion.protocol_id,
        ProtocolVersion.version,
        ProtocolVersion.source,
        ProtocolVersion.facts,
        ProtocolVersion.title,
    ).order_by(ProtocolVersion.protocol_id, ProtocolVersion.version)
    return [(row[0], row[1], row[2], row[3], row[4]) for row in session.execute(query)]


def stored_at(session: Session) -> list[tuple[str, int, datetime]]:
    """Protocol id, version and when it was stored, of every stored version."""
    query = select(
        ProtocolVersion.protocol_id, ProtocolVersion.version, ProtocolVersion.created_at
    ).order_by(ProtocolVersion.id)
    return [(row[0], row[1], row[2]) for row in session.execute(query)]

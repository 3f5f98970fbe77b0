"""Stored protocol versions: every one with its participants, one by number,
and two to compare (an amendment's before and after)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from planner.app.context import Context
from planner.core.bundled import BUNDLED_IDS, bundled
from planner.core.errors import NotFound
from planner.core.protocol import StudyProtocol
from planner.store.models import ProtocolVersion
from planner.store.repository import amendments, protocols

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """One stored version of a protocol, with how many participants are on it."""

    protocol: str
    version: int
    title: str
    created_at: datetime
    participants: int
    arms: tuple[str, ...]


def list_versions(ctx: Context) -> list[VersionInfo]:
    """Every stored version of every protocol, oldest first."""
    with ctx.db.read() as session:
        counts = amendments.participant_counts(session)
        return [
            VersionInfo(
                row.protocol_id,
                row.version,
                row.title,
                row.created_at,
                counts.get(row.id, 0),
                tuple(ctx.parse_version(row).arm_codes()),
            )
            for row in amendments.all_versions(session)
        ]


def version(ctx: Context, protocol_id: str, number: int | None) -> tuple[StudyProtocol, int]:
    """A stored version of a protocol (the latest when ``number`` is None); a
    bundled protocol not stored yet is its version 1."""
    with ctx.db.read() as session:
        unstored = not protocols.versions(session, protocol_id)
        if protocol_id in BUNDLED_IDS and number in (None, 1) and unstored:
            return bundled(protocol_id), 1
        row = find_version(ctx, session, protocol_id, number, "version")
        return ctx.parse_version(row), row.version


def versions_to_compare(
    ctx: Context, protocol_id: str, old: int | None, new: int | None
) -> tuple[StudyProtocol, int, StudyProtocol, int]:
    """Two versions of a protocol (by default the two latest): ``(old, n, new, m)``."""
    with ctx.db.read() as session:
        rows = protocols.versions(session, protocol_id)
        if not rows and protocol_id not in BUNDLED_IDS:
            raise ctx.unknown_protocol(session, protocol_id)
        if new is None:
            new = rows[-1].version if rows else 1
        if old is None:
            old = new - 1
        if old < 1:
            raise NotFound(
                f"protocol {protocol_id} has only one version: nothing to compare",
                field="start",
                value=protocol_id,
            )
        before = find_version(ctx, session, protocol_id, old, "start")
        after = find_version(ctx, session, protocol_id, new, "to")
        return ctx.parse_version(before), before.version, ctx.parse_version(after), after.version


def find_version(
    ctx: Context, session: Session, protocol_id: str, number: int | None, field: str
) -> ProtocolVersion:
    rows = protocols.versions(session, protocol_id)
    if not rows and protocol_id not in BUNDLED_IDS:
        raise ctx.unknown_protocol(session, protocol_id)
    if number is None and rows:
        return rows[-1]
    for row in rows:
        if row.version == number:
            return row
    known = [str(row.version) for row in rows]
    stored = f"versions: {', '.join(known)}" if known else "no version stored yet"
    raise NotFound(
        f"protocol {protocol_id} has no version {number} ({stored})",
        field=field,
        value=number,
        choices=known,
    )

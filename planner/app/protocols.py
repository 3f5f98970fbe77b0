"""Protocols usable for enrolment, bundled or added, stored as versions."""

from __future__ import annotations

from planner.app.context import Context
from planner.app.results import ProtocolInfo
from planner.core.bundled import BUNDLED_IDS, bundled
from planner.core.chain import source_digest
from planner.core.protocol import StudyProtocol, parse, read_text
from planner.store.repository import protocols


def list_protocols(ctx: Context) -> list[ProtocolInfo]:
    """Bundled and added protocols (latest stored version of each)."""
    with ctx.db.read() as session:
        stored = {row.protocol_id: row for row in protocols.latest_versions(session)}
    infos = []
    for pid in sorted(set(BUNDLED_IDS) | set(stored)):
        row = stored.get(pid)
        protocol = ctx.parse_version(row) if row else bundled(pid)
        infos.append(
            ProtocolInfo(
                id=pid,
                version=row.version if row else None,
                title=protocol.title,
                arms=tuple(protocol.arm_codes()),
                bundled=pid in BUNDLED_IDS,
            )
        )
    return infos


def current(ctx: Context, protocol_id: str) -> StudyProtocol:
    """The current version of a protocol, stored or bundled."""
    with ctx.db.read() as session:
        row = protocols.latest_version(session, protocol_id)
        if row is None and protocol_id not in BUNDLED_IDS:
            raise ctx.unknown_protocol(session, protocol_id)
    return ctx.parse_version(row) if row is not None else bundled(protocol_id)


def add(ctx: Context, path: str) -> tuple[StudyProtocol, int, bool]:
    """Store a protocol file: ``(protocol, version, added)``.

    An unchanged file is a no-op; a changed one becomes a new version.
    """
    source = read_text(path)
    protocol = parse(source, path)
    with ctx.db.write() as session, session.begin():
        row, added = ctx.store_protocol(session, protocol, source)
        if added:
            after = {
                "protocol": protocol.id,
                "version": row.version,
                "source_sha256": source_digest(row.source),  # what audit verify compares
            }
            ctx.audit(session, "protocol-add", after=after)
        return protocol, row.version, added

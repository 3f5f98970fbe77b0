"""Bundled and added protocols, stored as versions."""

from __future__ import annotations

from planner.app.base import (
    ProtocolInfo,
    Service,
    latest_version,
    latest_versions,
)
from planner.core.bundled import BUNDLED_IDS
from planner.core.errors import NotFound
from planner.core.protocol import StudyProtocol, load


class ProtocolsPart(Service):
    """Protocols usable for enrolment, bundled or added, by version."""

    def protocols(self) -> list[ProtocolInfo]:
        """Bundled and added protocols (latest stored version of each)."""
        with self._read() as session:
            stored = {row.protocol_id: row for row in latest_versions(session)}
        infos = []
        for pid in sorted(set(BUNDLED_IDS) | set(stored)):
            row = stored.get(pid)
            protocol = self._parse_version(row) if row else self.bundled(pid)
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

    def protocol(self, protocol_id: str) -> StudyProtocol:
        """The current version of a protocol, stored or bundled."""
        with self._read() as session:
            row = latest_version(session, protocol_id)
        if row is not None:
            return self._parse_version(row)
        if protocol_id in BUNDLED_IDS:
            return self.bundled(protocol_id)
        raise NotFound(f"unknown protocol {protocol_id!r} ({self._protocol_choices()})")

    def add_protocol(self, path: str) -> tuple[StudyProtocol, int, bool]:
        """Store a protocol file: ``(protocol, version, added)``.

        An unchanged file is a no-op; a changed one becomes a new version.
        """
        protocol = load(path)
        with open(path, encoding="utf-8-sig") as handle:
            source = handle.read()
        with self._write() as session, session.begin():
            row, added = self._store_protocol(session, protocol, source)
            if added:
                self._audit(
                    session,
                    "protocol-add",
                    after={"protocol": protocol.id, "version": row.version},
                )
            return protocol, row.version, added

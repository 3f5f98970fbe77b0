"""Protocol versions and amendments, reached as ``planner.amendments``: every
stored version, what changed between two, and moving participants to one.
"""

from __future__ import annotations

from collections.abc import Sequence

from planner.app import amendments, versions
from planner.app.amendments import Rebaselined
from planner.app.context import Context
from planner.app.versions import VersionInfo
from planner.core.protocol import StudyProtocol
from planner.core.protocol.diff import ProtocolDiff, diff


class Amendments:
    """Stored protocol versions and the moves between them."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def versions(self) -> list[VersionInfo]:
        """Every stored version of every protocol, with its participants."""
        return versions.list_versions(self._ctx)

    def version(self, protocol_id: str, number: int | None = None) -> tuple[StudyProtocol, int]:
        """A version of a protocol (the latest by default): ``(protocol, number)``."""
        return versions.version(self._ctx, protocol_id, number)

    def diff(
        self, protocol_id: str, old: int | None = None, new: int | None = None
    ) -> ProtocolDiff:
        """What changed between two versions (by default the two latest)."""
        before, n, after, m = versions.versions_to_compare(self._ctx, protocol_id, old, new)
        return diff(before, after, n, m)

    def rebaseline(
        self,
        participants: Sequence[str],
        protocol: str,
        to_version: int,
        *,
        everyone: bool = False,
        arm: str | None = None,
        preview: bool = False,
        reason: str | None = None,
    ) -> list[Rebaselined]:
        """Move participants (or ``everyone`` on another version) to a version of
        their protocol, in one transaction; ``preview`` reports and writes nothing.
        ``arm`` is the arm for participants whose arm the version does not have."""
        return amendments.rebaseline(
            self._ctx, participants, everyone, protocol, to_version, arm, preview, reason
        )

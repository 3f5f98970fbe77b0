"""The export use cases of a :class:`~planner.app.Planner`, reached as
``planner.exports``: calendars, every visit as a file, CDISC SDTM datasets,
and the atomic write that puts any of them on disk.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import TYPE_CHECKING

from planner.app import exports, queries
from planner.app.context import Context
from planner.app.results import ExportScope

if TYPE_CHECKING:
    from planner.app import sdtm


class Exports:
    """What leaves planner as a file; every stream is checked before its first byte."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def ics(
        self, scope: ExportScope | None = None, *, alarm: timedelta | None = None
    ) -> Iterator[bytes]:
        """A scope's visits as an iCalendar stream."""
        return exports.ics(self._ctx, scope or ExportScope(), alarm)

    def visits(self, scope: ExportScope | None = None, fmt: str = "json") -> Iterator[bytes]:
        """Every field of a scope's visits as ``json``, ``ndjson`` or ``csv``, streamed."""
        return exports.visits_file(self._ctx, scope or ExportScope(), fmt)

    def zones(self, scope: ExportScope | None = None) -> dict[str, tuple[date, date]]:
        """The time zones of a scope's timed visits, each with its date range."""
        return queries.zones(self._ctx, scope or ExportScope())

    def sdtm(self, request: sdtm.SdtmRequest) -> list[sdtm.SdtmFile]:
        """Write a protocol's SDTM domains into a folder, one file each: all or none."""
        from planner.app.sdtm import export  # the SDTM packages: only for this export

        return export(self._ctx, request)

    def write(self, path: str, chunks: Iterator[bytes], *, force: bool = False) -> int:
        """Write an export whole or not at all, never over the database, nor over
        another SQLite database unless ``force``; its size."""
        return exports.write(self._ctx, path, chunks, force=force)

"""Exports: what a scope holds, rendered, streamed or written whole."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from planner.app import queries
from planner.app.context import Context
from planner.app.results import ExportScope
from planner.core.errors import InputError
from planner.core.ics import render
from planner.store.engine import sqlite_path
from planner.store.files import protected_paths, write_atomically


def check_scope(scope: ExportScope) -> None:
    if scope.start and scope.end and scope.end < scope.start:
        raise InputError(
            f"the last day {scope.end} is before the first, {scope.start}",
            field="end",
            value=scope.end,
        )


def calendar_name(scope: ExportScope) -> str:
    """What a calendar application shows as the calendar's name."""
    if scope.participant:
        return f"planner: {scope.participant}"
    if scope.site:
        return f"planner: site {scope.site}"
    return f"planner: {scope.protocol or 'all visits'}"


def ics(ctx: Context, scope: ExportScope, alarm: timedelta | None = None) -> Iterator[bytes]:
    """A scope's visits as iCalendar, streamed; errors come before the first byte."""
    check_scope(scope)
    zones = queries.zones(ctx, scope)
    return render(queries.visits(ctx, scope), name=calendar_name(scope), zones=zones, alarm=alarm)


def write(ctx: Context, path: str, chunks: Iterator[bytes]) -> int:
    """Write an export whole or not at all, never over the database; return its size."""
    return write_atomically(path, chunks, protect=protected_paths(sqlite_path(ctx.db.url)))

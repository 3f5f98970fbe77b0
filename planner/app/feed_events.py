"""A feed's calendar made again after a change, rendering only what changed.

A site's feed holds thousands of visits and a change touches a few of them,
yet the calendar must be made again in full (its bytes and ETag change).
Reading every visit's row, making its record and rendering its ``VEVENT``
block are most of that work. Records are kept by visit key (row id,
revision, last change, and its participant's columns; equal keys make equal
records: :mod:`planner.store.repository.keyed`), and so are the blocks of
the last rendering, in an :data:`Events` map: the next rendering reads the
keys (one narrow query, in calendar order), reads and renders only the
visits whose key it has not seen (a changed visit has a new revision), and
reuses the rest. The bytes are those :func:`planner.core.ics.render_bytes`
gives for the same visits; a test compares them after every kind of change.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from planner.core.visits import VisitRecord
from planner.store.repository import records

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from planner.store.records import ProtocolCache

#: Each visit's key, with its record and ``VEVENT`` block, in calendar order.
Events = dict[tuple[Any, ...], tuple[VisitRecord, bytes]]

#: Visits kept over every feed a server holds (about 1.2 KB each): beyond it
#: the oldest feeds' events are let go and made again at their next change.
KEPT_ROWS = 200_000


def scope_events(
    session: Session, cache: ProtocolCache, where: records.Filter, kept: Events
) -> Events:
    """Every visit ``where`` holds, with its record and block; only visits
    whose key is missing from ``kept`` (the last rendering's) are read."""
    from planner.core.ics import render_event  # icalendar: only when rendering

    events: Events = {}
    for key, record in records.keyed(session, cache, where):
        known = kept.get(key)
        events[key] = known if known is not None else (record, render_event(record))
    return events

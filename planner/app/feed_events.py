"""A feed's calendar made again after a change, rendering only what changed.

A site's feed holds thousands of visits and a change touches a few of them,
yet the calendar must be made again in full (its bytes and ETag change).
Reading every visit's row, making its record and rendering its ``VEVENT``
block are most of that work. So the records and blocks of the last rendering
are kept in an :data:`Events` map, by each visit's key
(:func:`~planner.store.repository.records.keys`: row id, revision, last
change, and its participant's columns; equal keys make equal records): the
next rendering reads the keys (one narrow query, in calendar order), reads
and renders only the visits whose key it has not seen (a changed visit has a
new revision), and reuses the rest. The bytes are those
:func:`planner.core.ics.render_bytes` gives for the same visits; a test
compares them after every kind of change.
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

    found = records.keys(session, where)
    missing = [key[0] for key in found if key not in kept]
    if len(missing) * 4 < len(found):
        made = records.by_ids(session, cache, missing)
    else:  # most of them (the first rendering): in one query
        made = records.with_ids(session, cache, where)
    events: Events = {}
    for key in found:
        known = kept.get(key)
        if known is None:
            record = made[key[0]]
            known = (record, render_event(record))
        events[key] = known
    return events

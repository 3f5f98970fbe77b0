"""Render visits as an iCalendar feed (RFC 5545, SPEC §7): pure and streaming.

Nothing here reads the clock, the disk or a random source: the same visits
give the same bytes, so exports can be compared byte for byte and a calendar
client only sees a change when a visit changed. :func:`render` streams a whole
``VCALENDAR`` (:mod:`~planner.core.ics.render`), :func:`render_event` renders
one ``VEVENT`` (:mod:`~planner.core.ics.events`, with its wording in
:mod:`~planner.core.ics.facts`), :func:`zone_ranges` computes the ``zones``
argument of :func:`render` (:mod:`~planner.core.ics.zones`, which also writes
the ``VTIMEZONE`` blocks and resolves daylight-saving edge cases), and
:func:`fold` folds content lines exactly as icalendar does
(:mod:`~planner.core.ics.text`, with the escaping and value formatting). Each
module's docstring states the choices SPEC §7 leaves open; building an
icalendar ``Calendar`` tree and serialising it instead would be many times
slower, too slow for large feeds.
"""

from __future__ import annotations

from planner.core.ics.events import DEFAULT_DURATION_MINUTES, render_event
from planner.core.ics.facts import description, event_date, summary
from planner.core.ics.render import PRODID, render, render_blocks, render_bytes
from planner.core.ics.text import fold
from planner.core.ics.zones import ZONE_PAD_AFTER, ZONE_PAD_BEFORE, zone_ranges

__all__ = [
    "DEFAULT_DURATION_MINUTES",
    "PRODID",
    "ZONE_PAD_AFTER",
    "ZONE_PAD_BEFORE",
    "description",
    "event_date",
    "fold",
    "render",
    "render_blocks",
    "render_bytes",
    "render_event",
    "summary",
    "zone_ranges",
]

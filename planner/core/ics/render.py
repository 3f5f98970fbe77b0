"""A whole ``VCALENDAR``, streamed: header, time zones, events, footer.

:func:`render` checks its arguments at once and returns an iterator of byte
chunks that consumes the visits one at a time, so memory stays flat however
many visits stream through; :func:`render_bytes` joins the chunks. Each zone
of the timed visits gets its ``VTIMEZONE`` (in zone-name order) for the range
the caller gives, which :func:`~planner.core.ics.zones.zone_ranges` computes
on a first pass (or the caller computes the same thing in SQL).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import date, timedelta

from planner.core.ics.events import check_alarm, event
from planner.core.ics.facts import event_date
from planner.core.ics.text import CRLF, content_lines, duration, text
from planner.core.ics.zones import vtimezone
from planner.core.visits import VisitRecord

#: The fixed product identifier of every calendar we write.
PRODID = "-//planner//planner 1//EN"
_DURATION_1H = duration(timedelta(hours=1))

#: One line each, in this order.
_CALENDAR_HEAD = (
    b"BEGIN:VCALENDAR",
    b"VERSION:2.0",
    b"PRODID:" + text(PRODID),
    b"CALSCALE:GREGORIAN",
    b"METHOD:PUBLISH",
)
_CALENDAR_TAIL = (
    b"X-PUBLISHED-TTL:" + _DURATION_1H,
    b"REFRESH-INTERVAL;VALUE=DURATION:" + _DURATION_1H,
)

Zones = Mapping[str, tuple[date, date]]

#: RFC 5545 wants at least one component in a calendar; one with no visits yet
#: (a new site's feed) holds this zone, which no event uses (strict parsers,
#: ical4j's for one, refuse an empty calendar).
EMPTY_CALENDAR_ZONE = content_lines((
    b"BEGIN:VTIMEZONE", b"TZID:UTC", b"BEGIN:STANDARD", b"DTSTART:19700101T000000",
    b"TZNAME:UTC", b"TZOFFSETFROM:+0000", b"TZOFFSETTO:+0000", b"END:STANDARD",
    b"END:VTIMEZONE",
))  # fmt: skip


def render(
    visits: Iterable[VisitRecord],
    *,
    name: str,
    zones: Zones,
    alarm: timedelta | None = None,
) -> Iterator[bytes]:
    """Stream a ``VCALENDAR`` of ``visits`` (in the given order) as chunks of bytes.

    ``zones`` maps every time zone of the timed visits to the first and last
    date of those visits in it (see :func:`zone_ranges`); each gets a
    ``VTIMEZONE`` for that range, in zone-name order. The arguments are
    checked at once; a timed visit whose zone is missing from ``zones``, or
    whose date lies outside its range, raises :class:`ValueError` when the
    iteration reaches it. Visits are consumed one at a time: memory does not
    grow with their number.
    """
    check_alarm(alarm)
    timezones, checked = _timezones(zones)
    blocks = ((visit, event(visit, alarm)) for visit in visits)
    return _stream(blocks, _header(name), timezones, checked)


def _timezones(zones: Zones) -> tuple[list[bytes], dict[str, tuple[date, date]]]:
    """The ``VTIMEZONE`` blocks of ``zones`` (in zone-name order), and the ranges checked."""
    checked: dict[str, tuple[date, date]] = {}
    timezones: list[bytes] = []
    for zone in sorted(zones):
        first, last = zones[zone]
        if first > last:
            raise ValueError(f"time zone {zone}: first date {first} is after last date {last}")
        checked[zone] = (first, last)
        timezones.append(vtimezone(zone, first, last))
    return timezones, checked


def render_bytes(
    visits: Iterable[VisitRecord],
    *,
    name: str,
    zones: Zones,
    alarm: timedelta | None = None,
) -> bytes:
    """The whole calendar of :func:`render` as one bytes object."""
    return b"".join(render(visits, name=name, zones=zones, alarm=alarm))


def render_blocks(events: Iterable[tuple[VisitRecord, bytes]], *, name: str, zones: Zones) -> bytes:
    """The calendar of :func:`render_bytes` (no alarm) from visits whose
    ``VEVENT`` blocks were rendered already, each by ``render_event(visit)``:
    the same bytes, for a caller that keeps blocks of unchanged visits."""
    return b"".join(_stream(events, _header(name), *_timezones(zones)))


def _header(name: str) -> bytes:
    escaped = text(name)
    return content_lines(
        (*_CALENDAR_HEAD, b"NAME:" + escaped, b"X-WR-CALNAME:" + escaped, *_CALENDAR_TAIL)
    )


def _stream(
    events: Iterable[tuple[VisitRecord, bytes]],
    header: bytes,
    timezones: list[bytes],
    zones: dict[str, tuple[date, date]],
) -> Iterator[bytes]:
    yield header
    yield from timezones
    empty = not timezones
    for visit, block in events:
        if visit.time is not None:
            _check_zone(visit, zones)
        empty = False
        yield block
    if empty:
        yield EMPTY_CALENDAR_ZONE
    yield b"END:VCALENDAR" + CRLF


def _check_zone(visit: VisitRecord, zones: dict[str, tuple[date, date]]) -> None:
    """ValueError unless a timed visit's zone and date are in ``zones``."""
    span = zones.get(visit.timezone)
    if span is None:
        raise ValueError(
            f"visit {visit.visit_id}: time zone {visit.timezone} is missing from zones"
        )
    day = event_date(visit)
    if not span[0] <= day <= span[1]:
        raise ValueError(
            f"visit {visit.visit_id} on {day} is outside the range "
            f"{span[0]} to {span[1]} given for time zone {visit.timezone}"
        )

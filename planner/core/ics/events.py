"""One visit as one ``VEVENT`` block, assembled from pre-formatted values.

UID is ``visit.uid`` and SEQUENCE ``visit.revision``; DTSTAMP and
LAST-MODIFIED are ``visit.updated`` in UTC (naive means UTC), to the second.
A date-only visit has ``DTSTART;VALUE=DATE`` and the exclusive ``DTEND`` of
the next day and is ``TRANSP:TRANSPARENT`` (it does not block the nurse's
day); a timed visit is ``TRANSP:OPAQUE`` and written in its zone
(:func:`planner.core.ics.zones.timed`). STATUS is ``CANCELLED`` for a cancelled
visit and ``CONFIRMED`` otherwise; CATEGORIES is the visit kind. A VALARM
(display) is added only when ``alarm`` is given, and only to scheduled
visits: ``alarm`` before the start of a timed visit; for a date-only visit,
at 09:00 on the day before (``alarm`` rounded up to whole days, at least
one: ``1h`` and ``1d`` both fire at 09:00 the day before, ``2d`` at 09:00
two days before), when a nurse can still act; counting back from midnight
would fire at 23:00. Only the lines that can be long go through
:func:`~planner.core.ics.text.fold`.
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache

from planner.core.ics.facts import description, event_date, summary
from planner.core.ics.text import (
    CRLF,
    FOLD_OCTETS,
    duration,
    fold,
    ical_date,
    integer,
    texts,
    utc,
)
from planner.core.ics.zones import timed
from planner.core.visits import VisitRecord

#: Length of a timed visit that has no ``duration_minutes``.
DEFAULT_DURATION_MINUTES = 60
_ONE_DAY = timedelta(days=1)

#: STATUS and TRANSP lines by (cancelled, timed).
_STATUS_TRANSP = {
    (cancelled, is_timed): (b"STATUS:CANCELLED" if cancelled else b"STATUS:CONFIRMED")
    + CRLF
    + (b"TRANSP:OPAQUE" if is_timed else b"TRANSP:TRANSPARENT")
    + CRLF
    for cancelled in (False, True)
    for is_timed in (False, True)
}


def render_event(visit: VisitRecord, *, alarm: timedelta | None = None) -> bytes:
    """One ``VEVENT`` block: CRLF line ends, folded at 75 octets.

    ``alarm`` adds a display reminder that long before the start (scheduled
    visits only). A timed visit uses ``TZID=visit.timezone``; the caller must
    put the matching ``VTIMEZONE`` in the calendar (:func:`render` does).
    """
    check_alarm(alarm)
    return event(visit, alarm)


def check_alarm(alarm: timedelta | None) -> None:
    """ValueError unless ``alarm`` is None or a time before the visit."""
    if alarm is not None and alarm < timedelta(0):
        raise ValueError(f"alarm must be a time before the visit, not {alarm}")


def event(visit: VisitRecord, alarm: timedelta | None) -> bytes:
    """The VEVENT block of a visit; ``alarm`` is checked already."""
    if visit.revision < 0:
        raise ValueError(f"visit {visit.visit_id}: revision {visit.revision} is negative")
    start, end = _start_end(visit)
    stamp = utc(visit.updated)  # 16 octets: these lines need no folding
    uid, title, text, kind = texts(visit.uid, summary(visit), description(visit), visit.kind)
    uid_line, *rest = [
        line if len(line) <= FOLD_OCTETS else fold(line)  # most lines are short
        for line in (
            b"UID:" + uid,
            b"SEQUENCE:" + integer(visit.revision),
            b"DTSTART" + start,
            b"DTEND" + end,
            b"SUMMARY:" + title,
            b"DESCRIPTION:" + text,
            b"CATEGORIES:" + kind,
        )
    ]
    parts = [
        b"BEGIN:VEVENT\r\n",
        uid_line,
        b"\r\nDTSTAMP:",
        stamp,
        b"\r\nLAST-MODIFIED:",
        stamp,
        b"\r\n",
        b"\r\n".join(rest),
        b"\r\n",
        _STATUS_TRANSP[visit.status == "cancelled", visit.time is not None],
    ]
    if alarm is not None and visit.status == "scheduled":
        parts += [
            b"BEGIN:VALARM\r\nACTION:DISPLAY\r\n",
            _trigger(alarm, visit.time is None),
            b"\r\n",
            fold(b"DESCRIPTION:" + title),
            b"\r\nEND:VALARM\r\n",
        ]
    parts.append(b"END:VEVENT\r\n")
    return b"".join(parts)


def _start_end(visit: VisitRecord) -> tuple[bytes, bytes]:
    """The DTSTART and DTEND values, with their parameters."""
    day = event_date(visit)
    if visit.time is None:
        return b";VALUE=DATE:" + ical_date(day), b";VALUE=DATE:" + ical_date(day + _ONE_DAY)
    minutes = visit.duration_minutes
    try:
        return timed(
            visit.timezone,
            day,
            visit.time,
            DEFAULT_DURATION_MINUTES if minutes is None else minutes,
        )
    except ValueError as error:
        raise ValueError(f"visit {visit.visit_id}: {error}") from None


#: When a date-only visit's reminder fires, on the day it falls on (local time).
DATE_ONLY_ALARM_AT = timedelta(hours=9)


@lru_cache(maxsize=64)
def _trigger(alarm: timedelta, date_only: bool) -> bytes:
    if not date_only:
        return b"TRIGGER:" + duration(-alarm)
    days = max(1, -(-alarm // _ONE_DAY))  # rounded up
    return b"TRIGGER:" + duration(DATE_ONLY_ALARM_AT - days * _ONE_DAY)

"""Render visits as an iCalendar feed (RFC 5545, SPEC §7): pure and streaming.

Nothing here reads the clock, the disk or a random source: the same visits
give the same bytes, so exports can be compared byte for byte and a calendar
client only sees a change when a visit changed.

* :func:`render` streams a whole ``VCALENDAR`` (header, one ``VTIMEZONE`` per
  zone, one ``VEVENT`` per visit, footer) as chunks of bytes, consuming the
  visits one at a time; :func:`render_bytes` joins them.
* :func:`render_event` renders one ``VEVENT``.
* :func:`zone_ranges` computes the ``zones`` argument of :func:`render` from
  the visits (call it on a first pass, or compute the same thing in SQL).

Every value goes through icalendar's value types (``vText``, ``vDDDTypes``,
``vInt``, ``param_value``) for escaping and formatting, with small bounded
caches for values that repeat (dates, times of day, time stamps, revisions);
content lines are then assembled here and folded by :func:`fold`, which
produces exactly the bytes of icalendar's ``Contentline.to_ical()`` (a
property test checks this) at a fraction of the cost. Building an icalendar
``Calendar`` tree and serialising it is many times slower, too slow for large
feeds. Memory stays flat however many visits stream through.

Choices (SPEC §7 leaves them open):

* UID is ``visit.uid``, SEQUENCE is ``visit.revision``; DTSTAMP and
  LAST-MODIFIED are ``visit.updated`` in UTC (naive means UTC), to the second.
* A completed visit is placed on its actual date (at the planned time if
  timed); every other visit on its target date. A completed visit without an
  actual date falls back to its target date.
* Date-only visits: ``DTSTART;VALUE=DATE`` and the exclusive ``DTEND`` of the
  next day, ``TRANSP:TRANSPARENT`` (they do not block the nurse's day).
* Timed visits: ``DTSTART;TZID=<zone>`` and ``DTEND`` in the same TZID,
  ``duration_minutes`` later (default :data:`DEFAULT_DURATION_MINUTES`) in
  elapsed time; ``TRANSP:OPAQUE``.
* Daylight-saving edge cases, resolved the way RFC 5545 §3.3.5 reads a
  TZID time, but written so that no client has to apply that rule:

  - a local time that does not exist (the spring-forward gap, e.g. 02:30 on
    2026-03-08 in New York) is taken with the offset in force before the gap
    and written as the wall-clock time it really is (03:30 EDT);
  - a local time that occurs twice (the fall-back hour, e.g. 01:30 on
    2026-11-01 in New York) means its first occurrence. TZID form cannot say
    which occurrence is meant (a reader has to know the RFC's first-occurrence
    rule) and cannot express the second one at all, so a DTSTART or DTEND in
    the repeated hour, in either occurrence, is written in UTC (``...Z``):
    exact for every reader. All other times keep the TZID form.

* SUMMARY is ``"WUH-001 · Infusion 2/3 · LOW"`` (participant · label
  occurrence/count · arm), followed by ``" (done)"``, ``" (missed)"`` or
  ``" (cancelled)"`` for those statuses. STATUS is ``CANCELLED`` for a
  cancelled visit and ``CONFIRMED`` otherwise.
* DESCRIPTION holds only structured lines: window, study day (of the target
  date), dose (when there is one), contact mode, status (with the actual date
  of a completed visit, and "protocol deviation" when flagged), protocol and
  arm, visit id. No notes, no names, no LOCATION.
* CATEGORIES is the visit kind.
* A VALARM (display, ``alarm`` before the start; for a date-only visit the
  start is midnight) is added only when ``alarm`` is given, and only to
  scheduled visits: never to cancelled ones, and not to visits that are
  already completed or missed.
* Each VTIMEZONE is built by icalendar's ``Timezone.from_tzid`` for the dates
  the caller gives, padded by :data:`ZONE_PAD_BEFORE` before (its first
  observance starts at midnight of that day) and :data:`ZONE_PAD_AFTER` after
  (icalendar's range ends at midnight *starting* the last day, and a visit
  may end the next day: a duration is at most 24 h, longer is an error), then
  widened to whole calendar years, so that a client which caches the first
  VTIMEZONE it sees for a TZID still reads later exports right.
  Each offset change is written as an observance of its own (icalendar
  groups them with RDATE, which ical.js misreads).
* Control characters other than tab and line breaks cannot appear in a TEXT
  value; they are replaced by U+FFFD. As with icalendar's ``vText``, a
  literal backslash-N (``\\N``) in a text is taken for a line break.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard, vDDDTypes, vInt, vText
from icalendar.parser import param_value

from planner.core.visits import VisitRecord

__all__ = [
    "DEFAULT_DURATION_MINUTES",
    "PRODID",
    "ZONE_PAD_AFTER",
    "ZONE_PAD_BEFORE",
    "description",
    "event_date",
    "fold",
    "render",
    "render_bytes",
    "render_event",
    "summary",
    "zone_ranges",
]

#: The fixed product identifier of every calendar we write.
PRODID = "-//planner//planner 1//EN"
#: Length of a timed visit that has no ``duration_minutes``.
DEFAULT_DURATION_MINUTES = 60
#: VTIMEZONE history starts this long before the first timed visit of a zone.
ZONE_PAD_BEFORE = timedelta(days=1)
#: VTIMEZONE history ends this long after the last timed visit of a zone.
ZONE_PAD_AFTER = timedelta(days=2)

_CRLF = b"\r\n"
#: icalendar folds a content line once it reaches 75 octets (RFC 5545 §3.1).
_FOLD_OCTETS = 74
_FOLD_SEP = b"\r\n "
_ESCAPE_BYTES = (0x5C, 0x5E)  # "\" and "^": never left at the end of a fold
_TIME = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_BUT_NUL = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ONE_DAY = timedelta(days=1)
_MAX_MINUTES = 24 * 60  # as in protocols; ZONE_PAD_AFTER relies on it
_CONTACT = {"in-person": "in person", "phone": "by phone"}
_SUFFIX = {"completed": " (done)", "missed": " (missed)", "cancelled": " (cancelled)"}
_DURATION_1H = vDDDTypes(timedelta(hours=1)).to_ical()

#: One line each, in this order.
_CALENDAR_HEAD = (
    b"BEGIN:VCALENDAR",
    b"VERSION:2.0",
    b"PRODID:" + vText(PRODID).to_ical(),
    b"CALSCALE:GREGORIAN",
    b"METHOD:PUBLISH",
)
_CALENDAR_TAIL = (
    b"X-PUBLISHED-TTL:" + _DURATION_1H,
    b"REFRESH-INTERVAL;VALUE=DURATION:" + _DURATION_1H,
)


# --------------------------------------------------------------------------- folding


def fold(line: bytes) -> bytes:
    """Fold one UTF-8 content line (without its CRLF) as icalendar does.

    Byte for byte what ``icalendar.parser.Contentline(text).to_ical()`` gives:
    segments of at most 74 octets (the continuation space makes 75), never cut
    inside a UTF-8 character, and never ending in ``\\`` or ``^`` so that an
    escape stays on one line.
    """
    end = len(line)
    if end <= _FOLD_OCTETS:
        return line
    parts: list[bytes] = []
    start = 0
    while end - start > _FOLD_OCTETS:
        cut = start + _FOLD_OCTETS
        while line[cut] & 0xC0 == 0x80:  # a continuation byte: back to the char start
            cut -= 1
        if line[cut - 1] in _ESCAPE_BYTES and cut - 1 > start:
            cut -= 1
        parts.append(line[start:cut])
        start = cut
    parts.append(line[start:])
    return _FOLD_SEP.join(parts)


def _lines(lines: Iterable[bytes]) -> bytes:
    return b"".join([fold(line) + _CRLF for line in lines])


# --------------------------------------------------------------------------- values


def _text(value: str) -> bytes:
    """A TEXT value, escaped by icalendar (control characters replaced)."""
    if _CONTROL.search(value):
        value = _CONTROL.sub("\ufffd", value)
    return vText(value).to_ical()


def _texts(*values: str) -> list[bytes]:
    """Several TEXT values escaped by one ``vText``, for speed.

    TEXT escaping works character by character (RFC 5545 §3.3.11), and NUL,
    a control character, can occur in no value once :data:`_CONTROL` has
    replaced it, so escaping the NUL-joined values and splitting the result
    gives what escaping each value alone gives.
    """
    joined = "\x00".join(values)
    if joined.count("\x00") != len(values) - 1 or _CONTROL_BUT_NUL.search(joined):
        joined = "\x00".join(_CONTROL.sub("\ufffd", value) for value in values)
    return vText(joined).to_ical().split(b"\x00")


@lru_cache(maxsize=4096)
def _date(day: date) -> bytes:
    return vDDDTypes(day).to_ical()


@lru_cache(maxsize=4096)
def _clock(moment: time) -> bytes:
    value: bytes | str = vDDDTypes(moment).to_ical()  # icalendar 7's vTime gives str
    return value.encode() if isinstance(value, str) else value


def _wall(moment: datetime) -> bytes:
    """``20260301T120000`` for a naive date-time, to the second.

    The same bytes as ``vDDDTypes(moment).to_ical()``, made of the date and
    the time of day, which repeat far more often than their combinations.
    """
    return _date(moment.date()) + b"T" + _clock(moment.time().replace(microsecond=0))


@lru_cache(maxsize=4096)
def _utc(moment: datetime) -> bytes:
    """``20260301T120000Z`` for an aware moment, or a naive one taken as UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return _wall(moment) + b"Z"


@lru_cache(maxsize=256)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {name!r}") from error


@lru_cache(maxsize=256)
def _tzid(name: str) -> bytes:
    # Parameters.to_ical() would drop a TZID of "UTC"; a zone named UTC still
    # gets its VTIMEZONE, so the parameter is always written.
    return f";TZID={param_value(name)}:".encode()


def _local_or_utc(moment: datetime, zone: str) -> bytes:
    """``;TZID=<zone>:<wall time>``, or ``:<UTC>Z`` for a repeated wall time."""
    local = moment.astimezone(_zone(zone))
    if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
        return b":" + _utc(moment)
    return _tzid(zone) + _wall(local.replace(tzinfo=None))


@lru_cache(maxsize=4096)
def _timed(zone: str, day: date, hhmm: str, minutes: int) -> tuple[bytes, bytes]:
    """The DTSTART and DTEND values (with parameters) of a timed visit."""
    match = _TIME.fullmatch(hhmm)
    if match is None:
        raise ValueError(f"time {hhmm!r} is not HH:MM")
    if not 1 <= minutes <= _MAX_MINUTES:
        raise ValueError(f"duration of {minutes} minutes is not within 1 to {_MAX_MINUTES}")
    wall = datetime(day.year, day.month, day.day, int(match[1]), int(match[2]))
    # fold=0: a repeated time means its first occurrence, a skipped time is
    # read with the offset before the gap (RFC 5545 §3.3.5).
    start = wall.replace(tzinfo=_zone(zone)).astimezone(UTC)
    end = start + timedelta(minutes=minutes)
    return _local_or_utc(start, zone), _local_or_utc(end, zone)


@lru_cache(maxsize=64)
def _trigger(alarm: timedelta) -> bytes:
    return b"TRIGGER:" + vDDDTypes(-alarm).to_ical()


def _check_alarm(alarm: timedelta | None) -> None:
    if alarm is not None and alarm < timedelta(0):
        raise ValueError(f"alarm must be a time before the visit, not {alarm}")


# --------------------------------------------------------------------------- visits


def event_date(visit: VisitRecord) -> date:
    """The date a visit is shown on: the actual date once completed, else the target."""
    if visit.status == "completed" and visit.actual is not None:
        return visit.actual
    return visit.target


def zone_ranges(visits: Iterable[VisitRecord]) -> dict[str, tuple[date, date]]:
    """The ``zones`` argument of :func:`render`: first and last date of timed visits per zone."""
    ranges: dict[str, tuple[date, date]] = {}
    for visit in visits:
        if visit.time is None:
            continue
        day = event_date(visit)
        first, last = ranges.get(visit.timezone, (day, day))
        ranges[visit.timezone] = (min(first, day), max(last, day))
    return ranges


def summary(visit: VisitRecord) -> str:
    """``"WUH-001 · Infusion 2/3 · LOW"``, plus ``" (done)"`` and the like."""
    base = f"{visit.participant} · {visit.label} {visit.occurrence}/{visit.count} · {visit.arm}"
    return base + _SUFFIX.get(visit.status, "")


def description(visit: VisitRecord) -> str:
    """The DESCRIPTION text: structured facts only, one per line."""
    if visit.status == "completed":
        status = f"completed on {event_date(visit).isoformat()}"
    else:
        status = visit.status
    if visit.deviation:
        status += ", protocol deviation"
    lines = [
        f"Window: {visit.window_start.isoformat()} to {visit.window_end.isoformat()}",
        f"Study day: {visit.study_day}",
    ]
    if visit.dose:
        lines.append(f"Dose: {visit.dose}")
    lines += [
        f"Contact: {_CONTACT.get(visit.contact, visit.contact)}",
        f"Status: {status}",
        f"Protocol: {visit.protocol}, arm {visit.arm}",
        f"Visit: {visit.visit_id}",
    ]
    return "\n".join(lines)


@lru_cache(maxsize=256)
def _integer(value: int) -> bytes:
    return vInt(value).to_ical()


#: STATUS and TRANSP lines by (cancelled, timed).
_STATUS_TRANSP = {
    (cancelled, timed): (b"STATUS:CANCELLED" if cancelled else b"STATUS:CONFIRMED")
    + _CRLF
    + (b"TRANSP:OPAQUE" if timed else b"TRANSP:TRANSPARENT")
    + _CRLF
    for cancelled in (False, True)
    for timed in (False, True)
}


def _event(visit: VisitRecord, alarm: timedelta | None) -> bytes:
    """The VEVENT block; only lines that can be long go through :func:`fold`."""
    if visit.revision < 0:
        raise ValueError(f"visit {visit.visit_id}: revision {visit.revision} is negative")
    day = event_date(visit)
    if visit.time is None:
        start = b";VALUE=DATE:" + _date(day)
        end = b";VALUE=DATE:" + _date(day + _ONE_DAY)
    else:
        minutes = visit.duration_minutes
        try:
            start, end = _timed(
                visit.timezone,
                day,
                visit.time,
                DEFAULT_DURATION_MINUTES if minutes is None else minutes,
            )
        except ValueError as error:
            raise ValueError(f"visit {visit.visit_id}: {error}") from None
    stamp = _utc(visit.updated)  # 16 octets: these lines need no folding
    uid, title, text, kind = _texts(visit.uid, summary(visit), description(visit), visit.kind)
    parts = [
        b"BEGIN:VEVENT\r\n",
        fold(b"UID:" + uid),
        b"\r\nDTSTAMP:",
        stamp,
        b"\r\nLAST-MODIFIED:",
        stamp,
        b"\r\n",
        fold(b"SEQUENCE:" + _integer(visit.revision)),
        b"\r\n",
        fold(b"DTSTART" + start),
        b"\r\n",
        fold(b"DTEND" + end),
        b"\r\n",
        fold(b"SUMMARY:" + title),
        b"\r\n",
        fold(b"DESCRIPTION:" + text),
        b"\r\n",
        fold(b"CATEGORIES:" + kind),
        b"\r\n",
        _STATUS_TRANSP[visit.status == "cancelled", visit.time is not None],
    ]
    if alarm is not None and visit.status == "scheduled":
        parts += [
            b"BEGIN:VALARM\r\nACTION:DISPLAY\r\n",
            _trigger(alarm),
            b"\r\n",
            fold(b"DESCRIPTION:" + title),
            b"\r\nEND:VALARM\r\n",
        ]
    parts.append(b"END:VEVENT\r\n")
    return b"".join(parts)


def render_event(visit: VisitRecord, *, alarm: timedelta | None = None) -> bytes:
    """One ``VEVENT`` block: CRLF line ends, folded at 75 octets.

    ``alarm`` adds a display reminder that long before the start (scheduled
    visits only). A timed visit uses ``TZID=visit.timezone``; the caller must
    put the matching ``VTIMEZONE`` in the calendar (:func:`render` does).
    """
    _check_alarm(alarm)
    return _event(visit, alarm)


# --------------------------------------------------------------------------- calendar


@lru_cache(maxsize=64)
def _year_start(day: date, *, following: bool = False) -> date:
    """1 January of ``day``'s year (of the next year with ``following``).

    Whole years: a client that keeps the first VTIMEZONE it sees for a TZID
    (vobject does, process-wide) then still reads later exports right.
    """
    return date(day.year + (1 if following else 0), 1, 1)


def _vtimezone(zone: str, first: date, last: date) -> bytes:
    """The VTIMEZONE of ``zone`` for visits from ``first`` to ``last``, padded.

    icalendar gives one observance per distinct offset change, with its first
    onset as DTSTART and later ones as RDATE. ical.js (Thunderbird) ignores
    DTSTART once an observance has an RDATE, and so loses the first change of
    every pair of years; each onset is therefore written as an observance of
    its own, which every reader understands alike.
    """
    _zone(zone)  # a clear error for an unknown zone
    timezone = Timezone.from_tzid(
        zone,
        first_date=_year_start(first - ZONE_PAD_BEFORE),
        last_date=_year_start(last + ZONE_PAD_AFTER, following=True),
    )
    observances: list[TimezoneStandard | TimezoneDaylight] = []
    for grouped in timezone.subcomponents:
        assert isinstance(grouped, TimezoneStandard | TimezoneDaylight)
        for onset in (grouped.DTSTART, *(start for start, _ in grouped.rdates)):
            single = type(grouped)()
            single.DTSTART = onset
            single.add("TZNAME", grouped["TZNAME"])
            single.TZOFFSETFROM = grouped.TZOFFSETFROM
            single.TZOFFSETTO = grouped.TZOFFSETTO
            observances.append(single)
    observances.sort(key=lambda observance: observance.DTSTART)
    timezone.subcomponents = list(observances)
    block: bytes = timezone.to_ical()  # Component.to_ical is not annotated
    return block


def _header(name: str) -> bytes:
    text = _text(name)
    return _lines((*_CALENDAR_HEAD, b"NAME:" + text, b"X-WR-CALNAME:" + text, *_CALENDAR_TAIL))


def render(
    visits: Iterable[VisitRecord],
    *,
    name: str,
    zones: Mapping[str, tuple[date, date]],
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
    _check_alarm(alarm)
    checked: dict[str, tuple[date, date]] = {}
    timezones: list[bytes] = []
    for zone in sorted(zones):
        first, last = zones[zone]
        if first > last:
            raise ValueError(f"time zone {zone}: first date {first} is after last date {last}")
        checked[zone] = (first, last)
        timezones.append(_vtimezone(zone, first, last))
    return _stream(visits, _header(name), timezones, checked, alarm)


def _stream(
    visits: Iterable[VisitRecord],
    header: bytes,
    timezones: list[bytes],
    zones: dict[str, tuple[date, date]],
    alarm: timedelta | None,
) -> Iterator[bytes]:
    yield header
    yield from timezones
    for visit in visits:
        if visit.time is not None:
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
        yield _event(visit, alarm)
    yield b"END:VCALENDAR" + _CRLF


def render_bytes(
    visits: Iterable[VisitRecord],
    *,
    name: str,
    zones: Mapping[str, tuple[date, date]],
    alarm: timedelta | None = None,
) -> bytes:
    """The whole calendar of :func:`render` as one bytes object."""
    return b"".join(render(visits, name=name, zones=zones, alarm=alarm))

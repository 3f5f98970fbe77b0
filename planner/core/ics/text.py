"""Content lines and values of an iCalendar file, as bytes.

:func:`fold` folds a content line exactly as icalendar's
``Contentline.to_ical()`` does (a property test checks this) at a fraction of
the cost; :func:`escape` escapes TEXT as icalendar's ``vText`` does (another
property test), and the other value functions format through icalendar's own
value types (``vDDDTypes``, ``vInt``), with small bounded caches for the
values that repeat across visits (dates, times of day, time stamps,
revisions). Control characters other than tab and line breaks cannot appear in
a TEXT value: they are replaced by U+FFFD. As with icalendar's ``vText``, a
literal backslash-N (``\\N``) in a text is taken for a line break.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from icalendar import vDDDTypes, vInt

CRLF = b"\r\n"
#: icalendar folds a content line once it reaches 75 octets (RFC 5545 §3.1).
FOLD_OCTETS = 74
_FOLD_SEP = b"\r\n "
_ESCAPE_BYTES = (0x5C, 0x5E)  # "\" and "^": never left at the end of a fold
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_BUT_NUL = re.compile(r"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]")


def fold(line: bytes) -> bytes:
    """Fold one UTF-8 content line (without its CRLF) as icalendar does.

    Byte for byte what ``icalendar.parser.Contentline(text).to_ical()`` gives:
    segments of at most 74 octets (the continuation space makes 75), never cut
    inside a UTF-8 character, and never ending in ``\\`` or ``^`` so that an
    escape stays on one line.
    """
    end = len(line)
    if end <= FOLD_OCTETS:
        return line
    parts: list[bytes] = []
    start = 0
    while end - start > FOLD_OCTETS:
        cut = start + FOLD_OCTETS
        while line[cut] & 0xC0 == 0x80:  # a continuation byte: back to the char start
            cut -= 1
        if line[cut - 1] in _ESCAPE_BYTES and cut - 1 > start:
            cut -= 1
        parts.append(line[start:cut])
        start = cut
    parts.append(line[start:])
    return _FOLD_SEP.join(parts)


def content_lines(lines: Iterable[bytes]) -> bytes:
    """Each line folded and ended by CRLF."""
    return b"".join([fold(line) + CRLF for line in lines])


def escape(value: str) -> bytes:
    """A TEXT value escaped as icalendar's ``vText(value).to_ical()`` does
    (RFC 5545 §3.3.11): the same replacements in the same order, without
    building a ``vText`` (a property test compares the two). Replacements
    that cannot apply (no backslash, no carriage return) are skipped."""
    if "\\" in value:
        value = value.replace("\\N", "\n").replace("\\", "\\\\")
    value = value.replace(";", "\\;").replace(",", "\\,")
    if "\r" in value:
        value = value.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")
    else:
        value = value.replace("\n", "\\n")
    return value.encode("utf-8")


def text(value: str) -> bytes:
    """A TEXT value, escaped as icalendar does (control characters replaced)."""
    if _CONTROL.search(value):
        value = _CONTROL.sub("\ufffd", value)
    return escape(value)


def texts(*values: str) -> list[bytes]:
    """Several TEXT values escaped at once, for speed.

    TEXT escaping works character by character (RFC 5545 §3.3.11), and NUL,
    a control character, can occur in no value once :data:`_CONTROL` has
    replaced it, so escaping the NUL-joined values and splitting the result
    gives what escaping each value alone gives.
    """
    joined = "\x00".join(values)
    if joined.count("\x00") != len(values) - 1 or _CONTROL_BUT_NUL.search(joined):
        joined = "\x00".join(_CONTROL.sub("\ufffd", value) for value in values)
    return escape(joined).split(b"\x00")


@lru_cache(maxsize=4096)
def ical_date(day: date) -> bytes:
    """``20260301``."""
    return vDDDTypes(day).to_ical()


@lru_cache(maxsize=4096)
def _clock(moment: time) -> bytes:
    value: bytes | str = vDDDTypes(moment).to_ical()  # icalendar 7's vTime gives str
    return value.encode() if isinstance(value, str) else value


def wall(moment: datetime) -> bytes:
    """``20260301T120000`` for a naive date-time, to the second.

    The same bytes as ``vDDDTypes(moment).to_ical()``, made of the date and
    the time of day, which repeat far more often than their combinations.
    """
    return ical_date(moment.date()) + b"T" + _clock(moment.time().replace(microsecond=0))


@lru_cache(maxsize=4096)
def utc(moment: datetime) -> bytes:
    """``20260301T120000Z`` for an aware moment, or a naive one taken as UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return wall(moment) + b"Z"


@lru_cache(maxsize=256)
def integer(value: int) -> bytes:
    """An INTEGER value."""
    return vInt(value).to_ical()


def duration(value: timedelta) -> bytes:
    """A DURATION value: ``PT1H``, ``-PT15M``."""
    return vDDDTypes(value).to_ical()

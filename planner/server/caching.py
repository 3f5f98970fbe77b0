"""HTTP caching for feeds: validators, conditional requests, gzip.

A feed's ``ETag`` is strong: it is derived from the exact bytes served
(the gzip variant gets its own tag, ``"<tag>-gzip"``, as a different
representation must). ``If-None-Match`` matches either variant's tag (weak
comparison, as RFC 9110 says for this header) and, when present, decides
alone; otherwise ``If-Modified-Since`` is honoured, except in the second of
the last change itself (a second change in that second would go unseen).

>>> accepts_gzip("gzip;q=0.5, br"), accepts_gzip("gzip;q=0"), accepts_gzip("identity")
(True, False, False)
>>> tags_match('W/"a", "b"', ('"b"', '"b-gzip"'))
True
"""

from __future__ import annotations

import gzip
import threading
from collections import OrderedDict
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from planner.app import Published

#: Clients may keep a copy but must ask again each time: revalidation is a
#: cheap 304, and a change reaches the next refresh. ``private``: each feed
#: is one person's or one team's secret link.
CACHE_CONTROL = "private, no-cache"
GZIP_LEVEL = 6
MIN_GZIP_BYTES = 1024


def http_date(moment: datetime) -> str:
    """A naive UTC moment as an HTTP date (``Sun, 06 Nov 1994 08:49:37 GMT``)."""
    return format_datetime(moment.replace(tzinfo=UTC), usegmt=True)


def parse_http_date(text: str) -> datetime | None:
    """An HTTP date as a naive UTC moment, or None when it is not one."""
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether ``Accept-Encoding`` accepts gzip (with a quality above zero)."""
    for item in accept_encoding.lower().split(","):
        coding, _, params = item.strip().partition(";")
        if coding.strip() in ("gzip", "x-gzip"):
            quality = params.strip().removeprefix("q=")
            try:
                return not params.strip() or float(quality) > 0
            except ValueError:
                return False
    return False


def gzip_etag(etag: str) -> str:
    return etag[:-1] + '-gzip"'


def tags_match(if_none_match: str, etags: tuple[str, ...]) -> bool:
    """Whether ``If-None-Match`` lists one of ``etags`` (or is ``*``)."""
    for item in if_none_match.split(","):
        tag = item.strip().removeprefix("W/")
        if tag == "*" or tag in etags:
            return True
    return False


def not_modified(
    if_none_match: str | None,
    if_modified_since: str | None,
    published: Published,
    now: datetime,
) -> bool:
    """Whether a conditional GET or HEAD is answered with 304."""
    calendar = published.calendar
    if if_none_match is not None:
        return tags_match(if_none_match, (calendar.etag, gzip_etag(calendar.etag)))
    last = calendar.last_modified
    if if_modified_since is None or last is None:
        return False
    since = parse_http_date(if_modified_since)
    return since is not None and last <= since and last < now.replace(microsecond=0)


class GzipCache:
    """Compressed bodies by ETag (deterministic: level 6, no timestamp)."""

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self._bodies: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def compressed(self, etag: str, body: bytes) -> bytes:
        with self._lock:
            found = self._bodies.get(etag)
        if found is None:
            found = gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)
            with self._lock:
                self._bodies[etag] = found
                while len(self._bodies) > self.size:
                    self._bodies.popitem(last=False)
        return found

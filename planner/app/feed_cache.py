"""What a feed server keeps in memory: rendered calendars and recent answers.

See :mod:`planner.app.feed_calendars` for when each is used again.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from planner.app.feed_events import KEPT_ROWS, Events
from planner.core.feeds import FeedScope, digest, is_token
from planner.store.repository import feeds

#: An answer (with the token's state) is reused this long without asking the database.
RECENT_SECONDS = 0.1
#: ... and this long, while another request asks the database again.
STALE_SECONDS = 1.0
#: A calendar's fingerprint is read again at least this often.
RECHECK_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Calendar:
    """A rendered feed: the exact bytes, their strong ETag, their last change (UTC)."""

    body: bytes
    etag: str
    last_modified: datetime | None


@dataclass(frozen=True, slots=True)
class Published:
    """The answer to a feed request: which feed (for its hit count), and its calendar."""

    feed_id: int
    calendar: Calendar


@dataclass(frozen=True, slots=True)
class Entry:
    calendar: Calendar
    fingerprint: feeds.Fingerprint
    marker: int
    cutoff: datetime
    checked: float
    #: The rows rendered last, for the next rendering (see :mod:`planner.app.feed_events`).
    events: Events

    def fresh(self, marker: int, cutoff: datetime) -> bool:
        recent = time.monotonic() - self.checked < RECHECK_SECONDS
        return recent and self.marker == marker and self.cutoff == cutoff


class FeedCache:
    """The calendars last rendered, by scope (at most ``size``, newest kept), and
    the answers of the last ``recent_seconds``, by token digest."""

    def __init__(self, size: int = 64, recent_seconds: float = RECENT_SECONDS) -> None:
        self.size = size
        self.recent_seconds = recent_seconds
        self._entries: OrderedDict[FeedScope, Entry] = OrderedDict()
        self._recent: OrderedDict[str, tuple[Published, float]] = OrderedDict()
        self._lock = threading.Lock()
        self._single = [threading.Lock() for _ in range(32)]
        #: Digests of the tokens whose answer is being read again right now.
        self._reading: set[str] = set()

    def single(self, wanted: str) -> threading.Lock:
        """The lock that one token's database readers take turns on."""
        return self._single[int(wanted[:8], 16) % len(self._single)]

    def get(self, scope: FeedScope) -> Entry | None:
        with self._lock:
            return self._entries.get(scope)

    def put(self, scope: FeedScope, entry: Entry) -> None:
        """Keep a calendar; the oldest ones' events go when too many rows are kept."""
        with self._lock:
            _bounded_put(self._entries, scope, entry, self.size)
            rows = sum(len(kept.events) for kept in self._entries.values())
            for older, kept in list(self._entries.items()):
                if rows <= KEPT_ROWS:
                    break
                rows -= len(kept.events)
                self._entries[older] = replace(kept, events={})

    def recent(self, token: str) -> Published | None:
        """The answer given for this token in the last moments, or while another
        request reads it again, a little older (no I/O); else None."""
        if not is_token(token):
            return None
        wanted = digest(token)
        with self._lock:
            found = self._recent.get(wanted)
            reading = wanted in self._reading
        if found is None:
            return None
        age = time.monotonic() - found[1]
        if age < self.recent_seconds or (reading and age < STALE_SECONDS):
            return found[0]
        return None

    def remember(self, wanted: str, published: Published | None) -> None:
        """Keep an answer to reuse; forget the last one when there is none now."""
        with self._lock:
            if published is None:
                self._recent.pop(wanted, None)
            else:
                _bounded_put(self._recent, wanted, (published, time.monotonic()), 16 * self.size)

    def reading(self, wanted: str, now: bool) -> None:
        """Say that a token's answer is (``now``) or is no longer being read again."""
        with self._lock:
            if now:
                self._reading.add(wanted)
            else:
                self._reading.discard(wanted)


def _bounded_put(items: OrderedDict[Any, Any], key: Any, value: Any, size: int) -> None:
    items[key] = value
    items.move_to_end(key)
    while len(items) > size:
        items.popitem(last=False)

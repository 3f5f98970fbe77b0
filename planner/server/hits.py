"""Fetch counts: kept in memory, written to the database every few seconds.

A write per request would queue every fetch behind the database's write
lock; one batch every :data:`FLUSH_SECONDS` per worker costs one small
transaction. A batch that cannot be written is kept for the next attempt.
"""

from __future__ import annotations

import threading
from datetime import datetime

FLUSH_SECONDS = 10.0

Hits = dict[int, tuple[int, datetime]]


class HitCounter:
    """Fetches per feed id since the last batch, with the last fetch's moment."""

    def __init__(self) -> None:
        self._hits: Hits = {}
        self._lock = threading.Lock()

    def add(self, feed_id: int, at: datetime) -> None:
        with self._lock:
            count, last = self._hits.get(feed_id, (0, at))
            self._hits[feed_id] = (count + 1, max(last, at))

    def take(self) -> Hits:
        """The counts so far; the counter starts again from zero."""
        with self._lock:
            taken, self._hits = self._hits, {}
        return taken

    def put_back(self, hits: Hits) -> None:
        """Counts that could not be written, merged into the current ones."""
        with self._lock:
            for feed_id, (count, last) in hits.items():
                now_count, now_last = self._hits.get(feed_id, (0, last))
                self._hits[feed_id] = (count + now_count, max(last, now_last))

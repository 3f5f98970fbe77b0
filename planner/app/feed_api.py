"""The calendar-feed use cases of a :class:`~planner.app.Planner`, reached as
``planner.feeds``: the token is shown only by :meth:`Feeds.create` and
:meth:`Feeds.rotate`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from planner.app import feeds
from planner.app.context import Context
from planner.app.feed_cache import FeedCache, Published
from planner.app.feed_calendars import publish, record_hits
from planner.app.feeds import FeedInfo, NewFeed
from planner.core.feeds import FeedScope


class Feeds:
    """Create, list, revoke and rotate feeds; publish what a token may read."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def create(
        self,
        scope: FeedScope,
        label: str = "",
        expires: date | None = None,
        *,
        guard: feeds.Guard | None = None,
    ) -> NewFeed:
        return feeds.create(self._ctx, scope, label, expires, guard=guard)

    def list(self) -> list[FeedInfo]:
        return feeds.list_feeds(self._ctx)

    def revoke(self, feed_id: int) -> FeedInfo:
        return feeds.revoke(self._ctx, feed_id)

    def rotate(self, feed_id: int) -> NewFeed:
        return feeds.rotate(self._ctx, feed_id)

    def calendar(self, token: str, cache: FeedCache) -> Published | None:
        """The calendar a token reads, or None for any token that reads nothing."""
        return publish(self._ctx, token, cache)

    def record_hits(self, hits: Mapping[int, tuple[int, datetime]]) -> None:
        record_hits(self._ctx, hits)

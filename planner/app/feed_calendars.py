"""What a feed serves: its scope's calendar, rendered as ``export ics`` renders it.

A request names a token; an unknown, revoked or expired one, or one that is
not a token at all, gets None (the server answers them all with the same
404). A known one gets the calendar of its scope: every visit, cancelled
ones included for :data:`~planner.core.feeds.CANCELLED_RETENTION_DAYS` days
after their cancellation, rendered by :func:`planner.core.ics.render` with
the calendar's name naming the scope.

Rendering a large site takes a while, so calendars are kept in a
:class:`~planner.app.feed_cache.FeedCache` and re-rendered only when their
visits changed. Every change of a visit writes an audit row, so one query
answers "maybe changed" (the newest audit row id differs) together with the
token lookup; only then is the scope's
:func:`~planner.store.repository.feeds.fingerprint` read, and only when that
differs is the calendar rendered again, making only the ``VEVENT`` blocks of
visits that changed (:mod:`planner.app.feed_events`). The fingerprint is
re-read at least every ``RECHECK_SECONDS`` too, whatever the audit trail
says (on PostgreSQL a row id can commit after a higher one).

Under load one feed is asked for many times a second; an answer is reused
for ``RECENT_SECONDS`` without asking the database at all. After that, one
request asks the database again; requests for the same feed that come while
it does are given the last answer (at most ``STALE_SECONDS`` old) rather
than queueing behind it. So a change, a revocation or a rotation shows
within ``RECENT_SECONDS`` plus the time of one database read, and a request
made after that has passed always sees it. (The three times are in
:mod:`planner.app.feed_cache`.)
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from planner.app.context import Context
from planner.app.exports import calendar_name
from planner.app.feed_cache import (
    Calendar,
    Entry,
    FeedCache,
    Published,
)
from planner.app.feed_events import scope_events
from planner.app.results import ExportScope
from planner.core.errors import NotFound
from planner.core.feeds import (
    FeedScope,
    cancelled_cutoff,
    digest,
    expired,
    is_token,
    left_feeds_at,
    same_digest,
    strong_etag,
)
from planner.core.visits import VisitRecord
from planner.store.repository import feeds, records

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from planner.store.repository.feeds import FoundFeed


def publish(ctx: Context, token: str, cache: FeedCache) -> Published | None:
    """The calendar behind a token, or None when there is none to show.

    One thread per token asks the database at a time; the others wait for
    its answer rather than asking the same question at once."""
    if not is_token(token):
        return None
    recent = cache.recent(token)
    if recent is not None:
        return recent
    wanted = digest(token)
    with cache.single(wanted):
        recent = cache.recent(token)
        if recent is not None:
            return recent
        cache.reading(wanted, True)
        try:
            published = _read(ctx, wanted, cache)
        finally:
            cache.reading(wanted, False)
        cache.remember(wanted, published)
        return published


def _read(ctx: Context, wanted: str, cache: FeedCache) -> Published | None:
    now = ctx.now()
    with ctx.db.read() as session:
        found = feeds.lookup(session, wanted)
        if found is None or not _usable(found, wanted, now):
            return None
        scope = FeedScope.from_string(f"{found.scope_kind}:{found.scope_value}")
        cutoff = cancelled_cutoff(now)
        entry = cache.get(scope)
        if entry is None or not entry.fresh(found.marker, cutoff):
            try:
                entry = _refresh(ctx, session, scope, found, cutoff, entry)
            except NotFound:  # the scope's protocol is gone: nothing to show
                return None
            cache.put(scope, entry)
    return Published(found.id, entry.calendar)


def _usable(found: FoundFeed, wanted: str, now: datetime) -> bool:
    return (
        same_digest(found.token_digest, wanted)
        and found.revoked_at is None
        and not expired(found.expires_on, now)
    )


def _refresh(
    ctx: Context,
    session: Session,
    scope: FeedScope,
    found: FoundFeed,
    cutoff: datetime,
    entry: Entry | None,
) -> Entry:
    """Re-read the fingerprint (before the visits: a calendar is never older than
    the fingerprint it is kept under); render only if it changed."""
    where = _filter(ctx, session, scope)
    mark = feeds.fingerprint(session, where, cutoff)
    if entry is not None and entry.fingerprint == mark:
        return replace(entry, marker=found.marker, cutoff=cutoff, checked=time.monotonic())
    events = scope_events(session, ctx.db.protocols, where, entry.events if entry else {})
    kept = [
        made
        for made in events.values()
        if made[0].status != "cancelled" or _naive(made[0].updated) >= cutoff
    ]
    calendar = render(scope, kept, _last_modified(mark))
    return Entry(calendar, mark, found.marker, cutoff, time.monotonic(), events)


def render(
    scope: FeedScope, events: list[tuple[VisitRecord, bytes]], last: datetime | None
) -> Calendar:
    """A feed's bytes: the renderer of ``export ics`` (each visit's block
    rendered already), the calendar named after the scope."""
    from planner.core.ics import render_blocks, zone_ranges  # icalendar: only when rendering

    name = calendar_name(export_scope(scope))
    zones = zone_ranges(visit for visit, _ in events)
    body = render_blocks(events, name=name, zones=zones)
    return Calendar(body, strong_etag(body), last)


def export_scope(scope: FeedScope) -> ExportScope:
    """The ``export ics`` scope holding the same visits (before retention)."""
    if scope.kind == "site":
        return ExportScope(site=scope.value)
    if scope.kind == "participant":
        return ExportScope(participant=scope.value)
    return ExportScope(protocol=scope.value)


def _filter(ctx: Context, session: Session, scope: FeedScope) -> records.Filter:
    if scope.kind == "site":
        return records.Filter(site_id=ctx.site_id(session, scope.value))
    if scope.kind == "participant":
        return records.Filter(participant_id=ctx.participant(session, scope.value).id)
    return records.Filter(version_ids=ctx.version_ids(session, scope.value))


def _last_modified(mark: feeds.Fingerprint) -> datetime | None:
    """The last change of the visits kept, or the moment the last one left."""
    moments = [mark.last_change] if mark.last_change else []
    if mark.last_dropped is not None:
        moments.append(left_feeds_at(mark.last_dropped))
    return max(moments, default=None)


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def record_hits(ctx: Context, hits: Mapping[int, tuple[int, datetime]]) -> None:
    """Add fetches counted by the server: ``{feed id: (count, last fetch)}``."""
    if hits:
        with ctx.db.write() as session, session.begin():
            feeds.add_hits(session, hits)


def healthy(ctx: Context) -> bool:
    """Whether the database answers."""
    try:
        with ctx.db.read() as session:
            return feeds.reachable(session)
    except Exception:  # any failure to reach it is the answer, not an error
        return False

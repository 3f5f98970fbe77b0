"""Calendar feeds: create, list, revoke and rotate them, each audited.

A feed is a secret path, ``/feeds/<token>.ics``, to the calendar of a site, a
participant or a protocol. The token (192 random bits from :mod:`secrets`)
is shown once, when the feed is created or rotated; only its SHA-256 digest
is stored. What a feed serves is :mod:`planner.app.feed_calendars`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from planner.app.context import Context, unknown_participant
from planner.app.feed_cache import FeedCache, Published
from planner.app.feed_calendars import healthy, publish, record_hits
from planner.core.errors import Conflict, InputError, NotFound
from planner.core.feeds import (
    TOKEN_BYTES,
    FeedScope,
    check_label,
    digest,
    expired,
    feed_path,
    is_token,
)
from planner.store.repository import feeds, participants

__all__ = [
    "FeedCache",
    "FeedInfo",
    "FeedScope",
    "NewFeed",
    "Published",
    "create",
    "healthy",
    "list_feeds",
    "publish",
    "record_hits",
    "revoke",
    "rotate",
]

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from planner.store.models import Feed


@dataclass(frozen=True, slots=True)
class NewFeed:
    """A feed and its secret, as shown once (when created or rotated)."""

    id: int
    token: str
    scope: FeedScope
    label: str
    expires: date | None

    @property
    def path(self) -> str:
        return feed_path(self.token)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "token": self.token,
            "path": self.path,
            "scope": self.scope.to_string(),
            "label": self.label,
            "expires": self.expires.isoformat() if self.expires else None,
        }


@dataclass(frozen=True, slots=True)
class FeedInfo:
    """A feed as listed: never its token."""

    id: int
    scope: FeedScope
    label: str
    created: datetime
    expires: date | None
    state: str
    last_used: datetime | None
    hits: int

    def to_json(self) -> dict[str, Any]:
        def moment(value: datetime | None) -> str | None:
            return value.isoformat() + "Z" if value else None

        return {
            "id": self.id,
            "scope": self.scope.to_string(),
            "label": self.label,
            "created": moment(self.created),
            "expires": self.expires.isoformat() if self.expires else None,
            "state": self.state,
            "last_used": moment(self.last_used),
            "hits": self.hits,
        }


def new_token() -> str:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    assert is_token(token)
    return token


def check_scope(ctx: Context, session: Session, scope: FeedScope) -> None:
    """The scope names a site, participant or protocol that exists."""
    if scope.kind == "site":
        ctx.site_id(session, scope.value)
    elif scope.kind == "participant":
        if participants.id_by_code(session, scope.value) is None:
            raise unknown_participant(scope.value)
    else:
        ctx.version_ids(session, scope.value)


#: Given the (id, scope) of every other feed, raises to refuse a create.
Guard = Callable[[list[tuple[int, FeedScope]]], None]


def create(
    ctx: Context,
    scope: FeedScope,
    label: str,
    expires: date | None,
    *,
    guard: Guard | None = None,
) -> NewFeed:
    """A new feed, its token shown once. ``guard`` sees the other feeds inside
    the write transaction, after the audit trail's turn is taken (so that a
    create running at the same moment has committed or waits), and may refuse."""
    check_label(label)
    now = ctx.now()
    if expires is not None and expires < now.date():
        raise InputError(
            f"the expiry date {expires} is in the past (today is {now.date()}, UTC)",
            field="expires",
            value=expires,
        )
    token = new_token()
    with ctx.db.write() as session, session.begin():
        check_scope(ctx, session, scope)
        row = feeds.add(
            session,
            token_digest=digest(token),
            scope_kind=scope.kind,
            scope_value=scope.value,
            label=label,
            created_at=now,
            expires_on=expires,
        )
        after = {"feed": row.id, "scope": scope.to_string(), "label": label, "expires": expires}
        _audit(ctx, session, "feed-create", scope, after=after)
        if guard is not None:
            guard([(other.id, _scope(other)) for other in feeds.all_feeds(session) if other != row])
    return NewFeed(row.id, token, scope, label, expires)


def list_feeds(ctx: Context) -> list[FeedInfo]:
    now = ctx.now()
    with ctx.db.read() as session:
        return [info(row, now) for row in feeds.all_feeds(session)]


def revoke(ctx: Context, feed_id: int) -> FeedInfo:
    """Stop a feed for good: its path answers 404 from now on."""
    with ctx.db.write() as session, session.begin():
        row = _active(session, feed_id, "revoked")
        row.revoked_at = ctx.now()
        session.flush()
        after = {"feed": feed_id, "state": "revoked"}
        _audit(ctx, session, "feed-revoke", _scope(row), after=after)
        return info(row, ctx.now())


def rotate(ctx: Context, feed_id: int) -> NewFeed:
    """Give a feed a new token; the old path answers 404 from now on."""
    token = new_token()
    with ctx.db.write() as session, session.begin():
        row = _active(session, feed_id, "rotated")
        row.token_digest = digest(token)
        row.rotated_at = ctx.now()
        session.flush()
        _audit(ctx, session, "feed-rotate", _scope(row), after={"feed": feed_id})
        return NewFeed(row.id, token, _scope(row), row.label, row.expires_on)


def info(row: Feed, now: datetime) -> FeedInfo:
    state = "revoked" if row.revoked_at else "expired" if expired(row.expires_on, now) else "active"
    return FeedInfo(
        row.id,
        _scope(row),
        row.label,
        row.created_at,
        row.expires_on,
        state,
        row.last_used_at,
        row.hits,
    )


def _scope(row: Feed) -> FeedScope:
    return FeedScope.from_string(f"{row.scope_kind}:{row.scope_value}")


#: The largest row id a database stores (a signed 64-bit integer).
MAX_ID = 2**63 - 1


def _active(session: Session, feed_id: int, verb: str) -> Feed:
    row = feeds.by_id(session, feed_id) if 0 < feed_id <= MAX_ID else None
    if row is None:
        raise NotFound(f"unknown feed {feed_id}", field="feed", value=feed_id)
    if row.revoked_at is not None:
        raise Conflict(
            f"feed {feed_id} was revoked; it cannot be {verb}", field="feed", value=feed_id
        )
    return row


def _audit(ctx: Context, session: Session, action: str, scope: FeedScope, **values: Any) -> None:
    """Audited with the participant when the feed is a participant's; never the token."""
    who = scope.value if scope.kind == "participant" else None
    ctx.audit(session, action, participant=who, **values)

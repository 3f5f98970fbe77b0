"""Calendar feeds: rows looked up by token digest, and what says a feed changed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, case, func, or_, select, update
from sqlalchemy.orm import Session

from planner.store.models import AuditEntry, Feed, Participant, Visit
from planner.store.repository.records import Filter

_LOOKUP = select(
    Feed.id,
    Feed.token_digest,
    Feed.scope_kind,
    Feed.scope_value,
    Feed.expires_on,
    Feed.revoked_at,
    select(func.coalesce(func.max(AuditEntry.id), 0)).scalar_subquery(),
).where(Feed.token_digest == bindparam("digest"))


class FoundFeed(NamedTuple):
    """A feed row as a request needs it, with the audit trail's newest row id."""

    id: int
    token_digest: str
    scope_kind: str
    scope_value: str
    expires_on: date | None
    revoked_at: datetime | None
    #: Every change of visits is audited: a new audit row means data may have changed.
    marker: int


class Fingerprint(NamedTuple):
    """Changes whenever the visits a feed holds change (kept = not cancelled
    before the cutoff)."""

    visits: int
    revisions: int
    ids: int
    last_change: datetime | None
    last_dropped: datetime | None


def add(session: Session, **values: Any) -> Feed:
    row = Feed(**values)
    session.add(row)
    session.flush()
    return row


def lookup(session: Session, token_digest: str) -> FoundFeed | None:
    """One query: the feed with this digest, and the newest audit row id.

    Run on the session's connection (Core, no ORM): it is on every request."""
    found = session.connection().execute(_LOOKUP, {"digest": token_digest}).first()
    return FoundFeed(*found) if found is not None else None


def by_id(session: Session, feed_id: int) -> Feed | None:
    return session.get(Feed, feed_id)


def all_feeds(session: Session) -> Sequence[Feed]:
    return session.scalars(select(Feed).order_by(Feed.id)).all()


def fingerprint(session: Session, where: Filter, cutoff: datetime) -> Fingerprint:
    """Count, revisions and ids of the visits a feed keeps, their last change,
    and the last change of the cancelled ones left out."""
    kept = or_(Visit.status != "cancelled", Visit.updated_at >= cutoff)
    query = (
        select(
            func.count(case((kept, 1))),
            func.coalesce(func.sum(case((kept, Visit.revision), else_=0)), 0),
            func.coalesce(func.sum(case((kept, Visit.id), else_=0)), 0),
            func.max(case((kept, Visit.updated_at))),
            func.max(case((kept, None), else_=Visit.updated_at)),
        )
        .select_from(Visit)
        .join(Participant, Participant.id == Visit.participant_id)
        .where(*where.conditions())
    )
    count, revisions, ids, last_change, last_dropped = session.execute(query).one()
    return Fingerprint(int(count), int(revisions), int(ids), last_change, last_dropped)


def add_hits(session: Session, hits: Mapping[int, tuple[int, datetime]]) -> None:
    """Add fetches to feeds' counts and move their last use forward."""
    for feed_id, (count, last) in sorted(hits.items()):
        later = or_(Feed.last_used_at.is_(None), Feed.last_used_at < last)
        session.execute(
            update(Feed)
            .where(Feed.id == feed_id)
            .values(
                hits=Feed.hits + count,
                last_used_at=case((later, last), else_=Feed.last_used_at),
            )
            .execution_options(synchronize_session=False)
        )


def reachable(session: Session) -> bool:
    return session.execute(select(1)).scalar() == 1

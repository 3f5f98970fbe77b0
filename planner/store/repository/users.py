"""Users, the sites they see, their login sessions and API tokens.

Sessions and tokens are found by the SHA-256 digest of their secret (a
unique index); the caller compares the digest again in constant time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from planner.store.models import ApiToken, Site, User, UserSession, UserSite


def by_name(session: Session, name: str, *, lock: bool = False) -> User | None:
    """The user of this name; ``lock``: ``FOR UPDATE`` where the database has it."""
    query = select(User).where(User.name == name)
    if lock:
        query = query.with_for_update()
    return session.scalar(query)


def all_users(session: Session) -> Sequence[User]:
    return session.scalars(select(User).order_by(User.name)).all()


def add_user(session: Session, sites: Iterable[int], **values: Any) -> User:
    row = User(**values)
    session.add(row)
    session.flush()
    session.add_all(UserSite(user_id=row.id, site_id=site) for site in sorted(set(sites)))
    session.flush()
    return row


def site_codes(session: Session, user_ids: Iterable[int]) -> dict[int, list[str]]:
    """The codes of the sites each user sees (when not all), sorted."""
    wanted = list(user_ids)
    found: dict[int, list[str]] = {user: [] for user in wanted}
    if not wanted:
        return found
    query = (
        select(UserSite.user_id, Site.code)
        .join(Site, Site.id == UserSite.site_id)
        .where(UserSite.user_id.in_(wanted))
        .order_by(Site.code)
    )
    for user, code in session.execute(query):
        found[user].append(code)
    return found


def set_values(session: Session, user_id: int, **values: Any) -> None:
    session.execute(
        update(User)
        .where(User.id == user_id)
        .values(**values)
        .execution_options(synchronize_session="fetch")
    )


# -------------------------------------------------------------- sessions


def add_session(session: Session, **values: Any) -> UserSession:
    row = UserSession(**values)
    session.add(row)
    session.flush()
    return row


def session_by_digest(session: Session, digest: str) -> tuple[UserSession, User] | None:
    query = (
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.digest == digest)
    )
    found = session.execute(query).first()
    return (found[0], found[1]) if found is not None else None


def touch_session(session: Session, session_id: int, seen: datetime, expires: datetime) -> None:
    session.execute(
        update(UserSession)
        .where(UserSession.id == session_id)
        .values(last_seen_at=seen, expires_at=expires)
        .execution_options(synchronize_session=False)
    )


def end_session(session: Session, digest: str) -> None:
    session.execute(delete(UserSession).where(UserSession.digest == digest))


def end_sessions_of(session: Session, user_id: int) -> None:
    session.execute(delete(UserSession).where(UserSession.user_id == user_id))


def end_expired_sessions(session: Session, now: datetime) -> None:
    session.execute(delete(UserSession).where(UserSession.expires_at <= now))


# ---------------------------------------------------------------- tokens


def add_token(session: Session, **values: Any) -> ApiToken:
    row = ApiToken(**values)
    session.add(row)
    session.flush()
    return row


def token_by_digest(session: Session, digest: str) -> tuple[ApiToken, User] | None:
    query = (
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.digest == digest)
    )
    found = session.execute(query).first()
    return (found[0], found[1]) if found is not None else None


def touch_token(session: Session, token_id: int, used: datetime) -> None:
    session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id)
        .values(last_used_at=used)
        .execution_options(synchronize_session=False)
    )


def revoke_tokens_of(session: Session, user_id: int, now: datetime) -> int:
    """Revoke every live token of a user; how many were live."""
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def live_tokens(session: Session, user_ids: Iterable[int]) -> dict[int, int]:
    """How many unrevoked tokens each user has."""
    wanted = list(user_ids)
    found = dict.fromkeys(wanted, 0)
    query = select(ApiToken.user_id).where(
        ApiToken.user_id.in_(wanted), ApiToken.revoked_at.is_(None)
    )
    for (user,) in session.execute(query):
        found[user] += 1
    return found


def tokens(session: Session) -> list[tuple[int, str, bool]]:
    """Every API token: its id, its user's name, whether it is revoked."""
    query = (
        select(ApiToken.id, User.name, ApiToken.revoked_at.is_not(None))
        .join(User, User.id == ApiToken.user_id)
        .order_by(ApiToken.id)
    )
    return [(int(i), str(name), bool(revoked)) for i, name, revoked in session.execute(query)]

"""Logins, sessions and API tokens.

A login verifies the password against its Argon2 hash and starts a session:
a new random id (256 bits) that only the browser keeps; the database keeps
its SHA-256 digest. The CSRF token of a session is derived from its id
(:func:`planner.core.users.csrf_token`), so it needs no storage either.
A session ends after :data:`~planner.core.users.SESSION_IDLE` without a
request and :data:`~planner.core.users.SESSION_MAX` after the login, at
logout, when the user's password changes and when the user is disabled.

Failed logins: after three in a row the name is refused for 1 s, then 2 s,
4 s ... up to 15 minutes (:func:`planner.core.users.backoff`), without the
password being checked. The refusal is the same sentence whether or not the
name exists; an unknown name costs the same Argon2 verification and is
refused on the same schedule, counted in this process (:class:`Ghosts`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, NamedTuple

from planner.app.context import Context
from planner.app.passwords import burn, hash_password, needs_rehash, verify
from planner.app.users import UserInfo, info_of, new_secret
from planner.core.errors import DatabaseBusy
from planner.core.users import (
    NAME_MAX,
    PASSWORD_MAX,
    TOUCH_EVERY,
    LoginRefused,
    csrf_token,
    digest,
    is_secret,
    locked_until,
    normal_name,
    retry_after,
    same,
    session_expiry,
)
from planner.store.repository import users

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@dataclass(frozen=True, slots=True)
class Login:
    """A session just started: its id goes into the cookie, shown nowhere else."""

    session_id: str
    csrf: str
    user: UserInfo
    expires: datetime


@dataclass(frozen=True, slots=True)
class SessionUser:
    """Who a live session belongs to, and the CSRF token its forms carry."""

    user: UserInfo
    csrf: str
    expires: datetime


class _Account(NamedTuple):
    password_hash: str
    disabled: bool
    locked_until: datetime | None


class Ghosts:
    """Failed logins of names that do not exist, in this process only (at most
    ``size`` names, the oldest forgotten first): such names are refused on
    the same schedule as real ones, so the refusals do not tell them apart."""

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._seen: OrderedDict[str, tuple[int, datetime | None]] = OrderedDict()

    def wait(self, key: str, now: datetime) -> int:
        with self._lock:
            _, until = self._seen.get(key, (0, None))
        return retry_after(until, now)

    def failed(self, key: str, now: datetime) -> int:
        with self._lock:
            failures = self._seen.pop(key, (0, None))[0] + 1
            until = locked_until(failures, now)
            self._seen[key] = (failures, until)
            while len(self._seen) > self._size:
                self._seen.popitem(last=False)
        return retry_after(until, now)


GHOSTS = Ghosts()


def login(ctx: Context, name: str, password: str) -> Login:
    """Start a session, or raise :class:`LoginRefused` (one sentence for every cause)."""
    now, normal = ctx.now(), normal_name(name)
    password = password[: PASSWORD_MAX + 1]  # longer is wrong anyway: do not hash megabytes
    account = _account(ctx, normal)
    if account is None:
        key = f"{ctx.db.url}\n{normal}"
        wait = GHOSTS.wait(key, now)
        if wait:
            raise LoginRefused(wait)
        burn(password)
        raise LoginRefused(GHOSTS.failed(key, now))
    wait = retry_after(account.locked_until, now)
    if wait:
        raise LoginRefused(wait)
    if not verify(account.password_hash, password) or account.disabled:
        raise LoginRefused(_failed(ctx, normal, now))
    return _start(ctx, normal, password, now)


def _account(ctx: Context, name: str) -> _Account | None:
    if len(name) > NAME_MAX:
        return None
    with ctx.db.read() as session:
        row = users.by_name(session, name)
        return _Account(row.password_hash, row.disabled, row.locked_until) if row else None


def _failed(ctx: Context, name: str, now: datetime) -> int:
    """Count a failure; the seconds the name is now refused for."""
    with ctx.db.write() as session, session.begin():
        row = users.by_name(session, name, lock=True)
        assert row is not None  # users are disabled, never deleted
        failures = row.failed_logins + 1
        until = locked_until(failures, now)
        users.set_values(session, row.id, failed_logins=failures, locked_until=until)
    return retry_after(until, now)


def _start(ctx: Context, name: str, password: str, now: datetime) -> Login:
    session_id = new_secret()
    expires = session_expiry(now, now)
    with ctx.db.write() as session, session.begin():
        row = users.by_name(session, name, lock=True)
        if row is None or row.disabled:  # disabled meanwhile
            raise LoginRefused()
        values: dict[str, object] = {"failed_logins": 0, "locked_until": None}
        if needs_rehash(row.password_hash):
            values["password_hash"] = hash_password(password)
        users.set_values(session, row.id, last_login_at=now, **values)
        users.end_expired_sessions(session, now)
        users.add_session(
            session,
            digest=digest(session_id),
            user_id=row.id,
            created_at=now,
            last_seen_at=now,
            expires_at=expires,
        )
        shown = info_of(session, row)
    return Login(session_id, csrf_token(session_id), shown, expires)


def session(ctx: Context, session_id: str) -> SessionUser | None:
    """The user of a live session; None for an unknown, expired or ended one,
    or a disabled user. Keeps the session alive (written at most once a minute)."""
    if not is_secret(session_id):
        return None
    key, now = digest(session_id), ctx.now()
    with ctx.db.read() as reading:
        found = users.session_by_digest(reading, key)
        if found is None:
            return None
        row, user = found
        if not same(row.digest, key) or row.expires_at <= now or user.disabled:
            return None
        shown = info_of(reading, user)
        row_id, created, seen, expires = row.id, row.created_at, row.last_seen_at, row.expires_at
    if now - seen >= TOUCH_EVERY:
        renewed = session_expiry(created, now)
        if _noted(ctx, lambda writing: users.touch_session(writing, row_id, now, renewed)):
            expires = renewed
    return SessionUser(shown, csrf_token(session_id), expires)


def _noted(ctx: Context, touch: Callable[[Session], None]) -> bool:
    """Note a session seen or a token used, if the database is free now: a
    reading request never waits behind another program's long write for it
    (the next request notes it); False when skipped."""
    try:
        with ctx.db.write(wait=False) as writing, writing.begin():
            touch(writing)
    except DatabaseBusy:
        return False
    return True


def logout(ctx: Context, session_id: str) -> None:
    """End a session (nothing happens for an unknown one)."""
    if is_secret(session_id):
        with ctx.db.write() as session, session.begin():
            users.end_session(session, digest(session_id))


def by_token(ctx: Context, token: str) -> UserInfo | None:
    """The user of a live API token, else None; notes its use (at most once a minute)."""
    if not is_secret(token):
        return None
    key, now = digest(token), ctx.now()
    with ctx.db.read() as reading:
        found = users.token_by_digest(reading, key)
        if found is None:
            return None
        row, user = found
        if not same(row.digest, key) or row.revoked_at is not None or user.disabled:
            return None
        shown = info_of(reading, user)
        row_id, used = row.id, row.last_used_at
    if used is None or now - used >= TOUCH_EVERY:
        _noted(ctx, lambda writing: users.touch_token(writing, row_id, now))
    return shown

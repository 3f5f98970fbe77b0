"""User accounts: add, list, disable, new passwords and API tokens, each audited.

A user has a role (:mod:`planner.core.users`: viewers read, coordinators also
record visits and manage their sites' feeds, admins also manage users) and sees
all sites or a list of them. Passwords are kept as Argon2 hashes (:mod:`planner.app.passwords`);
a generated password, like an API token, is shown once and stored nowhere in
clear. The audit trail names the user, the role and the sites, never a
password, hash or token. Logins, sessions and token look-ups are
:mod:`planner.app.logins`.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from planner.app.context import Context
from planner.app.passwords import hash_password
from planner.core.errors import Conflict, InputError, NotFound
from planner.core.users import (
    SECRET_BYTES,
    Role,
    can_admin,
    can_record,
    check_name,
    check_password,
    check_role,
    digest,
    normal_name,
    sees,
)
from planner.store.repository import users

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from planner.store.models import User

#: Random bytes of a generated password: 18, written as 24 URL-safe characters.
GENERATED_PASSWORD_BYTES = 18


@dataclass(frozen=True, slots=True)
class UserInfo:
    """A user as shown: never the password hash."""

    name: str
    role: Role
    #: The sites' codes when the user does not see all sites (else empty).
    sites: tuple[str, ...]
    all_sites: bool
    disabled: bool
    created: datetime
    last_login: datetime | None

    def sees(self, site: str) -> bool:
        """Whether the user sees this site's participants and visits."""
        return sees(self.all_sites, self.sites, site)

    @property
    def can_record(self) -> bool:
        return can_record(self.role) and not self.disabled

    @property
    def can_admin(self) -> bool:
        return can_admin(self.role) and not self.disabled

    def to_json(self) -> dict[str, Any]:
        def moment(value: datetime | None) -> str | None:
            return value.isoformat() + "Z" if value else None

        return {
            "name": self.name,
            "role": self.role,
            "sites": "all" if self.all_sites else list(self.sites),
            "disabled": self.disabled,
            "created": moment(self.created),
            "last_login": moment(self.last_login),
        }


@dataclass(frozen=True, slots=True)
class NewUser:
    """A user just added; ``password`` is the generated one (shown once), else None."""

    user: UserInfo
    password: str | None


@dataclass(frozen=True, slots=True)
class NewToken:
    """An API token, shown once: only its digest is stored."""

    user: str
    token: str


def info(row: User, codes: Sequence[str]) -> UserInfo:
    return UserInfo(
        name=row.name,
        role=check_role(row.role),
        sites=() if row.all_sites else tuple(codes),
        all_sites=row.all_sites,
        disabled=row.disabled,
        created=row.created_at,
        last_login=row.last_login_at,
    )


def info_of(session: Session, row: User) -> UserInfo:
    return info(row, users.site_codes(session, [row.id])[row.id])


def new_secret() -> str:
    """A session id or API token: 256 random bits, 43 URL-safe characters."""
    return secrets.token_urlsafe(SECRET_BYTES)


def add(
    ctx: Context,
    name: str,
    role: str,
    sites: Sequence[str] | None,
    password: str | None = None,
) -> NewUser:
    """Add a user; everything is checked before anything is written."""
    normal, checked_role = check_name(name), check_role(role)
    if sites is not None and not sites:
        raise InputError("a user needs at least one site, or all sites", field="site", value="")
    generated = None
    if password is None:
        password = generated = secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)
    hashed = hash_password(check_password(password))
    with ctx.db.write() as session, session.begin():
        if users.by_name(session, normal) is not None:
            raise Conflict(f"a user named {normal!r} exists already", field="name", value=name)
        site_ids = [ctx.site_id(session, code) for code in sites or ()]
        row = users.add_user(
            session,
            site_ids,
            name=normal,
            role=checked_role,
            all_sites=sites is None,
            password_hash=hashed,
            disabled=False,
            created_at=ctx.now(),
            failed_logins=0,
        )
        added = info_of(session, row)
        ctx.audit(session, "user-add", after=_shown(added))
    return NewUser(added, generated)


def list_users(ctx: Context) -> list[UserInfo]:
    with ctx.db.read() as session:
        rows = users.all_users(session)
        codes = users.site_codes(session, [row.id for row in rows])
        return [info(row, codes[row.id]) for row in rows]


def one(ctx: Context, name: str) -> UserInfo:
    with ctx.db.read() as session:
        return info_of(session, _user(session, name))


def disable(ctx: Context, name: str) -> UserInfo:
    """Disable a user for good: their sessions end and their API tokens are revoked."""
    with ctx.db.write() as session, session.begin():
        row = _user(session, name)
        if row.disabled:
            raise Conflict(f"user {row.name!r} is disabled already", field="user", value=name)
        users.set_values(session, row.id, disabled=True)
        users.end_sessions_of(session, row.id)
        revoked = users.revoke_tokens_of(session, row.id, ctx.now())
        after = {"user": row.name, "disabled": True, "tokens_revoked": revoked}
        before = {"user": row.name, "disabled": False}
        ctx.audit(session, "user-disable", before=before, after=after)
        return info_of(session, row)


def set_password(ctx: Context, name: str, password: str) -> UserInfo:
    """A new password; the user's sessions end and failed logins are forgotten."""
    hashed = hash_password(check_password(password))
    with ctx.db.write() as session, session.begin():
        row = _user(session, name)
        users.set_values(session, row.id, password_hash=hashed, failed_logins=0, locked_until=None)
        users.end_sessions_of(session, row.id)
        ctx.audit(session, "user-password", after={"user": row.name})
        return info_of(session, row)


def new_token(ctx: Context, name: str) -> NewToken:
    """A new API token for a user (their earlier tokens keep working)."""
    token = new_secret()
    with ctx.db.write() as session, session.begin():
        row = _user(session, name)
        if row.disabled:
            raise Conflict(
                f"user {row.name!r} is disabled; it cannot have a token", field="user", value=name
            )
        added = users.add_token(session, digest=digest(token), user_id=row.id, created_at=ctx.now())
        ctx.audit(session, "user-token", after={"user": row.name, "token_id": added.id})
        return NewToken(row.name, token)


def _user(session: Session, name: str) -> User:
    row = users.by_name(session, normal_name(name))
    if row is None:
        raise NotFound(f"unknown user {name!r}", field="user", value=name)
    return row


def _shown(user: UserInfo) -> dict[str, Any]:
    """What the audit trail keeps of a new user."""
    return {"user": user.name, "role": user.role, "sites": user.to_json()["sites"]}

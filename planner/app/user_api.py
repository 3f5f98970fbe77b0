"""The account use cases of a :class:`~planner.app.Planner`, reached as
``planner.users``: web-page users, their sessions and API tokens.

Changes to users are audited as the planner's actor; a generated password,
a session id and an API token are returned once and stored only as a hash
or digest.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence

from planner.app import logins, users
from planner.app.context import Context
from planner.app.logins import Login, SessionUser
from planner.app.users import NewToken, NewUser, UserInfo


class Users:
    """Add, list, disable users; passwords, sessions and API tokens."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def add(
        self, name: str, role: str, sites: Sequence[str] | None, *, password: str | None = None
    ) -> NewUser:
        """A new user of these sites (None: all sites); without a password, one
        is generated and returned once."""
        return users.add(self._ctx, name, role, sites, password)

    def list(self) -> builtins.list[UserInfo]:
        return users.list_users(self._ctx)

    def one(self, name: str) -> UserInfo:
        return users.one(self._ctx, name)

    def disable(self, name: str) -> UserInfo:
        """Disable a user: their sessions end, their API tokens are revoked."""
        return users.disable(self._ctx, name)

    def set_password(self, name: str, password: str) -> UserInfo:
        """A new password; the user's sessions end."""
        return users.set_password(self._ctx, name, password)

    def new_token(self, name: str) -> NewToken:
        """A new API token (256 bits), returned once."""
        return users.new_token(self._ctx, name)

    def login(self, name: str, password: str) -> Login:
        """Start a session; :class:`~planner.core.users.LoginRefused` otherwise."""
        return logins.login(self._ctx, name, password)

    def session(self, session_id: str) -> SessionUser | None:
        return logins.session(self._ctx, session_id)

    def logout(self, session_id: str) -> None:
        logins.logout(self._ctx, session_id)

    def by_token(self, token: str) -> UserInfo | None:
        return logins.by_token(self._ctx, token)

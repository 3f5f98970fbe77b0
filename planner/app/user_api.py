"""The account use cases of a :class:`~planner.app.Planner`, reached as
``planner.users``: web-page users, their sessions and API tokens.
"""

from __future__ import annotations

from planner.app.context import Context


class Users:
    """Add, list, disable users; passwords, sessions and API tokens."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

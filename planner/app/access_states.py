"""Users, API tokens and feeds against the audit trail: who may see what.

A user's role and sites are set once, by the ``user-add`` row, and only a
``user-disable`` row disables them; an API token is named by a ``user-token``
row of its user, and a disabled user's tokens are revoked. A feed's scope,
label and expiry are set by its ``feed-create`` row, and it is revoked exactly
when a ``feed-revoke`` row says so. A user made an admin of every site, a
revoked feed brought back or pointed at another site, in the file: named.
Sessions (short-lived, never audited) and a rotated feed's new token digest
are not compared.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from planner.store.repository import audit, feeds, users

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

ACTIONS = ("user-add", "user-disable", "user-token", "feed-create", "feed-revoke")


def first_problem(session: Session) -> tuple[str, str] | None:
    """The first user, token or feed the trail contradicts, and why."""
    added: dict[str, dict[str, Any]] = {}
    disabled: set[str] = set()
    token_owner: dict[int, str] = {}
    created: dict[int, dict[str, Any]] = {}
    revoked: set[int] = set()
    for action, after, _ in audit.rows_of(session, ACTIONS):
        values = json.loads(after) if after else {}
        if not isinstance(values, dict):
            continue
        if action == "user-add":
            added[str(values.get("user"))] = values
        elif action == "user-disable":
            disabled.add(str(values.get("user")))
        elif action == "user-token":
            token_owner[int(values.get("token_id") or 0)] = str(values.get("user"))
        elif action == "feed-create":
            created[int(values.get("feed") or 0)] = values
        else:
            revoked.add(int(values.get("feed") or 0))
    return (
        _users_problem(session, added, disabled)
        or _tokens_problem(session, token_owner, disabled)
        or _feeds_problem(session, created, revoked)
    )


def _changed(what: str) -> str:
    return f"{what} (changed without an audit row)"


def _users_problem(
    session: Session, added: dict[str, dict[str, Any]], disabled: set[str]
) -> tuple[str, str] | None:
    rows = users.all_users(session)
    codes = users.site_codes(session, [row.id for row in rows])
    for row in rows:
        said = added.get(row.name)
        if said is None:
            return row.name, f"user {row.name} has no audit row (added without one)"
        sites: Any = "all" if row.all_sites else sorted(codes.get(row.id, []))
        wanted = said.get("sites")
        wanted = wanted if wanted == "all" else sorted(wanted or [])
        if row.role != said.get("role") or sites != wanted:
            return row.name, _changed(
                f"user {row.name} is {row.role} of {sites}, but was added as "
                f"{said.get('role')} of {wanted}"
            )
        if bool(row.disabled) != (row.name in disabled):
            state = "disabled" if row.disabled else "enabled"
            return row.name, _changed(f"user {row.name} is {state}")
    return None


def _tokens_problem(
    session: Session, owner: dict[int, str], disabled: set[str]
) -> tuple[str, str] | None:
    for token_id, name, is_revoked in users.tokens(session):
        if owner.get(token_id) != name:
            return name, _changed(f"API token {token_id} of user {name} has no audit row")
        if name in disabled and not is_revoked:
            return name, _changed(f"API token {token_id} of disabled user {name} is not revoked")
    return None


def _feeds_problem(
    session: Session, created: dict[int, dict[str, Any]], revoked: set[int]
) -> tuple[str, str] | None:
    for row in feeds.all_feeds(session):
        name = f"feed {row.id}"
        said = created.get(row.id)
        if said is None:
            return name, f"{name} has no audit row (created without one)"
        scope = f"{row.scope_kind}:{row.scope_value}"
        expires = row.expires_on.isoformat() if row.expires_on else None
        if (scope, row.label, expires) != (
            said.get("scope"),
            said.get("label"),
            said.get("expires"),
        ):
            return name, _changed(f"{name} reads {scope} ({row.label!r}, expires {expires})")
        if (row.revoked_at is not None) != (row.id in revoked):
            state = "revoked" if row.revoked_at is not None else "active"
            return name, _changed(f"{name} is {state}")
    return None

"""The audit trail: rows are only ever added (the database refuses the rest),
each chained to the one before by its hash (:mod:`planner.core.chain`).

Every audit row is written by :func:`add`, inside the command's writing
transaction: on SQLite that transaction holds the write lock from its start
(``BEGIN IMMEDIATE``); elsewhere a transaction-scoped advisory lock makes
appends take turns, so the last hash read is still the last when the rows land.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.orm import Session

from planner.core.chain import FIELDS, GENESIS, row_hash
from planner.core.errors import InputError
from planner.core.texts import refused_character
from planner.store.models import AuditEntry
from planner.store.repository import inserts

#: The columns of an audit row, as :func:`add` writes them.
COLUMNS = ("id", *FIELDS[1:], "hash")

#: The key of the PostgreSQL advisory lock that serialises appends.
APPEND_LOCK = 7_170_017


def dump_json(values: dict[str, Any]) -> str:
    return json.dumps(values, default=str, sort_keys=True, ensure_ascii=False)


def entry(
    at: datetime,
    actor: str,
    action: str,
    *,
    participant: str | None = None,
    visit: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """One audit row, as the values to insert (its id and hash come in :func:`add`).

    Every reason a use case records passes here, in its write transaction: one
    that cannot be kept (a control character, which PostgreSQL refuses as NUL
    and terminals run as escapes; more than :data:`MAX_REASON` characters) is
    refused, and the transaction with it."""
    if reason is not None:
        _check_reason(reason)
    return {
        "at": at,
        "actor": actor,
        "action": action,
        "participant": participant,
        "visit": visit,
        "before": dump_json(before) if before is not None else None,
        "after": dump_json(after) if after is not None else None,
        "reason": reason,
    }


#: The longest reason kept (a paragraph; a site closing's is shorter still).
MAX_REASON = 2000


def _check_reason(reason: str) -> None:
    if len(reason) > MAX_REASON:
        raise InputError(
            f"the reason is {len(reason)} characters long; at most {MAX_REASON} are kept",
            field="reason",
        )
    found = refused_character(reason)
    if found is not None:
        why = f"the reason holds {found}; remove it"
        raise InputError(why, field="reason")


def add(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Append rows to the chain, with ids and hashes following the last row."""
    if not rows:
        return
    last_id, previous = _last(session)
    table = cast(Table, insert(AuditEntry).table)  # only ever inserted into
    convert = inserts.Rows(session, table, COLUMNS)
    chained = []
    for offset, values in enumerate(rows, start=1):
        row = {**values, "id": last_id + offset}
        row["hash"] = previous = row_hash(previous, row)
        chained.append(convert.convert([row[name] for name in COLUMNS]))
    # One executemany of values converted as SQLAlchemy would (the ORM's bulk
    # insert would split the batch wherever the set of NULLs changes).
    inserts.insert(session, convert, chained)
    if session.get_bind().dialect.name == "postgresql":
        # Explicit ids do not move the sequence: move it, so no id is handed out twice.
        session.execute(text("SELECT setval('audit_id_seq', :last)"), {"last": last_id + len(rows)})


def _last(session: Session) -> tuple[int, str]:
    """The last id ever given (deleted rows included) and the last hash, locked."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK})
    query = select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)
    found = session.execute(query).first()
    last_id, previous = (found[0], found[1]) if found else (0, GENESIS)
    return max(last_id, highest_id(session, dialect)), previous


def highest_id(session: Session, dialect: str) -> int:
    """The highest id the database has handed out, also for rows removed since."""
    if dialect == "sqlite":
        query = text("SELECT seq FROM sqlite_sequence WHERE name = 'audit'")
        return int(session.execute(query).scalar() or 0)
    if dialect == "postgresql":
        query = text("SELECT last_value, is_called FROM audit_id_seq")
        value, called = session.execute(query).one()
        return int(value) if called else 0
    return 0


def chain_rows(session: Session) -> Generator[dict[str, Any]]:
    """Every row's hashed values and stored hash, in id order, streamed."""
    query = (
        select(  # the values planner.core.chain.FIELDS names, and the hash
            AuditEntry.id,
            AuditEntry.at,
            AuditEntry.actor,
            AuditEntry.action,
            AuditEntry.participant,
            AuditEntry.visit,
            AuditEntry.before,
            AuditEntry.after,
            AuditEntry.reason,
            AuditEntry.hash,
        )
        .order_by(AuditEntry.id)
        .execution_options(yield_per=2000)
    )
    result = session.execute(query)
    try:
        for row in result:
            yield dict(row._mapping)
    finally:
        result.close()  # a server-side cursor, when the walk stops early


def head(session: Session) -> tuple[int, str]:
    """The number of rows and the last row's hash."""
    count = session.scalar(select(func.count(AuditEntry.id))) or 0
    last = session.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1))
    return count, last or GENESIS


def changes_per_visit(session: Session) -> dict[str, int]:
    """How many audited changes (rows with a ``before``) each visit has."""
    query = (
        select(AuditEntry.visit, func.count())
        .where(AuditEntry.visit.is_not(None), AuditEntry.before.is_not(None))
        .group_by(AuditEntry.visit)
    )
    return {str(visit): int(count) for visit, count in session.execute(query)}


def entries(session: Session, participant: str | None = None) -> Sequence[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id)
    if participant is not None:
        query = query.where(AuditEntry.participant == participant)
    return session.scalars(query).all()


def last_ending(session: Session, participant: str) -> tuple[str | None, list[str]] | None:
    """The participant's latest withdrawal or death not reinstated since: its
    ``before`` values (JSON) and the visits it cancelled, or None when there is none.

    An ending writes its cancellations, then its own row, in one transaction:
    the cancellations are the ``cancel`` rows just before it; and, while it
    stands, re-planning cancels a visit it would move past the end date (a
    ``cancel`` row after it), which a reinstatement restores too.
    """
    query = select(AuditEntry).where(AuditEntry.participant == participant)
    rows = list(session.scalars(query.order_by(AuditEntry.id.desc())))
    undone = 0  # endings already reinstated, newest first: each reinstatement undid one
    for index, row in enumerate(rows):
        if row.action == "reinstate" and row.visit is None:
            undone += 1
        elif row.action in ("withdraw", "died") and undone:
            undone -= 1
        elif row.action in ("withdraw", "died"):
            cancelled = []
            for earlier in rows[index + 1 :]:
                if earlier.action != "cancel" or earlier.visit is None:
                    break
                cancelled.append(earlier.visit)
            later = [r.visit for r in rows[:index] if r.action == "cancel" and r.visit]
            return row.before, cancelled + later
    return None


#: The actions that set a participant's own values (arm, day 1, status...).
PARTICIPANT_ACTIONS = ("enroll", "withdraw", "died", "reinstate", "rebaseline")

#: An audit row as the checks of visits and participants read it.
TrailRow = tuple[str, str, str | None, str | None, str | None, str | None]


def participant_rows(session: Session) -> Generator[TrailRow]:
    """(participant, action, visit, ``before``, ``after``, reason) of every row about a
    participant or one of their visits, a participant's rows together in id
    order; streamed."""
    query = (
        select(
            AuditEntry.participant,
            AuditEntry.action,
            AuditEntry.visit,
            AuditEntry.before,
            AuditEntry.after,
            AuditEntry.reason,
        )
        .where(
            AuditEntry.participant.is_not(None),
            AuditEntry.visit.is_not(None) | AuditEntry.action.in_(PARTICIPANT_ACTIONS),
        )
        .order_by(AuditEntry.participant, AuditEntry.id)
        .execution_options(yield_per=5000)
    )
    result = session.execute(query)
    try:
        for participant, action, visit, before, after, reason in result:
            yield str(participant), str(action), visit, before, after, reason
    finally:
        result.close()  # a server-side cursor, when the check stops early


#: The audit actions that set a site's stored values.
SITE_ACTIONS = ("site-add", "site-close", "site-capacity")


def site_rows(session: Session) -> list[tuple[str, str | None, str | None]]:
    """(action, ``after``, reason) of every row that set a site's values, in id
    order (a closing's reason is the row's)."""
    return rows_of(session, SITE_ACTIONS)


def rows_of(session: Session, actions: Sequence[str]) -> list[tuple[str, str | None, str | None]]:
    """(action, ``after``, reason) of every row of these actions, in id order."""
    query = (
        select(AuditEntry.action, AuditEntry.after, AuditEntry.reason)
        .where(AuditEntry.action.in_(actions))
        .order_by(AuditEntry.id)
    )
    return [(str(action), after, reason) for action, after, reason in session.execute(query)]


def source_digests(session: Session) -> list[tuple[datetime, str]]:
    """When, and the ``after`` of, every row that records a protocol source's
    digest, in id order (the first is when planner began recording them)."""
    query = (
        select(AuditEntry.at, AuditEntry.after)
        .where(
            AuditEntry.action.in_(("enroll", "protocol-add")),
            AuditEntry.after.like('%"source_sha256"%'),
        )
        .order_by(AuditEntry.id)
    )
    return [(at, str(after)) for at, after in session.execute(query)]

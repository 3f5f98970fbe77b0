"""Checking the audit trail's hash chain, and publishing its head.

The chain is verified row by row in id order (:mod:`planner.core.chain`);
rows removed from its end show as ids handed out but missing; then every
visit's revision must equal the number of audited changes to it, and every
visit must hold what its audit rows say (:mod:`planner.app.audit_states`), so
a visit changed behind planner's back (with no audit row, its revision raised
or not) shows too; and so must every site's settings, closings and caps
(:mod:`planner.app.site_states`) and every protocol version's source
(:mod:`planner.app.protocol_states`).
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass
from typing import TYPE_CHECKING

from planner.app import access_states, audit_states, protocol_states, site_states
from planner.core.chain import revision_mismatches, walk
from planner.core.visits import visit_id
from planner.store.checks import existing_file
from planner.store.database import Database
from planner.store.engine import resolve_url
from planner.store.repository import audit, visits

if TYPE_CHECKING:
    from sqlalchemy.orm import Session


@dataclass(frozen=True, slots=True)
class AuditCheck:
    """What a verification found: rows read, the head hash, the first problem."""

    rows: int
    head: str
    #: The first audit row (by id) where the chain breaks, if any.
    broken_row: int | None = None
    #: The first visit whose revision disagrees with its audit rows, if any.
    broken_visit: str | None = None
    problem: str | None = None

    @property
    def intact(self) -> bool:
        return self.problem is None


def _existing(db: str | None) -> Database:
    """The database, which must exist: checking a mistyped path must not
    create an empty database there and call it intact."""
    existing_file(resolve_url(db))
    return Database(db)


def verify(db: str | None) -> AuditCheck:
    """Verify the chain, its end, and the visits' revisions against it."""
    database = _existing(db)
    try:
        with database.snapshot() as session:
            with closing(audit.chain_rows(session)) as rows:
                chain = walk(rows)
            if chain.broken is not None:
                why = f"audit row {chain.broken}: {chain.why}"
                return AuditCheck(chain.rows, chain.head, broken_row=chain.broken, problem=why)
            # Ids handed out beyond the last row: rows removed from the end. On
            # SQLite the counter is in the snapshot and rolls back with a
            # transaction; a PostgreSQL sequence does neither (a rolled-back
            # preview, or a write committed while this reads, would look like
            # rows removed), so there only a published head shows a cut end.
            dialect = database.engine.dialect.name
            given = audit.highest_id(session, dialect) if dialect == "sqlite" else 0
            if given > chain.last_id:
                why = (
                    f"audit row {chain.last_id + 1}: removed (the last row is {chain.last_id}, "
                    f"but ids up to {given} were handed out)"
                )
                return AuditCheck(chain.rows, chain.head, broken_row=chain.last_id + 1, problem=why)
            problem = (
                _revisions(session)
                or audit_states.first_problem(session)
                or site_states.first_problem(session)
                or protocol_states.first_problem(session)
                or access_states.first_problem(session)
            )
            if problem is not None:
                name, why = problem
                return AuditCheck(chain.rows, chain.head, broken_visit=name, problem=why)
            return AuditCheck(chain.rows, chain.head)
    finally:
        database.close()


def _revisions(session: Session) -> tuple[str, str] | None:
    """The first visit whose revision is not its number of audited changes."""
    changes = audit.changes_per_visit(session)
    with closing(visits.revisions(session)) as stored:
        names = (
            (visit_id(code, event, number), revision) for code, event, number, revision in stored
        )
        for name, revision, audited in revision_mismatches(names, changes):
            return name, f"visit {name} is at revision {revision} but has {audited} audited changes"
    return None


def head(db: str | None) -> tuple[int, str]:
    """The number of audit rows and the latest row's hash (to pin elsewhere)."""
    database = _existing(db)
    try:
        with database.read() as session:
            return audit.head(session)
    finally:
        database.close()

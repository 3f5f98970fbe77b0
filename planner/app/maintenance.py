"""Database maintenance as library calls: upgrade, backup, restore and check."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from planner.app.context import Context
from planner.app.protocol_states import facts_problem
from planner.core.errors import DatabaseDamaged, PlannerError, SchemaError
from planner.store.backup import backup_to, restore_from
from planner.store.checks import existing_file, file_checks
from planner.store.database import Database
from planner.store.engine import resolve_url, sqlite_path
from planner.store.migrate import HEAD, upgrade
from planner.store.repository import health, protocols

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Upgraded:
    """Where the database is now, and the copy kept of it before (if any)."""

    revision: str
    backup: str | None


def upgrade_database(db: str | None) -> Upgraded:
    """Migrate a database to this version's schema; SQLite files are copied first.

    Works on a database that :class:`~planner.app.Planner` refuses to open
    because its schema is old.
    """
    copy = upgrade(resolve_url(db))
    return Upgraded(HEAD, copy)


def backup(ctx: Context, destination: str) -> int:
    """A consistent copy of the context's (SQLite) database; pages copied."""
    return backup_to(ctx.db.url, destination)


def backup_database(db: str | None, destination: str, *, force: bool = False) -> int:
    """A consistent copy of an SQLite database, even while others write; pages
    copied. An existing ``destination`` is replaced only with ``force``."""
    return backup_to(resolve_url(db), destination, force=force)


@dataclass(frozen=True, slots=True)
class Restored:
    """Pages restored, and where the database's previous content was kept."""

    pages: int
    kept: str | None


def restore_database(db: str | None, backup_file: str, *, now: datetime | None = None) -> Restored:
    """Replace an SQLite database's content with a backup's, keeping a copy of
    the current content first; both files are checked for integrity."""
    url = resolve_url(db)
    path = sqlite_path(url)
    keep = None
    if path is not None and os.path.exists(path):
        keep = f"{path}.before-restore-{(now or datetime.now()).strftime('%Y%m%dT%H%M%S')}"
    return Restored(*restore_from(url, backup_file, keep))


@dataclass(frozen=True, slots=True)
class Finding:
    """One check of ``check_database``: its name, what it found, and a note
    (the audit trail's row count and head) when it found nothing wrong."""

    check: str
    problems: tuple[str, ...]
    note: str = "ok"


@dataclass(frozen=True, slots=True)
class DatabaseCheck:
    findings: tuple[Finding, ...]

    @property
    def sound(self) -> bool:
        return not any(finding.problems for finding in self.findings)


def check_database(db: str | None) -> DatabaseCheck:
    """SQLite's integrity_check and foreign_key_check, every stored value
    readable, and the audit trail's chain: all run, whatever the first finds.

    NotFound for an SQLite file that does not exist (nothing is created).
    """
    url = resolve_url(db)
    existing_file(url)
    _openable(db, sqlite_path(url) is None)
    findings = [Finding(name, tuple(problems)) for name, problems in file_checks(url)]
    findings.append(_audit_finding(db))
    findings.append(_triggers_finding(db))
    findings.append(_facts_finding(db))
    findings.append(_codes_finding(db))
    return DatabaseCheck(tuple(findings))


def _read(db: str | None, ask: Callable[[Session], T]) -> T | str:
    """What ``ask`` reads in one reading transaction, or why it could not."""
    try:
        database = Database(db)
    except PlannerError as error:
        return f"cannot be read: {error}"
    try:
        with database.read() as session:
            return ask(session)
    except PlannerError as error:
        return f"cannot be read: {error}"
    finally:
        database.close()


def _triggers_finding(db: str | None) -> Finding:
    """Whether the audit table's append-only triggers are all there."""
    missing = _read(db, lambda session: health.audit_triggers(session.connection()))
    if isinstance(missing, str):
        return Finding("audit triggers", (missing,))
    return Finding("audit triggers", tuple(missing), "all in place")


def _openable(db: str | None, server: bool) -> None:
    """Say so when a database is at another schema (upgrade it first) or a server
    cannot be reached: neither is damage, and the checks would call it that. An
    SQLite file that cannot be opened at all is left to the checks, which name it."""
    try:
        Database(db).close()
    except DatabaseDamaged:
        return  # the checks say where
    except SchemaError as error:
        if error.field in ("schema", "schema_newer") or server:
            raise


def _facts_finding(db: str | None) -> Finding:
    """Whether each stored protocol version's facts (what visit records show
    of it, :mod:`planner.core.facts`) are those of its source."""
    stored = _read(db, protocols.stored_facts)
    if isinstance(stored, str):
        return Finding("protocol facts", (stored,))
    problems = tuple(filter(None, (facts_problem(*row) for row in stored)))
    count = f"{len(stored)} version{'' if len(stored) == 1 else 's'}"
    return Finding("protocol facts", problems, f"match their sources: {count}")


def _codes_finding(db: str | None) -> Finding:
    """Whether two participant (or site) codes differ only in letter case."""
    found = _read(db, lambda session: health.case_twins(session.connection()))
    if isinstance(found, str):
        return Finding("codes", (found,))
    twins, compared = found
    return Finding("codes", tuple(twins), f"no two differ only in case: {compared}")


def _audit_finding(db: str | None) -> Finding:
    from planner.app.audit_chain import verify

    try:
        check = verify(db)
    except DatabaseDamaged as error:
        return Finding("audit trail", (f"cannot be read: {error.value or error}",))
    except PlannerError as error:
        return Finding("audit trail", (f"cannot be verified: {error}",))
    if check.problem is not None:
        return Finding("audit trail", (check.problem,))
    return Finding("audit trail", (), f"intact: {check.rows} rows, head {check.head}")


def damaged(db: str | None) -> bool:
    """Whether an existing SQLite database is damaged (asked after an
    unexpected failure, to name the damage instead): never creates a file."""
    try:
        url = resolve_url(db)
        path = sqlite_path(url)
        if path is None or not os.path.isfile(path):
            return False
        database = Database(db)
    except DatabaseDamaged:
        return True
    except Exception:  # the first failure is the one to report
        return False
    try:
        return database.damaged()
    finally:
        database.close()


def in_memory(db: str | None) -> bool:
    """Whether ``db`` names an SQLite database in memory (``sqlite://``)."""
    url = resolve_url(db)
    return url.get_backend_name() == "sqlite" and sqlite_path(url) is None

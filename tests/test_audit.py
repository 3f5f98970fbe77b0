"""The audit trail (SPEC §5): one row per change, append-only.

Every change writes one row: when (UTC), who, what, the visit or participant,
before and after values, and why. No path in the application edits or deletes
a row, and the database itself refuses to.
"""

from __future__ import annotations

import ast
import json
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError

import planner as planner_package
from planner.app import Planner
from planner.core.errors import NotFound
from planner.store.engine import make_engine
from planner.store.models import AuditEntry
from tests.conftest import dump

Cli = Callable[..., Any]

PLANNER_SOURCE = Path(planner_package.__file__).parent
APPEND_ONLY = "the audit trail is append-only"


def ok(result: Any) -> Any:
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    return result


def assert_refused(result: Any, code: int, *fragments: str) -> None:
    assert result.exit_code == code, (result.exit_code, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("planner: error: ")
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def audit_rows(path: Path) -> list[tuple[str, ...]]:
    """Every audit row, each value as its exact SQL literal (byte for byte)."""
    connection = sqlite3.connect(path)
    try:
        return connection.execute(
            "SELECT quote(id), quote(at), quote(actor), quote(action), quote(participant), "
            "quote(visit), quote(before), quote(after), quote(reason) FROM audit ORDER BY id"
        ).fetchall()
    finally:
        connection.close()


def summary(entries: list[dict[str, Any]]) -> list[tuple[str, str | None, str | None]]:
    return [(e["action"], e["visit"] or e["participant"], e["reason"]) for e in entries]


# ------------------------------------------------------- one row per change


def _scenario(planner: Planner) -> None:
    planner.add_site("WUH", "Asia/Shanghai")
    planner.enroll("WUH-002", "cs-huc-mscs", "MED", "WUH", date(2026, 4, 20))
    planner.complete("WUH-002/INF/1", date(2026, 4, 20))
    planner.move("WUH-002/FU/4", date(2026, 10, 8), reason="travel")
    planner.miss("WUH-002/IHFU/1")
    planner.withdraw("WUH-002", date(2026, 6, 15), reason="consent withdrawn")
    planner.enroll("WUH-003", "ucmsc-dlc", "G1", "WUH", date(2026, 3, 2))
    planner.complete("WUH-003/INF/1", date(2026, 3, 2))
    planner.complete("WUH-003/INF/2", date(2026, 3, 8))
    planner.died("WUH-003", date(2026, 10, 1))


def test_every_change_is_one_row_with_before_and_after(planner: Planner) -> None:
    _scenario(planner)
    entries = [e.to_json() for e in planner.audit("WUH-002")]
    assert summary(entries) == [
        ("enroll", "WUH-002", None),
        ("complete", "WUH-002/INF/1", None),
        ("move", "WUH-002/FU/4", "travel"),
        ("replan", "WUH-002/SURV/1", None),
        ("replan", "WUH-002/SURV/2", None),
        ("replan", "WUH-002/SURV/3", None),
        ("miss", "WUH-002/IHFU/1", None),
        ("cancel", "WUH-002/FU/3", "consent withdrawn"),
        ("cancel", "WUH-002/FU/4", "consent withdrawn"),
        ("withdraw", "WUH-002", "consent withdrawn"),
    ]
    assert all(e["at"] == "2026-11-22T08:30:00Z" for e in entries)
    assert all(e["actor"] == "tester" for e in entries)
    assert all(e["participant"] == "WUH-002" for e in entries)

    enroll, complete, move, surv1, _, _, miss, cancel3, cancel4, withdraw = entries
    assert enroll["before"] is None
    assert enroll["after"]["protocol"] == "cs-huc-mscs"
    assert enroll["after"]["arm"] == "MED"
    assert enroll["after"]["day1"] == "2026-04-20"
    assert enroll["after"]["visits"] == 14
    assert complete["before"] == {
        "status": "scheduled",
        "actual": None,
        "deviation": False,
        "revision": 0,
    }
    assert complete["after"] == {
        "status": "completed",
        "actual": "2026-04-20",
        "deviation": False,
        "revision": 1,
    }
    assert move["before"]["target"] == "2026-10-05"
    assert move["after"]["target"] == "2026-10-08"
    assert (move["before"]["revision"], move["after"]["revision"]) == (0, 1)
    assert surv1["before"]["target"] == "2027-04-05"
    assert surv1["after"]["target"] == "2027-04-08"
    assert (surv1["before"]["window_start"], surv1["after"]["window_start"]) == (
        "2027-03-22",
        "2027-03-25",
    )
    assert (surv1["before"]["revision"], surv1["after"]["revision"]) == (0, 1)
    assert (miss["before"]["status"], miss["after"]["status"]) == ("scheduled", "missed")
    assert (cancel3["before"]["status"], cancel3["after"]["status"]) == ("scheduled", "cancelled")
    # FU/4 was moved first: its cancellation goes from revision 1 to 2.
    assert (cancel4["before"]["revision"], cancel4["after"]["revision"]) == (1, 2)
    assert withdraw["visit"] is None
    assert withdraw["before"] == {"status": "active", "ended_on": None}
    assert withdraw["after"] == {"status": "withdrawn", "ended_on": "2026-06-15", "cancelled": 2}

    died = [e.to_json() for e in planner.audit("WUH-003")]
    assert summary(died) == [
        ("enroll", "WUH-003", None),
        ("complete", "WUH-003/INF/1", None),
        ("complete", "WUH-003/INF/2", None),
        ("replan", "WUH-003/INF/3", None),
        ("replan", "WUH-003/INF/4", None),
        ("cancel", "WUH-003/FU/4", "died"),
        ("cancel", "WUH-003/FU/5", "died"),
        ("cancel", "WUH-003/SURV/1", "died"),
        ("died", "WUH-003", None),
    ]
    assert died[-1]["after"] == {"status": "died", "ended_on": "2026-10-01", "cancelled": 3}
    assert died[2]["after"]["deviation"] is True  # INF/2 two days late

    everything = planner.audit()
    assert len(everything) == 1 + len(entries) + len(died)  # + site-add
    assert everything[0].action == "site-add"


def test_the_revision_chain_in_the_audit_has_no_gaps(planner: Planner) -> None:
    """Each visit's audit rows go 0→1→2…, ending at the visit's revision."""
    _scenario(planner)
    for code in ("WUH-002", "WUH-003"):
        last: dict[str, int] = {}
        for entry in planner.audit(code):
            if entry.visit is None:
                continue
            assert entry.before is not None and entry.after is not None
            assert entry.before["revision"] == last.get(entry.visit, 0), entry
            assert entry.after["revision"] == entry.before["revision"] + 1
            last[entry.visit] = entry.after["revision"]
        for record in planner.schedule(code):
            assert record.revision == last.get(record.visit_id, 0), record.visit_id


def test_audit_of_an_unknown_participant_is_an_error(planner: Planner, cli: Cli) -> None:
    planner.add_site("WUH", "Asia/Shanghai")
    with pytest.raises(NotFound, match="unknown participant 'NOPE-1'"):
        planner.audit("NOPE-1")
    assert_refused(cli("audit", "NOPE-1"), 2, "unknown participant 'NOPE-1'")


# ---------------------------------------------------- the command line


@pytest.fixture
def local_zone_far_from_utc() -> Iterator[None]:
    """Run with the process's local zone at UTC+8, to catch local timestamps."""
    import os

    saved = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Shanghai"
    time.tzset()
    try:
        yield
    finally:
        if saved is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = saved
        time.tzset()


def test_cli_audit_json_has_who_when_what_and_why(
    cli: Cli, monkeypatch: pytest.MonkeyPatch, local_zone_far_from_utc: None
) -> None:
    # getpass.getuser() reads LOGNAME first: the default actor is the OS user.
    monkeypatch.setenv("LOGNAME", "nurse-kim")
    start = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    ok(cli("site", "add", "WUH", "--timezone", "Asia/Shanghai"))
    ok(
        cli(
            "enroll",
            "WUH-002",
            "--protocol",
            "cs-huc-mscs",
            "--arm",
            "MED",
            "--site",
            "WUH",
            "--day1",
            "2026-04-20",
        )
    )
    ok(cli("visit", "complete", "WUH-002/INF/1", "--on", "2026-04-20"))
    ok(
        cli(
            "--actor",
            "alice",
            "visit",
            "move",
            "WUH-002/FU/4",
            "--to",
            "2026-10-08",
            "--reason",
            "patient travelling",
        )
    )
    ok(cli("--actor", "bob", "visit", "miss", "WUH-002/IHFU/1"))
    ok(
        cli(
            "--actor",
            "alice",
            "participant",
            "withdraw",
            "WUH-002",
            "--on",
            "2026-06-15",
            "--reason",
            "consent withdrawn",
        )
    )
    end = datetime.now(UTC).replace(tzinfo=None) + timedelta(seconds=1)

    entries = json.loads(ok(cli("audit", "WUH-002", "--format", "json")).stdout)
    assert [(e["action"], e["visit"] or e["participant"], e["actor"]) for e in entries] == [
        ("enroll", "WUH-002", "nurse-kim"),
        ("complete", "WUH-002/INF/1", "nurse-kim"),
        ("move", "WUH-002/FU/4", "alice"),
        ("replan", "WUH-002/SURV/1", "alice"),
        ("replan", "WUH-002/SURV/2", "alice"),
        ("replan", "WUH-002/SURV/3", "alice"),
        ("miss", "WUH-002/IHFU/1", "bob"),
        ("cancel", "WUH-002/FU/3", "alice"),
        ("cancel", "WUH-002/FU/4", "alice"),
        ("withdraw", "WUH-002", "alice"),
    ]
    for entry in entries:
        assert set(entry) == {
            "at",
            "actor",
            "action",
            "participant",
            "visit",
            "before",
            "after",
            "reason",
        }
        assert entry["at"].endswith("Z")
        at = datetime.fromisoformat(entry["at"].removesuffix("Z"))
        assert start <= at <= end, (start, at, end)  # UTC, not the local UTC+8
    move = entries[2]
    assert move["reason"] == "patient travelling"
    assert (move["before"]["target"], move["after"]["target"]) == ("2026-10-05", "2026-10-08")
    assert entries[-1]["reason"] == "consent withdrawn"
    assert entries[-1]["after"]["status"] == "withdrawn"

    table = ok(cli("audit", "WUH-002")).stdout
    assert "alice" in table and "nurse-kim" in table and "bob" in table

    everything = json.loads(ok(cli("audit", "--format", "json")).stdout)
    assert [e["action"] for e in everything][:2] == ["site-add", "enroll"]
    assert everything[0]["actor"] == "nurse-kim"


def test_failed_commands_write_no_audit_row(cli: Cli, db_path: Path) -> None:
    ok(cli("site", "add", "WUH", "--timezone", "Asia/Shanghai"))
    ok(
        cli(
            "enroll",
            "WUH-002",
            "--protocol",
            "cs-huc-mscs",
            "--arm",
            "MED",
            "--site",
            "WUH",
            "--day1",
            "2026-04-20",
        )
    )
    before = dump(db_path)
    assert_refused(cli("visit", "move", "WUH-002/FU/4", "--to", "2026-11-30"), 2, "window")
    assert_refused(cli("visit", "complete", "WUH-002/FU/4", "--on", "2031-01-01"), 2, "future")
    assert_refused(cli("participant", "died", "WUH-002", "--on", "2031-01-01"), 2, "future")
    assert dump(db_path) == before


# --------------------------------------- (a) the database refuses changes


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit SET actor = 'mallory'",
        "UPDATE audit SET reason = 'tidied up' WHERE id = 2",
        "DELETE FROM audit",
        "DELETE FROM audit WHERE id = (SELECT max(id) FROM audit)",
    ],
)
def test_the_database_refuses_update_and_delete(
    planner: Planner, db_path: Path, statement: str
) -> None:
    _scenario(planner)
    before = dump(db_path)
    connection = sqlite3.connect(db_path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match=APPEND_ONLY):
            connection.execute(statement)
        connection.rollback()
    finally:
        connection.close()
    assert dump(db_path) == before


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT OR REPLACE INTO audit (id, at, actor, action) "
        "VALUES (1, '2020-01-01 00:00:00', 'mallory', 'nothing')",
        "REPLACE INTO audit (id, at, actor, action) "
        "VALUES (2, '2020-01-01 00:00:00', 'mallory', 'nothing')",
    ],
    ids=["insert-or-replace", "replace"],
)
def test_the_database_refuses_to_replace_an_audit_row(
    planner: Planner, db_path: Path, statement: str
) -> None:
    """REPLACE deletes the old row without firing DELETE triggers (SQLite docs:
    only with recursive_triggers on), so it must be refused some other way."""
    _scenario(planner)
    before = audit_rows(db_path)
    connection = sqlite3.connect(db_path)
    try:
        with pytest.raises(sqlite3.DatabaseError, match=APPEND_ONLY):
            connection.execute(statement)
        connection.rollback()
    finally:
        connection.close()
    assert audit_rows(db_path) == before


def test_the_applications_own_engine_cannot_change_the_audit(
    planner: Planner, db_path: Path
) -> None:
    _scenario(planner)
    before = dump(db_path)
    for statement in (
        update(AuditEntry).values(actor="mallory"),
        delete(AuditEntry).where(AuditEntry.id == 1),
    ):
        engine = make_engine(planner.url)  # configured exactly as the application's
        with pytest.raises(IntegrityError, match=APPEND_ONLY), engine.begin() as conn:
            conn.execute(statement)
        engine.dispose()
    assert dump(db_path) == before


# ------------------------------ (b) no code path edits or deletes a row


_RAW_SQL = re.compile(
    r"""\b(?:
        update(?:\s+or\s+\w+)?
      | delete\s+from
      | (?:insert\s+or\s+replace|replace)\s+into
      | drop\s+(?:table|trigger)(?:\s+if\s+exists)?
      | alter\s+table
      | truncate(?:\s+table)?
    )\s+["'`\[]?audit""",
    re.IGNORECASE | re.VERBOSE,
)
_COLUMNS = set(AuditEntry.__table__.columns.keys())
_UNSAFE_CHAINS = {"prefix_with", "on_conflict_do_update", "on_duplicate_key_update"}


def _strings(node: ast.AST) -> Iterator[str]:
    for child in ast.walk(node):
        if isinstance(child, ast.Constant) and isinstance(child.value, str):
            yield child.value


def _parent_map(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    """Each node of ``tree`` mapped to the node that contains it."""
    parents: dict[ast.AST, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    return parents


def _called_name(func: ast.AST) -> str:
    """``update`` for both ``update(...)`` and ``sa.update(...)``; "" if neither."""
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _where(filename: str, node: ast.AST) -> str:
    return f"{filename}:{getattr(node, 'lineno', '?')}"


def _raw_sql_write_paths(node: ast.Constant, text: str, filename: str) -> list[str]:
    """``node``, a string literal, holds SQL (``text``) that changes or removes audit rows."""
    if not _RAW_SQL.search(text):
        return []
    return [f"{_where(filename, node)}: SQL on audit: {text.strip()[:60]!r}"]


def _call_write_paths(node: ast.Call, filename: str) -> list[str]:
    """``session.merge(...)``, and ``table("audit", ...)`` / ``Table("audit", ...)``."""
    found: list[str] = []
    name = _called_name(node.func)
    if name == "merge":
        found.append(f"{_where(filename, node)}: session.merge() can overwrite rows")
    if name in {"table", "Table"} and "audit" in list(_strings(node))[:1]:
        found.append(f"{_where(filename, node)}: a Table object for audit")
    return found


def _audit_entry_argument_write_paths(
    node: ast.Name, call: ast.Call, parents: dict[ast.AST, ast.AST], filename: str
) -> list[str]:
    """``AuditEntry`` as the first argument of ``call``: only select and plain insert."""
    cname = _called_name(call.func)
    if cname == "select":
        return []
    if cname == "insert":
        above = parents.get(call)
        if isinstance(above, ast.Attribute) and above.attr in _UNSAFE_CHAINS:
            return [f"{_where(filename, node)}: insert(AuditEntry).{above.attr}"]
        return []
    return [f"{_where(filename, node)}: {cname}(AuditEntry)"]


def _audit_entry_write_paths(
    node: ast.Name, parents: dict[ast.AST, ast.AST], filename: str
) -> list[str]:
    """A use of the name ``AuditEntry`` that is not one of the allowed ones."""
    parent = parents.get(node)
    if isinstance(parent, ast.Call) and parent.func is node:
        return []  # AuditEntry(...): a new row
    if isinstance(parent, ast.Call) and parent.args and parent.args[0] is node:
        return _audit_entry_argument_write_paths(node, parent, parents, filename)
    if isinstance(parent, ast.Attribute) and parent.attr in _COLUMNS:
        return []  # AuditEntry.id in a query
    if isinstance(parent, (ast.Subscript, ast.arg, ast.AnnAssign)):
        return []  # annotations
    if isinstance(parent, ast.Attribute):
        return [f"{_where(filename, node)}: AuditEntry.{parent.attr}"]
    return [f"{_where(filename, node)}: AuditEntry used as {type(parent).__name__}"]


def audit_write_paths(source: str, filename: str) -> list[str]:
    """Every place in ``source`` that could change or remove an audit row.

    Allowed uses of ``AuditEntry``: constructing one, ``insert(AuditEntry)``
    without upsert clauses, ``select(AuditEntry)``, its columns in queries,
    and type annotations. Anything else (``update(AuditEntry)``,
    ``delete(AuditEntry)``, ``session.query(AuditEntry)``, its ``__table__``,
    ``session.merge``) is reported, and so is raw SQL that updates, deletes,
    replaces, alters or drops the ``audit`` table or its triggers.
    """
    tree = ast.parse(source, filename)
    parents = _parent_map(tree)
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found += _raw_sql_write_paths(node, node.value, filename)
        elif isinstance(node, ast.Call):
            found += _call_write_paths(node, filename)
        elif isinstance(node, ast.Name) and node.id == "AuditEntry":
            found += _audit_entry_write_paths(node, parents, filename)
    return found


@pytest.mark.parametrize(
    "snippet",
    [
        "session.execute(update(AuditEntry).values(actor='x'))",
        "session.execute(delete(AuditEntry))",
        "session.execute(sa.delete(AuditEntry).where(AuditEntry.id == 1))",
        "session.query(AuditEntry).delete()",
        "AuditEntry.__table__.update()",
        "session.execute(insert(AuditEntry).prefix_with('OR REPLACE'), rows)",
        "session.merge(entry)",
        "session.execute(text('UPDATE audit SET actor = :a'))",
        "connection.exec_driver_sql('delete from \"audit\" where id = 3')",
        "conn.execute(text(f'DELETE FROM audit WHERE id = {n}'))",
        "op.execute('DROP TRIGGER audit_no_update')",
        "sql = 'INSERT OR REPLACE INTO audit VALUES (1)'",
        "t = table('audit', column('actor'))",
    ],
)
def test_the_static_check_finds_write_paths(snippet: str) -> None:
    assert audit_write_paths(snippet, "snippet.py"), snippet


def test_the_static_check_allows_appending_and_reading() -> None:
    allowed = """
session.add(AuditEntry(at=now, actor=actor, action="x"))
session.execute(insert(AuditEntry), rows)
query = select(AuditEntry).order_by(AuditEntry.id).where(AuditEntry.participant == code)
entries: list[AuditEntry] = []
session.delete(capacity_row)
session.execute(update(Visit).where(Visit.id == 1).values(revision=2))
note = "the database refuses UPDATE and DELETE on this table"
"""
    assert audit_write_paths(allowed, "allowed.py") == []


def test_no_code_in_planner_edits_or_deletes_audit_rows() -> None:
    files = sorted(PLANNER_SOURCE.rglob("*.py"))
    assert PLANNER_SOURCE / "app" / "planner.py" in files
    found: list[str] = []
    uses = 0
    for path in files:
        source = path.read_text(encoding="utf-8")
        uses += source.count("AuditEntry")
        found += audit_write_paths(source, str(path.relative_to(PLANNER_SOURCE.parent)))
    assert found == []
    assert uses > 0  # the check looked at the code that writes the audit


# ---------------- (c) a long scenario: the trail only grows, rows never change


def enroll_args(code: str, protocol: str, arm: str, site: str, day1: str) -> list[str]:
    return ["enroll", code, "--protocol", protocol, "--arm", arm, "--site", site, "--day1", day1]


def test_the_trail_only_grows_and_old_rows_stay_identical(cli: Cli, db_path: Path) -> None:
    steps: list[tuple[bool, list[str]]] = [
        (True, ["site", "add", "WUH", "--timezone", "Asia/Shanghai"]),
        (True, ["site", "add", "LAX", "--timezone", "America/Los_Angeles"]),
        (True, enroll_args("WUH-001", "ucmsc-dlc", "G1", "WUH", "2026-03-02")),
        (True, enroll_args("WUH-002", "cs-huc-mscs", "MED", "WUH", "2026-04-20")),
        (True, enroll_args("LAX-001", "ucmsc-dlc", "G2", "LAX", "2026-05-04")),
        (True, ["visit", "complete", "WUH-001/INF/1", "--on", "2026-03-02"]),
        (True, ["visit", "complete", "WUH-001/INF/2", "--on", "2026-03-08"]),
        (False, ["visit", "complete", "WUH-001/INF/2", "--on", "2026-03-08"]),
        (True, ["--actor", "alice", "visit", "move", "WUH-001/INF/3", "--to", "2026-03-13"]),
        (False, ["visit", "move", "WUH-001/INF/4", "--to", "2026-04-01"]),
        (True, ["visit", "move", "WUH-001/INF/4", "--to", "2026-04-01", "--force"]),
        (True, ["visit", "complete", "WUH-001/INF/3", "--on", "2026-03-13"]),
        (True, ["visit", "miss", "WUH-001/INF/4"]),
        (False, ["visit", "miss", "WUH-001/INF/4"]),
        (True, ["visit", "move", "WUH-002/FU/4", "--to", "2026-10-08", "--reason", "travel"]),
        (True, ["visit", "complete", "WUH-002/INF/1", "--on", "2026-04-21"]),
        (False, ["visit", "complete", "WUH-002/INF/2", "--on", "2026-04-21", "--revision", "7"]),
        (True, ["visit", "complete", "WUH-002/INF/2", "--on", "2026-04-27", "--revision", "0"]),
        (True, ["participant", "withdraw", "WUH-002", "--on", "2026-06-15", "--reason", "x"]),
        (False, ["participant", "withdraw", "WUH-002", "--on", "2026-06-16"]),
        (True, ["participant", "withdraw", "WUH-001", "--on", "2026-04-01", "--cancel-survival"]),
        (True, ["visit", "complete", "LAX-001/INF/1", "--on", "2026-05-05"]),
        (True, ["participant", "died", "LAX-001", "--on", "2026-09-30"]),
        (False, ["participant", "died", "LAX-001", "--on", "2026-09-30"]),
        (True, ["participant", "died", "WUH-002", "--on", "2026-10-20"]),
    ]
    rows: list[tuple[str, ...]] = []
    for succeeds, args in steps:
        result = cli(*args)
        assert (result.exit_code == 0) is succeeds, (args, result.stderr)
        now = audit_rows(db_path)
        if succeeds:
            assert len(now) > len(rows), args
        else:
            assert len(now) == len(rows), args
        assert now[: len(rows)] == rows, args  # byte-identical earlier rows
        rows = now
    actions = [row[3] for row in rows]
    for action in (
        "'site-add'",
        "'enroll'",
        "'complete'",
        "'replan'",
        "'move'",
        "'miss'",
        "'cancel'",
        "'withdraw'",
        "'died'",
    ):
        assert action in actions, action
    ids = [int(row[0]) for row in rows]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)

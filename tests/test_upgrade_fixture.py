"""Upgrading a real old database keeps every row, and keeps a backup first.

Every ``tests/fixtures/schema-*.db`` (a database made through the CLI at an
old schema revision) is copied and upgraded with ``planner db upgrade``:
participants, visits, audit rows and every other table keep the same rows with
the same values in their old columns; the backup written first is a valid
database at the old revision holding exactly the old rows; and before the
upgrade every other command is refused with a message that says to run
``planner db upgrade``.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from planner.store.migrate import HEAD, upgrade
from tests.conftest import dump

Cli = Callable[..., Any]

FIXTURES = sorted((Path(__file__).parent / "fixtures").glob("schema-*.db"))
IDS = [path.stem for path in FIXTURES]

Table = tuple[tuple[str, ...], list[tuple[Any, ...]]]


def read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def revision(path: Path) -> str:
    connection = read_only(path)
    try:
        rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    finally:
        connection.close()
    assert len(rows) == 1
    return str(rows[0][0])


def snapshot(path: Path) -> dict[str, Table]:
    """Every data table: its columns and its rows, in primary-key order."""
    connection = read_only(path)
    try:
        names = [
            name
            for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite_%' AND name != 'alembic_version' ORDER BY name"
            )
        ]
        tables: dict[str, Table] = {}
        for name in names:
            columns = tuple(row[1] for row in connection.execute(f'PRAGMA table_info("{name}")'))
            rows = connection.execute(f'SELECT * FROM "{name}" ORDER BY rowid').fetchall()
            tables[name] = (columns, rows)
        return tables
    finally:
        connection.close()


def projected(path: Path, table: str, columns: tuple[str, ...]) -> list[tuple[Any, ...]]:
    """The rows of a table, only the given columns, in primary-key order."""
    connection = read_only(path)
    try:
        listed = ", ".join(f'"{column}"' for column in columns)
        return connection.execute(f'SELECT {listed} FROM "{table}" ORDER BY rowid').fetchall()
    finally:
        connection.close()


def checks(path: Path) -> tuple[str, list[Any]]:
    connection = read_only(path)
    try:
        integrity = connection.execute("PRAGMA integrity_check").fetchone()[0]
        foreign = connection.execute("PRAGMA foreign_key_check").fetchall()
    finally:
        connection.close()
    return integrity, foreign


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_there_are_fixtures_and_they_are_old() -> None:
    assert FIXTURES, "tests/fixtures/schema-*.db: no old database to upgrade"
    for path in FIXTURES:
        number = re.fullmatch(r"schema-(\d+)", path.stem)
        assert number, path.name
        assert revision(path) == number.group(1), f"{path.name} is not at its named revision"
        assert revision(path) != HEAD


@pytest.fixture(params=FIXTURES, ids=IDS)
def old_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    """A copy of one fixture; the fixture itself must stay as it is."""
    fixture: Path = request.param
    before = digest(fixture)
    copy = tmp_path / "old" / "planner.db"
    copy.parent.mkdir()
    shutil.copyfile(fixture, copy)
    yield copy
    assert digest(fixture) == before, f"the test changed {fixture}"


def test_upgrade_keeps_every_row_and_writes_a_backup_first(
    cli: Cli, old_db: Path, tmp_path: Path
) -> None:
    old_revision = revision(old_db)
    before = snapshot(old_db)
    for table in ("participants", "visits", "audit", "sites", "protocol_versions"):
        assert before[table][1], f"the fixture has no {table}: nothing to keep"

    result = cli("db", "upgrade", db=old_db)

    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[-1] == f"database is at schema revision {HEAD}"
    written = [line.removeprefix("backup written to ") for line in lines if "backup" in line]
    assert len(written) == 1, result.stdout
    backup = Path(written[0])

    # The database: at HEAD, sound, every old row with the same old values.
    assert revision(old_db) == HEAD
    assert checks(old_db) == ("ok", [])
    after = snapshot(old_db)
    for table, (columns, rows) in before.items():
        assert table in after, f"table {table} disappeared"
        new_columns = after[table][0]
        assert set(columns) <= set(new_columns), f"{table} lost columns"
        assert projected(old_db, table, columns) == rows, f"{table}: rows changed"
        assert len(after[table][1]) == len(rows), f"{table}: rows added by the upgrade"

    # The backup: next to the database, at the old revision, with the old rows.
    assert backup.is_absolute()
    assert backup.parent == old_db.parent
    assert backup.name.startswith(f"{old_db.name}.{old_revision}-")
    assert backup.exists()
    assert checks(backup) == ("ok", [])
    assert revision(backup) == old_revision
    assert snapshot(backup) == before

    # The upgraded database works, and shows the same visits as before.
    connection = read_only(backup)
    try:
        old_visits = {
            row[0]: row
            for row in connection.execute(
                "SELECT p.code || '/' || v.event || '/' || v.occurrence, v.target, v.status,"
                " v.actual, v.revision FROM visits v JOIN participants p"
                " ON p.id = v.participant_id"
            )
        }
    finally:
        connection.close()
    codes = [row[1] for row in before["participants"][1]]
    shown = {}
    for code in codes:
        schedule = cli("schedule", code, "--format", "json", db=old_db)
        assert schedule.exit_code == 0, schedule.stderr
        for visit in json.loads(schedule.stdout):
            shown[visit["visit_id"]] = (
                visit["visit_id"], visit["target"], visit["status"], visit["actual"],
                visit["revision"],
            )  # fmt: skip
    assert shown == old_visits
    entries = json.loads(cli("audit", "--format", "json", db=old_db).stdout)
    assert len(entries) == len(before["audit"][1])
    # Its rows vouch for what an old planner stored (visits with no reason kept,
    # sites with their time zone only): no false alarm.
    verified = cli("audit", "verify", db=old_db)
    assert verified.exit_code == 0 and verified.stdout.startswith("audit trail intact"), verified

    # A second upgrade has nothing to do and copies nothing.
    again = cli("db", "upgrade", db=old_db)
    assert again.exit_code == 0, again.stderr
    assert again.stdout.splitlines() == [f"database is at schema revision {HEAD}"]
    assert sorted(p.name for p in old_db.parent.glob("*.bak")) == [backup.name]


COMMANDS = [
    ("site", "list"),
    ("protocol", "list"),
    ("schedule", "WUH-001"),
    ("upcoming", "--from", "2026-03-01", "--days", "60"),
    ("overdue", "--as-of", "2026-12-01"),
    ("audit",),
    ("export", "ics"),
    ("site", "add", "PAR", "--timezone", "Europe/Paris"),
    ("enroll", "NEW-001", "--protocol", "ucmsc-dlc", "--arm", "G1", "--site", "WUH",
     "--day1", "2026-03-02"),
    ("visit", "complete", "WUH-001/INF/3", "--on", "2026-03-12"),
    ("participant", "withdraw", "WUH-001", "--on", "2026-04-01"),
]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS, ids=[" ".join(c[:2]) for c in COMMANDS])
def test_other_commands_are_refused_until_the_upgrade(
    cli: Cli, old_db: Path, command: tuple[str, ...]
) -> None:
    old_revision = revision(old_db)
    before = dump(old_db)

    result = cli(*command, db=old_db)

    assert result.exit_code == 1, (result.exit_code, result.stderr)  # not the user's input
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("planner: error: ")
    assert "planner db upgrade" in lines[0]
    assert old_revision in lines[0]
    assert "Traceback" not in result.stderr
    assert dump(old_db) == before
    assert revision(old_db) == old_revision
    assert not list(old_db.parent.glob("*.bak"))


def test_upgrades_in_the_same_second_keep_one_backup_each(old_db: Path) -> None:
    """Another upgrade of the same file in the same second wrote its backup
    under the name this one would take: it is left alone, this one's is -2."""
    old_revision = revision(old_db)
    before = snapshot(old_db)
    taken = old_db.parent / f"{old_db.name}.{old_revision}-20261206T094500.bak"
    taken.write_bytes(b"another upgrade's backup")

    copy = upgrade(make_url(f"sqlite:///{old_db}"), now=datetime(2026, 12, 6, 9, 45))

    assert copy == f"{taken.with_suffix('')}-2.bak"
    assert taken.read_bytes() == b"another upgrade's backup"
    assert revision(Path(copy)) == old_revision and snapshot(Path(copy)) == before
    assert revision(old_db) == HEAD


def test_two_upgrades_at_once_both_succeed_with_a_backup_each(tmp_path: Path) -> None:
    """``planner db upgrade`` processes on one old file at the same moment take
    turns: the first upgrades (after its backup), the others find it done. They
    ran the same migrations twice ("expected to match one row when updating
    '0005' to '0006'")."""
    db = tmp_path / "planner.db"
    shutil.copyfile(FIXTURES[-1], db)
    script = "from planner.cli.root import main; main()"
    argv = [sys.executable, "-c", script, "--db", str(db), "db", "upgrade"]
    runs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             cwd=tmp_path) for _ in range(4)]  # fmt: skip
    outcomes = [(run.wait(timeout=120), *run.communicate()) for run in runs]

    assert [code for code, _, _ in outcomes] == [0, 0, 0, 0], outcomes
    assert revision(db) == HEAD
    backups = sorted(db.parent.glob("*.bak"))
    assert len(backups) == 1  # the first one's: the others found the work done
    for backup in backups:
        assert checks(backup) == ("ok", [])


def test_a_new_database_gets_no_lock_file_beside_it(cli: Cli, tmp_path: Path) -> None:
    """Only an upgrade of an older schema takes turns on ``<db>.upgrade-lock``."""
    db = tmp_path / "new" / "planner.db"
    db.parent.mkdir()
    result = cli("site", "add", "WUH", "--timezone", "UTC", db=db)
    assert result.exit_code == 0, result.stderr
    assert not (db.parent / "planner.db.upgrade-lock").exists()
    assert cli("db", "upgrade", db=db).exit_code == 0  # at its schema already: nothing to do
    assert not (db.parent / "planner.db.upgrade-lock").exists()

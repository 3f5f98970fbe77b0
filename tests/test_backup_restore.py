"""``planner db backup`` never writes over an existing path unless forced, and
never next to a stale WAL; ``planner db restore`` keeps the current database
first, handles WAL and SHM, and checks integrity.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult, dump

Cli = Callable[..., CliResult]


def ok(result: CliResult) -> CliResult:
    assert result.exit_code == 0, result.stderr
    return result


def codes(path: Path) -> list[str]:
    connection = sqlite3.connect(path)
    try:
        return [row[0] for row in connection.execute("SELECT code FROM participants ORDER BY code")]
    finally:
        connection.close()


def enroll(cli: Cli, code: str, **kwargs: object) -> None:
    ok(cli("enroll", code, "--protocol", "cs-huc-mscs", "--arm", "LOW", "--site", "WUH",
           "--day1", "2026-04-20", **kwargs))  # fmt: skip


@pytest.fixture
def site(cli: Cli) -> None:
    ok(cli("site", "add", "WUH", "--timezone", "Asia/Shanghai"))


def stale_wal(tmp_path: Path) -> bytes:
    """A real WAL from another database whose content a copy must never get."""
    other = tmp_path / "other.db"
    connection = sqlite3.connect(other)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA wal_autocheckpoint = 0")
    connection.execute("CREATE TABLE junk (x)")
    connection.execute("INSERT INTO junk VALUES (1)")
    connection.commit()
    data = Path(f"{other}-wal").read_bytes()
    connection.close()
    return data


@pytest.mark.usefixtures("site")
def test_backup_refuses_an_existing_path_and_with_force_drops_its_wal(
    cli: Cli, db_path: Path, tmp_path: Path
) -> None:
    enroll(cli, "B-1")
    copy = tmp_path / "copy.db"
    ok(cli("db", "backup", str(copy)))
    enroll(cli, "B-2")
    first = dump(copy)

    result = cli("db", "backup", str(copy))
    assert result.exit_code == 2
    assert "already exists" in result.stderr and "--force" in result.stderr
    assert dump(copy) == first

    Path(f"{copy}-wal").write_bytes(stale_wal(tmp_path))
    Path(f"{copy}-shm").write_bytes(b"\0" * 32768)
    ok(cli("db", "backup", str(copy), "--force"))
    assert not Path(f"{copy}-wal").exists()
    assert codes(copy) == ["B-1", "B-2"]
    check = sqlite3.connect(copy)
    assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    tables = {row[0] for row in check.execute("SELECT name FROM sqlite_master")}
    check.close()
    assert "junk" not in tables
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".planner-")]


@pytest.mark.usefixtures("site")
def test_backup_refuses_what_is_not_a_regular_file(cli: Cli, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    result = cli("db", "backup", str(fifo), "--force")
    assert result.exit_code == 2
    assert "not a regular file" in result.stderr


@pytest.mark.usefixtures("site")
def test_restore_keeps_the_current_database_and_brings_the_backup_back(
    cli: Cli, db_path: Path, tmp_path: Path
) -> None:
    enroll(cli, "B-1")
    backup = tmp_path / "backup.db"
    ok(cli("db", "backup", str(backup)))
    enroll(cli, "B-2")
    ok(cli("visit", "complete", "B-1/INF/1", "--on", "2026-04-20"))
    current = dump(db_path)

    result = ok(cli("db", "restore", str(backup)))
    kept = Path(result.stdout.split("kept as ")[1].splitlines()[0])
    assert kept.parent == db_path.parent
    assert dump(kept) == current
    assert codes(db_path) == ["B-1"]
    assert dump(db_path) == dump(backup)
    schedule = json.loads(ok(cli("schedule", "B-1", "--format", "json")).stdout)
    assert schedule[0]["status"] == "scheduled"
    assert ok(cli("audit", "verify")).stdout.startswith("audit trail intact")
    enroll(cli, "B-3")  # the restored database takes writes
    assert codes(db_path) == ["B-1", "B-3"]


@pytest.mark.usefixtures("site")
def test_restore_refuses_a_damaged_or_foreign_file_and_changes_nothing(
    cli: Cli, db_path: Path, tmp_path: Path
) -> None:
    enroll(cli, "B-1")
    before = dump(db_path)
    backup = tmp_path / "backup.db"
    ok(cli("db", "backup", str(backup)))
    data = bytearray(backup.read_bytes())
    for offset in range(4096 + 100, len(data), 997):
        data[offset] ^= 0xFF
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(bytes(data))
    foreign = tmp_path / "foreign.db"
    sqlite3.connect(foreign).execute("CREATE TABLE t (x)").connection.close()
    text = tmp_path / "notes.txt"
    text.write_text("hello")

    for bad, code in ((damaged, 1), (foreign, 2), (text, 1), (tmp_path / "missing.db", 2)):
        result = cli("db", "restore", str(bad))
        assert result.exit_code == code, (bad, result.stderr)
        assert result.stderr.startswith("planner: error: ")
        assert len(result.stderr.splitlines()) == 1
    assert dump(db_path) == before
    assert not list(tmp_path.glob("*.before-restore-*"))


def edited_backup(cli: Cli, tmp_path: Path, statement: str) -> Path:
    """A backup of the database, then edited behind planner's back."""
    backup = tmp_path / "backup.db"
    ok(cli("db", "backup", str(backup)))
    connection = sqlite3.connect(backup)
    connection.execute(statement)
    connection.commit()
    connection.close()
    return backup


@pytest.mark.usefixtures("site")
def test_restore_refuses_a_backup_whose_audit_triggers_were_dropped(
    cli: Cli, db_path: Path, tmp_path: Path
) -> None:
    """Restored, nothing would refuse edits to the audit trail any more."""
    enroll(cli, "B-1")
    before = dump(db_path)
    backup = edited_backup(cli, tmp_path, "DROP TRIGGER audit_no_update")

    result = cli("db", "restore", str(backup))

    assert result.exit_code == 2, result.stderr
    assert result.stderr == (
        f"planner: error: {str(backup)!r} has lost the audit table's trigger audit_no_update "
        "(nothing would refuse changing audit rows): it may have been edited; "
        f"`planner --db {backup} db check` says more\n"
    )
    assert dump(db_path) == before
    assert not list(tmp_path.glob("*.before-restore-*"))


def test_commits_are_synced_to_disk_by_default(db_path: Path) -> None:
    """Item 11: an acknowledged command survives a power cut (synchronous FULL in WAL)."""
    from planner.store.engine import make_engine, resolve_url

    engine = make_engine(resolve_url(str(db_path)))  # the application's engine
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    finally:
        engine.dispose()


def test_each_connection_keeps_a_large_page_cache(db_path: Path) -> None:
    """16 MiB of pages a connection (SQLite's default is 2 MB): a large write keeps
    its pages until it commits (benchmarks/bench_enrol.py measures what it saves)."""
    from planner.store.engine import make_engine, resolve_url

    engine = make_engine(resolve_url(str(db_path)))
    try:
        for _ in range(2):  # every connection, not the first alone
            with engine.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA cache_size").scalar() == -16_384
                connection.invalidate()  # the next one is a new connection
    finally:
        engine.dispose()


def test_the_durability_benchmark_runs(tmp_path: Path) -> None:
    import subprocess
    import sys

    script = Path(__file__).parent.parent / "benchmarks" / "durability.py"
    done = subprocess.run(
        [sys.executable, str(script), "--tiny"],
        capture_output=True, text=True, timeout=300, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "FULL/NORMAL" in done.stdout
    assert list(tmp_path.iterdir()) == []


@pytest.mark.usefixtures("site")
def test_restore_refuses_a_backup_of_a_newer_planner(
    cli: Cli, db_path: Path, tmp_path: Path
) -> None:
    """Restored, every later command would refuse the database ("made by a
    newer planner"), and the operator would have to find the kept copy."""
    enroll(cli, "B-1")
    before = dump(db_path)
    backup = edited_backup(cli, tmp_path, "UPDATE alembic_version SET version_num = '9999'")
    result = cli("db", "restore", str(backup))
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith(
        f"planner: error: {str(backup)!r} was made by a newer planner (schema 9999; "
    )
    assert dump(db_path) == before
    assert not list(tmp_path.glob("*.before-restore-*"))


def test_a_new_database_and_its_copies_are_the_owners_alone(tmp_path: Path) -> None:
    """Under the usual umask 022 a new database was 0644: participants' visits,
    password hashes and the audit trail readable by every user of the machine."""
    env = {**os.environ, "PLANNER_DB": str(tmp_path / "new.db")}
    planner = str(Path(sys.executable).with_name("planner"))

    def run(*args: str) -> None:
        subprocess.run([planner, *args], env=env, check=True, capture_output=True,
                       preexec_fn=lambda: os.umask(0o022), timeout=120)  # fmt: skip

    run("site", "add", "WUH", "--timezone", "Asia/Shanghai")
    run("db", "backup", str(tmp_path / "copy.db"))
    run("--db", str(tmp_path / "restored.db"), "db", "restore", str(tmp_path / "copy.db"))
    for name in ("new.db", "copy.db", "restored.db"):
        assert oct(os.stat(tmp_path / name).st_mode & 0o777) == "0o600", name

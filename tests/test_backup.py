"""``planner db backup FILE``: a consistent copy, even while another process writes.

A writer process enrols participants one by one in a loop while backups are
taken through the CLI. Every backup must pass ``integrity_check`` and
``foreign_key_check``, hold every participant it has with all of its visits
(and one audit row each), and work as a database of its own: a participant's
``schedule`` read from the backup equals the one read from the original.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from planner.app import Planner
from tests.conftest import dump

Cli = Callable[..., Any]

BACKUPS = 6
TIMEOUT = 60  # seconds
VISITS = {
    ("ucmsc-dlc", "G1"): 10,
    ("ucmsc-dlc", "G2"): 8,
    ("ucmsc-dlc", "CTRL"): 6,
    ("cs-huc-mscs", "LOW"): 14,
    ("cs-huc-mscs", "MED"): 14,
    ("cs-huc-mscs", "HIGH"): 14,
}

WRITER = textwrap.dedent(
    """
    import sys, time
    from datetime import date, timedelta
    from pathlib import Path
    from planner.app import Planner

    db, stop, limit = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3])
    arms = [("ucmsc-dlc", "G1"), ("ucmsc-dlc", "G2"), ("ucmsc-dlc", "CTRL"),
            ("cs-huc-mscs", "LOW"), ("cs-huc-mscs", "MED"), ("cs-huc-mscs", "HIGH")]
    deadline = time.monotonic() + limit
    count = 0
    with Planner(db, actor="writer") as planner:
        while not stop.exists() and time.monotonic() < deadline:
            protocol, arm = arms[count % len(arms)]
            day1 = date(2026, 3, 2) + timedelta(days=count % 60)
            planner.enroll(f"B-{count:05d}", protocol, arm, "WUH", day1)
            count += 1
    print(count)
    """
)


def count_participants(path: Path) -> int:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    try:
        return int(connection.execute("SELECT count(*) FROM participants").fetchone()[0])
    finally:
        connection.close()


def check_backup(path: Path) -> list[str]:
    """Integrity, foreign keys, whole participants; returns their codes in order."""
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        rows = connection.execute(
            "SELECT p.code, pv.protocol_id, p.arm, count(v.id) FROM participants p"
            " JOIN protocol_versions pv ON pv.id = p.protocol_version_id"
            " LEFT JOIN visits v ON v.participant_id = p.id GROUP BY p.id ORDER BY p.id"
        ).fetchall()
        enrolled = dict(
            connection.execute(
                "SELECT participant, count(*) FROM audit WHERE action = 'enroll'"
                " GROUP BY participant"
            ).fetchall()
        )
    finally:
        connection.close()
    for code, protocol, arm, visits in rows:
        assert visits == VISITS[(protocol, arm)], f"{path.name}: {code} has {visits} visits"
    assert enrolled == {code: 1 for code, *_ in rows}, f"{path.name}: audit and data disagree"
    return [code for code, *_ in rows]


def test_backups_taken_while_another_process_writes_are_whole(
    cli: Cli, db_path: Path, tmp_path: Path
) -> None:
    with Planner(str(db_path), actor="setup") as api:
        api.add_site("WUH", "Asia/Shanghai")
    stop = tmp_path / "stop"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db_path), str(stop), str(TIMEOUT / 2)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    backups: list[Path] = []
    try:
        deadline = time.monotonic() + TIMEOUT
        while count_participants(db_path) < 5:
            assert writer.poll() is None, writer.communicate()[1]
            assert time.monotonic() < deadline
            time.sleep(0.05)
        for number in range(BACKUPS):
            target = tmp_path / f"backup-{number}.db"
            result = cli("db", "backup", str(target))
            assert result.exit_code == 0, result.stderr
            assert result.stdout.startswith("backup of ")
            assert result.stdout.rstrip().endswith(f"written to {target}")
            backups.append(target)
            time.sleep(0.1)
        assert writer.poll() is None, "the writer stopped before the backups were done"
    finally:
        stop.touch()
        out, err = writer.communicate(timeout=TIMEOUT)
    assert writer.returncode == 0, err
    assert "locked" not in err
    written = int(out.strip())

    assert not list(tmp_path.glob("*.partial"))
    counts = []
    everyone = check_backup(db_path)
    assert len(everyone) == written
    for backup in backups:
        codes = check_backup(backup)
        assert codes == everyone[: len(codes)], "a backup is not a prefix of what was written"
        counts.append(len(codes))
    assert counts == sorted(counts)
    assert len(set(counts)) >= 2, f"the writer made no progress between backups: {counts}"
    assert counts[-1] < written, "every backup was taken after the writer had finished"

    # Restoring: the backup used as --db gives the same schedules as the original.
    for backup, count in zip(backups, counts, strict=True):
        for code in sorted({everyone[0], everyone[count // 2], everyone[count - 1]}):
            from_backup = cli("schedule", code, "--format", "json", db=backup)
            original = cli("schedule", code, "--format", "json")
            assert from_backup.exit_code == 0, from_backup.stderr
            assert json.loads(from_backup.stdout) == json.loads(original.stdout)
        beyond = cli("schedule", everyone[count], db=backup)
        assert beyond.exit_code == 2, "the backup has a participant enrolled after it"
    print(
        f"\nbackup: {BACKUPS} backups while a writer enrolled {written} participants; "
        f"participants in the backups: {counts}"
    )


def test_backup_onto_the_database_or_its_files_is_refused(
    cli: Cli, db_path: Path, tmp_path: Path
) -> None:
    assert cli("site", "add", "WUH", "--timezone", "Asia/Shanghai").exit_code == 0
    before = dump(db_path)
    (tmp_path / "link.db").symlink_to(db_path)
    (tmp_path / "sub").mkdir()
    for target in (db_path, f"{db_path}-wal", f"{db_path}-shm", tmp_path / "link.db",
                   f"{tmp_path}/sub/../{db_path.name}"):  # fmt: skip
        result = cli("db", "backup", str(target))
        assert result.exit_code == 2, (target, result.stderr)
        assert result.stdout == ""
        assert result.stderr.startswith("planner: error: ")
        assert len(result.stderr.splitlines()) == 1
        assert "database itself" in result.stderr
        assert dump(db_path) == before
    assert not list(tmp_path.glob("*.partial"))


def test_a_backup_replaces_an_older_backup_whole(cli: Cli, db_path: Path, tmp_path: Path) -> None:
    target = tmp_path / "copy.db"
    target.write_bytes(b"an old file that is not a database")
    assert cli("site", "add", "WUH", "--timezone", "Asia/Shanghai").exit_code == 0
    enrolled = cli("enroll", "B-1", "--protocol", "cs-huc-mscs", "--arm", "LOW", "--site", "WUH",
                   "--day1", "2026-04-20")  # fmt: skip
    assert enrolled.exit_code == 0, enrolled.stderr

    refused = cli("db", "backup", str(target))  # an existing file: only by force
    assert refused.exit_code == 2
    assert "already exists" in refused.stderr
    result = cli("db", "backup", str(target), "--force")

    assert result.exit_code == 0, result.stderr
    assert check_backup(target) == ["B-1"]
    assert dump(target) == dump(db_path)

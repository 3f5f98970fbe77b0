"""Readers never queue behind writers (issue 17, item 5).

Another process holds a write transaction open on the database (SQLite in
WAL mode) for as long as the test needs; the read-only commands must all
succeed at once, showing what was committed before it began. Before the fix,
opening the database (reading its schema revision) took the write lock and
waited the whole busy timeout (30 s) before failing with "database is locked".
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import CliResult

Cli = Callable[..., CliResult]

#: Holds ``BEGIN IMMEDIATE`` with an uncommitted change until stdin closes.
HOLDER = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
connection.execute("UPDATE sites SET name = 'uncommitted' WHERE code = 'WUH'")
print("holding", flush=True)
sys.stdin.read()
connection.execute("ROLLBACK")
"""
PLANNER = str(Path(sys.executable).with_name("planner"))
#: Far below the busy timeout: a reader that waited would take 30 s.
PROMPT_SECONDS = 5.0

READS: list[tuple[str, ...]] = [
    ("schedule", "WUH-001"),
    ("schedule", "WUH-001", "--format", "json"),
    ("upcoming", "--from", "2026-04-20", "--days", "30"),
    ("due", "--as-of", "2026-04-28"),
    ("overdue", "--as-of", "2026-12-01"),
    ("export", "ics", "-o", "-"),
    ("export", "ics", "--participant", "WUH-001", "-o", "-"),
    ("participants",),
    ("site", "list"),
    ("audit",),
    ("audit", "verify"),
    ("protocol", "list"),
]


@pytest.fixture
def writer_holding(cli: Cli, db_path: Path) -> Iterator[subprocess.Popen[str]]:
    """A database with one participant, and another process in the middle of a write."""
    assert cli("site", "add", "WUH", "--timezone", "Asia/Shanghai").exit_code == 0
    enrolled = cli("enroll", "WUH-001", "--protocol", "cs-huc-mscs", "--arm", "LOW",
                   "--site", "WUH", "--day1", "2026-04-20")  # fmt: skip
    assert enrolled.exit_code == 0, enrolled.stderr
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
    yield holder
    assert holder.stdin is not None
    holder.stdin.close()
    assert holder.wait(timeout=30) == 0
    holder.stdout.close()


def test_read_commands_never_wait_for_a_writer(
    cli: Cli, writer_holding: subprocess.Popen[str]
) -> None:
    for args in READS:
        started = time.monotonic()
        result = cli(*args)
        elapsed = time.monotonic() - started
        assert result.exit_code == 0, (args, result.stderr)
        assert elapsed < PROMPT_SECONDS, (args, elapsed)
        assert "uncommitted" not in result.stdout
    assert writer_holding.poll() is None  # the writer held its lock throughout


def test_a_reader_in_another_process_does_not_wait_either(
    db_path: Path, writer_holding: subprocess.Popen[str]
) -> None:
    """The real program, started as a process of its own, as a nurse would."""
    started = time.monotonic()
    done = subprocess.run(
        [PLANNER, "--db", str(db_path), "upcoming",
         "--from", "2026-04-20", "--days", "30"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stderr) == (0, "")
    assert "WUH-001/INF/1" in done.stdout
    assert time.monotonic() - started < PROMPT_SECONDS + 5  # start-up included


def test_a_writer_still_waits_for_the_writer_before_it(
    cli: Cli, db_path: Path, writer_holding: subprocess.Popen[str]
) -> None:
    """Writers queue (BEGIN IMMEDIATE and the busy timeout): the second one
    goes ahead once the first ends, and nothing is lost."""
    follower = subprocess.Popen(
        [PLANNER, "--db", str(db_path), "--actor", "second",
         "visit", "complete", "WUH-001/INF/1", "--on", "2026-04-20"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(3)
    assert follower.poll() is None  # waiting for the lock, not failed
    assert writer_holding.stdin is not None
    writer_holding.stdin.close()
    out, err = follower.communicate(timeout=60)
    assert (follower.returncode, err) == (0, ""), err
    assert "WUH-001/INF/1 completed" in out

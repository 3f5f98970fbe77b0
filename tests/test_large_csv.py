"""Large enrolment files (issue 17 item 6): bounded memory, a row limit, all or nothing.

``planner enroll --csv`` reads the file through once on its own, checks every
row against the database a batch at a time writing nothing, then reads it
again and writes it a batch at a time, all in one transaction. These tests
run the real command on real SQLite files: a file over the row limit is
refused with one line and nothing written; files of several batches are
enrolled whole (audit chain intact, rows in file order) or not at all; and the
peak memory of the command does not grow with the number of participants.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from planner.app.enrol import BATCH
from planner.core import enrolment_csv
from planner.core.bundled import bundled
from planner.core.enrolment_csv import MAX_CSV_ROWS
from planner.core.schedule import expand
from planner.store.engine import CACHE_KIB
from tests.conftest import dump

Cli = Callable[..., Any]
HEADER = "participant,protocol,arm,site,day1\n"
ARMS = ("G1", "G2", "CTRL")


def row(i: int) -> str:
    """A valid row; day 1 and arm vary so that participants have different plans."""
    return f"P{i:07d},ucmsc-dlc,{ARMS[i % 3]},WUH,2026-{1 + i % 12:02d}-{1 + i % 28:02d}\n"


def write_rows(path: Path, count: int, *, start: int = 0, last: str | None = None) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        handle.write(HEADER)
        handle.writelines(row(i) for i in range(start, start + count))
        if last is not None:
            handle.write(last)
    return path


def one_error_line(result: Any, code: int) -> str:
    assert result.exit_code == code, (result.exit_code, result.stderr[:500])
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("planner: error: "), result.stderr[:500]
    return str(lines[0])


def counts(db: Path) -> tuple[int, int, int]:
    """Participants, visits and audit rows."""
    with sqlite3.connect(db) as connection:
        found = tuple(
            connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("participants", "visits", "audit")
        )
    connection.close()
    return found  # type: ignore[return-value]


@pytest.fixture
def site(cli: Cli, db_path: Path) -> str:
    assert cli("site", "add", "WUH", "--timezone", "Asia/Shanghai").exit_code == 0
    return dump(db_path)


def test_a_file_over_the_row_limit_is_refused_with_nothing_written(
    cli: Cli, db_path: Path, tmp_path: Path, site: str
) -> None:
    path = write_rows(tmp_path / "huge.csv", MAX_CSV_ROWS + 1)

    line = one_error_line(cli("enroll", "--csv", str(path)), 2)

    assert line == (
        f"planner: error: {path}: holds more than 1,000,000 participants, the most one file "
        "may enrol; split it into several files"
    )
    assert dump(db_path) == site


def test_the_row_limit_is_exact(
    cli: Cli, db_path: Path, tmp_path: Path, site: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(enrolment_csv, "MAX_CSV_ROWS", 40)
    over = write_rows(tmp_path / "over.csv", 41)
    assert "holds more than 40 participants" in one_error_line(cli("enroll", "--csv", str(over)), 2)
    assert dump(db_path) == site

    done = cli("enroll", "--csv", str(write_rows(tmp_path / "full.csv", 40)))

    assert (done.exit_code, done.stdout) == (
        0,
        f"enrolled 40 participants from {tmp_path}/full.csv\n",
    )


def expected_visits(count: int) -> int:
    protocol = bundled("ucmsc-dlc")
    total = 0
    for i in range(count):
        _, _, arm, _, day1 = row(i).strip().split(",")
        total += len(expand(protocol, arm, date.fromisoformat(day1)))
    return total


def test_a_file_of_several_batches_is_enrolled_whole_in_file_order(
    cli: Cli, db_path: Path, tmp_path: Path, site: str
) -> None:
    count = 2 * BATCH + 321
    path = write_rows(tmp_path / "many.csv", count)

    done = cli("enroll", "--csv", str(path))

    assert (done.exit_code, done.stderr) == (0, "")
    assert counts(db_path) == (count, expected_visits(count), count + 1)  # + the site's row
    with sqlite3.connect(db_path) as connection:
        audited = [
            code
            for (code,) in connection.execute(
                "SELECT participant FROM audit WHERE action = 'enroll' ORDER BY id"
            )
        ]
        ids = [code for (code,) in connection.execute("SELECT code FROM participants ORDER BY id")]
    connection.close()
    assert audited == ids == [f"P{i:07d}" for i in range(count)]
    verified = cli("audit", "verify")
    assert (verified.exit_code, verified.stdout.split(":")[0]) == (0, "audit trail intact")


@pytest.mark.parametrize(
    ("last", "message", "code"),
    [
        ("P9999999,ucmsc-dlc,G1,WUH,2026-02-30\n", "is not a real calendar date", 2),
        ("P9999999,ucmsc-dlc,NOPE,WUH,2026-02-03\n", "unknown arm 'NOPE'", 2),
        ("P0000007,ucmsc-dlc,G1,WUH,2026-02-03\n", "appears again (first on line 9)", 2),
        ("P-EARLIER,ucmsc-dlc,G1,WUH,2026-02-03\n", "'P-EARLIER' is already enrolled", 2),
    ],
    ids=["bad-date", "unknown-arm", "repeated-code", "already-enrolled"],
)
def test_a_bad_last_row_of_a_large_file_writes_nothing(
    cli: Cli, db_path: Path, tmp_path: Path, last: str, message: str, code: int
) -> None:
    assert cli("site", "add", "WUH", "--timezone", "Asia/Shanghai").exit_code == 0
    enrolled = cli("enroll", "P-EARLIER", "--protocol", "ucmsc-dlc", "--arm", "G1",
                   "--site", "WUH", "--day1", "2026-01-05")  # fmt: skip
    assert enrolled.exit_code == 0
    before = dump(db_path)
    count = BATCH + 10
    path = write_rows(tmp_path / "bad.csv", count, last=last)

    line = one_error_line(cli("enroll", "--csv", str(path)), code)

    assert message in line
    if "appears again" not in message:
        assert f"line {count + 2}" in line
    assert dump(db_path) == before


def test_skip_existing_across_batches(cli: Cli, db_path: Path, tmp_path: Path, site: str) -> None:
    first = BATCH + 100
    assert cli("enroll", "--csv", str(write_rows(tmp_path / "a.csv", first))).exit_code == 0
    total = 2 * BATCH + 50  # the first rows again, then new ones

    done = cli("enroll", "--csv", str(write_rows(tmp_path / "b.csv", total)), "--skip-existing")

    assert done.exit_code == 0, done.stderr
    assert done.stdout == (
        f"enrolled {total - first} participants from {tmp_path}/b.csv "
        f"({first} already enrolled, skipped)\n"
    )
    assert counts(db_path)[:2] == (total, expected_visits(total))


#: Runs a command and prints its peak resident memory (KiB) from a small
#: parent (on Linux a child's maxrss starts at its parent's resident size).
PROBE = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
_, status, usage = os.wait4(child.pid, 0)
sys.stdout.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}")
"""


def peak_kib(db: Path, csv_path: Path) -> int:
    planner = Path(sys.executable).with_name("planner")
    command = [str(planner), "--db", str(db), "enroll", "--csv", str(csv_path)]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *command],
        capture_output=True, text=True, check=True, env=env, timeout=600,
    )  # fmt: skip
    code, kib = (int(word) for word in done.stdout.split())
    assert code == 0
    return kib


SMALL, LARGE = 8_000, 20_000


def test_peak_memory_does_not_grow_with_the_number_of_participants(
    cli: Cli, tmp_path: Path
) -> None:
    # Both sizes fill SQLite's 16 MiB page cache (CACHE_KIB; about 2.4 KiB of
    # database a participant), so what is compared is what planner itself keeps.
    peaks = {}
    for count in (SMALL, LARGE):
        db = tmp_path / f"memory-{count}.db"
        assert cli("site", "add", "WUH", "--timezone", "Asia/Shanghai", db=db).exit_code == 0
        peaks[count] = peak_kib(db, write_rows(tmp_path / f"memory-{count}.csv", count))
        assert counts(db)[0] == count
        assert db.stat().st_size > CACHE_KIB * 1024, "the page cache is not full yet"
    # 12,000 more participants (about 130,000 more visits) in the same memory
    # give or take 8 MB; it used to grow by about 18 KB a participant (216 MB here).
    assert peaks[LARGE] - peaks[SMALL] < 8 * 1024, peaks

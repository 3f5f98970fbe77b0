"""Outputs never clobber what they should not, keep the database's privacy,
and leave nothing behind; stored text cannot drive the terminal; who acts is
one printable line.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from planner.app import Planner
from planner.core.errors import InputError, PlannerError
from planner.store.files import write_atomically
from tests.conftest import CliResult, dump

Cli = Callable[..., CliResult]


def ok(result: CliResult) -> CliResult:
    assert result.exit_code == 0, result.stderr
    return result


def refused(result: CliResult, text: str) -> None:
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert result.stderr.startswith("planner: error: ")
    assert len(result.stderr.splitlines()) == 1
    assert text in result.stderr, result.stderr


@pytest.fixture
def enrolled(cli: Cli) -> None:
    ok(cli("site", "add", "WUH", "--timezone", "Asia/Shanghai"))
    ok(cli("enroll", "WUH-001", "--protocol", "cs-huc-mscs", "--arm", "MED", "--site", "WUH",
           "--day1", "2026-04-20"))  # fmt: skip


def other_database(path: Path) -> str:
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE precious (x)")
    connection.execute("INSERT INTO precious VALUES (42)")
    connection.commit()
    connection.close()
    return dump(path)


# ------------------------------------------------------------- item 3


@pytest.mark.usefixtures("enrolled")
@pytest.mark.parametrize("command", [("export", "ics"), ("export", "visits")])
def test_an_export_never_replaces_another_sqlite_database_unless_forced(
    cli: Cli, tmp_path: Path, command: tuple[str, str]
) -> None:
    other = tmp_path / "other-trial.db"
    before = other_database(other)
    refused(cli(*command, "-o", str(other)), "is an SQLite database")
    assert dump(other) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".planner-")) == []
    ok(cli(*command, "-o", str(other), "--force"))
    assert not other.read_bytes().startswith(b"SQLite format 3")


@pytest.mark.usefixtures("enrolled")
def test_fifos_and_devices_are_refused(cli: Cli, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for target in (str(fifo), "/dev/null"):
        for force in ((), ("--force",)):
            refused(cli("export", "ics", "-o", target, *force), "not a regular file")
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


@pytest.mark.usefixtures("enrolled")
def test_dash_means_stdout(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = ok(cli("export", "ics", "-o", "-"))
    assert result.stdout.startswith("BEGIN:VCALENDAR")
    assert not (tmp_path / "-").exists()
    assert ok(cli("export", "visits", "--output", "-")).stdout.startswith("[")


# ------------------------------------------------------------- item 8


@pytest.mark.usefixtures("enrolled")
def test_new_files_get_the_database_files_mode(cli: Cli, db_path: Path, tmp_path: Path) -> None:
    os.chmod(db_path, 0o600)
    old = os.umask(0o022)
    try:
        ok(cli("export", "ics", "-o", str(tmp_path / "cal.ics")))
        ok(cli("export", "visits", "-o", str(tmp_path / "visits.json")))
        ok(cli("export", "sdtm", "--protocol", "cs-huc-mscs", "--study-id", "S1",
               "--out", str(tmp_path / "sdtm")))  # fmt: skip
        ok(cli("db", "backup", str(tmp_path / "copy.db")))
    finally:
        os.umask(old)
    files = [tmp_path / "cal.ics", tmp_path / "visits.json", tmp_path / "copy.db",
             *(tmp_path / "sdtm").iterdir()]  # fmt: skip
    assert len(files) > 4
    for path in files:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, path


def test_without_a_database_file_new_files_are_0600(tmp_path: Path) -> None:
    target = tmp_path / "out.txt"
    write_atomically(str(target), [b"x"], protect=set())
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600


def test_a_failed_write_leaves_nothing_and_stale_temporaries_are_removed(tmp_path: Path) -> None:
    stale = tmp_path / ".planner-dead.tmp"
    stale.write_bytes(b"WUH-001 a killed run's partial calendar")
    hour_ago = time.time() - 7200
    os.utime(stale, (hour_ago, hour_ago))
    fresh = tmp_path / ".planner-running.tmp"  # another run's, under way: kept
    fresh.write_bytes(b"x")

    with pytest.raises(PlannerError, match="the disk is full"):
        write_atomically(str(tmp_path / "out.ics"), iter_failing(), protect=set())
    assert sorted(p.name for p in tmp_path.iterdir()) == [".planner-running.tmp"]


def iter_failing() -> Iterator[bytes]:
    """A calendar whose writing fails half-way (a full disk)."""
    yield b"BEGIN:VCALENDAR\r\n"
    raise OSError(28, "No space left on device")


def test_the_library_refuses_an_sqlite_file_unless_forced(tmp_path: Path) -> None:
    other = tmp_path / "x.db"
    other_database(other)
    with pytest.raises(InputError, match="SQLite database") as caught:
        write_atomically(str(other), [b"x"], protect=set())
    assert caught.value.field == "force"
    write_atomically(str(other), [b"x"], protect=set(), force=True)
    assert other.read_bytes() == b"x"


# ------------------------------------------------------------- item 9


@pytest.mark.parametrize(
    "actor", ["bob\nplanner: fake line", "bob\r", "\x1b[31mred", "tab\there", "a\u202eb"]
)
def test_an_actor_with_control_characters_is_refused(cli: Cli, db_path: Path, actor: str) -> None:
    refused(cli("--actor", actor, "site", "add", "WUH", "--timezone", "UTC"), "actor")
    assert not db_path.exists()  # refused before the database was opened
    with pytest.raises(InputError) as caught:
        Planner(str(db_path), actor=actor)
    assert caught.value.field == "actor"


def test_an_actor_longer_than_100_characters_is_refused_not_cut(cli: Cli, db_path: Path) -> None:
    ok(cli("--actor", "a" * 100, "site", "add", "WUH", "--timezone", "UTC"))
    before = dump(db_path)
    refused(cli("--actor", "a" * 101, "site", "add", "NYC", "--timezone", "UTC"), "101 characters")
    assert dump(db_path) == before
    assert "a" * 100 in ok(cli("audit", "--format", "json")).stdout


def test_stored_text_is_escaped_on_the_terminal(cli: Cli, db_path: Path) -> None:
    """Control characters are refused where text comes in; text stored before
    (by an older planner, or behind its back) still cannot drive a terminal."""
    refused(cli("site", "add", "WUH", "--timezone", "UTC", "--name", "Ward\x1b[2J\nFAKE"),
            "the site name holds the control character U+001B; remove it")  # fmt: skip
    ok(cli("site", "add", "WUH", "--timezone", "UTC", "--name", "Ward"))
    refused(cli("site", "close", "WUH", "2026-12-01", "--reason", "flood\x1b]0;owned\x07"),
            "the reason holds the control character U+001B; remove it")  # fmt: skip
    ok(cli("site", "close", "WUH", "2026-12-01", "--reason", "flood"))
    connection = sqlite3.connect(db_path)
    connection.execute("UPDATE sites SET name = 'Ward' || char(27) || '[2J' || char(10) || 'FAKE'")
    connection.execute(
        "UPDATE site_closures SET reason = 'flood' || char(27) || ']0;owned' || char(7)"
    )
    connection.commit()
    connection.close()
    shown = ok(cli("site", "list")).stdout + ok(cli("site", "show", "WUH", "--from", "2026-12-01",
                                                   "--months", "1")).stdout  # fmt: skip
    assert "\x1b" not in shown and "\x07" not in shown
    assert "\\x1b[2J\\nFAKE" in shown
    assert "flood\\x1b]0;owned\\x07" in shown

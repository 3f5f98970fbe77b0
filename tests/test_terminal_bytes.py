"""Text typed on a terminal that is not UTF-8 (a Latin-1 "é" is the byte 0xE9).

Python hands such bytes to the command as lone surrogates, which no database,
file or calendar can hold: the command failed with "unexpected
UnicodeEncodeError" (exit 1). It is refused with one line naming the option
and the byte (exit 2), and nothing is written. Run through the installed
``planner`` with real bytes in its arguments, as a terminal passes them.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

PLANNER = str(Path(sys.executable).with_name("planner"))


def run(db: Path, *args: str | bytes) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "LC_ALL": "C.UTF-8", "PYTHONUTF8": "1"}
    return subprocess.run(
        [PLANNER, "--db", str(db), "--actor", "nurse", *args],
        capture_output=True, env=env, timeout=120, check=False,
    )  # fmt: skip


def dump(db: Path) -> str:
    connection = sqlite3.connect(db)
    try:
        return "\n".join(connection.iterdump())
    finally:
        connection.close()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("latin1") / "t.db"
    for args in (
        ("site", "add", "S1", "--timezone", "Europe/Paris"),
        ("enroll", "L-1", "--protocol", "cs-huc-mscs", "--arm", "LOW", "--site", "S1",
         "--day1", "2026-01-05"),
    ):  # fmt: skip
        assert run(path, *args).returncode == 0
    return path


@pytest.mark.parametrize(
    ("args", "option", "byte"),
    [
        (("visit", "miss", "L-1/IHFU/1", "--reason", b"hospitalis\xe9"), "--reason", "0xE9"),
        (("visit", "add", "L-1", "--on", "2026-01-06", "--label", b"contr\xf4le"), "--label",
         "0xF4"),
        (("site", "add", "S2", "--timezone", "UTC", "--name", b"H\xf4pital"), "--name", "0xF4"),
        (("site", "close", "S1", "2026-12-25", "--reason", b"f\xeate"), "--reason", "0xEA"),
        (("participant", "withdraw", "L-1", "--on", "2026-01-07", "--reason", b"d\xe9m\xe9nag\xe9"),
         "--reason", "0xE9"),
        (("feed", "create", "--site", "S1", "--label", b"infirmi\xe8res"), "--label", "0xE8"),
    ],
    ids=["miss", "add", "site", "close", "withdraw", "feed"],
)  # fmt: skip
def test_a_byte_that_is_not_utf8_is_refused_naming_the_option(
    db: Path, args: tuple[str | bytes, ...], option: str, byte: str
) -> None:
    before = dump(db)
    done = run(db, *args)
    assert done.returncode == 2, done.stderr
    assert done.stdout == b""
    assert done.stderr.decode() == (
        f"planner: error: Invalid value for {option}: holds the byte {byte}, which is not "
        f"UTF-8 text; is the terminal set to UTF-8? (see `planner {args[0]} {args[1]} --help`)\n"
    )
    assert dump(db) == before


def test_utf8_text_is_kept_as_typed(db: Path) -> None:
    done = run(db, "visit", "miss", "L-1/IHFU/2", "--reason", "hospitalisé".encode())
    assert done.returncode == 0, done.stderr
    assert "hospitalisé" in run(db, "audit", "L-1", "--format", "json").stdout.decode()

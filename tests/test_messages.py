"""Messages (issue 17, item 7): every failure is one clear sentence with the
right exit code, and no error carries SQL text or its parameters.

Each finding of the issue is a case here: a protocol nested 500 levels deep,
an export to a full disk (a real full file system: a 64 kB tmpfs in a user
namespace; and a file-size limit), a ``--db`` path that is not UTF-8 (and no
file left behind), ``sqlite://`` for a command that writes, a stored time
zone this computer does not know, the zones ``localtime`` and ``Factory``, and
day 1 far in the past or future. Then every error path the tests can reach —
the bad-input table of ``test_bad_input``, a database held by another
program, a database that is a folder, a server that does not answer, a
damaged file — is checked for SQL.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from planner.app import Planner
from planner.cli import main
from planner.core.errors import InputError
from planner.store import engine
from tests.conftest import CliResult, dump
from tests.test_bad_input import CASES, ENROLL, Case

Cli = Callable[..., CliResult]
PLANNER = str(Path(sys.executable).with_name("planner"))
LEAKS = re.compile(
    r"\b(SELECT|INSERT|UPDATE|DELETE|PRAGMA|WHERE|VALUES|BEGIN|COMMIT)\b|\[SQL|\[parameters|"
    r"Traceback|sqlite3\.|sqlalchemy\.|psycopg\.|\(Background on this error"
)


def one_line(result: CliResult | subprocess.CompletedProcess[str], code: int) -> str:
    """The one error line of a failed command (exit ``code``), checked for leaks."""
    stderr, stdout = result.stderr, result.stdout
    exit_code = result.exit_code if isinstance(result, CliResult) else result.returncode
    assert (exit_code, stdout) == (code, ""), (exit_code, stderr)
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("planner: error: "), lines[0]
    assert not lines[0].startswith("planner: error: unexpected "), lines[0]
    assert not LEAKS.search(lines[0]), lines[0]
    return lines[0].removeprefix("planner: error: ")


@pytest.fixture
def enrolled(cli: Cli, tmp_path: Path) -> None:
    """Site WUH and 30 participants (a calendar of some 270 kB)."""
    assert cli("site", "add", "WUH", "--timezone", "Asia/Shanghai").exit_code == 0
    rows = ["participant,protocol,arm,site,day1"]
    rows += [f"WUH-{n:03d},cs-huc-mscs,LOW,WUH,2026-04-20" for n in range(1, 31)]
    (tmp_path / "enrol.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = cli("enroll", "--csv", str(tmp_path / "enrol.csv"))
    assert result.exit_code == 0, result.stderr


# ------------------------------------------------------------ the findings


def test_a_protocol_nested_500_levels_deep(cli: Cli, tmp_path: Path) -> None:
    arrays = tmp_path / "arrays.toml"
    arrays.write_text("a = " + "[" * 500 + "]" * 500 + "\n", encoding="utf-8")
    tables = tmp_path / "tables.toml"
    tables.write_text("a = " + "{b = " * 500 + "}" * 500 + "\n", encoding="utf-8")
    for path, command in ((arrays, "check"), (tables, "add")):
        message = one_line(cli("protocol", command, str(path)), 2)
        assert message == (
            f"{path}: has tables or arrays nested too deeply; a protocol needs a few levels"
        )


def full_disk(script: str, *args: str, size: int = 64) -> subprocess.CompletedProcess[str]:
    """Run ``sh -c script`` with $1 a fresh tmpfs of ``size`` kB (in a user namespace)."""
    mount = f'mount -t tmpfs -o size={size}k tmpfs "$1" || exit 99'
    return subprocess.run(
        ["unshare", "-rm", "sh", "-c", f"{mount}; {script}", "sh", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


@pytest.fixture
def tmpfs_works(tmp_path: Path) -> Path:
    mount = tmp_path / "mnt"
    mount.mkdir()
    probe = full_disk("true", str(mount)) if shutil.which("unshare") else None
    if probe is None or probe.returncode != 0:
        pytest.skip("no user namespaces here for a small tmpfs; the file-size limit test stands in")
    return mount


@pytest.mark.usefixtures("enrolled")
def test_an_export_to_a_full_disk(db_path: Path, tmpfs_works: Path) -> None:
    done = full_disk(
        '"$2" --db "$3" export ics -o "$1/visits.ics"; code=$?; ls -A "$1"; exit $code',
        str(tmpfs_works), PLANNER, str(db_path),
    )  # fmt: skip
    assert (done.returncode, done.stdout) == (1, ""), done.stderr  # and nothing left in $1
    target = f"{tmpfs_works}/visits.ics"
    assert done.stderr == f"planner: error: cannot write {target!r}: the disk is full\n"


@pytest.mark.usefixtures("enrolled")
def test_a_database_on_a_full_disk_keeps_what_it_had(db_path: Path, tmpfs_works: Path) -> None:
    rows = [",".join(["participant", "protocol", "arm", "site", "day1"])] + [
        f"BIG-{n:04d},cs-huc-mscs,LOW,WUH,2026-04-20" for n in range(500)
    ]
    (tmpfs_works.parent / "big.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    # The database is copied into the small file system; the enrolment outgrows it.
    done = full_disk(
        'cp "$2" "$1/p.db" && "$3" --db "$1/p.db" enroll --csv "$4"; code=$?; '
        '"$3" --db "$1/p.db" db check; exit $code',
        str(tmpfs_works), str(db_path), PLANNER, str(tmpfs_works.parent / "big.csv"),
        size=db_path.stat().st_size // 1024 + 160,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert done.stderr == (
        "planner: error: the disk holding the database is full; nothing was changed\n"
    )
    assert "audit trail: intact: 31 rows" in done.stdout  # nothing of the enrolment
    assert done.stdout.endswith("the database is sound\n")


def limited(limit: int) -> Callable[[], None]:
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of death
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@pytest.mark.usefixtures("enrolled")
def test_an_export_past_the_file_size_limit(db_path: Path, tmp_path: Path) -> None:
    target = tmp_path / "out" / "visits.ics"
    target.parent.mkdir()
    done = subprocess.run(
        [PLANNER, "--db", str(db_path), "export", "ics", "-o", str(target)],
        capture_output=True, text=True, timeout=120, check=False, preexec_fn=limited(65536),
    )  # fmt: skip
    message = one_line(done, 1)
    assert message == f"cannot write {str(target)!r}: the file is larger than this system allows"
    assert list(target.parent.iterdir()) == []


def test_a_db_path_that_is_not_utf8_leaves_no_file(tmp_path: Path) -> None:
    folder = tmp_path / "work"
    folder.mkdir()
    name = os.fsencode(folder) + b"/caf\xe9.db"  # Latin-1, as an old system may name it
    for env_db in (False, True):
        argv = [PLANNER] + ([] if env_db else ["--db", name.decode(errors="surrogateescape")])
        env = {k: v for k, v in os.environ.items() if k != "PLANNER_DB"}
        if env_db:
            env["PLANNER_DB"] = name.decode(errors="surrogateescape")
        done = subprocess.run(
            [*argv, "site", "add", "WUH", "--timezone", "UTC"],
            capture_output=True, text=True, timeout=60, check=False, env=env, cwd=folder,
            errors="backslashreplace",
        )  # fmt: skip
        message = one_line(done, 2)
        assert message == f"the database path {name!r} is not UTF-8 text; rename the file or folder"
        assert list(folder.iterdir()) == []


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_an_in_memory_database_is_refused_for_commands(cli: Cli, tmp_path: Path, url: str) -> None:
    for args in (("site", "add", "WUH", "--timezone", "UTC"), ("enroll", "P-1", *ENROLL)):
        message = one_line(cli(*args, db=url), 2)
        assert message == (
            "--db: an in-memory database keeps nothing once the command ends; "
            "give a database file or a server URL"
        )


def test_the_python_api_keeps_in_memory_databases() -> None:
    with Planner("sqlite://") as planner:  # lives as long as the object: fine
        planner.add_site("WUH", "UTC")
        assert [site.code for site in planner.sites()] == ["WUH"]


@pytest.mark.parametrize(
    ("zone", "why"),
    [
        ("localtime", "this computer's own setting, which differs from one computer to the next"),
        ("Factory", "a placeholder for computers whose zone is not set"),
        ("posixrules", "a default rule of the time zone database"),
    ],
)
def test_zones_that_name_no_place_are_refused(cli: Cli, db_path: Path, zone: str, why: str) -> None:
    message = one_line(cli("site", "add", "WUH", "--timezone", zone), 2)
    assert message == (
        f"--timezone: time zone {zone!r} is {why}, not a place's zone; use an IANA name such "
        "as Asia/Shanghai or America/New_York"
    )
    assert 'INSERT INTO "sites"' not in dump(db_path)


@pytest.mark.usefixtures("enrolled")
def test_a_stored_zone_missing_from_this_computer(cli: Cli, db_path: Path) -> None:
    """A site added where the time zone data was newer: every command that
    needs the zone says which one is missing; the others still work."""
    connection = sqlite3.connect(db_path)
    connection.execute("UPDATE sites SET timezone = 'America/Atlantis'")
    connection.commit()
    connection.close()
    expected = (
        "the time zone 'America/Atlantis' is not in this computer's time zone data; "
        "it may need newer time zone data (the tzdata package)"
    )
    for args in (
        ("upcoming",),
        ("due",),
        ("export", "ics", "-o", "-"),
        ("visit", "complete", "WUH-001/INF/1", "--on", "2026-04-20"),
    ):
        assert one_line(cli(*args), 1) == expected, args
    assert cli("schedule", "WUH-001").exit_code == 0


@pytest.mark.parametrize("day1", ["1949-12-31", "2101-01-01", "2200-12-31"])
def test_day1_is_bounded(cli: Cli, db_path: Path, day1: str) -> None:
    assert cli("site", "add", "WUH", "--timezone", "UTC").exit_code == 0
    before = dump(db_path)
    args = (*ENROLL[:-1], day1)
    message = one_line(cli("enroll", "P-1", *args), 2)
    assert message == (
        f"day 1 {day1} is outside 1950-01-01 to 2100-12-31, "
        "the dates a participant's day 1 may have"
    )
    assert dump(db_path) == before


def test_day1_is_bounded_in_a_csv_file_and_the_python_api(
    cli: Cli, db_path: Path, tmp_path: Path
) -> None:
    assert cli("site", "add", "WUH", "--timezone", "UTC").exit_code == 0
    rows = tmp_path / "in.csv"
    rows.write_text(
        "participant,protocol,arm,site,day1\nP-1,ucmsc-dlc,G1,WUH,2026-03-02\n"
        "P-2,ucmsc-dlc,G1,WUH,2150-03-02\n",
        encoding="utf-8",
    )
    message = one_line(cli("enroll", "--csv", str(rows)), 2)
    assert message.startswith(f"{rows} line 3: ")
    assert message.endswith("day 1 2150-03-02 is outside 1950-01-01 to 2100-12-31, "
                            "the dates a participant's day 1 may have")  # fmt: skip
    with Planner(str(db_path)) as planner, pytest.raises(InputError) as raised:
        planner.enroll("P-3", "ucmsc-dlc", "G1", "WUH", date(4200, 1, 1))
    assert raised.value.field == "day1"


# -------------------------------------------------- no SQL on any error path


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("messages") / "planner.db"
    for args in (
        ["site", "add", "WUH", "--timezone", "Asia/Shanghai", "--name", "Wuhan"],
        ["enroll", "P-001", *ENROLL],
    ):
        result = CliRunner().invoke(main, [f"--db={path}", *args], catch_exceptions=False)
        assert result.exit_code == 0, result.stderr
    return path


def without_input(message: str, args: tuple[str, ...]) -> str:
    """The message without the user's own words in it (which may say SELECT)."""
    for arg in sorted(args, key=len, reverse=True):
        if len(arg) > 3:
            message = message.replace(arg, "…")
    return message


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_no_bad_input_error_carries_sql(
    cli: Cli,
    template: Path,
    db_path: Path,
    tmp_path: Path,
    case: Case,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shutil.copyfile(template, db_path)
    monkeypatch.chdir(tmp_path)
    for name, body in case.files.items():
        (tmp_path / name).write_bytes(body)
    args = tuple(a.replace("{tmp}", str(tmp_path)).replace("{db}", str(db_path)) for a in case.args)
    db = case.db.replace("{tmp}", str(tmp_path)) if case.db is not None else db_path
    result = cli(*args, db=db)
    assert result.exit_code == case.code
    assert not LEAKS.search(without_input(result.stderr, (*args, str(db)))), result.stderr


@pytest.fixture
def held(db_path: Path, template: Path) -> Iterator[None]:
    """Another program holds the database's write lock."""
    shutil.copyfile(template, db_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3, sys\n"
         "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
         "c.execute('BEGIN IMMEDIATE'); c.execute('DELETE FROM feeds')\n"
         "print('held', flush=True); sys.stdin.read()", str(db_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline() == "held\n"
    yield
    assert holder.stdin is not None
    holder.stdin.close()
    holder.wait(timeout=30)
    holder.stdout.close()


@pytest.mark.usefixtures("held")
def test_a_database_held_too_long_by_another_program(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "BUSY_TIMEOUT_MS", 300)
    message = one_line(cli("site", "add", "NEW", "--timezone", "UTC"), 1)
    assert message == "the database is busy: another program has held it for too long; try again"
    assert cli("schedule", "P-001").exit_code == 0  # readers go on


def test_a_database_that_cannot_be_opened(cli: Cli, tmp_path: Path) -> None:
    for db in (tmp_path, tmp_path / "missing" / "planner.db"):
        message = one_line(cli("schedule", "P-001", db=db), 1)
        assert message == (
            f"the database file {str(db)!r} cannot be opened: its folder is missing or not "
            "writable, or it is a folder"
        )
    assert list(tmp_path.iterdir()) == []


def test_a_server_that_does_not_answer(cli: Cli) -> None:
    url = "postgresql+psycopg://planner:s3cret@127.0.0.1:9/planner"
    message = one_line(cli("schedule", "P-001", db=url), 1)
    assert message.startswith("cannot open the database: connection failed: ")
    assert "s3cret" not in message


def test_a_damaged_database_is_one_line_without_sql(
    cli: Cli, db_path: Path, template: Path
) -> None:
    data = bytearray(template.read_bytes())
    for page in range(1, len(data) // 4096):  # every B-tree page header but the first's
        data[page * 4096] = 0x55
    db_path.write_bytes(bytes(data))
    for args in (("schedule", "P-001"), ("enroll", "P-002", *ENROLL), ("audit", "verify")):
        result = cli(*args)
        assert one_line(result, 1) == "the database is damaged: run `planner db check`", args

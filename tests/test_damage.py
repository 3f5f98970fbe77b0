"""Damaged databases: one clear line, never a traceback, never SQL, and no
write accepted on a file that fails its quick check (issue 17, item 4).

Copies of a real database get bits flipped at random (seeded) in their data
pages (every page but the first, which holds the header and the schema);
every read and write command then runs on each copy, through the real entry
point. SQLite cannot see every flipped bit: one inside a value that still
reads as a value changes what a read prints, and the test accepts that only
where ``PRAGMA integrity_check`` or a plain dump shows the copy differs from
the original (it is what ``planner db check`` is for).
"""

from __future__ import annotations

import random
import re
import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from planner.cli import main
from tests.conftest import CliResult

Cli = Callable[..., CliResult]
DAMAGED = "planner: error: the database is damaged: run `planner db check`"
#: What no message may hold: SQL, its parameters, a traceback.
LEAKS = re.compile(
    r"\b(SELECT|INSERT|UPDATE|DELETE|PRAGMA|WHERE|VALUES)\b|\[SQL|\[parameters|Traceback|"
    r"sqlite3\.|sqlalchemy|psycopg"
)
PAGE = 4096

READS: list[tuple[str, ...]] = [
    ("schedule", "WUH-002"),
    ("upcoming", "--from", "2026-05-01", "--days", "60"),
    ("overdue", "--as-of", "2026-12-01"),
    ("due", "--as-of", "2026-05-10"),
    ("export", "ics", "-o", "-"),
    ("audit",),
    ("participants",),
    ("conflicts",),
]
ENROL_OPTIONS = (
    "--protocol",
    "cs-huc-mscs",
    "--arm",
    "LOW",
    "--site",
    "WUH",
    "--day1",
    "2026-04-20",
)
WRITES: list[tuple[str, ...]] = [
    ("visit", "complete", "WUH-003/INF/1", "--on", "2026-04-20"),
    ("enroll", "WUH-900", *ENROL_OPTIONS),
    ("visit", "move", "WUH-004/FU/2", "--to", "2026-06-01", "--force"),
    ("site", "close", "WUH", "2026-07-01"),
]


def run(db: Path | str, *args: str) -> CliResult:
    result = CliRunner().invoke(main, [f"--db={db}", "--actor=tester", *args])
    return CliResult(result.exit_code, result.stdout, result.stderr)


def fresh_copy(source: Path | bytes, target: Path) -> Path:
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    if isinstance(source, bytes):
        target.write_bytes(source)
    else:
        shutil.copyfile(source, target)
    return target


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real database: a site, 30 participants, a completed infusion; one file
    (the WAL checkpointed into it)."""
    folder = tmp_path_factory.mktemp("damage")
    db = folder / "original.db"
    rows = ["participant,protocol,arm,site,day1"] + [
        f"WUH-{n:03d},cs-huc-mscs,{('LOW', 'MED', 'HIGH')[n % 3]},WUH,2026-04-20"
        for n in range(1, 31)
    ]
    (folder / "in.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    for args in (
        ("site", "add", "WUH", "--timezone", "Asia/Shanghai"),
        ("enroll", "--csv", str(folder / "in.csv")),
        ("visit", "complete", "WUH-001/INF/1", "--on", "2026-04-20"),
    ):
        result = run(db, *args)
        assert result.exit_code == 0, result.stderr
    connection = sqlite3.connect(db)
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    return db


@pytest.fixture(scope="module")
def expected(
    original: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[tuple[str, ...], str]:
    """Every command's output on an undamaged copy."""
    folder = tmp_path_factory.mktemp("expected")
    outputs = {}
    for args in READS + WRITES:
        result = run(fresh_copy(original, folder / "copy.db"), *args)
        assert result.exit_code == 0, (args, result.stderr)
        outputs[args] = result.stdout
    return outputs


def flipped(original: Path, seed: int, bits: int) -> bytes:
    """The original's bytes with ``bits`` bits flipped at random in pages 2 onwards."""
    data = bytearray(original.read_bytes())
    rng = random.Random(seed)
    pages = len(data) // PAGE
    for _ in range(bits):
        offset = rng.randrange(PAGE, pages * PAGE)
        data[offset] ^= 1 << rng.randrange(8)
    return bytes(data)


@dataclass(frozen=True)
class State:
    """What SQLite itself says of a copy."""

    quick_ok: bool
    integrity_ok: bool
    dump: str | None


def passes(connection: sqlite3.Connection, pragma: str) -> bool:
    try:
        return connection.execute(f"PRAGMA {pragma}").fetchall() == [("ok",)]
    except sqlite3.DatabaseError:
        return False


def state(path: Path) -> State:
    connection = sqlite3.connect(path)
    try:
        try:
            dump: str | None = "\n".join(connection.iterdump())
        except sqlite3.Error:
            dump = None
        return State(passes(connection, "quick_check"), passes(connection, "integrity_check"), dump)
    finally:
        connection.close()


def clean_failure(result: CliResult) -> None:
    """Nothing leaks; a failure is the one line, exit 1."""
    assert not LEAKS.search(result.stderr), result.stderr
    assert "Traceback" not in result.stdout
    if result.exit_code != 0:
        assert (result.exit_code, result.stderr) == (1, DAMAGED + "\n"), result.stderr


#: (seed, bits): 20 bits as in the issue's test, and 1 to 3 bits, which often
#: miss the structure and leave copies that pass the quick check.
COPIES = [(seed, 20) for seed in range(4)] + [(seed, 1 + seed % 3) for seed in range(10, 22)]


def test_every_command_on_damaged_copies_succeeds_or_says_the_database_is_damaged(
    original: Path, expected: dict[tuple[str, ...], str], tmp_path: Path
) -> None:
    good = state(original)
    assert good.quick_ok and good.integrity_ok and good.dump
    seen = {"refused write": 0, "damage line": 0, "undamaged copy": 0}
    for seed, bits in COPIES:
        data = flipped(original, seed, bits)
        copy = fresh_copy(data, tmp_path / f"copy-{seed}.db")
        found = state(copy)
        intact = found.integrity_ok and found.dump == good.dump
        seen["undamaged copy"] += intact
        for args in READS + WRITES:
            result = run(fresh_copy(data, copy), *args)
            clean_failure(result)
            seen["damage line"] += result.exit_code == 1
            if intact:  # the flips hit unused space: nothing may change
                assert (result.exit_code, result.stdout) == (0, expected[args]), (seed, args)
            if args in WRITES and not found.quick_ok:
                assert result.exit_code == 1, (seed, args, result.stdout)
                assert copy.read_bytes() == data  # no write accepted
                seen["refused write"] += 1
    assert all(seen.values()), seen  # each kind of case did occur


def test_a_file_that_is_not_a_database_is_named_damaged(original: Path, tmp_path: Path) -> None:
    data = bytearray(original.read_bytes())
    data[:16] = b"not a database!!"
    copy = fresh_copy(bytes(data), tmp_path / "header.db")
    for args in [READS[0], WRITES[0], ("protocol", "list")]:
        result = run(copy, *args)
        assert (result.exit_code, result.stderr) == (1, DAMAGED + "\n"), result.stderr
    result = run(copy, "db", "check")
    assert result.exit_code == 1
    assert "integrity_check: 1 problem" in result.stdout
    assert "file is not a database" in result.stdout
    assert result.stderr.startswith("planner: error: the database is damaged (integrity_check")


def test_a_truncated_file_is_named_damaged(original: Path, tmp_path: Path) -> None:
    data = original.read_bytes()
    copy = fresh_copy(data[: len(data) // 2], tmp_path / "half.db")
    for args in READS + WRITES:
        result = run(fresh_copy(data[: len(data) // 2], copy), *args)
        clean_failure(result)
        if args in WRITES:
            assert result.exit_code == 1, args


# ------------------------------------------------------------------ db check


def test_db_check_on_a_sound_database(original: Path, tmp_path: Path) -> None:
    copy = fresh_copy(original, tmp_path / "sound.db")
    result = run(copy, "db", "check")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:3] == ["integrity_check: ok", "foreign_key_check: ok", "stored values: ok"]
    assert re.fullmatch(r"audit trail: intact: 32 rows, head [0-9a-f]{64}", lines[3]), lines[3]
    assert lines[4:] == [
        "audit triggers: all in place",
        "protocol facts: match their sources: 1 version",
        "codes: no two differ only in case: 30 participants, 1 site",
        "the database is sound",
    ]
    assert result.stderr == ""


@pytest.mark.parametrize(
    ("statement", "finding"),
    [
        (  # a source that no longer parses is a finding, not a failure of the check
            "UPDATE protocol_versions SET source = 'id = 1'",
            "the stored source is no longer a valid protocol: cs-huc-mscs v1: id: must be text",
        ),
        (  # visit records show the stored facts (label, dose...): altered ones are named
            "UPDATE protocol_versions SET facts = replace(facts, 'Infusion', 'Injection')",
            "cs-huc-mscs v1: the facts stored with it are not those of its source\n",
        ),
    ],
    ids=["source", "facts"],
)
def test_db_check_names_a_protocol_version_altered_behind_its_back(
    original: Path, tmp_path: Path, statement: str, finding: str
) -> None:
    copy = fresh_copy(original, tmp_path / "altered.db")
    tamper(copy, statement)
    result = run(copy, "db", "check")
    assert result.exit_code == 1
    assert f"protocol facts: 1 problem\n  {finding}" in result.stdout
    # The enrolment's audit row recorded the source it planned from: the trail says so too.
    assert "audit trail: 1 problem\n  protocol cs-huc-mscs v1: " in result.stdout
    assert result.stderr == (
        "planner: error: the database is damaged (audit trail, protocol facts)\n"
    )


def test_db_check_names_codes_that_differ_only_in_case(original: Path, tmp_path: Path) -> None:
    """Planner refuses a participant or site code that differs from another only
    in case; one stored by an older release (or a race it lost) is named."""
    copy = fresh_copy(original, tmp_path / "twins.db")
    connection = sqlite3.connect(copy)
    code = connection.execute("SELECT min(code) FROM participants").fetchone()[0]
    connection.close()
    tamper(
        copy,
        "INSERT INTO participants (code, protocol_version_id, arm, site_id, day1, status,"
        f" created_at) SELECT lower(code), protocol_version_id, arm, site_id, day1, status,"
        f" created_at FROM participants WHERE code = '{code}'",
    )
    result = run(copy, "db", "check")
    assert result.exit_code == 1
    twins = f"participant codes {code}, {code.lower()} differ only in case"
    assert f"codes: 1 problem\n  {twins}: one participant stored twice?\n" in result.stdout


@pytest.mark.parametrize("facts", ["not json", '{"series": {}}', '{"series": [{}], "arms": {}}'])
def test_unreadable_facts_are_named_damage(original: Path, tmp_path: Path, facts: str) -> None:
    copy = fresh_copy(original, tmp_path / "facts.db")
    tamper(copy, f"UPDATE protocol_versions SET facts = '{facts}'")
    for args in READS[:4]:
        result = run(copy, *args)
        assert (result.exit_code, result.stderr) == (1, DAMAGED + "\n"), (args, result.stderr)
    check = run(copy, "db", "check")
    assert check.exit_code == 1
    assert "cs-huc-mscs v1: the facts stored with it are not those of its source" in check.stdout


def test_a_stored_source_that_no_longer_parses_is_named_damage(
    original: Path, tmp_path: Path
) -> None:
    """A flipped bit in a stored protocol (``arms`` read as ``a2ms``) is damage,
    not the user's protocol error: commands that re-plan say so, exit 1."""
    copy = fresh_copy(original, tmp_path / "source.db")
    tamper(copy, "UPDATE protocol_versions SET source = replace(source, 'arms', 'a2ms')")
    for args in WRITES[:1] + WRITES[2:3]:  # complete, move: each re-plans
        result = run(fresh_copy(copy, tmp_path / "try.db"), *args)
        assert (result.exit_code, result.stderr) == (1, DAMAGED + "\n"), (args, result.stderr)
    check = run(copy, "db", "check")
    assert check.exit_code == 1
    assert "the stored source is no longer a valid protocol: cs-huc-mscs v1:" in check.stdout
    assert "cs-huc-mscs v1: a2ms: unknown key" in check.stdout


def test_db_check_names_a_dropped_append_only_trigger(original: Path, tmp_path: Path) -> None:
    """Dropping the triggers is how audit rows get edited; the chain shows the
    edit, and db check shows that the door was left open."""
    copy = fresh_copy(original, tmp_path / "open.db")
    connection = sqlite3.connect(copy)
    connection.execute("DROP TRIGGER audit_no_delete")
    connection.commit()
    connection.close()
    result = run(copy, "db", "check")
    assert result.exit_code == 1
    assert (
        "audit triggers: 1 problem\n  trigger audit_no_delete is missing: nothing refuses "
        "deleting audit rows\n" in result.stdout
    )
    assert result.stderr == "planner: error: the database is damaged (audit triggers)\n"


def tamper(path: Path, *statements: str) -> None:
    connection = sqlite3.connect(path)
    triggers = connection.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit'"
    ).fetchall()
    connection.execute("PRAGMA foreign_keys = OFF")
    for (sql,) in triggers:
        name = sql.split()[2]
        connection.execute(f"DROP TRIGGER {name}")
    for statement in statements:
        connection.execute(statement)
    for (sql,) in triggers:
        connection.execute(sql)
    connection.commit()
    connection.close()


def test_db_check_names_unreadable_values_missing_rows_and_a_broken_audit_trail(
    original: Path, tmp_path: Path
) -> None:
    copy = fresh_copy(original, tmp_path / "values.db")
    tamper(
        copy,
        "UPDATE visits SET target = '2026-02-30' WHERE id = 5",
        "UPDATE visits SET time = '9h' WHERE id = 1",
        "UPDATE participants SET site_id = 99 WHERE code = 'WUH-007'",
        "UPDATE audit SET actor = 'mallory' WHERE id = 3",
    )
    result = run(copy, "db", "check")
    assert result.exit_code == 1
    out = result.stdout
    assert "integrity_check: ok\n" in out  # SQLite sees nothing wrong
    assert (
        "foreign_key_check: 1 problem\n  participants row 7 refers to a missing row of sites" in out
    )
    assert "stored values: 2 problems" in out
    assert "  visits row 1: time holds an unreadable value" in out
    assert "  visits row 5: target holds an unreadable value" in out
    assert "audit trail: 1 problem\n  audit row 3:" in out
    assert result.stderr == (
        "planner: error: the database is damaged (foreign_key_check, stored values, audit trail)\n"
    )


def test_db_check_never_creates_a_database(tmp_path: Path) -> None:
    missing = tmp_path / "typo.db"
    result = run(missing, "db", "check")
    assert result.exit_code == 2
    assert result.stderr == f"planner: error: there is no database file {str(missing)!r}\n"
    assert list(tmp_path.iterdir()) == []


def test_an_unreadable_value_is_named_damage_not_a_crash(original: Path, tmp_path: Path) -> None:
    """A value SQLite stores happily but planner cannot read (no SQLite error at all)."""
    copy = fresh_copy(original, tmp_path / "value.db")
    tamper(copy, "UPDATE visits SET window_end = '2026-13-01' WHERE id IN (SELECT id FROM visits)")
    for args in [("schedule", "WUH-002"), ("export", "ics", "-o", "-")]:
        result = run(copy, *args)
        assert (result.exit_code, result.stderr) == (1, DAMAGED + "\n"), result.stderr


def test_a_text_that_is_not_utf8_is_named_damage(original: Path, tmp_path: Path) -> None:
    copy = fresh_copy(original, tmp_path / "utf8.db")
    tamper(copy, "UPDATE visits SET kind = CAST(x'ff' AS TEXT)")
    result = run(copy, "schedule", "WUH-002")
    assert (result.exit_code, result.stderr) == (1, DAMAGED + "\n"), result.stderr
    check = run(copy, "db", "check")
    assert "stored values: 20 problems" in check.stdout  # listed up to 20
    assert "visits row 1: kind holds an unreadable value" in check.stdout


def test_db_check_on_postgresql(postgres_url: str) -> None:
    """A server checks its own pages: the check there is the audit trail's chain,
    its append-only triggers, and the protocols' facts."""
    assert run(postgres_url, "site", "add", "WUH", "--timezone", "UTC").exit_code == 0
    result = run(postgres_url, "db", "check")
    assert (result.exit_code, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    assert re.fullmatch(r"audit trail: intact: 1 rows, head [0-9a-f]{64}", lines[0]), lines
    assert lines[1:] == [
        "audit triggers: all in place",
        "protocol facts: match their sources: 0 versions",
        "codes: no two differ only in case: 0 participants, 1 site",
        "the database is sound",
    ]


def test_db_check_does_not_call_an_old_or_unreachable_database_damaged(tmp_path: Path) -> None:
    """A database at an older schema needs an upgrade, a server that does not
    answer needs a look: calling either damaged could send someone to restore
    an old backup and lose recent records."""
    old = tmp_path / "old.db"
    old.write_bytes((Path(__file__).parent / "fixtures" / "schema-0001.db").read_bytes())
    result = run(old, "db", "check")
    assert result.exit_code == 1
    assert "must be upgraded first" in result.stderr and "damaged" not in result.stderr
    away = run("postgresql+psycopg://nobody@127.0.0.1:1/none", "db", "check")
    assert away.exit_code == 1
    assert "cannot open the database" in away.stderr and "damaged" not in away.stderr

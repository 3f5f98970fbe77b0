"""Storage through the CLI: where the database is, its schema revision, protocol
versions and enrolment from CSV files (all or nothing), on real SQLite files."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory

from planner.store.engine import resolve_url
from planner.store.migrate import HEAD, alembic_config
from tests.conftest import dump

Cli = Callable[..., Any]


def ok(result: Any) -> str:
    assert result.exit_code == 0, (result.stdout, result.stderr)
    assert result.stderr == ""
    return str(result.stdout)


def query(path: Path, sql: str) -> list[tuple[Any, ...]]:
    connection = sqlite3.connect(path)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def schedule(cli: Cli, participant: str, **kwargs: Any) -> list[dict[str, Any]]:
    data = json.loads(ok(cli("schedule", participant, "--format", "json", **kwargs)))
    assert isinstance(data, list)
    return data


def targets(visits: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(v["visit_id"].split("/", 1)[1], v["target"]) for v in visits]


# ---------------------------------------------------- where the database is


def test_a_new_database_is_created_and_migrated_on_first_use(cli: Cli, db_path: Path) -> None:
    assert not db_path.exists()

    assert ok(cli("site", "list")) == "(no sites)\n"

    assert db_path.exists()
    assert query(db_path, "SELECT version_num FROM alembic_version") == [(HEAD,)]
    tables = {name for (name,) in query(db_path, "SELECT name FROM sqlite_master")}
    assert {"protocol_versions", "sites", "participants", "visits", "audit"} <= tables
    assert query(db_path, "PRAGMA journal_mode") == [("wal",)]


def test_db_takes_a_sqlite_url(cli: Cli, db_path: Path) -> None:
    url = f"sqlite:///{db_path}"

    assert ok(cli("site", "add", "WUH", "--timezone", "Asia/Shanghai", db=url)) == (
        "added site WUH (Asia/Shanghai)\n"
    )

    assert query(db_path, "SELECT code, timezone FROM sites") == [("WUH", "Asia/Shanghai")]
    assert "WUH" in ok(cli("site", "list", db=db_path))  # the same file, by its path


def test_db_path_is_relative_to_the_current_folder(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()

    ok(cli("site", "add", "WUH", "--timezone", "Asia/Shanghai", db="data/trial.db"))

    assert query(tmp_path / "data" / "trial.db", "SELECT code FROM sites") == [("WUH",)]


def test_planner_db_is_the_default(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_db = tmp_path / "from-env.db"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PLANNER_DB", str(env_db))

    ok(cli("site", "add", "WUH", "--timezone", "Asia/Shanghai", db=None))

    assert query(env_db, "SELECT code FROM sites") == [("WUH",)]
    assert not (tmp_path / "planner.db").exists()
    assert "WUH" in ok(cli("site", "list", db=None))


def test_planner_db_may_be_a_url(cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_db = tmp_path / "from-env-url.db"
    monkeypatch.setenv("PLANNER_DB", f"sqlite:///{env_db}")

    ok(cli("site", "add", "NYC", "--timezone", "America/New_York", db=None))

    assert query(env_db, "SELECT code FROM sites") == [("NYC",)]


def test_db_option_wins_over_planner_db(
    cli: Cli, db_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_db = tmp_path / "from-env.db"
    monkeypatch.setenv("PLANNER_DB", str(env_db))

    ok(cli("site", "add", "WUH", "--timezone", "Asia/Shanghai", db=db_path))

    assert query(db_path, "SELECT code FROM sites") == [("WUH",)]
    assert not env_db.exists()


def test_without_db_or_planner_db_it_is_planner_db_here(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the cli fixture already removed PLANNER_DB

    ok(cli("site", "add", "WUH", "--timezone", "Asia/Shanghai", db=None))

    assert query(tmp_path / "planner.db", "SELECT code FROM sites") == [("WUH",)]


@pytest.mark.parametrize("url", ["nonsense://", "nonsense://host/db"])
def test_a_bad_db_url_is_an_input_error(cli: Cli, url: str) -> None:
    result = cli("site", "list", db=url)

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("planner: error: ")
    assert "nonsense" in result.stderr
    assert "unexpected" not in result.stderr


def test_a_file_that_is_not_a_planner_database_is_refused(cli: Cli, db_path: Path) -> None:
    connection = sqlite3.connect(db_path)
    connection.execute("CREATE TABLE notes (text TEXT)")
    connection.commit()
    connection.close()
    before = dump(db_path)

    result = cli("site", "list")

    assert result.exit_code == 1
    assert result.stderr == (
        "planner: error: the database holds tables but is not a planner database\n"
    )
    assert dump(db_path) == before


# ------------------------------------------------------- schema revisions


def _previous_revision() -> str | None:
    script = ScriptDirectory.from_config(alembic_config(resolve_url("unused.db")))
    head = script.get_revision(HEAD)
    assert head is not None
    down = head.down_revision
    assert down is None or isinstance(down, str)
    return down


@pytest.fixture
def behind(cli: Cli, db_path: Path) -> str:
    """A database whose schema revision is older than HEAD; returns that revision.

    With a revision before HEAD, the database is really built at it; with HEAD
    the first revision, the current schema is stamped with a made-up older one.
    """
    previous = _previous_revision()
    if previous is not None:
        command.upgrade(alembic_config(resolve_url(str(db_path))), previous)
        return previous
    ok(cli("site", "list"))
    connection = sqlite3.connect(db_path)
    with connection:
        connection.execute("UPDATE alembic_version SET version_num = '0000'")
    connection.close()
    return "0000"


@pytest.mark.parametrize(
    "args",
    [
        ("site", "list"),
        ("site", "add", "WUH", "--timezone", "Asia/Shanghai"),
        ("protocol", "list"),
        ("upcoming", "--from", "2026-03-25"),
        (
            "enroll",
            "P-001",
            "--protocol",
            "ucmsc-dlc",
            "--arm",
            "G1",
            "--site",
            "WUH",
            "--day1",
            "2026-03-02",
        ),
    ],
    ids=["site-list", "site-add", "protocol-list", "upcoming", "enroll"],
)
def test_an_older_schema_is_refused_until_db_upgrade(
    cli: Cli, db_path: Path, behind: str, args: tuple[str, ...]
) -> None:
    before = dump(db_path)

    result = cli(*args)

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"planner: error: the database schema is at revision {behind} but this planner "
        f"needs {HEAD}; it must be upgraded first (the upgrade keeps a backup copy); "
        "run `planner db upgrade`\n"
    )
    assert dump(db_path) == before


# ------------------------------------------------------ protocol versions

DEMO_V1 = """\
id = "demo-trial"
title = "Demo trial"

[[arms]]
code = "A"
label = "Arm A"

[[schedule]]
code = "V"
label = "Clinic visit"
kind = "visit"
setting = "outpatient"
window = { before = 2, after = 2 }
timing = { weeks = [2, 4] }
"""

DEMO_V2 = DEMO_V1.replace("weeks = [2, 4]", "weeks = [3, 6]").replace(
    "before = 2, after = 2", "before = 3, after = 3"
)


def _enroll(cli: Cli, participant: str, protocol: str, arm: str, day1: str) -> None:
    ok(
        cli(
            "enroll",
            participant,
            "--protocol",
            protocol,
            "--arm",
            arm,
            "--site",
            "WUH",
            "--day1",
            day1,
        )
    )


def test_protocol_add_twice_is_a_no_op_and_a_change_is_version_2(
    cli: Cli, db_path: Path, tmp_path: Path
) -> None:
    ok(cli("site", "add", "WUH", "--timezone", "Asia/Shanghai"))
    path = tmp_path / "demo.toml"
    path.write_text(DEMO_V1, encoding="utf-8")

    assert ok(cli("protocol", "add", str(path))) == "added demo-trial version 1\n"
    _enroll(cli, "OLD-1", "demo-trial", "A", "2026-03-02")
    before = dump(db_path)
    assert ok(cli("protocol", "add", str(path))) == (
        "demo-trial version 1 is unchanged; nothing stored\n"
    )
    assert dump(db_path) == before

    path.write_text(DEMO_V2, encoding="utf-8")
    assert ok(cli("protocol", "add", str(path))) == "added demo-trial version 2\n"
    _enroll(cli, "NEW-1", "demo-trial", "A", "2026-03-02")

    old = schedule(cli, "OLD-1")
    new = schedule(cli, "NEW-1")
    assert [(v["visit_id"], v["target"], v["window_start"], v["window_end"]) for v in old] == [
        ("OLD-1/V/1", "2026-03-16", "2026-03-14", "2026-03-18"),
        ("OLD-1/V/2", "2026-03-30", "2026-03-28", "2026-04-01"),
    ]
    assert [(v["visit_id"], v["target"], v["window_start"], v["window_end"]) for v in new] == [
        ("NEW-1/V/1", "2026-03-23", "2026-03-20", "2026-03-26"),
        ("NEW-1/V/2", "2026-04-13", "2026-04-10", "2026-04-16"),
    ]
    assert {v["protocol_version"] for v in old} == {1}
    assert {v["protocol_version"] for v in new} == {2}
    assert query(
        db_path,
        "SELECT p.code, v.protocol_id, v.version FROM participants p "
        "JOIN protocol_versions v ON v.id = p.protocol_version_id ORDER BY p.code",
    ) == [("NEW-1", "demo-trial", 2), ("OLD-1", "demo-trial", 1)]
    listed = json.loads(ok(cli("protocol", "list", "--format", "json")))
    assert [(p["id"], p["version"]) for p in listed if p["id"] == "demo-trial"] == [
        ("demo-trial", 2)
    ]
    actions = [
        (e["action"], e["after"].get("version"))
        for e in json.loads(ok(cli("audit", "--format", "json")))
        if e["action"] == "protocol-add"
    ]
    assert actions == [("protocol-add", 1), ("protocol-add", 2)]


def test_a_changed_bundled_protocol_leaves_earlier_participants_on_version_1(
    cli: Cli, db_path: Path, tmp_path: Path
) -> None:
    ok(cli("site", "add", "WUH", "--timezone", "Asia/Shanghai"))
    _enroll(cli, "OLD-1", "ucmsc-dlc", "G1", "2026-03-02")
    bundled = resources.files("planner").joinpath("protocols/ucmsc-dlc.toml").read_text("utf-8")
    path = tmp_path / "ucmsc-dlc.toml"

    # The bundled file itself is what OLD-1 was enrolled on: adding it changes nothing.
    path.write_text(bundled, encoding="utf-8")
    before = dump(db_path)
    assert ok(cli("protocol", "add", str(path))) == (
        "ucmsc-dlc version 1 is unchanged; nothing stored\n"
    )
    assert dump(db_path) == before

    changed = bundled.replace("weeks = [4, 12, 24, 36, 48]", "weeks = [4, 13, 26, 39, 52]")
    assert changed != bundled
    path.write_text(changed, encoding="utf-8")
    assert ok(cli("protocol", "add", str(path))) == "added ucmsc-dlc version 2\n"
    _enroll(cli, "NEW-1", "ucmsc-dlc", "G1", "2026-03-02")
    # A re-plan of OLD-1 (its first infusion a day late) must still use version 1.
    ok(cli("visit", "complete", "OLD-1/INF/1", "--on", "2026-03-03"))

    assert [t for t in targets(schedule(cli, "OLD-1")) if not t[0].startswith("INF")] == [
        ("FU/1", "2026-03-30"),
        ("FU/2", "2026-05-25"),
        ("FU/3", "2026-08-17"),
        ("FU/4", "2026-11-09"),
        ("FU/5", "2027-02-01"),
        ("SURV/1", "2027-03-02"),
    ]
    assert [t for t in targets(schedule(cli, "OLD-1")) if t[0].startswith("INF")] == [
        ("INF/1", "2026-03-02"),
        ("INF/2", "2026-03-07"),
        ("INF/3", "2026-03-11"),
        ("INF/4", "2026-03-15"),
    ]
    assert [t for t in targets(schedule(cli, "NEW-1")) if not t[0].startswith("INF")] == [
        ("FU/1", "2026-03-30"),
        ("FU/2", "2026-06-01"),
        ("FU/3", "2026-08-31"),
        ("FU/4", "2026-11-30"),
        ("FU/5", "2027-03-01"),
        ("SURV/1", "2027-03-02"),
    ]
    assert {v["protocol_version"] for v in schedule(cli, "OLD-1")} == {1}
    assert {v["protocol_version"] for v in schedule(cli, "NEW-1")} == {2}


def test_protocol_add_of_an_invalid_file_writes_nothing(
    cli: Cli, db_path: Path, tmp_path: Path
) -> None:
    ok(cli("site", "list"))
    path = tmp_path / "bad.toml"
    path.write_text(DEMO_V1.replace('code = "A"', 'code = "A/B"'), encoding="utf-8")
    before = dump(db_path)

    result = cli("protocol", "add", str(path))

    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"planner: error: {path}: arms[0].code: ")
    assert dump(db_path) == before


# ------------------------------------------------------------ CSV enrolment


def test_csv_enrolment_answers_in_the_format_asked(cli: Cli, db_path: Path, tmp_path: Path) -> None:
    ok(cli("site", "add", "WUH", "--timezone", "Asia/Shanghai"))
    path = tmp_path / "two.csv"
    path.write_text(
        "participant,protocol,arm,site,day1\n"
        "B-001,ucmsc-dlc,G1,WUH,2026-03-02\nB-002,ucmsc-dlc,G2,WUH,2026-03-03\n"
    )
    answer = json.loads(ok(cli("enroll", "--csv", str(path), "--format", "json")))
    assert answer == {"file": str(path), "enrolled": 2, "skipped": 0}
    again = ok(cli("enroll", "--csv", str(path), "--skip-existing", "--format", "csv"))
    assert again == f"file,enrolled,skipped\n{path},0,2\n"


def test_csv_with_a_bom_and_crlf_lines(cli: Cli, db_path: Path, tmp_path: Path) -> None:
    ok(cli("site", "add", "WUH", "--timezone", "Asia/Shanghai"))
    path = tmp_path / "excel.csv"
    text = (
        "participant,protocol,arm,site,day1,weight_kg\r\n"
        "B-001,ucmsc-dlc,G1,WUH,2026-03-02,62\r\n"
        "B-002,cs-huc-mscs,MED,WUH,2026-04-20,\r\n"
    )
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))

    assert ok(cli("enroll", "--csv", str(path))) == f"enrolled 2 participants from {path}\n"

    assert targets(schedule(cli, "B-001"))[:4] == [
        ("INF/1", "2026-03-02"),
        ("INF/2", "2026-03-06"),
        ("INF/3", "2026-03-10"),
        ("INF/4", "2026-03-14"),
    ]
    assert targets(schedule(cli, "B-002"))[0] == ("INF/1", "2026-04-20")
    assert query(db_path, "SELECT code, weight_kg FROM participants ORDER BY code") == [
        ("B-001", 62.0),
        ("B-002", None),
    ]
    enrolments = [
        (e["participant"], e["after"]["arm"], e["after"]["visits"])
        for e in json.loads(ok(cli("audit", "--format", "json")))
        if e["action"] == "enroll"
    ]
    assert enrolments == [("B-001", "G1", 10), ("B-002", "MED", 14)]


#: Every arm of both bundled protocols, and how many visits each plans (by hand:
#: G1 4 infusions + 5 follow-ups + 1 call; G2 2 + 5 + 1; CTRL 5 + 1;
#: cs-huc-mscs 3 infusions + 4 in-hospital + 4 follow-ups + 3 calls).
ARMS = [
    ("ucmsc-dlc", "G1", 10),
    ("ucmsc-dlc", "G2", 8),
    ("ucmsc-dlc", "CTRL", 6),
    ("cs-huc-mscs", "LOW", 14),
    ("cs-huc-mscs", "MED", 14),
    ("cs-huc-mscs", "HIGH", 14),
]


def test_csv_of_10000_participants(cli: Cli, db_path: Path, tmp_path: Path) -> None:
    ok(cli("site", "add", "WUH", "--timezone", "Asia/Shanghai"))
    ok(cli("site", "add", "NYC", "--timezone", "America/New_York"))
    path = tmp_path / "big.csv"
    lines = ["participant,protocol,arm,site,day1,weight_kg"]
    for i in range(10_000):
        protocol, arm, _ = ARMS[i % 6]
        day1 = date(2026, 1, 1) + timedelta(days=i % 365)
        site = "WUH" if i % 4 < 2 else "NYC"
        weight = f"{40 + i % 60}.5" if i % 3 else ""
        lines.append(f"K{i:05d},{protocol},{arm},{site},{day1},{weight}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")

    started = time.perf_counter()
    result = cli("enroll", "--csv", str(path))
    seconds = time.perf_counter() - started
    print(f"\nenrol --csv of 10,000 participants: {seconds:.2f} s")

    assert ok(result) == f"enrolled 10000 participants from {path}\n"
    # 10,000 = 6 × 1,666 + 4: the first four arms get one participant more.
    expected_visits = 1667 * (10 + 8 + 6 + 14) + 1666 * (14 + 14)
    assert expected_visits == 109_994
    assert query(db_path, "SELECT count(*) FROM participants") == [(10_000,)]
    assert query(db_path, "SELECT count(*) FROM visits") == [(expected_visits,)]
    assert query(db_path, "SELECT count(*) FROM audit WHERE action = 'enroll'") == [(10_000,)]
    assert query(
        db_path,
        "SELECT p.arm, count(*) FROM participants p GROUP BY p.arm ORDER BY p.arm",
    ) == [("CTRL", 1667), ("G1", 1667), ("G2", 1667), ("HIGH", 1666), ("LOW", 1667), ("MED", 1666)]
    assert query(
        db_path,
        "SELECT count(*) FROM visits v JOIN participants p ON p.id = v.participant_id "
        "WHERE v.site_id != p.site_id",
    ) == [(0,)]
    # K00060: G1 from 2026-03-02; K01204: MED from 2026-04-20 (1204 % 6 == 4, % 365 == 109).
    assert targets(schedule(cli, "K00060")) == [
        ("INF/1", "2026-03-02"),
        ("INF/2", "2026-03-06"),
        ("INF/3", "2026-03-10"),
        ("INF/4", "2026-03-14"),
        ("FU/1", "2026-03-30"),
        ("FU/2", "2026-05-25"),
        ("FU/3", "2026-08-17"),
        ("FU/4", "2026-11-09"),
        ("FU/5", "2027-02-01"),
        ("SURV/1", "2027-03-02"),
    ]
    assert [t for _, t in targets(schedule(cli, "K01204"))] == [
        "2026-04-20",
        "2026-04-23",
        "2026-04-27",
        "2026-04-30",
        "2026-05-04",
        "2026-05-07",
        "2026-05-11",
        "2026-05-18",
        "2026-06-15",
        "2026-07-13",
        "2026-10-05",
        "2027-04-05",
        "2027-10-05",
        "2028-04-05",
    ]
    assert seconds < 60


def test_an_sqlite_database_never_loads_the_postgresql_dialect(tmp_path: Path) -> None:
    """Declaring PostgreSQL's side of the partial index loads SQLAlchemy's
    PostgreSQL dialect (~65 ms a command): only PostgreSQL engines do it.
    (Creating a database runs Alembic, which loads every dialect it knows.)"""
    from planner.app import Planner

    db = tmp_path / "x.db"
    with Planner(str(db), actor="t") as planner:
        planner.add_site("WUH", "Asia/Shanghai")
    code = (
        "import sys\n"
        "from planner.app import Planner\n"
        "from planner.store.models import SCHEDULED_INDEX, visits_table\n"
        f"with Planner({str(db)!r}, actor='t') as p:\n"
        "    p.add_site('NYC', 'America/New_York')\n"
        "    assert [s.code for s in p.sites()] == ['NYC', 'WUH']\n"
        "index = next(i for i in visits_table.indexes if i.name == SCHEDULED_INDEX)\n"
        "print(sorted(m for m in sys.modules if m.startswith('sqlalchemy.dialects.postgresql')))\n"
        "print(index.dialect_options['sqlite']['where'])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == ["[]", "status = 'scheduled'"]

"""PostgreSQL, the central multi-site database, on a real server.

The same commands run against a PostgreSQL database and an SQLite file must
give the same answers; migrations and the append-only audit trail must hold
there too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from planner.app import Planner
from planner.store.migrate import HEAD, alembic_config
from tests.conftest import CliResult

Cli = Callable[..., CliResult]

SCENARIO: list[tuple[str, ...]] = [
    ("site", "add", "WUH", "--timezone", "Asia/Shanghai", "--closed", "sun", "--holidays", "CN"),
    ("site", "add", "NYC", "--timezone", "America/New_York"),
    ("site", "capacity", "NYC", "--kind", "infusion", "--per-day", "1"),
    ("enroll", "WUH-001", "--protocol", "ucmsc-dlc", "--arm", "G1", "--site", "WUH",
     "--day1", "2026-03-02", "--weight-kg", "62"),
    ("enroll", "WUH-002", "--protocol", "ucmsc-dlc", "--arm", "G2", "--site", "WUH",
     "--day1", "2026-03-03"),
    ("enroll", "WUH-003", "--protocol", "ucmsc-dlc", "--arm", "CTRL", "--site", "WUH",
     "--day1", "2026-03-04"),
    ("enroll", "NYC-001", "--protocol", "cs-huc-mscs", "--arm", "LOW", "--site", "NYC",
     "--day1", "2026-03-02"),
    ("enroll", "NYC-002", "--protocol", "cs-huc-mscs", "--arm", "MED", "--site", "NYC",
     "--day1", "2026-03-02"),
    ("enroll", "NYC-003", "--protocol", "cs-huc-mscs", "--arm", "HIGH", "--site", "NYC",
     "--day1", "2026-04-20"),
    ("visit", "complete", "WUH-001/INF/1", "--on", "2026-03-02"),
    ("visit", "complete", "WUH-001/INF/2", "--on", "2026-03-08"),
    ("visit", "move", "NYC-003/FU/4", "--to", "2026-10-08", "--reason", "travel"),
    ("visit", "miss", "NYC-001/IHFU/2"),
    ("participant", "withdraw", "WUH-002", "--on", "2026-04-01"),
    ("participant", "died", "WUH-003", "--on", "2026-06-01"),
    # covers the whole window of WUH-001's week-4 follow-up: a conflict
    ("site", "close", "WUH", "2026-03-20", "--to", "2026-04-10", "--reason", "inspection"),
]  # fmt: skip

QUERIES: list[tuple[str, ...]] = [
    ("schedule", "WUH-001", "--format", "json"),
    ("schedule", "NYC-003", "--format", "json"),
    ("schedule", "WUH-003", "--format", "csv"),
    ("upcoming", "--from", "2026-03-25", "--days", "14", "--format", "json"),
    ("upcoming", "--from", "2026-03-01", "--days", "30", "--site", "NYC", "--kind", "infusion"),
    ("upcoming", "--from", "2026-03-01", "--days", "60", "--protocol", "ucmsc-dlc", "--arm", "G1"),
    ("overdue", "--as-of", "2026-06-01", "--format", "json"),
    ("overdue", "--as-of", "2026-06-01", "--site", "WUH"),
    ("deviations", "--format", "json"),
    ("conflicts", "--format", "json"),
    ("capacity", "--from", "2026-03-01", "--days", "90", "--format", "json"),
    ("protocol", "list", "--format", "json"),
]  # fmt: skip


def ok(result: CliResult) -> CliResult:
    assert result.exit_code == 0, result.stderr
    return result


def test_migrations_upgrade_downgrade_and_match_the_models(postgres_url: str) -> None:
    config = alembic_config(make_url(postgres_url))
    assert ScriptDirectory.from_config(config).get_heads() == [HEAD]
    command.upgrade(config, "head")
    command.check(config)  # raises when models and migrations disagree
    command.downgrade(config, "base")
    engine = create_engine(postgres_url)
    try:
        with engine.connect() as connection:
            assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
        command.upgrade(config, "head")
        with engine.connect() as connection:
            tables = set(inspect(connection).get_table_names())
            version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()
    assert {"visits", "participants", "sites", "audit", "site_closures"} <= tables
    assert version == HEAD


def test_the_audit_trail_is_append_only_on_postgres(postgres_url: str) -> None:
    with Planner(postgres_url, actor="tester") as planner:
        planner.add_site("WUH", "Asia/Shanghai")
    plain = make_url(postgres_url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(plain, autocommit=True) as connection:
        for statement in ("UPDATE audit SET actor = 'mallory'", "DELETE FROM audit"):
            with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
                connection.execute(statement)
        count = connection.execute("SELECT count(*) FROM audit").fetchone()
    assert count == (1,)


def test_postgres_and_sqlite_give_the_same_answers(
    cli: Cli, postgres_url: str, tmp_path: Path
) -> None:
    sqlite = tmp_path / "same.db"
    for args in SCENARIO:
        on_sqlite = ok(cli(*args, db=sqlite))
        on_postgres = ok(cli(*args, db=postgres_url))
        assert on_postgres.stdout == on_sqlite.stdout, args
    for args in QUERIES:
        on_sqlite = ok(cli(*args, db=sqlite))
        on_postgres = ok(cli(*args, db=postgres_url))
        assert on_postgres.stdout == on_sqlite.stdout, args
        assert on_postgres.stdout.strip() not in ("", "[]", "(no visits)"), args

    # Calendars: the same events, UIDs and SEQUENCEs (DTSTAMP is each database's own clock).
    def events(db: str | Path) -> str:
        out = tmp_path / "calendar.ics"
        ok(cli("export", "ics", "--output", str(out), db=db))
        return re.sub(r"(DTSTAMP|LAST-MODIFIED):\d{8}T\d{6}Z", r"\1:-", out.read_text())

    assert events(postgres_url) == events(sqlite)


def test_stale_data_and_bad_input_on_postgres(cli: Cli, postgres_url: str) -> None:
    ok(cli("site", "add", "WUH", "--timezone", "Asia/Shanghai", db=postgres_url))
    ok(cli("enroll", "P-1", "--protocol", "cs-huc-mscs", "--arm", "LOW", "--site", "WUH",
           "--day1", "2026-03-02", db=postgres_url))  # fmt: skip
    ok(cli("visit", "move", "P-1/FU/1", "--to", "2026-04-01", "--revision", "0", db=postgres_url))
    stale = cli("visit", "move", "P-1/FU/1", "--to", "2026-03-31", "--revision", "0",
                db=postgres_url)  # fmt: skip
    assert stale.exit_code == 1
    assert "changed since you read it" in stale.stderr
    duplicate = cli("enroll", "P-1", "--protocol", "cs-huc-mscs", "--arm", "LOW", "--site", "WUH",
                    "--day1", "2026-03-02", db=postgres_url)  # fmt: skip
    assert duplicate.exit_code == 2
    assert "already enrolled" in duplicate.stderr
    assert len(duplicate.stderr.splitlines()) == 1


def test_the_models_partial_index_is_the_one_the_migrations_make(postgres_url: str) -> None:
    """The PostgreSQL condition of the models' partial index is declared only
    when a PostgreSQL engine is made (planner.store.models.for_postgresql): it
    must then be there, and be what migration 0008 created on the server."""
    from sqlalchemy.schema import CreateIndex

    from planner.store.engine import make_engine
    from planner.store.models import SCHEDULED_INDEX, visits_table

    engine = make_engine(postgres_url)
    try:
        index = next(one for one in visits_table.indexes if one.name == SCHEDULED_INDEX)
        declared = str(CreateIndex(index).compile(dialect=engine.dialect))  # before migrating
        command.upgrade(alembic_config(make_url(postgres_url)), "head")
        with engine.connect() as connection:
            stored = {i["name"]: i for i in inspect(connection).get_indexes("visits")}
    finally:
        engine.dispose()
    condition = stored[SCHEDULED_INDEX]["dialect_options"]["postgresql_where"]
    assert re.sub(r"[()]|::text", "", condition) == "status = 'scheduled'"
    assert declared.endswith("WHERE status = 'scheduled'")


def test_an_older_schema_on_postgres_is_refused_without_promising_a_copy(
    cli: Cli, postgres_url: str
) -> None:
    """On a server ``db upgrade`` copies nothing: the refusal says to back up first."""
    ok(cli("site", "add", "WUH", "--timezone", "UTC", db=postgres_url))
    engine = create_engine(postgres_url)
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = '0008'"))
        result = cli("site", "list", db=postgres_url)
    finally:
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE alembic_version SET version_num = :head"), {"head": HEAD}
            )
        engine.dispose()
    assert result.exit_code == 1
    assert "back the database up with the server's own tools first" in result.stderr
    assert "keeps a backup copy" not in result.stderr


def test_a_rolled_back_write_is_no_broken_trail_on_postgres(cli: Cli, postgres_url: str) -> None:
    """A rebaseline preview appends audit rows and rolls back; the sequence it
    moved does not move back on PostgreSQL, and verify called the trail cut
    ("audit row 4: removed ... ids up to 9 were handed out")."""
    amended = Path(__file__).parent / "fixtures" / "amendments" / "cs-huc-mscs-v2.toml"
    ok(cli("site", "add", "WUH", "--timezone", "Asia/Shanghai", db=postgres_url))
    ok(cli("enroll", "W-001", "--protocol", "cs-huc-mscs", "--arm", "LOW", "--site", "WUH",
           "--day1", "2026-01-05", db=postgres_url))  # fmt: skip
    ok(cli("protocol", "add", str(amended), db=postgres_url))
    ok(cli("participant", "rebaseline", "W-001", "--protocol", "cs-huc-mscs", "--to-version",
           "2", "--preview", db=postgres_url))  # fmt: skip
    assert ok(cli("audit", "verify", db=postgres_url)).stdout.startswith("audit trail intact")
    ok(cli("visit", "add", "W-001", "--on", "2026-02-01", "--label", "AE", db=postgres_url))
    assert ok(cli("audit", "verify", db=postgres_url)).stdout.startswith("audit trail intact")

"""Alembic migrations on real SQLite files: one head, models and migrations in
agreement, every revision up, down and up again, no data lost, and an audit
table that the database itself keeps append-only."""

from __future__ import annotations

import itertools
import shutil
import sqlite3
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from planner.app import Planner
from planner.store.engine import resolve_url
from planner.store.migrate import HEAD, REVISIONS, alembic_config
from tests.conftest import dump

Cli = Callable[..., Any]

NOW = datetime(2026, 11, 22, 8, 30, 0)
FIXTURE_0001 = Path(__file__).parent / "fixtures" / "schema-0001.db"
#: Tables whose rows every migration must keep, and the columns revision 0001 has.
KEPT = {
    "protocol_versions": "id, protocol_id, version, fingerprint, title, source, created_at",
    "sites": "id, code, name, timezone, created_at",
    "participants": "id, code, protocol_version_id, arm, site_id, day1, weight_kg, status, "
    "ended_on, created_at",
    "visits": "id, participant_id, site_id, event, occurrence, kind, ideal, target, "
    "window_start, window_end, time, duration_minutes, status, actual, pinned, deviation, "
    "revision, updated_at",
    "audit": "id, at, actor, action, participant, visit, before, after, reason",
}


def config_for(path: Path) -> Config:
    return alembic_config(resolve_url(str(path)))


def scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(config_for(Path("unused.db")))


def revisions_oldest_first() -> list[str]:
    return [script.revision for script in reversed(list(scripts().walk_revisions()))]


def query(path: Path, sql: str) -> list[tuple[Any, ...]]:
    connection = sqlite3.connect(path)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def version(path: Path) -> str | None:
    tables = {name for (name,) in query(path, "SELECT name FROM sqlite_master")}
    if "alembic_version" not in tables:
        return None
    rows = query(path, "SELECT version_num FROM alembic_version")
    return str(rows[0][0]) if rows else None


def schema(path: Path) -> dict[str, Any]:
    """Tables with their columns, indexes, foreign keys; and the triggers."""
    found: dict[str, Any] = {}
    connection = sqlite3.connect(path)
    try:
        names = connection.execute(
            "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name"
        ).fetchall()
        for kind, name in names:
            if kind == "table":
                found[name] = {
                    "columns": connection.execute(f'PRAGMA table_info("{name}")').fetchall(),
                    "indexes": sorted(
                        (row[1], row[2])
                        for row in connection.execute(f'PRAGMA index_list("{name}")')
                    ),
                    "foreign_keys": sorted(
                        connection.execute(f'PRAGMA foreign_key_list("{name}")').fetchall()
                    ),
                }
            elif kind == "trigger":
                found[f"trigger {name}"] = True
    finally:
        connection.close()
    return found


def snapshot(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    return {
        table: query(path, f"SELECT {columns} FROM {table} ORDER BY id")
        for table, columns in KEPT.items()
    }


def seed(path: Path) -> None:
    """Sites, a participant in every arm of both bundled protocols, and changes."""
    with Planner(str(path), actor="seed", clock=lambda: NOW) as planner:
        planner.add_site("WUH", "Asia/Shanghai", "Wuhan")
        planner.add_site("NYC", "America/New_York")
        for code, protocol, arm, site, day1 in [
            ("WUH-001", "ucmsc-dlc", "G1", "WUH", date(2026, 3, 2)),
            ("WUH-002", "ucmsc-dlc", "G2", "WUH", date(2026, 3, 5)),
            ("WUH-003", "ucmsc-dlc", "CTRL", "WUH", date(2026, 3, 9)),
            ("NYC-001", "cs-huc-mscs", "LOW", "NYC", date(2026, 3, 2)),
            ("NYC-002", "cs-huc-mscs", "MED", "NYC", date(2026, 4, 20)),
            ("NYC-003", "cs-huc-mscs", "HIGH", "NYC", date(2026, 5, 11)),
        ]:
            planner.enroll(code, protocol, arm, site, day1, 62.0 if arm == "G1" else None)
        planner.complete("WUH-001/INF/1", date(2026, 3, 2))
        planner.complete("WUH-001/INF/2", date(2026, 3, 8))  # late: re-plans INF/3 and INF/4
        planner.move("NYC-002/FU/4", date(2026, 10, 8), reason="travel")
        planner.miss("NYC-001/IHFU/2")
        planner.withdraw("WUH-002", date(2026, 4, 1), reason="consent withdrawn")
        planner.died("WUH-003", date(2026, 6, 1))


# ------------------------------------------------------------------- heads


def test_a_single_head_and_it_is_the_one_the_planner_expects() -> None:
    heads = scripts().get_heads()

    assert len(heads) == 1
    assert heads == [HEAD]


def test_revisions_form_one_line_from_base() -> None:
    revisions = revisions_oldest_first()
    script = scripts()

    assert revisions[-1] == HEAD
    assert tuple(revisions) == REVISIONS
    assert script.get_revision(revisions[0]).down_revision is None  # type: ignore[union-attr]
    for older, newer in itertools.pairwise(revisions):
        assert script.get_revision(newer).down_revision == older  # type: ignore[union-attr]


# ---------------------------------------------------------- upgrade, check


def test_upgrade_from_empty_then_models_and_migrations_agree(db_path: Path) -> None:
    config = config_for(db_path)

    command.upgrade(config, "head")
    command.check(config)  # raises AutogenerateDiffsDetected if they differ

    assert version(db_path) == HEAD
    assert query(db_path, "PRAGMA foreign_key_check") == []


def test_the_application_creates_the_same_schema_as_the_migrations(
    cli: Cli, db_path: Path, tmp_path: Path
) -> None:
    by_alembic = tmp_path / "alembic.db"
    command.upgrade(config_for(by_alembic), "head")

    assert cli("site", "list").exit_code == 0

    assert schema(db_path) == schema(by_alembic)


@pytest.mark.parametrize("revision", revisions_oldest_first())
def test_each_revision_upgrades_downgrades_and_upgrades_again(
    db_path: Path, tmp_path: Path, revision: str
) -> None:
    config = config_for(db_path)
    down = scripts().get_revision(revision).down_revision  # type: ignore[union-attr]
    assert down is None or isinstance(down, str)
    fresh_down = tmp_path / "fresh-down.db"
    if down is not None:
        command.upgrade(config_for(fresh_down), down)
    else:
        sqlite3.connect(fresh_down).close()

    command.upgrade(config, revision)
    upgraded = schema(db_path)
    command.downgrade(config, "-1")
    downgraded = schema(db_path)
    command.upgrade(config, revision)

    assert version(db_path) == revision
    assert schema(db_path) == upgraded
    downgraded.pop("alembic_version", None)
    expected_down = schema(fresh_down)
    expected_down.pop("alembic_version", None)
    assert downgraded == expected_down
    assert query(db_path, "PRAGMA foreign_key_check") == []


# ------------------------------------------------------------- data kept


def test_seeded_data_survives_downgrade_to_previous_and_db_upgrade(cli: Cli, db_path: Path) -> None:
    seed(db_path)
    before = snapshot(db_path)
    assert len(before["participants"]) == 6
    assert len(before["visits"]) == 10 + 8 + 6 + 14 + 14 + 14
    assert len(before["sites"]) == 2
    audit_rows = len(before["audit"])
    assert audit_rows > 2 + 6 + 4  # sites, enrolments, the four visit changes, and more
    with Planner(str(db_path)) as planner:
        schedule_before = [r.to_json() for r in planner.schedule("WUH-001")]

    previous = scripts().get_revision(HEAD).down_revision  # type: ignore[union-attr]
    if previous is not None:
        assert isinstance(previous, str)
        command.downgrade(config_for(db_path), previous)
        assert version(db_path) == previous
        assert snapshot(db_path) == before
    result = cli("db", "upgrade")

    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.endswith(f"database is at schema revision {HEAD}\n")
    if previous is not None:
        first, _ = result.stdout.split("\n", 1)
        assert first.startswith(f"backup written to {db_path}.{previous}-")
        backup = Path(first.removeprefix("backup written to "))
        assert version(backup) == previous
        assert snapshot(backup) == before
    assert version(db_path) == HEAD
    assert snapshot(db_path) == before
    assert query(db_path, "PRAGMA foreign_key_check") == []
    with Planner(str(db_path)) as planner:
        assert [r.to_json() for r in planner.schedule("WUH-001")] == schedule_before


def test_the_0001_fixture_database_upgrades_with_every_row_kept(cli: Cli, db_path: Path) -> None:
    shutil.copyfile(FIXTURE_0001, db_path)
    assert version(db_path) == "0001"
    before = snapshot(db_path)
    assert [len(before[t]) for t in ("sites", "participants", "visits", "audit")] == [
        2,
        6,
        66,
        28,
    ]

    refused = cli("site", "list")
    upgraded = cli("db", "upgrade")

    assert refused.exit_code == 1
    assert "run `planner db upgrade`" in refused.stderr
    assert upgraded.exit_code == 0, upgraded.stderr
    assert upgraded.stdout.startswith(f"backup written to {db_path}.0001-")
    assert version(db_path) == HEAD
    assert snapshot(db_path) == before
    shown = cli("schedule", "WUH-001", "--format", "json")
    assert shown.exit_code == 0, shown.stderr
    assert '"actual": "2026-03-08"' in shown.stdout


# ------------------------------------------------------ planner db upgrade


def test_db_upgrade_on_a_current_database_says_it_is_at_the_head(cli: Cli, db_path: Path) -> None:
    assert cli("site", "add", "WUH", "--timezone", "Asia/Shanghai").exit_code == 0
    before = dump(db_path)

    result = cli("db", "upgrade")

    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"database is at schema revision {HEAD}\n"
    assert result.stderr == ""
    assert dump(db_path) == before
    assert sorted(p.name for p in db_path.parent.iterdir() if p.suffix == ".bak") == []


def test_db_upgrade_creates_a_new_database(cli: Cli, db_path: Path) -> None:
    result = cli("db", "upgrade")

    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"database is at schema revision {HEAD}\n"
    assert version(db_path) == HEAD


# ------------------------------------------------------------ audit trail


@pytest.mark.parametrize("cycled", [False, True], ids=["fresh", "after-down-and-up"])
def test_the_audit_trail_refuses_update_and_delete(db_path: Path, cycled: bool) -> None:
    if cycled:  # the guards must come back after every revision went down and up again
        config = config_for(db_path)
        command.upgrade(config, "head")
        command.downgrade(config, "base")
        command.upgrade(config, "head")
    seed(db_path)
    before = query(db_path, "SELECT * FROM audit ORDER BY id")
    assert len(before) > 8

    connection = sqlite3.connect(db_path)
    try:
        with pytest.raises(sqlite3.IntegrityError, match="the audit trail is append-only"):
            connection.execute("UPDATE audit SET actor = 'mallory' WHERE id = 1")
        with pytest.raises(sqlite3.IntegrityError, match="the audit trail is append-only"):
            connection.execute("DELETE FROM audit WHERE id = 1")
        with pytest.raises(sqlite3.IntegrityError, match="the audit trail is append-only"):
            connection.execute("DELETE FROM audit")
        connection.rollback()
        connection.execute(  # appending stays possible (`audit verify` flags a forged hash)
            "INSERT INTO audit (at, actor, action, hash)"
            " VALUES ('2026-11-22 09:00:00', 'x', 'note', 'forged')"
        )
        connection.commit()
    finally:
        connection.close()

    after = query(db_path, "SELECT * FROM audit ORDER BY id")
    assert after[: len(before)] == before
    assert len(after) == len(before) + 1


def test_a_database_from_a_newer_planner_is_refused_plainly(cli: Cli, db_path: Path) -> None:
    assert cli("site", "add", "WUH", "--timezone", "Asia/Shanghai").exit_code == 0
    with sqlite3.connect(db_path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    before = dump(db_path)
    for args in (("site", "list"), ("db", "upgrade")):
        result = cli(*args)
        assert result.exit_code == 1
        assert "made by a newer planner" in result.stderr
        assert "db upgrade" not in result.stderr  # which refuses it the same way
        assert len(result.stderr.splitlines()) == 1
    assert dump(db_path) == before

"""The tamper-evident audit trail: every row hash-chained to the one before.

Tampering is done the way an attacker with the file would: raw sqlite3, the
append-only triggers dropped (and re-created). ``planner audit verify`` must
name the first row (or visit) where the trail stops being what planner wrote.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.engine import make_url

from planner.core.chain import GENESIS, row_hash, walk
from tests.conftest import CliResult

Cli = Callable[..., CliResult]
FIXTURE = Path(__file__).parent / "fixtures" / "schema-0001.db"
TRIGGERS = ("audit_no_update", "audit_no_delete", "audit_no_replace")


def ok(result: CliResult) -> CliResult:
    assert result.exit_code == 0, result.stderr
    return result


def scenario(cli: Cli) -> None:
    ok(cli("site", "add", "WUH", "--timezone", "Asia/Shanghai"))
    ok(cli("enroll", "WUH-001", "--protocol", "cs-huc-mscs", "--arm", "MED", "--site", "WUH",
           "--day1", "2026-04-20"))  # fmt: skip
    ok(cli("enroll", "WUH-002", "--protocol", "ucmsc-dlc", "--arm", "G1", "--site", "WUH",
           "--day1", "2026-03-02"))  # fmt: skip
    ok(cli("visit", "complete", "WUH-002/INF/1", "--on", "2026-03-02"))
    ok(cli("visit", "complete", "WUH-002/INF/2", "--on", "2026-03-08"))
    ok(cli("--actor", "bob", "visit", "miss", "WUH-001/IHFU/1"))


def tamper(db_path: Path, *statements: str, recreate: bool = True) -> None:
    """Run SQL behind planner's back: triggers dropped, then put back."""
    connection = sqlite3.connect(db_path)
    try:
        saved = connection.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit'"
        ).fetchall()
        for name in TRIGGERS:
            connection.execute(f"DROP TRIGGER IF EXISTS {name}")
        for statement in statements:
            connection.execute(statement)
        if recreate:
            for (sql,) in saved:
                connection.execute(sql)
        connection.commit()
    finally:
        connection.close()


def rows(db_path: Path) -> int:
    connection = sqlite3.connect(db_path)
    try:
        return int(connection.execute("SELECT count(*) FROM audit").fetchone()[0])
    finally:
        connection.close()


def broken(result: CliResult, what: str) -> None:
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert result.stderr.startswith("planner: error: the audit trail is broken: ")
    assert what in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_an_intact_trail_verifies_with_its_row_count(cli: Cli, db_path: Path) -> None:
    scenario(cli)
    result = ok(cli("audit", "verify"))
    count = rows(db_path)
    assert count > 6
    assert re.fullmatch(rf"audit trail intact: {count} rows, head [0-9a-f]{{64}}\n", result.stdout)
    head = ok(cli("audit", "head")).stdout.strip()
    assert result.stdout.split()[-1] == head
    ok(cli("visit", "complete", "WUH-002/INF/3", "--on", "2026-03-12"))
    assert ok(cli("audit", "head")).stdout.strip() != head  # every change moves the head


def test_an_empty_trail_is_intact(cli: Cli) -> None:
    ok(cli("protocol", "list"))  # creates the database, writes no audit row
    assert ok(cli("audit", "verify")).stdout.startswith("audit trail intact: 0 rows")
    assert ok(cli("audit", "head")).stdout.strip() == GENESIS


def test_a_mistyped_path_is_no_database_not_an_intact_one(cli: Cli, db_path: Path) -> None:
    """A scheduled check with a wrong path would otherwise report success for
    ever (and leave an empty database behind)."""
    for args in (("audit", "verify"), ("audit", "head")):
        result = cli(*args)
        assert result.exit_code == 2
        assert result.stderr == f"planner: error: there is no database file {str(db_path)!r}\n"
    assert not db_path.exists()


def test_an_edited_row_is_named(cli: Cli, db_path: Path) -> None:
    scenario(cli)
    tamper(db_path, "UPDATE audit SET actor = 'mallory' WHERE id = 4")
    broken(cli("audit", "verify"), "audit row 4:")


def test_an_edited_reason_or_value_is_named(cli: Cli, db_path: Path) -> None:
    scenario(cli)
    tamper(
        db_path, "UPDATE audit SET after = replace(after, '2026-03-08', '2026-03-07') WHERE id = 5"
    )
    broken(cli("audit", "verify"), "audit row 5:")


def test_a_deleted_row_is_found_at_the_next_one(cli: Cli, db_path: Path) -> None:
    scenario(cli)
    tamper(db_path, "DELETE FROM audit WHERE id = 3")
    broken(cli("audit", "verify"), "audit row 4:")


def test_deleting_the_last_rows_is_found_too(cli: Cli, db_path: Path) -> None:
    scenario(cli)
    last = rows(db_path)
    tamper(db_path, f"DELETE FROM audit WHERE id = {last}")
    broken(cli("audit", "verify"), f"audit row {last}: removed")


def test_an_inserted_row_is_named(cli: Cli, db_path: Path) -> None:
    scenario(cli)
    tamper(
        db_path,
        "CREATE TABLE keep AS SELECT * FROM audit WHERE id >= 3",
        "DELETE FROM audit WHERE id >= 3",
        "INSERT INTO audit (id, at, actor, action, hash) VALUES "
        f"(3, '2026-11-22 09:00:00.000000', 'mallory', 'note', '{'0' * 64}')",
        "INSERT INTO audit SELECT id + 1, at, actor, action, participant, visit, before, after,"
        " reason, hash FROM keep",
        "DROP TABLE keep",
    )
    broken(cli("audit", "verify"), "audit row 3:")


def test_reordered_rows_are_named(cli: Cli, db_path: Path) -> None:
    scenario(cli)
    swap = "action, participant, visit, before, after, reason, hash"
    tamper(
        db_path,
        f"CREATE TABLE keep AS SELECT id, {swap} FROM audit WHERE id IN (4, 5)",
        "UPDATE audit SET (action, participant, visit, before, after, reason, hash) = "
        f"(SELECT {swap} FROM keep WHERE keep.id = 9 - audit.id) WHERE id IN (4, 5)",
        "DROP TABLE keep",
    )
    broken(cli("audit", "verify"), "audit row 4:")


def test_a_visit_changed_without_an_audit_row_is_named(cli: Cli, db_path: Path) -> None:
    scenario(cli)
    tamper(
        db_path,
        "UPDATE visits SET target = '2026-03-20', revision = revision + 1 WHERE id = ("
        " SELECT visits.id FROM visits JOIN participants ON participants.id = participant_id"
        " WHERE code = 'WUH-002' AND event = 'INF' AND occurrence = 3)",
    )
    broken(cli("audit", "verify"), "visit WUH-002/INF/3 is at revision 2 but has 1 audited")


def _visit_sql(code: str, event: str, number: int) -> str:
    return (
        "(SELECT visits.id FROM visits JOIN participants ON participants.id = participant_id"
        f" WHERE code = '{code}' AND event = '{event}' AND occurrence = {number})"
    )


@pytest.mark.parametrize(
    ("change", "visit", "says"),
    [
        # A completion date rewritten, the revision left alone.
        ("actual = '2026-03-07'", ("WUH-002", "INF", 2),
         "actual is 2026-03-07 but the audit trail says 2026-03-08"),
        # A missed visit turned into a completed one.
        ("status = 'completed', actual = '2026-04-24'", ("WUH-001", "IHFU", 1),
         "status is completed but the audit trail says missed"),
        # A re-planned date put back (the completion of INF/2 re-planned INF/3).
        ("target = '2026-03-10'", ("WUH-002", "INF", 3),
         "target is 2026-03-10 but the audit trail says 2026-03-12"),
        ("deviation = 1", ("WUH-002", "INF", 1),
         "deviation is true but the audit trail says false"),
    ],
)  # fmt: skip
def test_a_value_changed_without_its_revision_is_named(
    cli: Cli, db_path: Path, change: str, visit: tuple[str, str, int], says: str
) -> None:
    """The revision count alone misses a change that leaves the revision as it
    was: each value an audit row set must still be the visit's."""
    scenario(cli)
    assert ok(cli("audit", "verify")).stdout.startswith("audit trail intact")
    tamper(db_path, f"UPDATE visits SET {change} WHERE id = {_visit_sql(*visit)}")
    name = "/".join(map(str, visit))
    broken(cli("audit", "verify"), f"visit {name}: {says} (changed without an audit row)")


@pytest.mark.parametrize(
    "statement",
    [
        # A visit nobody changed since enrolment: its date, its status, its window.
        f"UPDATE visits SET target = '2026-06-30' WHERE id = {_visit_sql('WUH-001', 'FU', 2)}",
        f"UPDATE visits SET status = 'cancelled' WHERE id = {_visit_sql('WUH-001', 'SURV', 1)}",
        f"UPDATE visits SET window_end = '2026-07-30' WHERE id = {_visit_sql('WUH-001', 'FU', 2)}",
        f"DELETE FROM visits WHERE id = {_visit_sql('WUH-001', 'FU', 3)}",
        # A visit slipped in: a copy of FU/4 as FU/5.
        "INSERT INTO visits (participant_id, site_id, event, occurrence, kind, ideal, target,"
        " window_start, window_end, time, duration_minutes, status, actual, pinned, deviation,"
        " revision, updated_at, label, reason) SELECT participant_id, site_id, event, 5, kind,"
        " ideal, target, window_start, window_end, time, duration_minutes, status, actual,"
        f" pinned, deviation, revision, updated_at, label, reason FROM visits"
        f" WHERE id = {_visit_sql('WUH-001', 'FU', 4)}",
    ],
)
def test_a_visit_never_changed_since_enrolment_is_covered_by_its_enrolment(
    cli: Cli, db_path: Path, statement: str
) -> None:
    """The enrolment's audit row keeps a digest of the visits it planned: a
    rewrite of one nobody touched since, with its revision left at 0, shows."""
    scenario(cli)
    tamper(db_path, statement)
    broken(
        cli("audit", "verify"),
        "participant WUH-001: the visits planned at enrolment are not the ones its enrolment "
        "recorded",
    )


def test_the_enrolment_digest_is_of_the_planned_visits(cli: Cli, db_path: Path) -> None:
    from planner.core.chain import PLANNED_COLUMNS, plan_digest

    scenario(cli)
    connection = sqlite3.connect(db_path)
    try:
        after = connection.execute(
            "SELECT after FROM audit WHERE action = 'enroll' AND participant = 'WUH-001'"
        ).fetchone()[0]
        columns = ", ".join(f"visits.{name}" for name in PLANNED_COLUMNS)
        rows = connection.execute(
            f"SELECT {columns} FROM visits JOIN participants ON participants.id = participant_id"
            " WHERE code = 'WUH-001'"
        ).fetchall()
    finally:
        connection.close()
    # WUH-001/IHFU/1 was missed since: put back as planned, the rest as stored.
    planned = [dict(zip(PLANNED_COLUMNS, row, strict=True)) for row in rows]
    for visit in planned:
        visit["pinned"], visit["deviation"] = bool(visit["pinned"]), bool(visit["deviation"])
        if (visit["event"], visit["occurrence"]) == ("IHFU", 1):
            visit["status"], visit["revision"] = "scheduled", 0
    assert json.loads(after)["plan"] == plan_digest(planned)


def test_an_audited_visit_removed_is_named(cli: Cli, db_path: Path) -> None:
    scenario(cli)
    ok(cli("visit", "add", "WUH-001", "--on", "2026-05-02", "--label", "AE check"))
    tamper(db_path, f"DELETE FROM visits WHERE id = {_visit_sql('WUH-001', 'UNS', 1)}")
    broken(cli("audit", "verify"), "visit WUH-001/UNS/1 is in the audit trail but no longer stored")


def test_every_kind_of_change_leaves_the_trail_matching_the_visits(
    cli: Cli, db_path: Path, tmp_path: Path
) -> None:
    """No false alarm: closings, moves, corrections, endings, unscheduled
    visits and a rebaseline all leave each visit as its audit rows say."""
    from tests.test_amendments import amended

    scenario(cli)
    ok(cli("enroll", "WUH-003", "--protocol", "ucmsc-dlc", "--arm", "G2", "--site", "WUH",
           "--day1", "2026-04-01"))  # fmt: skip
    ok(cli("site", "close", "WUH", "2026-05-04", "--to", "2026-05-06", "--reason", "holiday"))
    ok(cli("visit", "move", "WUH-001/FU/1", "--to", "2026-06-10", "--force", "--reason", "away"))
    ok(cli("visit", "undo", "WUH-002/INF/2", "--reason", "wrong day"))
    ok(cli("visit", "complete", "WUH-002/INF/2", "--on", "2026-03-09"))
    ok(cli("visit", "add", "WUH-003", "--on", "2026-04-03", "--label", "AE", "--time", "10:30"))
    ok(cli("visit", "complete", "WUH-003/UNS/1", "--on", "2026-04-03"))
    ok(cli("participant", "withdraw", "WUH-003", "--on", "2026-04-20", "--reason", "consent"))
    ok(cli("participant", "reinstate", "WUH-003", "--reason", "entered in error"))
    ok(cli("participant", "died", "WUH-002", "--on", "2026-06-01"))
    ok(cli("protocol", "add", str(amended(tmp_path))))
    ok(cli("participant", "rebaseline", "WUH-001", "--protocol", "cs-huc-mscs",
           "--to-version", "2", "--reason", "amendment 1"))  # fmt: skip
    assert ok(cli("audit", "verify")).stdout.startswith("audit trail intact")


def test_rewriting_the_whole_chain_is_caught_only_by_a_pinned_head(cli: Cli, db_path: Path) -> None:
    """What the chain cannot do: someone who recomputes every hash goes unseen
    by verify; the head kept elsewhere differs."""
    scenario(cli)
    pinned = ok(cli("audit", "head")).stdout.strip()
    connection = sqlite3.connect(db_path)
    connection.row_factory = sqlite3.Row
    stored = [dict(row) for row in connection.execute("SELECT * FROM audit ORDER BY id")]
    connection.close()
    previous = GENESIS
    statements = []
    for row in stored:
        if row["id"] == 4:
            row["actor"] = "mallory"
        from datetime import datetime

        values = {**row, "at": datetime.fromisoformat(row["at"])}
        previous = row_hash(previous, values)
        statements.append(
            f"UPDATE audit SET actor = '{row['actor']}', hash = '{previous}' WHERE id = {row['id']}"
        )
    tamper(db_path, *statements)
    assert ok(cli("audit", "verify")).stdout.startswith("audit trail intact")
    assert ok(cli("audit", "head")).stdout.strip() != pinned


def test_ids_are_never_handed_out_twice(cli: Cli, db_path: Path) -> None:
    scenario(cli)
    last = rows(db_path)
    tamper(db_path, f"DELETE FROM audit WHERE id = {last}")
    ok(cli("visit", "complete", "WUH-002/INF/3", "--on", "2026-03-12"))
    connection = sqlite3.connect(db_path)
    try:
        ids = [row[0] for row in connection.execute("SELECT id FROM audit ORDER BY id")]
    finally:
        connection.close()
    assert last not in ids
    assert ids[-1] == last + 1


def test_upgrading_an_old_database_chains_its_existing_rows(cli: Cli, db_path: Path) -> None:
    shutil.copy(FIXTURE, db_path)
    before = rows(db_path)
    assert before > 0
    ok(cli("db", "upgrade"))
    result = ok(cli("audit", "verify"))
    assert result.stdout.startswith(f"audit trail intact: {before} rows")
    ok(cli("site", "add", "ZZZ", "--timezone", "UTC"))
    assert ok(cli("audit", "verify")).stdout.startswith(f"audit trail intact: {before + 1} rows")


def test_the_listing_still_works_beside_the_subcommands(cli: Cli) -> None:
    scenario(cli)
    assert "WUH-002/INF/2" in ok(cli("audit", "WUH-002")).stdout
    assert '"actor": "bob"' in ok(cli("audit", "WUH-001", "--format", "json")).stdout
    assert '"actor": "bob"' in ok(cli("audit", "--format", "json")).stdout
    assert ok(cli("audit")).stdout.startswith("AT (UTC)")


def test_the_core_walk_names_the_first_bad_row() -> None:
    from datetime import datetime

    chained = []
    previous = GENESIS
    for number in range(1, 6):
        row = {"id": number, "at": datetime(2026, 1, number), "actor": "a", "action": "x"}
        row |= {name: None for name in ("participant", "visit", "before", "after", "reason")}
        row["hash"] = previous = row_hash(previous, row)
        chained.append(row)
    assert walk(chained).broken is None
    assert walk(chained).rows == 5
    assert walk(chained[:2] + chained[3:]).broken == 4
    chained[1]["actor"] = "b"
    assert walk(chained).broken == 2


def test_verify_and_truncate_on_postgres(cli: Cli, postgres_url: str) -> None:
    scenario(lambda *args: cli(*args, db=postgres_url))
    assert ok(cli("audit", "verify", db=postgres_url)).stdout.startswith("audit trail intact")
    plain = make_url(postgres_url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(plain, autocommit=True) as connection:
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            connection.execute("TRUNCATE audit")
        connection.execute("ALTER TABLE audit DISABLE TRIGGER audit_no_change")
        connection.execute("UPDATE audit SET actor = 'mallory' WHERE id = 4")
        connection.execute("ALTER TABLE audit ENABLE TRIGGER audit_no_change")
    broken(cli("audit", "verify", db=postgres_url), "audit row 4:")


def concurrent_enrolments(db: str) -> None:
    """Four writers at once, each its own Planner (connection pool), 6 enrolments each."""
    from concurrent.futures import ThreadPoolExecutor
    from datetime import date

    from planner.app import Planner

    with Planner(db, actor="setup") as planner:
        planner.add_site("WUH", "Asia/Shanghai")
        # The bundled protocol stored first: racing its first use is issue 17's item 1.
        planner.enroll("S-000", "cs-huc-mscs", "LOW", "WUH", date(2026, 4, 20))

    def writer(number: int) -> None:
        with Planner(db, actor=f"writer-{number}") as planner:
            for index in range(6):
                planner.enroll(f"W{number}-{index:03d}", "cs-huc-mscs", "LOW", "WUH",
                               date(2026, 4, 20))  # fmt: skip

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(writer, range(4)))


def test_concurrent_writers_keep_one_chain_on_sqlite(cli: Cli, db_path: Path) -> None:
    concurrent_enrolments(str(db_path))
    assert ok(cli("audit", "verify")).stdout.startswith("audit trail intact: 26 rows")


def test_concurrent_writers_keep_one_chain_on_postgres(cli: Cli, postgres_url: str) -> None:
    concurrent_enrolments(postgres_url)
    verified = ok(cli("audit", "verify", db=postgres_url))
    assert verified.stdout.startswith("audit trail intact: 26 rows")


def test_a_plan_digest_of_another_format_is_not_compared() -> None:
    """A later planner may write its digest otherwise: this one compares only
    the format it writes (``1:``), and never misreads another as tampering."""
    from planner.app.audit_states import Trail
    from planner.core.chain import plan_digest

    digest = plan_digest([])
    assert digest.startswith("1:") and len(digest) == 2 + 64
    for after, kept in ((json.dumps({"plan": digest}), digest),
                        (json.dumps({"plan": "2:" + "0" * 64}), None),
                        (json.dumps({"visits": 3}), None), (None, None)):  # fmt: skip
        trail = Trail()
        trail.take("enroll", None, None, after)
        assert trail.plan == kept


def test_a_visit_added_after_enrolment_is_covered_from_its_first_state(
    cli: Cli, db_path: Path
) -> None:
    """An unscheduled visit's ``add`` row shows its day and label; that it was
    then scheduled, not done and no deviation is what every added visit is."""
    scenario(cli)
    ok(cli("visit", "add", "WUH-001", "--on", "2026-05-02", "--label", "AE check"))
    assert ok(cli("audit", "verify")).stdout.startswith("audit trail intact")
    tamper(db_path, "UPDATE visits SET status = 'completed', actual = target, deviation = 1"
                    f" WHERE id = {_visit_sql('WUH-001', 'UNS', 1)}")  # fmt: skip
    says = "visit WUH-001/UNS/1: status is completed but the audit trail says scheduled"
    broken(cli("audit", "verify"), says)


@pytest.mark.parametrize(
    ("change", "says"),
    [
        # A death taken back behind planner's back.
        ("status = 'active', ended_on = NULL",
         "participant WUH-002: status is active but the audit trail says died"),
        ("arm = 'G2'", "participant WUH-002: arm is G2 but the audit trail says G1"),
        ("day1 = '2026-03-03'",
         "participant WUH-002: day1 is 2026-03-03 but the audit trail says 2026-03-02"),
        ("weight_kg = 70", "participant WUH-002: weight_kg is 70.0 but the audit trail says none"),
    ],
)  # fmt: skip
def test_a_participant_changed_without_an_audit_row_is_named(
    cli: Cli, db_path: Path, change: str, says: str
) -> None:
    """A participant's own values (arm, day 1, weight, site, version, status)
    must be those their enrolment, endings, reinstatements and rebaselines set."""
    scenario(cli)
    ok(cli("participant", "died", "WUH-002", "--on", "2026-03-20"))
    assert ok(cli("audit", "verify")).stdout.startswith("audit trail intact")
    tamper(db_path, f"UPDATE participants SET {change} WHERE code = 'WUH-002'")
    broken(cli("audit", "verify"), f"{says} (changed without an audit row)")


def test_a_participant_added_without_an_enrolment_row_is_named(cli: Cli, db_path: Path) -> None:
    """A participant (with a visit) inserted behind planner's back would be in
    lists, calendars and exports: no audit row enrolled them."""
    scenario(cli)
    tamper(
        db_path,
        "INSERT INTO participants (code, protocol_version_id, arm, site_id, day1, status,"
        " created_at) SELECT 'WUH-000', protocol_version_id, arm, site_id, day1, status,"
        " created_at FROM participants WHERE code = 'WUH-001'",
        "INSERT INTO visits (participant_id, site_id, event, occurrence, kind, ideal, target,"
        " window_start, window_end, status, pinned, deviation, revision, updated_at)"
        " SELECT (SELECT id FROM participants WHERE code = 'WUH-000'), site_id, event,"
        " occurrence, kind, ideal, target, window_start, window_end, status, pinned,"
        " deviation, revision, updated_at FROM visits WHERE id = 1",
    )
    assert "WUH-000/" in ok(cli("schedule", "WUH-000")).stdout
    broken(
        cli("audit", "verify"),
        "participant WUH-000 is stored, but no audit row enrolled them (added without one)",
    )

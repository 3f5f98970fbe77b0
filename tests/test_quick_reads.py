"""The command line's reading path (planner.app.quick, planner.store.lite):
``upcoming``, ``due`` and ``overdue`` read an SQLite file with ``sqlite3``
alone, and answer exactly as the application does, or not at all.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from alembic import command
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.app import Planner, quick
from planner.app.judged import due_order
from planner.core.facts import facts_json
from planner.core.protocol import parse
from planner.store import lite_gen
from planner.store.engine import resolve_url
from planner.store.migrate import alembic_config
from tests.conftest import NOW
from tests.test_kept_records import changes, enrol

SITES = [None, "WUH", "NYC"]
ARM = "G1"


@pytest.fixture(scope="module")
def trial(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Two sites in two zones, four participants and every kind of change
    (moved, completed, missed, unscheduled and timed, death and reinstated,
    undone), on an SQLite file."""
    path = tmp_path_factory.mktemp("quick") / "planner.db"
    with Planner(str(path), actor="tester", clock=lambda: NOW) as planner:
        enrol(planner)
        for change in changes(planner):
            change()
        planner.enroll("NYC-002", "ucmsc-dlc", ARM, "NYC", date(2026, 5, 4), weight_kg=71.5)
        planner.enroll("NYC-003", "ucmsc-dlc", "G2", "NYC", date(2026, 5, 5))
    yield path


moments = st.datetimes(min_value=datetime(2026, 4, 1), max_value=datetime(2028, 1, 1))
days_given = st.one_of(st.none(), st.dates(min_value=date(2026, 4, 1), max_value=date(2028, 1, 1)))


@settings(max_examples=60, deadline=None)
@given(now=moments, day=days_given, site=st.sampled_from(SITES), days=st.integers(1, 400))
def test_the_same_answers_as_the_application(
    trial: Path, now: datetime, day: date | None, site: str | None, days: int
) -> None:
    """On any day, or today at each site at any moment (the zones' dates
    differ around midnight), the records, days and order are the application's."""
    now = now.replace(microsecond=0)
    db = str(trial)
    with Planner(db, actor="tester", clock=lambda: now) as planner:
        expected_due = planner.due(day, site=site)
        expected_overdue = planner.overdue_by(day, site=site)
        expected_upcoming = planner.upcoming(day, days, site=site)
    assert quick.due(db, day, site, clock=lambda: now) == expected_due
    assert quick.overdue(db, day, site, clock=lambda: now) == expected_overdue
    assert quick.upcoming(db, day, days, site, clock=lambda: now) == expected_upcoming


def test_it_answers_ordinary_questions_itself(trial: Path) -> None:
    """Not None: the answers above came from the reading path itself, and
    hold visits of both sites (so the comparison compared something)."""
    found = quick.upcoming(str(trial), date(2026, 4, 20), 60, None)
    assert found is not None
    assert {record.site for record in found} == {"WUH", "NYC"}
    doses = {record.dose for record in found if record.participant == "NYC-002"}
    assert any(dose.endswith("× 71.5 kg = 1.07×10^8 cells") for dose in doses), doses
    judged = quick.overdue(str(trial), date(2026, 7, 1), "WUH")
    assert judged is not None and judged and all(item.days_overdue() > 0 for item in judged)


def test_unusual_cases_are_left_to_the_application(trial: Path, tmp_path: Path) -> None:
    day = date(2026, 5, 1)
    assert quick.due(str(tmp_path / "missing.db"), day, None) is None
    assert not (tmp_path / "missing.db").exists()  # nothing made
    assert quick.due(f"sqlite:///{trial}", day, None) is None  # a URL
    assert quick.due("sqlite://", day, None) is None
    assert quick.due(str(trial), day, "LHR") is None  # unknown: the application names the sites
    assert quick.upcoming(str(trial), day, 0, None) is None
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database at all" * 100)
    assert quick.due(str(garbage), day, None) is None
    old = tmp_path / "old.db"
    old.write_bytes(trial.read_bytes())
    with sqlite3.connect(old) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0008'")
    assert quick.due(str(old), day, None) is None


def test_the_database_is_named_as_the_application_names_it(
    trial: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLANNER_DB", str(trial))
    assert quick.due(None, date(2026, 5, 1), None) == quick.due(str(trial), date(2026, 5, 1), None)
    assert quick.due(None, date(2026, 5, 1), None)
    monkeypatch.chdir(trial.parent)
    monkeypatch.delenv("PLANNER_DB")
    assert quick.due(None, date(2026, 5, 1), "WUH")  # planner.db in the working folder


@pytest.mark.parametrize("folder", ["a b", "100%", "x?y#z", "naïve 日本"])
def test_any_file_name(trial: Path, tmp_path: Path, folder: str) -> None:
    path = tmp_path / folder / "planner.db"
    path.parent.mkdir()
    path.write_bytes(trial.read_bytes())
    found = quick.due(str(path), date(2026, 5, 1), None)
    assert found and found == quick.due(str(trial), date(2026, 5, 1), None)


def test_a_writer_holding_the_lock_does_not_stop_the_reading_path(trial: Path) -> None:
    """WAL: a reader sees the last commit while a writer is mid-transaction."""
    before = quick.due(str(trial), date(2026, 5, 1), None)
    writer = sqlite3.connect(trial, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE visits SET status = 'missed' WHERE status = 'scheduled'")
        assert quick.due(str(trial), date(2026, 5, 1), None) == before
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert before


def test_the_sql_is_compiled_from_the_applications_statements() -> None:
    """planner/store/lite_sql.py is what python -m planner.store.lite_gen writes."""
    written = Path(lite_gen.__file__).with_name("lite_sql.py").read_text(encoding="utf-8")
    assert written == lite_gen.module_text()


HEAVY = ("sqlalchemy", "alembic", "pydantic", "pendulum")
PROBE = """
import atexit, sys
def report():
    heavy = sorted({m.split('.')[0] for m in sys.modules} & set(sys.argv[1].split(',')))
    print('LOADED:' + ','.join(heavy), file=sys.stderr)
atexit.register(report)
from planner.cli.root import main
main(sys.argv[2:])
"""


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PLANNER_DB": ""}
    return subprocess.run(
        [sys.executable, "-c", PROBE, ",".join(HEAVY), *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["due", "--as-of", "2026-05-01"],
        ["overdue", "--as-of", "2026-06-01", "--site", "NYC", "--format", "json"],
        ["upcoming", "--from", "2026-04-20", "--days", "60", "--format", "csv"],
        ["due"],
    ],
)
def test_the_commands_load_no_heavy_library_and_print_the_same(
    trial: Path, args: list[str]
) -> None:
    quick_run = run_cli("--db", str(trial), *args)
    assert quick_run.returncode == 0, quick_run.stderr
    assert quick_run.stderr.strip().endswith("LOADED:"), quick_run.stderr
    general = run_cli("--db", f"sqlite:///{trial}", *args)
    assert general.returncode == 0, general.stderr
    assert "sqlalchemy" in general.stderr  # the application's path, for comparison
    assert quick_run.stdout == general.stdout
    assert quick_run.stdout.strip()


def test_filters_and_unknown_sites_take_the_applications_path(trial: Path) -> None:
    kind = run_cli("--db", str(trial), "due", "--as-of", "2026-05-01", "--kind", "infusion")
    assert kind.returncode == 0 and "sqlalchemy" in kind.stderr
    unknown = run_cli("--db", str(trial), "due", "--site", "LHR")
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("planner: error: unknown site 'LHR' (sites: NYC, WUH)")


def test_migration_0009_works_out_the_facts_of_stored_versions(tmp_path: Path) -> None:
    path = tmp_path / "planner.db"
    with Planner(str(path), actor="tester", clock=lambda: NOW) as planner:
        enrol(planner)
        before = planner.upcoming(date(2026, 4, 20), 90)
    config = alembic_config(resolve_url(str(path)))
    command.downgrade(config, "0008")
    with sqlite3.connect(path) as connection:
        columns = [row[1] for row in connection.execute("PRAGMA table_info(protocol_versions)")]
    assert "facts" not in columns
    command.upgrade(config, "head")
    with sqlite3.connect(path) as connection:
        rows = connection.execute(
            "SELECT protocol_id, version, source, facts FROM protocol_versions"
        ).fetchall()
    assert rows
    for protocol_id, version, source, facts in rows:
        assert facts == facts_json(parse(source, f"{protocol_id} v{version}"))
    with Planner(str(path), actor="tester", clock=lambda: NOW) as planner:
        assert planner.upcoming(date(2026, 4, 20), 90) == before
    assert quick.upcoming(str(path), date(2026, 4, 20), 90, None) == before


def test_days_around_midnight_follow_each_sites_zone(trial: Path) -> None:
    """16:30 UTC is the next day in Shanghai, not yet in New York."""
    now = datetime(2026, 5, 1, 16, 30)
    found = quick.due(str(trial), None, None, clock=lambda: now)
    wuh = quick.due(str(trial), date(2026, 5, 2), "WUH")
    nyc = quick.due(str(trial), date(2026, 5, 1), "NYC")
    assert wuh and nyc  # both sites have visits due: the days are compared
    assert quick.due(str(trial), date(2026, 5, 1), "WUH") != wuh
    assert found == sorted(wuh + nyc, key=due_order)

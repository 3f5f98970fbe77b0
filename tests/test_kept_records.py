"""Records kept between queries by a long-running process give the answers a
fresh process gives, after every kind of change made by someone else.

See planner.store.repository.keyed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from planner.app import ExportScope, FeedCache, FeedScope, Planner
from planner.store import records as records_module
from planner.store.database import Database
from planner.store.repository import records
from tests.conftest import NOW

AS_OF = date(2026, 5, 1)


def clocked(url: str) -> Planner:
    return Planner(url, actor="tester", clock=lambda: NOW)


def enrol(planner: Planner) -> None:
    planner.add_site("WUH", "Asia/Shanghai")
    planner.add_site("NYC", "America/New_York")
    for number, arm in enumerate(("MED", "LOW", "HIGH"), start=1):
        planner.enroll(f"WUH-00{number}", "cs-huc-mscs", arm, "WUH", date(2026, 4, 19 + number))
    planner.enroll("NYC-001", "cs-huc-mscs", "LOW", "NYC", date(2026, 4, 21))


def answers(planner: Planner) -> dict[str, Any]:
    """What a coordinator's page and the feeds ask, as comparable values."""
    return {
        "upcoming": planner.upcoming(AS_OF, 30, site="WUH"),
        "upcoming all": planner.upcoming(AS_OF, 60),
        "due": [item.visit for item in planner.due(AS_OF, site="WUH")],
        "overdue": [item.visit for item in planner.overdue_by(date(2026, 6, 1))],
        "overdue site": planner.overdue(date(2026, 6, 1), site="NYC"),
    }


def changes(planner: Planner) -> Iterator[Callable[[], object]]:
    yield lambda: planner.move("WUH-001/INF/2", date(2026, 4, 28), reason="bed free")
    yield lambda: planner.complete("WUH-001/INF/1", date(2026, 4, 20))
    yield lambda: planner.miss("WUH-002/INF/1", reason="fever")
    yield lambda: planner.add_visit("WUH-003", date(2026, 5, 2), "Extra ECG", time="09:30")
    yield lambda: planner.died("WUH-003", date(2026, 5, 3))
    yield lambda: planner.undo("WUH-001/INF/1", reason="wrong participant")
    yield lambda: planner.reinstate("WUH-003", reason="death entered in error")
    yield lambda: planner.enroll("WUH-004", "cs-huc-mscs", "LOW", "WUH", date(2026, 4, 30))


def check_against_fresh(url: str) -> None:
    with clocked(url) as writer, clocked(url) as server:
        enrol(writer)
        feed = writer.feeds.create(FeedScope("site", "WUH")).token
        feeds = FeedCache(recent_seconds=0)
        server.feeds.calendar(feed, feeds)
        first = answers(server)
        assert answers(server) == first  # asked again: the kept records
        for change in changes(writer):
            change()
            with clocked(url) as fresh:
                expected = answers(fresh)
                export = b"".join(fresh.exports.ics(ExportScope(site="WUH")))
            assert answers(server) == expected
            published = server.feeds.calendar(feed, feeds)
            assert published is not None and published.calendar.body == export


def test_a_long_running_process_answers_as_a_fresh_one(db_path: Path) -> None:
    check_against_fresh(str(db_path))


def test_the_same_on_postgres(postgres_url: str) -> None:
    check_against_fresh(postgres_url)


def test_unchanged_visits_are_not_made_again(planner: Planner) -> None:
    enrol(planner)
    start = date(2026, 4, 20)
    before = {record.visit_id: record for record in planner.upcoming(start, 60)}

    outcome = planner.move("WUH-001/INF/2", date(2026, 4, 28), reason="bed free")
    after = {record.visit_id: record for record in planner.upcoming(start, 60)}

    changed = {"WUH-001/INF/2"} | {change.visit for change in outcome.changes}
    made_again = {visit for visit, record in after.items() if record is not before.get(visit)}
    assert made_again == changed & after.keys()
    assert len(after) > len(made_again) > 0


def test_a_full_memory_starts_again_and_answers_stay_right(
    planner: Planner, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    enrol(planner)
    monkeypatch.setattr(records_module, "RECORDS_KEPT", 5)

    for _ in range(3):
        found = answers(planner)
        planner.miss(found["upcoming"][0].visit_id)
        with clocked(str(db_path)) as fresh:
            assert answers(planner) == answers(fresh)


def test_records_read_while_writing_are_not_kept(planner: Planner, db_path: Path) -> None:
    """A writing transaction may roll back: what it read is not kept."""
    enrol(planner)
    database = Database(str(db_path))
    try:
        with database.write() as session, session.begin():
            found = records.matching(session, database.protocols, records.Filter())
            session.rollback()
        kept_after_writing = len(database.protocols.records)
        with database.read() as session:
            again = records.matching(session, database.protocols, records.Filter())
    finally:
        database.close()

    assert found and again == found
    assert kept_after_writing == 0
    assert len(database.protocols.records) == len(again)  # the reading one's

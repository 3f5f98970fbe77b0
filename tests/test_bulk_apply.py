"""The batched re-planning path (``planner.app.apply``) writes exactly what
applying the changes one visit at a time writes: the same rows, revisions,
audit rows, order and hash chain, byte for byte.

Two copies of one real SQLite database, the same fixed clock: a site closing
applied one participant and one visit at a time (``Context.replan`` and
``Context.change``, the path every closing took before the batch) on one copy,
through ``planner.calendars.close`` on the other; then every table is dumped
and compared. Shared plans and the size of a round do not change a byte either.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from planner.app import Planner, apply
from planner.app.audit_chain import verify
from planner.core.enrolment import Enrolment
from planner.core.errors import StaleData
from planner.store.database import Database
from planner.store.repository import bulk, participants, sites
from tests.conftest import NOW, dump

AMENDMENT = Path(__file__).parent / "fixtures" / "amendments" / "cs-huc-mscs-v2.toml"
#: FU/4 (week 24) of a participant with day 1 on 2026-06-01 is 2026-11-16.
CLOSED = (date(2026, 11, 14), date(2026, 11, 17))


def open_planner(path: Path) -> Planner:
    return Planner(str(path), actor="tester", clock=lambda: NOW)


@pytest.fixture
def template(tmp_path: Path) -> Path:
    """Twelve cs-huc-mscs participants: a cohort of six that share day 1 (one
    plan), three more day 1s, two with history (a completion, a move), and a
    second site that stays open; amendment 1 stored as version 2."""
    path = tmp_path / "template.db"
    with open_planner(path) as planner:
        planner.add_site("WUH", "Asia/Shanghai")
        planner.add_site("NYC", "America/New_York", closed="sat,sun")
        rows = [
            Enrolment(f"C-{n}", "cs-huc-mscs", "LOW", "WUH", date(2026, 6, 1)) for n in range(6)
        ]
        rows += [
            Enrolment(f"D-{n}", "cs-huc-mscs", "MED", "WUH", date(2026, 5, 29 + n))
            for n in range(3)
        ]
        rows += [
            Enrolment("H-1", "cs-huc-mscs", "HIGH", "WUH", date(2026, 6, 1)),
            Enrolment("H-2", "cs-huc-mscs", "HIGH", "WUH", date(2026, 6, 3)),
            Enrolment("N-1", "cs-huc-mscs", "LOW", "NYC", date(2026, 6, 1)),
        ]
        planner.enroll_many(rows)
        planner.complete("H-1/INF/1", date(2026, 6, 2))
        planner.move("H-2/FU/3", date(2026, 8, 28), reason="clinic")
        planner.add_protocol(str(AMENDMENT))
    return path


def copy(template: Path, name: str) -> Path:
    target = template.with_name(name)
    shutil.copyfile(template, target)
    return target


def close_one_at_a_time(path: Path, start: date, end: date, reason: str) -> int:
    """A site closing as it was applied before the batch: each participant
    re-planned and each visit written and audited on its own."""
    with open_planner(path) as planner:
        ctx = planner._ctx
        with ctx.db.write() as session, session.begin():
            site_id = ctx.site_id(session, "WUH")
            sites.add_closure(session, site_id, start, end, reason, ctx.now())
            after = {"site": "WUH", "start": start, "end": end}
            ctx.audit(session, "site-close", after=after, reason=reason)
            why = f"site WUH closed {start} to {end}: {reason}"
            changed = 0
            for participant_id in sites.participants_touching(session, site_id, start, end):
                participant = participants.by_id(session, participant_id)
                changed += len(ctx.replan(session, participant, reason=why))
    return changed


def close_in_bulk(path: Path, start: date, end: date, reason: str) -> int:
    with open_planner(path) as planner:
        return len(planner.calendars.close("WUH", start, end, reason).changes)


@pytest.fixture
def small_rounds(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Rounds of two participants, every participant planned on their own."""
    monkeypatch.setattr(apply, "BLOCK", 2)
    monkeypatch.setattr(apply.Plans, "share", False)
    yield


def test_a_closing_in_bulk_writes_what_one_at_a_time_writes(template: Path) -> None:
    reference, batched = copy(template, "reference.db"), copy(template, "batched.db")
    changed = close_one_at_a_time(reference, *CLOSED, "flood")
    assert close_in_bulk(batched, *CLOSED, "flood") == changed
    # FU/4 on a closed day, and the three survival calls counted from it: the six
    # of the cohort, H-1, D-1 and D-2. D-0 (FU/4 on 11-13) and H-2 (11-18) stay.
    assert changed == 9 * 4
    assert dump(batched) == dump(reference)
    assert verify(str(batched)).intact


def test_rounds_and_shared_plans_change_nothing(template: Path, small_rounds: None) -> None:
    one, two = copy(template, "one.db"), copy(template, "two.db")
    close_one_at_a_time(one, *CLOSED, "flood")
    close_in_bulk(two, *CLOSED, "flood")
    assert dump(two) == dump(one)


def rebaseline(path: Path) -> list[tuple[str, int]]:
    with open_planner(path) as planner:
        done = planner.amendments.rebaseline([], "cs-huc-mscs", 2, everyone=True, reason="a1")
    return [(r.participant, len(r.changes)) for r in done]


def test_a_rebaseline_in_rounds_equals_one_round(
    template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole, rounds = copy(template, "whole.db"), copy(template, "rounds.db")
    first = rebaseline(whole)
    monkeypatch.setattr(apply, "BLOCK", 2)
    monkeypatch.setattr(apply.Plans, "share", False)
    assert rebaseline(rounds) == first
    assert dump(rounds) == dump(whole)
    assert verify(str(rounds)).intact
    assert len(first) == 12 and sum(n for _, n in first) == 12 * 5


def test_a_visit_changed_meanwhile_is_stale(template: Path) -> None:
    """The bulk update writes only rows still at the revision read, and says which are not."""
    before = dump(template)
    database = Database(str(template))
    try:
        with database.write() as session:  # rolled back when closed
            ids = [p.id for p in bulk.participants_by_id(session, [1, 2])]
            first, second = (rows[0] for rows in bulk.visits_of(session, ids).values())
            updates = [
                (first.id, first.revision, {"deviation": True, "revision": first.revision + 1}),
                (second.id, second.revision + 7, {"deviation": True, "revision": 8}),
            ]
            assert bulk.update_visits(session, updates) == {second.id}
    finally:
        database.close()
    assert dump(template) == before
    with open_planner(template) as planner:
        ctx = planner._ctx
        with ctx.db.write() as session, session.begin():
            batch = apply.Batch(ctx)
            row = bulk.visits_of(session, [1])[1][0]
            stale = bulk.VisitState(**{**_fields(row), "revision": row.revision + 1})
            batch.change(stale, "C-0", "replan", {"deviation": True})
            with pytest.raises(StaleData, match="C-0/FU/1 was changed by someone else"):
                batch.write(session)
    assert dump(template) == before


def _fields(row: bulk.VisitState) -> dict[str, object]:
    return {name: getattr(row, name) for name in bulk.VisitState.__slots__}


def test_the_bulk_paths_on_postgres(postgres_url: str) -> None:
    """executemany updates, their row counts and the audit chain on a real server."""
    with Planner(postgres_url, actor="tester", clock=lambda: NOW) as planner:
        planner.add_site("WUH", "Asia/Shanghai")
        planner.enroll_many(
            [Enrolment(f"P-{n}", "cs-huc-mscs", "LOW", "WUH", date(2026, 6, 1)) for n in range(4)]
            + [Enrolment("P-9", "cs-huc-mscs", "MED", "WUH", date(2026, 5, 31))]
        )
        planner.add_protocol(str(AMENDMENT))
        assert len(planner.calendars.close("WUH", *CLOSED, "flood").changes) == 5 * 4
        done = planner.amendments.rebaseline([], "cs-huc-mscs", 2, everyone=True, reason="a1")
        assert [len(r.changes) for r in done] == [5] * 5
    assert verify(postgres_url).intact
    database = Database(postgres_url)
    try:
        with database.write() as session:  # rolled back when closed
            row = bulk.visits_of(session, [1])[1][0]
            good = (row.id, row.revision, {"deviation": True, "revision": row.revision + 1})
            other = bulk.visits_of(session, [2])[2][0]
            bad = (other.id, other.revision + 3, {"deviation": True, "revision": 99})
            assert bulk.update_visits(session, [good, bad]) == {other.id}
    finally:
        database.close()

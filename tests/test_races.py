"""Eight real processes racing for a minute, on PostgreSQL and on SQLite
(issue 17, "Must show").

Each worker (``tests/race_worker.py``) runs random commands for
``PLANNER_RACE_SECONDS`` (default 60): enrolments, visit completions, moves
and misses without ``--revision`` on participants they share, site closings
and queries, each command a separate process, each bounded. Afterwards:

- every command ended (none hung or crashed); every refusal is one line
  with a reason a person can act on, never "changed by someone else",
  "locked", a deadlock or an unexpected error; every query succeeded;
- every acknowledged write (exit 0) has exactly its audit row, a refused one
  none, and the audit trail verifies;
- no lost update: the database agrees with the workers' logs (the one
  completion or miss of a visit, the last move of a visit, each enrolment
  and closing), and each visit's revision counts its audited changes;
- no visit on a closed day unless ``planner conflicts`` lists it, and the
  plan is what the calendars give: re-planning every participant now would
  change nothing (a write that planned with a calendar another was closing
  would show here).

Now and then the test stalls every writer for up to a second (see
:class:`tests.racing.Stalls`), so that writes overlap on any machine.

Run with ``pytest -s`` to see the figures.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text

from planner.core.replan import replan
from planner.store.database import Database
from planner.store.engine import resolve_url
from planner.store.models import Participant
from planner.store.repository import sites, visits
from tests.racing import Done, Stalls, clean_env, most_at_once, run

SECONDS = float(os.environ.get("PLANNER_RACE_SECONDS", "60"))
WORKERS = 8
COMMAND_TIMEOUT = 120  # seconds, for any one command
SHARED = 8  # participants every worker works on: they collide often
BACKGROUND = 600  # more participants, so that closing a site re-plans many
WORKER = Path(__file__).with_name("race_worker.py")
#: What a refusal may never say: these mean a write did not take its turn.
NEVER = ("someone else", "changed since", "locked", "deadlock", "serializ", "unexpected",
         "Traceback", "SQL", "could not")  # fmt: skip
TOKEN = re.compile(r"w\d+-\d+")


@pytest.fixture(params=["sqlite", "postgresql"])
def race_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "race.db")
    return str(request.getfixturevalue("postgres_url"))


def ok(done: Done) -> Done:
    assert done.code == 0, (done.argv, done.stderr)
    return done


def sql(db: str, query: str) -> list[tuple[Any, ...]]:
    engine = create_engine(resolve_url(db))
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(query))]
    finally:
        engine.dispose()


def setup(db: str, tmp_path: Path, today: date) -> list[str]:
    """Two sites, the shared and the background participants; returns every
    visit's EVENT/N."""
    ok(run(db, "site", "add", "WUH", "--timezone", "Asia/Shanghai", "--closed", "sun",
           "--holidays", "CN"))  # fmt: skip
    ok(run(db, "site", "add", "NYC", "--timezone", "America/New_York"))
    csv = tmp_path / "shared.csv"
    rows = [
        f"S-{n:02d},cs-huc-mscs,LOW,{('WUH', 'NYC')[n % 2]},{today - timedelta(days=4 * n + 1)}"
        for n in range(SHARED)
    ] + [
        f"B-{n:03d},cs-huc-mscs,LOW,{('WUH', 'NYC')[n % 2]},{today + timedelta(days=n % 90 - 60)}"
        for n in range(BACKGROUND)
    ]
    csv.write_text("participant,protocol,arm,site,day1\n" + "\n".join(rows) + "\n", "utf-8")
    ok(run(db, "enroll", "--csv", str(csv)))
    plan = json.loads(ok(run(db, "schedule", "S-00", "--format", "json")).stdout)
    return [record["visit_id"].split("/", 1)[1] for record in plan]


def race(db: str, tmp_path: Path, today: date, plan: list[str]) -> tuple[list[dict[str, Any]], int]:
    """Run the workers: every command each one ran (from their logs), and
    how many times every writer was stalled."""
    workers = []
    for number in range(WORKERS):
        config = {
            "worker": number,
            "seed": 1700 + number,
            "db": db,
            "today": today.isoformat(),
            "seconds": SECONDS,
            "timeout": COMMAND_TIMEOUT,
            "participants": [f"S-{n:02d}" for n in range(SHARED)],
            "sites": ["WUH", "NYC"],
            "visits": plan,
            "log": str(tmp_path / f"worker-{number}.jsonl"),
            "scratch": str(tmp_path / f"worker-{number}"),
        }
        workers.append(
            subprocess.Popen([sys.executable, str(WORKER), json.dumps(config)], env=clean_env())
        )
    stalls = Stalls(db)
    stalls.start()
    try:
        for worker in workers:
            assert worker.wait(timeout=SECONDS + COMMAND_TIMEOUT + 60) == 0
    finally:
        stalls.done.set()
        stalls.join(timeout=30)
    assert stalls.error is None and stalls.count > 0, stalls.error
    runs = [
        json.loads(line)
        for number in range(WORKERS)
        for line in (tmp_path / f"worker-{number}.jsonl").read_text("utf-8").splitlines()
    ]
    return runs, stalls.count


def check_commands(runs: list[dict[str, Any]]) -> Counter[str]:
    """Every command ended; refusals are clean; returns the refusals' reasons."""
    refusals: Counter[str] = Counter()
    for r in runs:
        assert r["code"] in (0, 1, 2), r  # -999: hung and killed; others: crashed
        if r["kind"] == "query":
            assert r["code"] == 0 and r["stdout_ok"], r
            continue
        if r["code"] == 0:
            continue
        lines = r["stderr"].splitlines()
        assert len(lines) == 1 and lines[0].startswith("planner: error: "), r
        assert not any(word in lines[0] for word in NEVER), r
        refusals[re.sub(r"\S+/\S+/\d+|\d{4}-\d\d-\d\d", "…", lines[0])[16:70]] += 1
    return refusals


def check_audit(db: str, runs: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Each acknowledged write has exactly its audit row; a refused one none."""
    audit = sql(db, "SELECT id, actor, action, participant, visit, reason FROM audit ORDER BY id")
    by_token: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in audit:
        if row[5] and TOKEN.fullmatch(row[5]):
            by_token[row[5]].append(row)
    enrolled = Counter((row[3], row[1]) for row in audit if row[2] == "enroll")
    acked_tokens = set()
    for r in runs:
        if r["kind"] == "query":
            continue
        actor = f"worker-{r['token'].split('-')[0][1:]}" if r["kind"] != "enroll" else None
        if r["kind"] == "enroll":
            code = r["token"]
            mine = sum(n for (who, _), n in enrolled.items() if who == code)
            assert mine == (1 if r["code"] == 0 else 0), r
            continue
        found = by_token.get(r["token"], [])
        if r["code"] != 0:
            assert found == [], (r, found)
            continue
        acked_tokens.add(r["token"])
        assert len(found) == 1, (r, found)
        _, who, action, _, visit, _ = found[0]
        assert (who, action) == (actor, r["kind"]), (r, found)
        if r["kind"] in ("complete", "move", "miss"):
            assert visit == r["args"][2], (r, found)
    assert set(by_token) == acked_tokens
    return audit


def check_visits(db: str, runs: list[dict[str, Any]], audit: list[tuple[Any, ...]]) -> int:
    """The database agrees with what the workers were told; returns the visits."""
    stored = {
        f"{code}/{event}/{occurrence}": (status, str(actual) if actual else None, str(target),
                                         revision)
        for code, event, occurrence, status, actual, target, revision in sql(
            db,
            "SELECT p.code, v.event, v.occurrence, v.status, v.actual, v.target, v.revision"
            " FROM visits v JOIN participants p ON p.id = v.participant_id",
        )
    }  # fmt: skip
    acked = [r for r in runs if r["code"] == 0 and r["kind"] != "query"]
    order = {row[5]: row[0] for row in audit if row[5]}  # token -> its audit row's id
    ended: dict[str, list[dict[str, Any]]] = defaultdict(list)
    moves: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in acked:
        if r["kind"] in ("complete", "miss"):
            ended[r["args"][2]].append(r)
        elif r["kind"] == "move":
            moves[r["args"][2]].append(r)
    for visit, (status, actual, target, _) in stored.items():
        done = ended.get(visit, [])
        assert len(done) <= 1, done  # a visit happens (or is missed) once
        if not done:
            assert status == "scheduled", visit  # nothing here cancels
        elif done[0]["kind"] == "complete":
            assert (status, actual) == ("completed", done[0]["args"][4]), (visit, done)
        else:
            assert status == "missed", (visit, done)
        if moves.get(visit):
            last = max(moves[visit], key=lambda r: order[r["token"]])
            assert target == last["args"][4], (visit, moves[visit])
    changes = Counter(row[4] for row in audit if row[4])
    assert {v: s[3] for v, s in stored.items()} == {v: changes[v] for v in stored}
    codes = {code for (code,) in sql(db, "SELECT code FROM participants")}
    for r in runs:
        if r["kind"] == "enroll":
            assert (r["token"] in codes) == (r["code"] == 0), r
    closings = Counter(reason for (reason,) in sql(db, "SELECT reason FROM site_closures"))
    assert closings == Counter(r["token"] for r in acked if r["kind"] == "site-close")
    return len(stored)


def check_calendars(db: str) -> int:
    """No visit on a closed day unless listed as a conflict; the plan is the
    one the calendars give. Returns the number of conflicts."""
    listed = json.loads(ok(run(db, "conflicts", "--format", "json")).stdout)
    database = Database(db)
    stale, closed = [], set()
    try:
        with database.read() as session:
            for participant in session.scalars(select(Participant).order_by(Participant.code)):
                calendar = sites.calendar(session, participant.site_id)
                rows = visits.of_participant(session, participant.id)
                protocol, _ = database.protocols.get(
                    session.connection(), participant.protocol_version_id
                )
                plan = replan(protocol, participant.arm, participant.day1, rows,
                              place=calendar.place)  # fmt: skip
                stale += [(participant.code, change.key, change.after) for change in plan]
                setting = {s.code: s.setting for s in protocol.series_for(participant.arm)}
                closed |= {
                    f"{participant.code}/{row.event}/{row.occurrence}"
                    for row in rows
                    if row.status == "scheduled"
                    and calendar.is_conflict(row.target, setting[row.event])
                }
    finally:
        database.close()
    assert stale == []
    assert closed == {record["visit_id"] for record in listed}
    return len(listed)


@pytest.mark.slow
def test_eight_processes_race_and_nothing_is_lost_or_misplanned(
    race_db: str, tmp_path: Path
) -> None:
    today = datetime.now(UTC).date()
    plan = setup(race_db, tmp_path, today)
    started = time.monotonic()
    runs, stalls = race(race_db, tmp_path, today, plan)
    elapsed = time.monotonic() - started

    refusals = check_commands(runs)
    audit = check_audit(race_db, runs)
    stored = check_visits(race_db, runs, audit)
    conflicts = check_calendars(race_db)
    verified = ok(run(race_db, "audit", "verify"))

    kinds = Counter(r["kind"] for r in runs)
    acked = Counter(r["kind"] for r in runs if r["code"] == 0 and r["kind"] != "query")
    peak = most_at_once(runs)
    backend = "sqlite" if "://" not in race_db else "postgresql"
    print(
        f"\nrace on {backend}: {WORKERS} processes for {SECONDS:g} s ({elapsed:.0f} s in all), "
        f"{stalls} stalls of every writer, peak {peak} commands at once, the slowest took "
        f"{max(r['end'] - r['start'] for r in runs):.1f} s; {len(runs)} commands {dict(kinds)}; "
        f"{sum(acked.values())} acknowledged writes {dict(acked)}, all audited, none lost; "
        f"{sum(refusals.values())} refused {dict(refusals)}; {len(audit)} audit rows, "
        f"{stored} visits, {conflicts} listed conflicts; {verified.stdout.strip()}"
    )
    assert peak >= 4, "the commands never ran at the same time"
    assert all(acked[kind] for kind in ("enroll", "complete", "move", "miss", "site-close"))

"""PostgreSQL under concurrency (issue 17, item 1), on a real server.

READ COMMITTED lets a command read a site's calendar while another is
closing the site: enrolments that raced ``site close`` planned follow-ups on
the closed days, and ``conflicts`` then claimed their windows had no open
day. Writes now take row locks (the site, then the participant) first thing
in their transaction. The test holds every commit back (the audit trail's
append lock, from outside) until all nine commands are under way, so that
they overlap whatever the machine's speed. And several processes using an empty database for the
first time no longer trip over each other creating the schema or storing a
bundled protocol; two adding the same site get one site and a clean refusal.
Both tests fail without the locks (unique violations, "unexpected" errors,
and 8 of 8 enrolments planned onto the closed days).
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from planner.store.migrate import HEAD
from planner.store.repository.audit import APPEND_LOCK
from tests.racing import TIMEOUT, Done, clean_env, planner_script, run, together

CLOSED = (date(2027, 2, 26), date(2027, 3, 4))
#: Day 1 of every participant here: their week-8 follow-up (day 57, window
#: ±5 days) falls in the closing, and its window always has open days too.
DAY1S = [date(2027, 1, 1) + timedelta(days=n) for n in range(7)]
BACKGROUND = 60  # participants the closing re-plans


def ok(done: Done) -> Done:
    assert done.code == 0, (done.argv, done.stderr)
    return done


def rows(url: str, query: str) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(query))]
    finally:
        engine.dispose()


def on_closed_days(url: str) -> list[tuple[object, ...]]:
    """Scheduled visits planned on the closed days."""
    return rows(
        url,
        "SELECT p.code, v.event, v.occurrence, v.target FROM visits v"
        " JOIN participants p ON p.id = v.participant_id"
        f" WHERE v.status = 'scheduled' AND v.target BETWEEN '{CLOSED[0]}' AND '{CLOSED[1]}'"
        " ORDER BY p.code, v.event, v.occurrence",
    )


@contextmanager
def stalled_commits(url: str) -> Iterator[Callable[[int], None]]:
    """Hold the audit trail's append lock from outside, as a stalled disk
    would: every write stops before its audit rows, its transaction open,
    until the block ends. So the race is not left to the machine's speed.
    Gives ``waiting(n)``: wait until ``n`` transactions wait for a lock."""
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (APPEND_LOCK,))

        def waiting(count: int) -> None:
            deadline = time.monotonic() + TIMEOUT
            query = (
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
            while (row := holder.execute(query).fetchone()) is None or row[0] < count:
                assert time.monotonic() < deadline, f"fewer than {count} writes waited"
                time.sleep(0.05)

        yield waiting
        holder.execute("SELECT pg_advisory_unlock(%s)", (APPEND_LOCK,))


@pytest.mark.slow
def test_enrolments_racing_a_site_closing_plan_around_the_closed_days(
    postgres_url: str, tmp_path: Path
) -> None:
    ok(run(postgres_url, "site", "add", "WUH", "--timezone", "UTC"))
    csv = tmp_path / "background.csv"
    lines = ["participant,protocol,arm,site,day1"] + [
        f"B-{n:04d},cs-huc-mscs,LOW,WUH,{DAY1S[n % 7]}" for n in range(BACKGROUND)
    ]
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ok(run(postgres_url, "enroll", "--csv", str(csv)))
    assert on_closed_days(postgres_url) != []  # before the closing, its days are planned

    def start(*args: str) -> tuple[subprocess.Popen[str], float]:
        argv = [planner_script(), "--db", postgres_url, *args]
        process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env()
        )
        return process, time.monotonic()

    close_until = CLOSED[1].isoformat()
    with stalled_commits(postgres_url) as waiting:
        closing = start("site", "close", "WUH", CLOSED[0].isoformat(), "--to", close_until)
        waiting(1)  # the closing is under way, in its transaction
        enrolments = []
        for n in range(8):
            time.sleep(0.25)
            day1 = DAY1S[n % 7].isoformat()
            enrolments.append(
                start("enroll", f"R-{n}", "--protocol", "cs-huc-mscs", "--arm", "LOW",
                      "--site", "WUH", "--day1", day1)
            )  # fmt: skip
        waiting(9)  # every enrolment too, while the closing is not committed
    named = [("close", closing)] + [(f"R-{n}", e) for n, e in enumerate(enrolments)]
    for name, (process, _) in named:
        _, stderr = process.communicate(timeout=TIMEOUT)
        assert process.returncode == 0, (name, stderr)

    assert on_closed_days(postgres_url) == []
    conflicts = ok(run(postgres_url, "conflicts", "--format", "json"))
    assert json.loads(conflicts.stdout) == []
    enrolled = rows(postgres_url, "SELECT count(*) FROM participants WHERE code LIKE 'R-%'")
    assert enrolled == [(8,)]
    ok(run(postgres_url, "audit", "verify"))


@pytest.mark.slow
def test_first_use_of_an_empty_database_by_several_processes(
    postgres_url: str, tmp_path: Path
) -> None:
    # Six processes create the schema at once.
    first = together(
        tmp_path / "schema",
        [["--db", postgres_url, "site", "add", f"S{n}", "--timezone", "UTC"] for n in range(6)],
    )
    assert [(d.code, d.stderr) for d in first] == [(0, "")] * 6
    assert rows(postgres_url, "SELECT version_num FROM alembic_version") == [(HEAD,)]
    assert len(rows(postgres_url, "SELECT code FROM sites")) == 6

    # Six processes store the same bundled protocol on its first use.
    second = together(
        tmp_path / "protocol",
        [
            ["--db", postgres_url, "enroll", f"P-{n}", "--protocol", "cs-huc-mscs",
             "--arm", "LOW", "--site", f"S{n}", "--day1", "2026-03-02"]
            for n in range(6)
        ],
    )  # fmt: skip
    assert [(d.code, d.stderr) for d in second] == [(0, "")] * 6
    versions = rows(postgres_url, "SELECT protocol_id, version FROM protocol_versions")
    assert versions == [("cs-huc-mscs", 1)]
    assert rows(postgres_url, "SELECT count(*) FROM participants") == [(6,)]
    # Four processes add the same site: one does, the others are told why.
    same = together(
        tmp_path / "same", [["--db", postgres_url, "site", "add", "DUP", "--timezone", "UTC"]] * 4
    )
    assert sorted(d.code for d in same) == [0, 2, 2, 2], [d.stderr for d in same]
    for refused in (d for d in same if d.code):
        assert refused.stderr == "planner: error: site 'DUP' exists already\n"
    ok(run(postgres_url, "audit", "verify"))


@pytest.mark.slow
def test_two_enrolments_of_one_code_in_other_cases_at_once_make_one_participant(
    postgres_url: str,
) -> None:
    """``Q-1`` and ``q-1`` at the same moment: a code not stored yet has no row
    to lock, so both found no twin and both enrolled (one person, two
    schedules). Enrolments take turns now; the second names the first."""
    ok(run(postgres_url, "site", "add", "WUH", "--timezone", "UTC"))

    def start(code: str) -> subprocess.Popen[str]:
        argv = [
            planner_script(),
            "--db",
            postgres_url,
            "enroll",
            code,
            "--protocol",
            "cs-huc-mscs",
            "--arm",
            "LOW",
            "--site",
            "WUH",
            "--day1",
            "2027-01-04",
        ]
        return subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=clean_env()
        )  # fmt: skip

    with stalled_commits(postgres_url) as waiting:
        first = start("Q-1")
        waiting(1)  # checked, waiting to append to the audit trail
        second = start("q-1")
        waiting(2)
    outcomes = sorted(
        (process.wait(timeout=TIMEOUT), process.communicate()[1]) for process in (first, second)
    )
    assert outcomes[0][0] == 0, outcomes
    assert outcomes[1][0] == 2, outcomes
    assert "differs from the enrolled 'Q-1' only in letter case" in outcomes[1][1], outcomes
    assert rows(postgres_url, "SELECT code FROM participants") == [("Q-1",)]
    ok(run(postgres_url, "audit", "verify"))

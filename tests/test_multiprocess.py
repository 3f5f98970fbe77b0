"""Several real ``planner`` processes writing to one SQLite file at once.

Four workers each run twelve commands in a row (enrol a participant, complete
its first infusion, move its first follow-up), all at the same time, through
the installed ``planner`` script. No command may fail: a "database is locked"
must never reach the user. Every acknowledged write (exit 0) must be in the
database afterwards, with exactly one audit row each. Then the four race for
the same visit: exactly one wins and the others are told why, never "locked".

Run with ``pytest -s`` to see the figures.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

WORKERS = 4
ROUNDS = 4  # three commands each: 12 commands per worker
TIMEOUT = 90  # seconds, for any one command


def planner_script() -> str:
    found = shutil.which("planner") or str(Path(sys.executable).with_name("planner"))
    assert Path(found).exists(), "the planner script is not installed"
    return found


@dataclass(frozen=True)
class Run:
    worker: int
    action: str  # the audit action a success must leave
    target: str  # the visit id or participant code it concerns
    code: int
    stderr: str
    start: float
    end: float


def run(db: Path, worker: int, action: str, target: str, *args: str) -> Run:
    start = time.monotonic()
    done = subprocess.run(
        [planner_script(), "--db", str(db), "--actor", f"worker-{worker}", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    return Run(worker, action, target, done.returncode, done.stderr, start, time.monotonic())


def most_at_once(runs: list[Run]) -> int:
    """The largest number of commands that were running at the same moment."""
    events = sorted([(r.start, 1) for r in runs] + [(r.end, -1) for r in runs])
    now = peak = 0
    for _, step in events:
        now += step
        peak = max(peak, now)
    return peak


def in_parallel(
    job: Callable[[int, threading.Barrier], list[Run]], count: int = WORKERS
) -> list[Run]:
    """Run ``job(worker, barrier)`` in ``count`` threads; each returns a list of Runs."""
    barrier = threading.Barrier(count)
    results: list[list[Run]] = [[] for _ in range(count)]
    errors: list[BaseException] = []

    def target(worker: int) -> None:
        try:
            results[worker] = job(worker, barrier)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)
            barrier.abort()

    threads = [threading.Thread(target=target, args=(w,)) for w in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TIMEOUT * 20)
    assert not errors, errors
    assert not any(thread.is_alive() for thread in threads)
    return [r for worker_runs in results for r in worker_runs]


def assert_one_winner(race: list[Run], loser_code: int, loser_words: str) -> list[Run]:
    """Exactly one run of ``race`` succeeded; the others were told why, never "locked".

    Returns the winner, in a list.
    """
    assert not any("locked" in r.stderr.lower() for r in race), [r.stderr for r in race]
    winners = [r for r in race if r.code == 0]
    losers = [r for r in race if r.code != 0]
    assert len(winners) == 1, [(r.code, r.stderr) for r in race]
    for loser in losers:
        assert loser.code == loser_code, [(r.worker, r.code, r.stderr) for r in race]
        assert loser.stderr.startswith("planner: error: ")
        assert loser_words in loser.stderr
        assert len(loser.stderr.splitlines()) == 1
    return winners


#: (participant code, event, occurrence) -> (status, actual, target, pinned, revision)
Visits = dict[tuple[str, str, int], tuple[Any, ...]]


def read_database(db: Path) -> tuple[dict[str, int], Visits, list[tuple[Any, ...]]]:
    """Check the file's integrity; return its participants, visits and audit rows."""
    connection = sqlite3.connect(db)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        participants = dict(connection.execute("SELECT code, id FROM participants"))
        visits = {
            (code, event, occurrence): (status, actual, target, pinned, revision)
            for code, event, occurrence, status, actual, target, pinned, revision in (
                connection.execute(
                    "SELECT p.code, v.event, v.occurrence, v.status, v.actual, v.target,"
                    " v.pinned, v.revision FROM visits v JOIN participants p"
                    " ON p.id = v.participant_id"
                )
            )
        }
        audit = connection.execute(
            "SELECT action, participant, visit, actor, reason FROM audit ORDER BY id"
        ).fetchall()
    finally:
        connection.close()
    return participants, visits, audit


def check_visits(
    participants: dict[str, int],
    visits: Visits,
    day: Callable[[int], str],
    race_mover: int,
) -> None:
    """Every participant is there with all its visits, and every acknowledged change too.

    ``race_mover`` is the worker that won the race to move RACE-01's second follow-up.
    """
    expected_codes = {"RACE-01"} | {f"W{w}-{i:02d}" for w in range(WORKERS) for i in range(ROUNDS)}
    assert set(participants) == expected_codes
    for code in expected_codes:
        mine = {key: value for key, value in visits.items() if key[0] == code}
        assert len(mine) == 10, code  # ucmsc-dlc G1: 4 infusions, 5 follow-ups, 1 call
        assert mine[(code, "INF", 1)][:2] == ("completed", day(0))
        if code != "RACE-01":
            assert mine[(code, "FU", 1)][2:4] == (day(29), 1)
    assert visits[("RACE-01", "FU", 2)][2] == day(85 + race_mover)
    assert visits[("RACE-01", "FU", 2)][4] == 1


@pytest.mark.slow
def test_four_processes_write_at_once_and_nothing_is_lost(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    today = datetime.now(UTC).date()
    day1 = today - timedelta(days=40)

    def day(offset: int) -> str:
        return (day1 + timedelta(days=offset)).isoformat()

    setup = [
        run(db, 9, "site-add", "", "site", "add", "WUH", "--timezone", "UTC"),
        run(db, 9, "enroll", "RACE-01", "enroll", "RACE-01", "--protocol", "ucmsc-dlc",
            "--arm", "G1", "--site", "WUH", "--day1", day1.isoformat()),
    ]  # fmt: skip
    assert [r.code for r in setup] == [0, 0], [r.stderr for r in setup]

    # ---------------------------------------------- four writers at once
    def writer(worker: int, barrier: threading.Barrier) -> list[Run]:
        barrier.wait()
        runs = []
        for i in range(ROUNDS):
            code = f"W{worker}-{i:02d}"
            runs.append(
                run(
                    db,
                    worker,
                    "enroll",
                    code,
                    "enroll",
                    code,
                    "--protocol",
                    "ucmsc-dlc",
                    "--arm",
                    "G1",
                    "--site",
                    "WUH",
                    "--day1",
                    day1.isoformat(),
                )
            )
            runs.append(
                run(
                    db,
                    worker,
                    "complete",
                    f"{code}/INF/1",
                    "visit",
                    "complete",
                    f"{code}/INF/1",
                    "--on",
                    day(0),
                )
            )
            runs.append(
                run(
                    db,
                    worker,
                    "move",
                    f"{code}/FU/1",
                    "visit",
                    "move",
                    f"{code}/FU/1",
                    "--to",
                    day(29),
                    "--reason",
                    f"worker {worker} round {i}",
                )
            )
        return runs  # fmt: skip

    started = time.monotonic()
    runs = in_parallel(writer)
    elapsed = time.monotonic() - started

    failed = [(r.worker, r.action, r.target, r.code, r.stderr) for r in runs if r.code != 0]
    assert not failed, failed
    assert not any("locked" in r.stderr.lower() for r in runs)
    acknowledged = [r for r in runs if r.code == 0]
    assert len(runs) == WORKERS * ROUNDS * 3
    overlap = most_at_once(runs)
    assert overlap >= 2, "the commands never ran at the same time"

    # ---------------------------------------------- a race for one visit
    def race_complete(worker: int, barrier: threading.Barrier) -> list[Run]:
        barrier.wait()
        return [run(db, worker, "complete", "RACE-01/INF/1",
                    "visit", "complete", "RACE-01/INF/1", "--on", day(0))]  # fmt: skip

    def race_move(worker: int, barrier: threading.Barrier) -> list[Run]:
        barrier.wait()
        return [run(db, worker, "move", "RACE-01/FU/2", "visit", "move", "RACE-01/FU/2",
                    "--to", day(85 + worker), "--revision", "0")]  # fmt: skip

    completes = in_parallel(race_complete)
    moves = in_parallel(race_move)
    acknowledged += assert_one_winner(completes, 2, "is completed")
    acknowledged += assert_one_winner(moves, 1, "changed since you read it")
    winning_move = next(r for r in moves if r.code == 0)

    # ---------------------------------------------- what the database holds
    participants, visits, audit = read_database(db)
    check_visits(participants, visits, day, winning_move.worker)

    # Exactly one audit row per acknowledged change, and none for refused ones.
    wanted = Counter(r.action for r in setup + acknowledged)
    found = Counter(action for action, *_ in audit)
    assert found == wanted, (found, wanted)
    audited = Counter(
        (action, visit or participant or "") for action, participant, visit, *_ in audit
    )
    assert audited == Counter((r.action, r.target) for r in setup + acknowledged)
    workers_audited = Counter(actor for _, _, _, actor, _ in audit)
    for worker in range(WORKERS):
        assert workers_audited[f"worker-{worker}"] >= ROUNDS * 3

    commands = len(setup) + len(runs) + len(completes) + len(moves)
    print(
        f"\nmultiprocess: {WORKERS} processes at once (peak {overlap} running together), "
        f"{commands} commands ({len(runs)} concurrent writes in {elapsed:.1f} s, "
        f"{len(completes) + len(moves)} in two races), "
        f"{len(setup) + len(acknowledged)} acknowledged writes, "
        f"{len(audit)} audit rows found ({dict(sorted(found.items()))}), "
        f"{len(participants)} participants, {len(visits)} visits, "
        f"0 'database is locked'; race losers: "
        + json.dumps(sorted({r.stderr.strip()[:60] for r in completes + moves if r.code}))
    )

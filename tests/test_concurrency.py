"""Two people changing the same visit at once: real processes, real SQLite files.

Each race uses a fresh database. The competing ``planner`` processes have
imported everything before they are released together (see ``LAUNCHER``), so
that their commands really overlap; one test also races plain, separately
started programs. Whatever the interleaving: the commands behave as if run
one after the other (no lost update), a loser says so in one line, and the
audit trail holds exactly the changes that happened.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from planner.app import Planner
from tests.conftest import dump

Cli = Callable[..., Any]

#: A launcher: imports the planner once, forks one process per job, releases
#: them all at the same moment through a pipe, and reports their exit codes.
#: Each child is a separate OS process running the real ``planner`` entry
#: point (``sys.exit`` and all) with its own database connection; forking
#: only saves every child the half-second of imports, so that the commands
#: really overlap on a small machine.
LAUNCHER = textwrap.dedent(
    """
    import json, os, sys, time, traceback
    import planner.app, planner.cli, planner.store.engine  # before the fork
    from planner.cli import main

    jobs = json.loads(sys.stdin.read())
    gate_read, gate_write = os.pipe()
    pids = []
    for job in jobs:
        pid = os.fork()
        if pid == 0:
            os.close(gate_write)
            for fd, name in ((1, "out"), (2, "err")):
                target = os.open(job[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
                os.dup2(target, fd)
                os.close(target)
            code = 70
            try:
                os.read(gate_read, 1)
                sys.argv = ["planner", *job["argv"]]
                main()
                code = 0
            except SystemExit as stop:
                code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
            except BaseException:
                traceback.print_exc()
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        pids.append(pid)
    os.close(gate_read)
    time.sleep(0.3)  # every child is now blocked on the gate
    os.write(gate_write, b"g" * len(jobs))
    codes = []
    for pid in pids:
        _, status = os.waitpid(pid, 0)
        codes.append(os.waitstatus_to_exitcode(status))
    print(json.dumps({"codes": codes, "pids": pids}))
    """
)

CLOCK = datetime(2026, 11, 22, 8, 30)
ROUNDS = 10


@dataclass
class Run:
    args: list[str]
    actor: str
    code: int
    stdout: str
    stderr: str


def make_db(path: Path, participants: Sequence[str] = ("WUH-001",)) -> None:
    """A database with ucmsc-dlc G1 participants, day 1 = 2026-03-02."""
    with Planner(str(path), actor="setup", clock=lambda: CLOCK) as planner:
        planner.add_site("WUH", "Asia/Shanghai")
        for code in participants:
            planner.enroll(code, "ucmsc-dlc", "G1", "WUH", date(2026, 3, 2))


def race(workdir: Path, jobs: Sequence[tuple[Path, str, list[str]]]) -> list[Run]:
    """Run every ``(db, actor, args)`` job in its own process, all at once."""
    workdir.mkdir(parents=True, exist_ok=True)
    spec: list[dict[str, Any]] = [
        {
            "argv": ["--db", str(db), "--actor", actor, *args],
            "out": str(workdir / f"{n}.out"),
            "err": str(workdir / f"{n}.err"),
        }
        for n, (db, actor, args) in enumerate(jobs)
    ]
    env = {k: v for k, v in os.environ.items() if k != "PLANNER_DB"}
    done = subprocess.run(
        [sys.executable, "-c", LAUNCHER],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        env=env,
        cwd=workdir,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    report = json.loads(done.stdout)
    assert len(set(report["pids"])) == len(jobs)  # one process each
    return [
        Run(
            args,
            actor,
            code,
            Path(job["out"]).read_text(encoding="utf-8"),
            Path(job["err"]).read_text(encoding="utf-8"),
        )
        for (_, actor, args), job, code in zip(jobs, spec, report["codes"], strict=True)
    ]


def one_line_error(run: Run) -> str:
    assert "Traceback" not in run.stderr, run.stderr
    assert run.stdout == ""
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("planner: error: "), lines[0]
    return lines[0]


def schedule(db: Path, participant: str = "WUH-001") -> dict[str, dict[str, Any]]:
    with Planner(str(db), actor="reader", clock=lambda: CLOCK) as planner:
        return {r.visit_id: r.to_json() for r in planner.schedule(participant)}


def visit_audit(db: Path, visit: str) -> list[tuple[str, str]]:
    with Planner(str(db), actor="reader", clock=lambda: CLOCK) as planner:
        return [(e.action, e.actor) for e in planner.audit() if e.visit == visit]


def replay(tmp: Path, runs: Sequence[Run], db: Path) -> dict[str, dict[str, Any]]:
    """The schedule after running only the successful commands, one at a time,
    in the order the audit trail recorded them."""
    with Planner(str(db), actor="reader", clock=lambda: CLOCK) as planner:
        order = [e.actor for e in planner.audit() if e.action in {"complete", "move", "miss"}]
    winners = {run.actor: run for run in runs if run.code == 0}
    assert sorted(order) == sorted(winners), (order, list(winners))
    tmp.mkdir(parents=True, exist_ok=True)
    fresh = tmp / "replay.db"
    make_db(fresh)
    with Planner(str(fresh), actor="replay", clock=lambda: CLOCK) as planner:
        for actor in order:
            args = winners[actor].args
            command, visit = args[1], args[2]
            value = date.fromisoformat(args[4])
            if command == "complete":
                planner.complete(visit, value)
            else:
                planner.move(visit, value)
    return schedule(fresh)


def check_audit_chain(db: Path) -> None:
    """Each visit's audit rows go revision 0→1→2…, ending at the visit's revision."""
    with Planner(str(db), actor="reader", clock=lambda: CLOCK) as planner:
        last: dict[str, int] = {}
        for entry in planner.audit():
            if entry.visit is None:
                continue
            assert entry.before is not None and entry.after is not None
            assert entry.before["revision"] == last.get(entry.visit, 0), entry
            assert entry.after["revision"] == entry.before["revision"] + 1, entry
            last[entry.visit] = entry.after["revision"]
        for record in planner.schedule("WUH-001"):
            assert record.revision == last.get(record.visit_id, 0), record.visit_id


COMPLETE = ["visit", "complete", "WUH-001/INF/2", "--on", "2026-03-06"]
MOVE = ["visit", "move", "WUH-001/INF/2", "--to", "2026-03-07"]


# ------------------------------------------------------------------ races


def test_complete_and_move_with_the_same_revision_one_wins(tmp_path: Path) -> None:
    """Both people looked at INF/2 at revision 0; the second must be told."""
    jobs = []
    for n in range(ROUNDS):
        db = tmp_path / f"round{n}" / "planner.db"
        db.parent.mkdir()
        make_db(db)
        jobs.append((db, "completer", [*COMPLETE, "--revision", "0"]))
        jobs.append((db, "mover", [*MOVE, "--revision", "0"]))
    runs = race(tmp_path / "race", jobs)
    winners = []
    for n in range(ROUNDS):
        db = jobs[2 * n][0]
        pair = runs[2 * n : 2 * n + 2]
        assert sorted(r.code for r in pair) == [0, 1], [(r.code, r.stderr) for r in pair]
        winner, loser = sorted(pair, key=lambda r: r.code)
        winners.append(winner.actor)
        assert winner.stderr == ""
        message = one_line_error(loser)
        assert message.startswith("planner: error: WUH-001/INF/2 ")
        assert "changed since you read it (revision 1, you saw 0)" in message or (
            "was changed by someone else" in message
        ), message

        plan = schedule(db)
        inf2, inf3, inf4 = (plan[f"WUH-001/INF/{k}"] for k in (2, 3, 4))
        if winner.actor == "completer":
            assert (inf2["status"], inf2["actual"], inf2["target"]) == (
                "completed",
                "2026-03-06",
                "2026-03-06",
            )
            assert (inf3["target"], inf3["revision"]) == ("2026-03-10", 0)
            assert visit_audit(db, "WUH-001/INF/2") == [("complete", "completer")]
        else:
            assert (inf2["status"], inf2["actual"], inf2["target"]) == (
                "scheduled",
                None,
                "2026-03-07",
            )
            assert (inf3["target"], inf3["revision"]) == ("2026-03-11", 1)
            assert (inf4["target"], inf4["revision"]) == ("2026-03-15", 1)
            assert visit_audit(db, "WUH-001/INF/2") == [("move", "mover")]
        assert inf2["revision"] == 1
        check_audit_chain(db)
        assert replay(db.parent, pair, db) == plan
    assert set(winners) <= {"completer", "mover"}


def test_two_completions_of_the_same_visit_one_wins(tmp_path: Path) -> None:
    jobs = []
    for n in range(ROUNDS):
        db = tmp_path / f"round{n}" / "planner.db"
        db.parent.mkdir()
        make_db(db)
        jobs.append((db, "ann", COMPLETE))
        jobs.append((db, "ben", ["visit", "complete", "WUH-001/INF/2", "--on", "2026-03-07"]))
    runs = race(tmp_path / "race", jobs)
    for n in range(ROUNDS):
        db = jobs[2 * n][0]
        pair = runs[2 * n : 2 * n + 2]
        assert sorted(r.code for r in pair) == [0, 2], [(r.code, r.stderr) for r in pair]
        winner, loser = sorted(pair, key=lambda r: r.code)
        on = winner.args[4]
        assert one_line_error(loser) == (
            f"planner: error: WUH-001/INF/2 is completed on {on}; only scheduled visits can change"
        )
        plan = schedule(db)
        inf2 = plan["WUH-001/INF/2"]
        assert (inf2["status"], inf2["actual"], inf2["revision"]) == ("completed", on, 1)
        inf3 = "2026-03-10" if on == "2026-03-06" else "2026-03-11"
        assert plan["WUH-001/INF/3"]["target"] == inf3
        assert visit_audit(db, "WUH-001/INF/2") == [("complete", winner.actor)]
        check_audit_chain(db)
        assert replay(db.parent, pair, db) == plan


def test_move_and_complete_without_revision_run_one_after_the_other(tmp_path: Path) -> None:
    """Without --revision both may succeed (move, then complete), or the
    completion comes first and the move is refused. Never a lost update."""
    jobs = []
    for n in range(ROUNDS):
        db = tmp_path / f"round{n}" / "planner.db"
        db.parent.mkdir()
        make_db(db)
        jobs.append((db, "completer", COMPLETE))
        jobs.append((db, "mover", MOVE))
    runs = race(tmp_path / "race", jobs)
    for n in range(ROUNDS):
        db = jobs[2 * n][0]
        completer, mover = runs[2 * n : 2 * n + 2]
        assert completer.code == 0, completer.stderr  # a completion is always possible
        plan = schedule(db)
        inf2 = plan["WUH-001/INF/2"]
        assert (inf2["status"], inf2["actual"]) == ("completed", "2026-03-06")
        # Counted from INF/2's actual date, whatever happened first.
        assert plan["WUH-001/INF/3"]["target"] == "2026-03-10"
        if mover.code == 0:
            assert visit_audit(db, "WUH-001/INF/2") == [
                ("move", "mover"),
                ("complete", "completer"),
            ]
            assert (inf2["target"], inf2["revision"]) == ("2026-03-07", 2)
        else:
            assert mover.code == 2
            assert one_line_error(mover) == (
                "planner: error: WUH-001/INF/2 is completed on 2026-03-06; "
                "only scheduled visits can change"
            )
            assert visit_audit(db, "WUH-001/INF/2") == [("complete", "completer")]
            assert (inf2["target"], inf2["revision"]) == ("2026-03-06", 1)
        check_audit_chain(db)
        assert replay(db.parent, [completer, mover], db) == plan


def test_separate_planner_programs_with_the_same_revision_one_wins(tmp_path: Path) -> None:
    """The same race with plain, independently started ``planner`` programs."""
    env = {k: v for k, v in os.environ.items() if k != "PLANNER_DB"}
    entry = [sys.executable, "-c", "from planner.cli import main; main()"]
    rounds = []
    for n in range(3):
        db = tmp_path / f"round{n}.db"
        make_db(db)
        pair = [
            ("completer", [*COMPLETE, "--revision", "0"]),
            ("mover", [*MOVE, "--revision", "0"]),
        ]
        procs = [
            subprocess.Popen(
                [*entry, "--db", str(db), "--actor", actor, *args],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
            )
            for actor, args in pair
        ]
        rounds.append((db, pair, procs))
    for db, pair, procs in rounds:
        runs = []
        for (actor, args), proc in zip(pair, procs, strict=True):
            out, err = proc.communicate(timeout=120)
            runs.append(Run(args, actor, proc.returncode, out, err))
        assert sorted(r.code for r in runs) == [0, 1], [(r.code, r.stderr) for r in runs]
        winner, loser = sorted(runs, key=lambda r: r.code)
        assert "changed since you read it (revision 1, you saw 0)" in one_line_error(loser)
        action = "complete" if winner.actor == "completer" else "move"
        assert visit_audit(db, "WUH-001/INF/2") == [(action, winner.actor)]
        check_audit_chain(db)
        assert replay(tmp_path / db.stem, runs, db) == schedule(db)


def test_many_writers_at_once_all_succeed(tmp_path: Path) -> None:
    """Writers queue for the lock (BEGIN IMMEDIATE + busy timeout), none fails."""
    codes = [f"WUH-{k:03d}" for k in range(1, 7)]
    db = tmp_path / "planner.db"
    make_db(db, codes)
    jobs = [
        (db, f"nurse{k}", ["visit", "complete", f"{code}/INF/1", "--on", "2026-03-03"])
        for k, code in enumerate(codes)
    ]
    runs = race(tmp_path / "race", jobs)
    assert [(r.code, r.stderr) for r in runs] == [(0, "")] * len(codes)
    with Planner(str(db), actor="reader", clock=lambda: CLOCK) as planner:
        completes = sorted((e.visit, e.actor) for e in planner.audit() if e.action == "complete")
        assert completes == sorted((f"{code}/INF/1", f"nurse{k}") for k, code in enumerate(codes))
        for code in codes:
            plan = {r.visit_id: r for r in planner.schedule(code)}
            assert plan[f"{code}/INF/1"].actual == date(2026, 3, 3)
            assert plan[f"{code}/INF/2"].target == date(2026, 3, 7)
            assert plan[f"{code}/INF/2"].revision == 1


# ------------------------------------------------------- --revision, stale


def _g1_with_late_second_infusion(cli: Cli) -> None:
    assert cli("site", "add", "WUH", "--timezone", "Asia/Shanghai").exit_code == 0
    enrolled = cli(
        "enroll",
        "WUH-001",
        "--protocol",
        "ucmsc-dlc",
        "--arm",
        "G1",
        "--site",
        "WUH",
        "--day1",
        "2026-03-02",
    )
    assert enrolled.exit_code == 0, enrolled.stderr


def _revision(cli: Cli, visit: str) -> int:
    rows = json.loads(cli("schedule", "WUH-001", "--format", "json").stdout)
    return int(next(r["revision"] for r in rows if r["visit_id"] == visit))


@pytest.mark.parametrize(
    "args",
    [
        ["visit", "move", "WUH-001/INF/3", "--to", "2026-03-13"],
        ["visit", "complete", "WUH-001/INF/3", "--on", "2026-03-12"],
        ["visit", "miss", "WUH-001/INF/3"],
    ],
    ids=["move", "complete", "miss"],
)
def test_a_stale_revision_is_refused_and_changes_nothing(
    cli: Cli, db_path: Path, args: list[str]
) -> None:
    _g1_with_late_second_infusion(cli)
    seen = _revision(cli, "WUH-001/INF/3")
    assert seen == 0
    # Meanwhile someone records INF/2 two days late: INF/3 is re-planned.
    assert cli("visit", "complete", "WUH-001/INF/2", "--on", "2026-03-08").exit_code == 0
    assert _revision(cli, "WUH-001/INF/3") == 1
    before = dump(db_path)
    result = cli(*args, "--revision", str(seen))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "planner: error: WUH-001/INF/3 changed since you read it (revision 1, you saw 0); "
        "look at it again and retry"
    ]
    assert dump(db_path) == before
    # With the revision just read, the same command goes through.
    done = cli(*args, "--revision", "1")
    assert done.exit_code == 0, done.stderr
    assert _revision(cli, "WUH-001/INF/3") == 2


def test_a_stale_revision_on_a_completed_visit_is_still_stale(cli: Cli, db_path: Path) -> None:
    _g1_with_late_second_infusion(cli)
    assert cli("visit", "complete", "WUH-001/INF/1", "--on", "2026-03-02").exit_code == 0
    before = dump(db_path)
    result = cli("visit", "move", "WUH-001/INF/1", "--to", "2026-03-03", "--revision", "0")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "planner: error: WUH-001/INF/1 changed since you read it (revision 1, you saw 0); "
        "look at it again and retry"
    ]
    assert dump(db_path) == before

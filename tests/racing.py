"""Helpers for tests that race real ``planner`` processes against one database.

:func:`together` starts several commands so that they really overlap on a
small machine: one launcher process imports the planner once, forks one child
per command, and releases them all at the same moment through a pipe. Each
child is a separate OS process running the real entry point (``sys.exit``
and all) with its own database connections. Every run is bounded.
:class:`Stalls` holds writers back from outside now and then, as a stalling
disk would, so that racing writes overlap on a fast machine and a slow one.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

from planner.store.repository.audit import APPEND_LOCK
from tests.test_concurrency import LAUNCHER as CONCURRENCY_LAUNCHER

#: Seconds any one racing command may take before the test fails.
TIMEOUT = 180

#: The launcher of tests/test_concurrency.py: forks one process per job after the
#: imports and releases them together; prints ``{"codes": [...], "pids": [...]}``.
LAUNCHER = CONCURRENCY_LAUNCHER


@dataclass(frozen=True)
class Done:
    argv: tuple[str, ...]
    code: int
    stdout: str
    stderr: str


def planner_script() -> str:
    found = shutil.which("planner") or str(Path(sys.executable).with_name("planner"))
    assert Path(found).exists(), "the planner script is not installed"
    return found


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PLANNER_DB"}


def run(db: str, *args: str, actor: str = "tester", timeout: float = TIMEOUT) -> Done:
    """One ``planner`` command, as a separate program."""
    argv = (planner_script(), "--db", db, "--actor", actor, *args)
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, env=clean_env(), check=False
    )
    return Done(argv[1:], done.returncode, done.stdout, done.stderr)


def together(workdir: Path, jobs: Sequence[Sequence[str]]) -> list[Done]:
    """Run every job (the arguments after ``planner``) in its own process, all at once."""
    workdir.mkdir(parents=True, exist_ok=True)
    spec = [
        {"argv": list(argv), "out": str(workdir / f"{n}.out"), "err": str(workdir / f"{n}.err")}
        for n, argv in enumerate(jobs)
    ]
    done = subprocess.run(
        [sys.executable, "-c", LAUNCHER],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=workdir,
        timeout=TIMEOUT,
        check=False,
    )
    assert done.returncode == 0 and done.stderr == "", done.stderr
    codes = json.loads(done.stdout)["codes"]
    return [
        Done(
            tuple(argv),
            code,
            Path(job["out"]).read_text(encoding="utf-8"),
            Path(job["err"]).read_text(encoding="utf-8"),
        )
        for argv, job, code in zip(jobs, spec, codes, strict=True)
    ]


def most_at_once(runs: list[dict[str, Any]]) -> int:
    events = sorted([(r["start"], 1) for r in runs] + [(r["end"], -1) for r in runs])
    now = peak = 0
    for _, step in events:
        now += step
        peak = max(peak, now)
    return peak


class Stalls(threading.Thread):
    """Hold writers back from outside, as a stalling disk would, so that
    writes overlap whatever the machine's speed. On PostgreSQL: the audit
    trail's append lock, most of the time (1 to 2 s held, 0.2 to 0.6 s free;
    waiters are served first, in turn): every write stops before its audit
    rows with its transaction open, so a write that read a calendar or a
    plan without waiting for the writes in progress commits after them.
    On SQLite: the write lock, now and then (0.5 to 1.5 s in 1.5 to 4.5 s).
    """

    def __init__(self, db: str) -> None:
        super().__init__(daemon=True)
        self.db, self.done, self.count = db, threading.Event(), 0
        self.error: BaseException | None = None

    def run(self) -> None:
        rng = random.Random(17)
        try:
            if "://" in self.db:
                plain = make_url(self.db).set(drivername="postgresql")
                with psycopg.connect(plain.render_as_string(False), autocommit=True) as hold:
                    while not self.done.wait(rng.uniform(0.2, 0.6)):
                        hold.execute("SELECT pg_advisory_lock(%s)", (APPEND_LOCK,))
                        time.sleep(rng.uniform(1, 2))
                        hold.execute("SELECT pg_advisory_unlock(%s)", (APPEND_LOCK,))
                        self.count += 1
                return
            hold = sqlite3.connect(self.db, timeout=60, isolation_level=None)
            try:
                while not self.done.wait(rng.uniform(1, 3)):
                    hold.execute("BEGIN IMMEDIATE")
                    time.sleep(rng.uniform(0.5, 1.5))
                    hold.execute("ROLLBACK")
                    self.count += 1
            finally:
                hold.close()
        except BaseException as error:  # reported by the test
            self.error = error

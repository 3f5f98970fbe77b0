"""One racing worker of ``tests/test_races.py``: ``python race_worker.py CONFIG``.

For ``seconds`` it runs random ``planner`` commands against one database:
enrolments, visit completions, moves and misses (never with ``--revision``),
site closings and read-only queries. Each command is a separate process
(forked from this one once the planner is imported, so that a small machine
spends its time on the commands, not on imports) running the real entry
point; each is killed after ``timeout`` seconds. Every command is logged to
``log`` (JSON lines): its arguments, exit code, stderr and the token that
its audit row must carry (the ``--reason``, or the new participant's code).
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import random
import signal
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import planner.app
import planner.cli
from planner.cli import main
from planner.core.bundled import BUNDLED_IDS, bundled


def warm_up() -> None:
    """Import and parse once, before forking, what every command needs."""
    for module in pkgutil.walk_packages(planner.app.__path__, "planner.app."):
        importlib.import_module(module.name)
    for module in pkgutil.iter_modules(planner.cli.__path__, "planner.cli."):
        if module.name != "planner.cli.serve":
            importlib.import_module(module.name)
    for name in ("sqlite.pysqlite", "postgresql.psycopg"):
        importlib.import_module(f"sqlalchemy.dialects.{name}")
    for protocol in BUNDLED_IDS:
        bundled(protocol)


def command(argv: list[str], out: Path, timeout: float) -> tuple[int, str, str]:
    """Run ``planner ARGV`` in a child process: ``(exit code, stdout, stderr)``."""
    err = out.with_suffix(".err")
    pid = os.fork()
    if pid == 0:  # the child: the real entry point, its exit code
        for fd, path in ((1, out), (2, err)):
            target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            os.dup2(target, fd)
            os.close(target)
        code = 70
        try:
            sys.argv = ["planner", *argv]
            main()
            code = 0
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            code = -999  # the test fails on it: a command that hung
            break
        time.sleep(0.005)
    return code, out.read_text(encoding="utf-8"), err.read_text(encoding="utf-8")


class Worker:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.number: int = config["worker"]
        self.random = random.Random(config["seed"])
        self.today = date.fromisoformat(config["today"])
        self.pool: list[str] = list(config["participants"])
        self.sites: list[str] = config["sites"]
        self.visits: list[str] = config["visits"]  # EVENT/N of every participant's plan
        self.count = 0

    def token(self) -> str:
        self.count += 1
        return f"w{self.number}-{self.count}"

    def day(self, first: int, last: int) -> str:
        return (self.today + timedelta(days=self.random.randint(first, last))).isoformat()

    def visit(self) -> str:
        return f"{self.random.choice(self.pool)}/{self.random.choice(self.visits)}"

    def next_command(self) -> tuple[str, str | None, list[str]]:
        """``(kind, token, arguments)`` of a random command."""
        roll = self.random.random()
        if roll < 0.15:
            code = f"W{self.number}-{self.count + 1:03d}"
            self.count += 1
            site = self.random.choice(self.sites)
            return "enroll", code, ["enroll", code, "--protocol", "cs-huc-mscs", "--arm",
                                    "LOW", "--site", site, "--day1", self.day(-40, 10)]  # fmt: skip
        token = self.token()
        if roll < 0.35:
            # The day before today (UTC) is no later than today at any site.
            on = self.day(-1, -1)
            return "complete", token, ["visit", "complete", self.visit(), "--on", on,
                                       "--reason", token]  # fmt: skip
        if roll < 0.55:
            return "move", token, ["visit", "move", self.visit(), "--to", self.day(0, 150),
                                   "--force", "--reason", token]  # fmt: skip
        if roll < 0.62:
            return "miss", token, ["visit", "miss", self.visit(), "--reason", token]
        if roll < 0.74:
            start = self.today + timedelta(days=self.random.randint(0, 120))
            end = start + timedelta(days=self.random.randint(4, 14))
            return "site-close", token, ["site", "close", self.random.choice(self.sites),
                                         start.isoformat(), "--to", end.isoformat(),
                                         "--reason", token]  # fmt: skip
        return "query", None, self.query()

    def query(self) -> list[str]:
        choice = self.random.randrange(5)
        if choice == 0:
            return ["schedule", self.random.choice(self.pool), "--format", "json"]
        if choice == 1:
            site = self.random.choice(self.sites)
            return ["upcoming", "--site", site, "--from", self.day(-10, 10), "--days", "30",
                    "--format", "json"]  # fmt: skip
        if choice == 2:
            return ["conflicts", "--format", "json"]
        if choice == 3:
            return ["overdue", "--format", "json"]
        return ["participants", "--format", "json"]

    def run(self) -> None:
        config = self.config
        scratch = Path(config["scratch"])
        scratch.mkdir(parents=True, exist_ok=True)
        stop = time.monotonic() + config["seconds"]
        with open(config["log"], "w", encoding="utf-8") as log:
            while time.monotonic() < stop:
                kind, token, args = self.next_command()
                argv = ["--db", config["db"], "--actor", f"worker-{self.number}", *args]
                started = time.time()
                code, out, err = command(argv, scratch / "out", config["timeout"])
                if kind == "enroll" and code == 0:
                    self.pool.append(args[1])
                entry = {"kind": kind, "token": token, "args": args, "code": code,
                         "stderr": err, "start": started, "end": time.time()}  # fmt: skip
                if kind == "query":
                    entry["stdout_ok"] = code == 0 and _json(out)
                log.write(json.dumps(entry) + "\n")
                log.flush()


def _json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


if __name__ == "__main__":
    warm_up()
    Worker(json.loads(sys.argv[1])).run()

"""Shared fixtures: a real SQLite file, the real CLI entry point, a fixed clock."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from planner.app import Planner
from planner.cli import main
from tests.parsers import icaljs  # noqa: F401  (a fixture for every test module)
from tests.postgres import postgres_server, postgres_url  # noqa: F401  (fixtures)

#: The moment every test's clock shows unless it says otherwise.
NOW = datetime(2026, 11, 22, 8, 30, 0)


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where a test's SQLite database lives (created on first use)."""
    return tmp_path / "planner.db"


@pytest.fixture
def cli(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., CliResult]:
    """Run ``planner --db <db_path> ARGS`` through the real entry point.

    Keeps stdout and stderr apart. ``db=None`` leaves ``--db`` out.
    """
    monkeypatch.delenv("PLANNER_DB", raising=False)

    def run(*args: str, db: Path | str | None = db_path, input: str | None = None) -> CliResult:
        argv = ([f"--db={db}"] if db is not None else []) + [str(a) for a in args]
        result = CliRunner().invoke(main, argv, input=input, catch_exceptions=False)
        return CliResult(result.exit_code, result.stdout, result.stderr)

    return run


@pytest.fixture
def planner(db_path: Path) -> Iterator[Planner]:
    """The Python API on a real SQLite file, with the clock at NOW."""
    with Planner(str(db_path), actor="tester", clock=lambda: NOW) as api:
        yield api


def dump(path: Path) -> str:
    """Every row of every table, to prove a failed command changed nothing."""
    if not path.exists():
        return ""
    connection = sqlite3.connect(path)
    try:
        return "\n".join(connection.iterdump())
    finally:
        connection.close()

"""Exports hold no free text, and no output path can overwrite the database.

A move reason, a forced-move reason, a withdrawal reason and the actor's name
each carry a marker; no export (``export ics``, ``schedule``, ``upcoming``,
``overdue``, ``deviations`` in every format) may contain it, though the audit
trail keeps it. The JSON keys of a visit are exactly those of
``VisitRecord.to_json``, none of them a place for notes or names. And
``--output`` naming the database, its WAL or another of its files, by any
path, is refused with the database untouched.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from planner.app import Planner
from planner.core.visits import CSV_COLUMNS
from tests.conftest import dump

Cli = Callable[..., Any]

MARKERS = {
    "move": "SECRET-REASON-42 patient travelling",
    "force": "SECRET-FORCE-43 clinic flooded",
    "withdraw": "SECRET-WITHDRAW-44 moved away",
    "actor": "SECRET-ACTOR-45",
}
#: Keys that would hold free text, notes or people's names.
FORBIDDEN_KEYS = {"reason", "reasons", "notes", "note", "name", "names", "comment", "comments",
                  "actor", "description", "text", "free_text", "who"}  # fmt: skip
#: The keys SPEC §6 requires of every visit object.
SPEC_KEYS = {"visit_id", "participant", "site", "protocol", "arm", "event", "label", "kind",
             "occurrence", "study_day", "target", "window_start", "window_end", "time",
             "timezone", "status", "actual", "deviation", "uid"}  # fmt: skip


@pytest.fixture
def with_secrets(cli: Cli, db_path: Path) -> Path:
    """Two participants, changes whose reasons (and actor) carry the markers."""
    steps = [
        ("site", "add", "WUH", "--timezone", "Asia/Shanghai", "--name", "Wuhan"),
        ("enroll", "P-001", "--protocol", "ucmsc-dlc", "--arm", "G1", "--site", "WUH",
         "--day1", "2026-03-02"),
        ("enroll", "P-002", "--protocol", "cs-huc-mscs", "--arm", "LOW", "--site", "WUH",
         "--day1", "2026-04-20"),
        ("--actor", MARKERS["actor"], "visit", "move", "P-001/FU/2", "--to", "2026-05-27",
         "--reason", MARKERS["move"]),
        ("--actor", MARKERS["actor"], "visit", "move", "P-001/FU/3", "--to", "2026-09-30",
         "--force", "--reason", MARKERS["force"]),
        ("--actor", MARKERS["actor"], "participant", "withdraw", "P-002", "--on", "2026-05-01",
         "--reason", MARKERS["withdraw"]),
    ]  # fmt: skip
    for step in steps:
        result = cli(*step)
        assert result.exit_code == 0, (step, result.stderr)
    return db_path


def unfold(text: str) -> str:
    """An iCalendar text with its folded lines joined and escapes removed."""
    return text.replace("\r\n ", "").replace("\r\n\t", "").replace("\\", "")


EXPORTS = [
    ("export", "ics"),
    ("export", "ics", "--participant", "P-002"),
    ("export", "ics", "--participant", "P-001", "--alarm", "1d"),
    ("export", "ics", "--site", "WUH", "--no-include-cancelled"),
    ("export", "ics", "--protocol", "ucmsc-dlc"),
    *[
        (*command, "--format", fmt)
        for command in (
            ("schedule", "P-001"),
            ("schedule", "P-002"),
            ("upcoming", "--from", "2026-03-01", "--days", "3660"),
            ("overdue", "--as-of", "2030-01-01"),
            ("deviations",),
        )
        for fmt in ("table", "json", "csv")
    ],
]


@pytest.mark.parametrize("command", EXPORTS, ids=[" ".join(c) for c in EXPORTS])
def test_exports_never_hold_free_text(
    cli: Cli, with_secrets: Path, command: tuple[str, ...]
) -> None:
    result = cli(*command)

    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip(), "an empty export proves nothing"
    assert "P-00" in result.stdout
    for text in (result.stdout, unfold(result.stdout)):
        assert "SECRET" not in text
        for marker in MARKERS.values():
            assert marker.split()[0] not in text


def test_the_exports_do_show_the_changes_the_reasons_belong_to(
    cli: Cli, with_secrets: Path
) -> None:
    """The markers' changes happened (so their absence above means something)."""
    schedule = {
        v["visit_id"]: v for v in json.loads(cli("schedule", "P-001", "--format", "json").stdout)
    }
    assert schedule["P-001/FU/2"]["target"] == "2026-05-27"
    assert schedule["P-001/FU/3"]["deviation"] is True
    cancelled = [v for v in json.loads(cli("schedule", "P-002", "--format", "json").stdout)
                 if v["status"] == "cancelled"]  # fmt: skip
    assert cancelled
    ics = unfold(cli("export", "ics", "--participant", "P-002").stdout)
    assert "STATUS:CANCELLED" in ics
    audit = cli("audit", "--format", "json").stdout
    for marker in MARKERS.values():
        assert marker in audit, "the audit trail keeps the reasons and who"


def test_visit_json_keys_are_exactly_the_allowed_set(cli: Cli, with_secrets: Path) -> None:
    with Planner(str(with_secrets)) as api:
        allowed = set(api.schedule("P-001")[0].to_json())
    assert not allowed & FORBIDDEN_KEYS, allowed & FORBIDDEN_KEYS
    assert allowed >= SPEC_KEYS
    assert not set(CSV_COLUMNS) & FORBIDDEN_KEYS

    for command in (
        ("schedule", "P-001"),
        ("schedule", "P-002"),
        ("upcoming", "--from", "2026-03-01", "--days", "3660"),
        ("overdue", "--as-of", "2030-01-01"),
        ("deviations",),
    ):
        visits = json.loads(cli(*command, "--format", "json").stdout)
        assert visits, command
        # overdue adds how late each visit is (a number, issue 12), nothing else.
        extra = {"days_overdue"} if command[0] == "overdue" else set()
        for visit in visits:
            assert set(visit) == allowed | extra, (command, set(visit) ^ (allowed | extra))
        rows = list(csv.reader(io.StringIO(cli(*command, "--format", "csv").stdout)))
        assert not {column.lower() for column in rows[0]} & FORBIDDEN_KEYS, rows[0]


# ---------------------------------------------------------------- --output


def output_targets(db_path: Path, tmp_path: Path) -> list[str]:
    (tmp_path / "link.ics").symlink_to(db_path)
    (tmp_path / "sub").mkdir()
    return [
        str(db_path),
        f"{db_path}-wal",
        f"{db_path}-shm",
        f"{db_path}-journal",
        str(tmp_path / "link.ics"),
        f"{tmp_path}/sub/../{db_path.name}",
        db_path.name,  # relative to the working folder
    ]


def test_output_cannot_overwrite_the_database_or_its_wal(
    cli: Cli, with_secrets: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db_path = with_secrets
    monkeypatch.chdir(tmp_path)
    wal = Path(f"{db_path}-wal")
    wal.write_bytes(b"")  # exists, as it does while others have the database open
    before = dump(db_path)
    for target in output_targets(db_path, tmp_path):
        files = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}

        result = cli("export", "ics", "--output", target)

        assert result.exit_code == 2, (target, result.stderr)
        assert result.stdout == ""
        assert len(result.stderr.splitlines()) == 1
        assert result.stderr.startswith("planner: error: --output: ")
        assert "database itself" in result.stderr
        assert dump(db_path) == before
        after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
        assert after == files, f"--output {target} changed files"
    assert not list(tmp_path.glob(".planner-*"))


def test_a_hard_link_to_the_database_cannot_damage_it(
    cli: Cli, with_secrets: Path, tmp_path: Path
) -> None:
    """Writing beside and renaming replaces the link, never the database's content."""
    db_path = with_secrets
    link = tmp_path / "hard.ics"
    os.link(db_path, link)
    before = dump(db_path)

    result = cli("export", "ics", "--output", str(link))

    if result.exit_code == 0:
        assert link.read_bytes().startswith(b"BEGIN:VCALENDAR")
    else:
        assert result.exit_code == 2, result.stderr
    assert dump(db_path) == before
    assert cli("schedule", "P-001").exit_code == 0


def test_an_export_written_to_a_file_holds_no_free_text(
    cli: Cli, with_secrets: Path, tmp_path: Path
) -> None:
    target = tmp_path / "all.ics"

    result = cli("export", "ics", "--output", str(target))

    assert result.exit_code == 0, result.stderr
    text = unfold(target.read_text(encoding="utf-8"))
    assert text.startswith("BEGIN:VCALENDAR")
    assert "SECRET" not in text

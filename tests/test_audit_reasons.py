"""``audit verify`` and a visit's reason: what exports give as why a visit was
missed, moved or cancelled (SV's SVREASOC) must be what its audit rows left.

Completing, moving, missing, cancelling (an ending, an amendment) and adding an
unscheduled visit set the visit's reason to the audit row's; undoing and
reinstating clear it; re-planning leaves it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from planner.core.chain import audited_reason
from tests.conftest import CliResult
from tests.test_audit_chain import _visit_sql, broken, ok, scenario, tamper

Cli = Callable[..., CliResult]


def reasons_scenario(cli: Cli) -> None:
    scenario(cli)
    ok(cli("visit", "miss", "WUH-002/INF/3", "--reason", "fever"))
    ok(cli("visit", "move", "WUH-002/FU/1", "--to", "2026-03-31", "--reason", "nurse away"))
    ok(cli("visit", "complete", "WUH-001/INF/1", "--on", "2026-04-20", "--reason", "on time"))
    ok(cli("visit", "undo", "WUH-001/INF/1", "--reason", "wrong participant"))
    ok(cli("visit", "add", "WUH-001", "--on", "2026-05-02", "--label", "AE check",
           "--reason", "rash"))  # fmt: skip
    ok(cli("participant", "withdraw", "WUH-001", "--on", "2026-06-01", "--reason", "moved away"))


def stored_reason(db_path: Path, code: str, event: str, number: int) -> str | None:
    connection = sqlite3.connect(db_path)
    try:
        row = connection.execute(
            f"SELECT reason FROM visits WHERE id = {_visit_sql(code, event, number)}"
        ).fetchone()
    finally:
        connection.close()
    return None if row is None else row[0]


def test_reasons_as_their_commands_left_them_verify_intact(cli: Cli, db_path: Path) -> None:
    reasons_scenario(cli)
    assert ok(cli("audit", "verify")).stdout.startswith("audit trail intact")
    assert stored_reason(db_path, "WUH-002", "INF", 3) == "fever"
    assert stored_reason(db_path, "WUH-001", "INF", 1) is None  # undone


@pytest.mark.parametrize(
    ("visit", "reason", "says"),
    [
        (("WUH-002", "INF", 3), "'patient refused'",
         "visit WUH-002/INF/3: its reason is 'patient refused' but the audit trail says 'fever'"),
        (("WUH-002", "INF", 3), "NULL",
         "visit WUH-002/INF/3: its reason is none but the audit trail says 'fever'"),
        (("WUH-002", "FU", 1), "'patient asked'",
         "visit WUH-002/FU/1: its reason is 'patient asked' but the audit trail says 'nurse away'"),
        (("WUH-001", "INF", 1), "'on time'",
         "visit WUH-001/INF/1: its reason is 'on time' but the audit trail says none"),
        (("WUH-002", "FU", 2), "'lost to follow-up'",
         "visit WUH-002/FU/2: its reason is 'lost to follow-up' but the audit trail says none"),
    ],
)  # fmt: skip
def test_a_reason_changed_without_an_audit_row_is_named(
    cli: Cli, db_path: Path, visit: tuple[str, str, int], reason: str, says: str
) -> None:
    reasons_scenario(cli)
    tamper(db_path, f"UPDATE visits SET reason = {reason} WHERE id = {_visit_sql(*visit)}")
    broken(cli("audit", "verify"), f"{says} (changed without an audit row)")


def test_the_reason_rows_leave() -> None:
    assert audited_reason([]) is None
    assert audited_reason([("complete", "late"), ("replan", "closed")]) == "late"
    assert audited_reason([("complete", "late"), ("undo", "wrong")]) is None
    assert audited_reason([("add", "rash"), ("move", None)]) is None
    assert audited_reason([("miss", "fever"), ("reinstate", "back"), ("amend-cancel", "v2")]) == (
        "v2"
    )
    assert audited_reason([("amend-add", "v2"), ("amend-move", "v2")]) is None

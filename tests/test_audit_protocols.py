"""``audit verify`` and stored protocols: the source an enrolment planned from.

An enrolment's audit row and a ``protocol-add`` row record the SHA-256 of the
protocol version's stored source; a source edited in the file (a dose, a label,
a window: what records and exports show) is named, and so are stored facts
that are not those of the source.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from planner.core.chain import source_digest
from tests.conftest import CliResult
from tests.test_audit_chain import broken, ok, scenario, tamper

Cli = Callable[..., CliResult]

DLC = "(SELECT id FROM protocol_versions WHERE protocol_id = 'ucmsc-dlc' AND version = 1)"


def test_enrolment_rows_record_the_source_they_planned_from(cli: Cli, db_path: Path) -> None:
    scenario(cli)
    rows = json.loads(ok(cli("audit", "--format", "json")).stdout)
    enrolled = {row["participant"]: row["after"] for row in rows if row["action"] == "enroll"}
    connection = sqlite3.connect(db_path)
    try:
        sources = dict(
            connection.execute("SELECT protocol_id, source FROM protocol_versions").fetchall()
        )
    finally:
        connection.close()
    assert enrolled["WUH-002"]["source_sha256"] == source_digest(sources["ucmsc-dlc"])
    assert enrolled["WUH-001"]["source_sha256"] == source_digest(sources["cs-huc-mscs"])
    assert source_digest("x") == (
        "sha256:2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
    )
    assert ok(cli("audit", "verify")).stdout.startswith("audit trail intact")


@pytest.mark.parametrize(
    ("statement", "says"),
    [
        # A comment: the facts still match, the source is not the one enrolled from.
        (f"UPDATE protocol_versions SET source = source || '# edited' WHERE id = {DLC}",
         "protocol ucmsc-dlc v1: its stored source is not the one its audit rows recorded"),
        (f"UPDATE protocol_versions SET facts = replace(facts, 'Infusion', 'Injection')"
         f" WHERE id = {DLC}",
         "protocol ucmsc-dlc v1: the facts stored with it are not those of its source"),
        (f"UPDATE protocol_versions SET title = 'Another trial' WHERE id = {DLC}",
         "protocol ucmsc-dlc v1: the title stored with it is not its source's"),
        ("DELETE FROM protocol_versions WHERE id = (SELECT id FROM protocol_versions"
         " WHERE protocol_id = 'my-trial')",
         "protocol my-trial v1 is in the audit trail but no longer stored"),
    ],
)  # fmt: skip
def test_a_protocol_changed_without_an_audit_row_is_named(
    cli: Cli, db_path: Path, tmp_path: Path, statement: str, says: str
) -> None:
    scenario(cli)
    trial = tmp_path / "my-trial.toml"
    bundled = Path(__file__).parent.parent / "planner" / "protocols" / "ucmsc-dlc.toml"
    trial.write_text(
        bundled.read_text(encoding="utf-8").replace('id = "ucmsc-dlc"', 'id = "my-trial"'),
        encoding="utf-8",
    )
    ok(cli("protocol", "add", str(trial)))
    assert ok(cli("audit", "verify")).stdout.startswith("audit trail intact")
    tamper(db_path, "PRAGMA foreign_keys = OFF", statement)
    broken(cli("audit", "verify"), says)


def test_a_protocol_version_stored_behind_planners_back_is_named(cli: Cli, db_path: Path) -> None:
    """A copy of version 1 inserted as version 2 (another dose, facts to match):
    a rebaseline would move participants onto it and vouch for it."""
    scenario(cli)
    tamper(
        db_path,
        "INSERT INTO protocol_versions (protocol_id, version, fingerprint, title, source, facts,"
        " created_at) SELECT protocol_id, 2, 'forged', title, source, facts,"
        " datetime('now') FROM protocol_versions WHERE protocol_id = 'ucmsc-dlc'",
    )
    broken(
        cli("audit", "verify"),
        "protocol ucmsc-dlc v2 was stored without an audit row",
    )

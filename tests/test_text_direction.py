"""Free text that would not show as typed: direction overrides (U+202E shown
raw on the web page reverses the text after it, "Trojan Source") and line
separators (U+2028: a one-line label on several lines). Refused with one
sentence where text comes in; direction marks (U+200E, U+200F), which
Arabic or Hebrew text may need, are kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import dump
from tests.test_corrections import Cli, ok


@pytest.fixture
def enrolled(cli: Cli) -> Cli:
    ok(cli("site", "add", "WUH", "--timezone", "Asia/Shanghai"))
    ok(cli("enroll", "P-1", "--protocol", "cs-huc-mscs", "--arm", "LOW", "--site", "WUH",
           "--day1", "2026-01-05"))  # fmt: skip
    return cli


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("visit", "add", "P-1", "--on", "2026-01-06", "--label", "Blood draw \u202edetaerb"),
         "the label holds the direction override U+202E; remove it"),
        (("visit", "miss", "P-1/IHFU/1", "--reason", "first\u2028second"),
         "the reason holds the line separator U+2028; remove it"),
        (("site", "add", "NYC", "--timezone", "America/New_York", "--name", "Mount \u2067Sinai"),
         "the site name holds the direction override U+2067; remove it"),
        (("feed", "create", "--site", "WUH", "--label", "nurses\u2029"),
         "the label holds the line separator U+2029; remove it"),
    ],
    ids=["label", "reason", "site-name", "feed-label"],
)  # fmt: skip
def test_text_that_would_not_show_as_typed_is_refused(
    enrolled: Cli, db_path: Path, args: tuple[str, ...], message: str
) -> None:
    before = dump(db_path)
    result = enrolled(*args)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == f"planner: error: {message}\n"
    assert dump(db_path) == before


def test_direction_marks_are_kept(enrolled: Cli) -> None:
    label = "\u05d1\u05d3\u05d9\u05e7\u05d4 \u200f(2)"  # Hebrew, a right-to-left mark
    ok(enrolled("visit", "add", "P-1", "--on", "2026-01-06", "--label", label))
    rows = json.loads(ok(enrolled("schedule", "P-1", "--format", "json")).stdout)
    assert label in [row["label"] for row in rows]

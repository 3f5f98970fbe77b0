"""Timed visits in awkward time zones: every parser reads the planned local time.

Dublin (daylight time is its standard time), Lord Howe (30-minute shifts),
Chatham (+12:45), St John's (-3:30), Casablanca (shifts around Ramadan),
Kathmandu (+5:45), São Paulo (no more daylight saving), UTC.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests import ics_checks
from tests.conftest import CliResult
from tests.parsers import ical_spans, icaljs_spans, vobject_spans

ZONES = [
    "Europe/Dublin",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "America/St_Johns",
    "Africa/Casablanca",
    "Asia/Kathmandu",
    "America/Sao_Paulo",
    "UTC",
]
# Day 1s whose infusions (days 1, 8, 15) straddle the usual change dates.
DAY1S = ["2026-03-20", "2026-03-30", "2026-10-01", "2026-10-20", "2026-12-28"]


@pytest.mark.parametrize("zone", ZONES)
def test_infusions_at_nine_local_in_every_parser(
    cli: Callable[..., CliResult],
    db_path: Path,
    tmp_path: Path,
    icaljs: Callable[[Path], list[dict[str, str]]],
    zone: str,
) -> None:
    assert cli("site", "add", "S", "--timezone", zone).exit_code == 0
    for number, day1 in enumerate(DAY1S):
        enrolled = cli("enroll", f"P-{number}", "--protocol", "cs-huc-mscs", "--arm", "LOW",
                       "--site", "S", "--day1", day1)  # fmt: skip
        assert enrolled.exit_code == 0, enrolled.stderr
    out = tmp_path / "calendar.ics"
    assert cli("export", "ics", "--output", str(out)).exit_code == 0
    data = out.read_bytes()

    ics_checks.assert_valid(data)
    spans = icaljs_spans(icaljs, data, tmp_path)
    assert vobject_spans(data) == ical_spans(data) == spans

    infusions = json.loads(
        cli(
            "upcoming",
            "--from",
            "2026-01-01",
            "--days",
            "800",
            "--kind",
            "infusion",
            "--format",
            "json",
        ).stdout
    )
    assert len(infusions) == 3 * len(DAY1S)
    for visit in infusions:
        local = datetime.combine(date.fromisoformat(visit["target"]), time(9, 0),
                                 tzinfo=ZoneInfo(zone))  # fmt: skip
        start = local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        assert spans[visit["uid"]][0] == start, (visit["visit_id"], zone)

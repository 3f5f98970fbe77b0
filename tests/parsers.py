"""Independent iCalendar parsers for the tests: vobject, ical, and ical.js.

Every calendar the tests produce can be read back by parsers we did not
write; these helpers return each event's start and end (ISO dates, or UTC
instants as ical.js prints them) by UID, so tests can compare parsers.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import vobject
from ical.calendar_stream import IcsCalendarStream

JS = Path(__file__).parent / "js"


def utc_iso(moment: datetime) -> str:
    """The form ical.js's ``Date.toISOString()`` gives."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def span_of(value: date | datetime) -> str:
    if isinstance(value, datetime):
        assert value.tzinfo is not None, f"floating date-time {value}"
        return utc_iso(value)
    return value.isoformat()


def walk_vobject(component: Any) -> Iterator[Any]:
    """Every component under ``component`` (itself first), touching every line."""
    yield component
    for child in component.getChildren():
        if isinstance(child, vobject.base.Component):
            yield from walk_vobject(child)
        else:
            assert child.name, child
            _ = child.value


def forget_vobject_zones() -> None:
    """Empty vobject's process-wide TZID registry.

    vobject keeps the first VTIMEZONE it ever read for a TZID and uses it for
    every later file; ours cover only each file's date range, so a file must
    be read with its own VTIMEZONEs, not an earlier file's.
    """
    registry = vars(vobject.icalendar)["__tzidMap"]
    utc = registry["UTC"]
    registry.clear()
    registry["UTC"] = utc


def vobject_spans(data: bytes) -> dict[str, tuple[str, str]]:
    forget_vobject_zones()
    calendar = vobject.readOne(data.decode("utf-8"), validate=True)
    components = [component.name for component in walk_vobject(calendar)]
    assert components[0] == "VCALENDAR"
    assert components.count("VEVENT") == data.count(b"BEGIN:VEVENT")
    assert components.count("VTIMEZONE") == data.count(b"BEGIN:VTIMEZONE")
    return {
        event.uid.value: (span_of(event.dtstart.value), span_of(event.dtend.value))
        for event in getattr(calendar, "vevent_list", [])  # none in an empty calendar
    }


def ical_spans(data: bytes) -> dict[str, tuple[str, str]]:
    calendar = IcsCalendarStream.calendar_from_ics(data.decode("utf-8"))
    return {event.uid: (span_of(event.dtstart), span_of(event.dtend)) for event in calendar.events}


def _installed_icaljs_version() -> str | None:
    manifest = JS / "node_modules" / "ical.js" / "package.json"
    if not manifest.is_file():
        return None
    return str(json.loads(manifest.read_text(encoding="utf-8"))["version"])


def _locked_icaljs_version() -> str:
    lock = json.loads((JS / "package-lock.json").read_text(encoding="utf-8"))
    return str(lock["packages"]["node_modules/ical.js"]["version"])


def find_node() -> tuple[str, str]:
    """node and npm, else a skip, or a failure when the CI variable is set."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        reason = "node and npm are needed for the ical.js checks"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}, and CI is set: install node", pytrace=False)
        pytest.skip(f"{reason}; not installed here (with CI set this fails)")
    return node, npm


@pytest.fixture(scope="session")
def icaljs() -> Callable[[Path], list[dict[str, str]]]:
    """Run tests/js/check.mjs (ical.js) on a file; installs ical.js once."""
    node, npm = find_node()
    if _installed_icaljs_version() != _locked_icaljs_version():
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=JS,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, f"npm ci failed in {JS}:\n{done.stdout}\n{done.stderr}"
    assert _installed_icaljs_version() == _locked_icaljs_version()

    def run(path: Path) -> list[dict[str, str]]:
        done = subprocess.run(
            [node, str(JS / "check.mjs"), str(path)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, "TZ": "UTC"},
        )
        assert done.returncode == 0, f"ical.js rejected {path}:\n{done.stderr}"
        result: list[dict[str, str]] = json.loads(done.stdout)
        return result

    return run


def icaljs_spans(
    icaljs: Callable[[Path], list[dict[str, str]]], data: bytes, tmp_path: Path
) -> dict[str, tuple[str, str]]:
    path = tmp_path / "calendar.ics"
    path.write_bytes(data)
    events = icaljs(path)
    uids = [event["uid"] for event in events]
    assert len(uids) == len(set(uids))
    return {event["uid"]: (event["start"], event["end"]) for event in events}

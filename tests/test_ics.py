"""planner.core.ics: golden files, independent parsers, DST, determinism, streaming.

Every calendar these tests produce goes through our own checks
(``tests/ics_checks.py``) and two or three independent parsers: vobject, the
strict ``ical`` package and Mozilla's ical.js under node (``tests/js``).

Golden files live in ``tests/golden``; regenerate them after an intended
change with ``UPDATE_GOLDEN=1 python -m pytest tests/test_ics.py`` and review
the diff.
"""

from __future__ import annotations

import dataclasses
import os
import random
import shutil
import subprocess
import sys
import time
import tracemalloc
import types
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import vobject
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.core import ics
from planner.core.errors import PlannerError
from planner.core.visits import STATUSES, Status, VisitRecord, visit_id, visit_uid
from tests import ics_checks
from tests.parsers import (
    IcsCalendarStream,
    find_node,
    forget_vobject_zones,
    ical_spans,
    icaljs_spans,
    utc_iso,
    vobject_spans,
)

HERE = Path(__file__).parent
GOLDEN = HERE / "golden"

# --------------------------------------------------------------------------- samples


def make(
    participant: str,
    event: str,
    occurrence: int,
    count: int,
    *,
    protocol: str,
    arm: str,
    site: str,
    timezone: str,
    label: str,
    kind: str,
    target: date,
    study_day: int,
    updated: datetime,
    before: int = 1,
    after: int = 1,
    time: str | None = None,
    duration: int | None = None,
    status: Status = "scheduled",
    actual: date | None = None,
    deviation: bool = False,
    revision: int = 0,
    dose: str = "",
    contact: str = "in-person",
    setting: str = "outpatient",
) -> VisitRecord:
    return VisitRecord(
        visit_id=visit_id(participant, event, occurrence),
        participant=participant,
        site=site,
        protocol=protocol,
        protocol_version=1,
        arm=arm,
        event=event,
        label=label,
        kind=kind,
        contact=contact,
        setting=setting,
        occurrence=occurrence,
        count=count,
        study_day=study_day,
        ideal=target,
        target=target,
        window_start=target - timedelta(days=before),
        window_end=target + timedelta(days=after),
        time=time,
        duration_minutes=duration,
        timezone=timezone,
        status=status,
        actual=actual,
        deviation=deviation,
        revision=revision,
        updated=updated,
        dose=dose,
        uid=visit_uid(protocol, participant, event, occurrence),
    )


def shanghai_visits() -> list[VisitRecord]:
    """ucmsc-dlc, group 1, date-only, in Asia/Shanghai: every status."""

    def dlc(event: str, occurrence: int, count: int, **kw: Any) -> VisitRecord:
        return make(
            "SHA-001",
            event,
            occurrence,
            count,
            protocol="ucmsc-dlc",
            arm="G1",
            site="SHA",
            timezone="Asia/Shanghai",
            **kw,
        )

    infusion = {
        "label": "Infusion",
        "kind": "infusion",
        "setting": "inpatient",
        "dose": "1.5×10^6 cells/kg",
    }
    enrolled = datetime(2026, 3, 2, 3, 15)  # naive: UTC
    return [
        dlc("INF", 1, 4, target=date(2026, 3, 2), study_day=1, status="completed",
            actual=date(2026, 3, 2), revision=1, updated=datetime(2026, 3, 2, 9, 40), **infusion),
        # Done two days late, outside its window: a deviation, shown on the actual day.
        dlc("INF", 2, 4, target=date(2026, 3, 6), study_day=5, status="completed",
            actual=date(2026, 3, 8), deviation=True, revision=1,
            updated=datetime(2026, 3, 8, 17, 30, tzinfo=ZoneInfo("Asia/Shanghai")), **infusion),
        dlc("INF", 3, 4, target=date(2026, 3, 12), study_day=11, status="missed", revision=2,
            updated=datetime(2026, 3, 14, 2, 0, tzinfo=UTC), **infusion),
        dlc("INF", 4, 4, target=date(2026, 3, 16), study_day=15, status="cancelled", revision=2,
            updated=datetime(2026, 3, 14, 2, 0, 0, 500_000, tzinfo=UTC), **infusion),
        dlc("FU", 1, 5, label="Follow-up", kind="visit", target=date(2026, 3, 30),
            study_day=29, before=3, after=3, updated=enrolled),
        dlc("SURV", 1, 1, label="Survival check", kind="call", contact="phone",
            setting="remote", target=date(2027, 3, 2), study_day=366, before=14, after=14,
            updated=enrolled),
    ]  # fmt: skip


def new_york_visits() -> list[VisitRecord]:
    """cs-huc-mscs, low dose, infusions at 09:00 across the 2026-03-08 DST change."""

    def huc(event: str, occurrence: int, count: int, **kw: Any) -> VisitRecord:
        return make(
            "NYC-001",
            event,
            occurrence,
            count,
            protocol="cs-huc-mscs",
            arm="LOW",
            site="NYC",
            timezone="America/New_York",
            **{"setting": "inpatient", **kw},
        )

    infusion = {
        "label": "Infusion",
        "kind": "infusion",
        "time": "09:00",
        "duration": 120,
        "dose": "2.5×10^7 cells in 100 mL",
    }
    enrolled = datetime(2026, 2, 27, 14, 0, tzinfo=UTC)
    return [
        huc("INF", 1, 3, target=date(2026, 3, 2), study_day=1, updated=enrolled, **infusion),
        huc("IHFU", 1, 4, label="In-hospital follow-up", kind="visit", target=date(2026, 3, 5),
            study_day=4, updated=enrolled),
        huc("INF", 2, 3, target=date(2026, 3, 9), study_day=8, updated=enrolled, **infusion),
        huc("IHFU", 2, 4, label="In-hospital follow-up", kind="visit", target=date(2026, 3, 12),
            study_day=11, status="cancelled", revision=1,
            updated=datetime(2026, 3, 10, 15, 45, 12, tzinfo=UTC)),
        huc("INF", 3, 3, target=date(2026, 3, 16), study_day=15, updated=enrolled, **infusion),
        huc("FU", 1, 4, label="Follow-up", kind="visit", setting="outpatient",
            target=date(2026, 3, 30), study_day=29, before=3, after=3, updated=enrolled),
    ]  # fmt: skip


def dst_edge_visits() -> list[VisitRecord]:
    """Timed visits on DST edges, in three zones (VTIMEZONEs come out sorted)."""
    stamp = datetime(2026, 1, 5, 12, 0)

    def timed(participant: str, zone: str, occurrence: int, **kw: Any) -> VisitRecord:
        return make(
            participant,
            "INF",
            occurrence,
            4,
            protocol="cs-huc-mscs",
            arm="HIGH",
            site=participant[:3],
            timezone=zone,
            label="Infusion",
            kind="infusion",
            study_day=1 + 7 * (occurrence - 1),
            updated=stamp,
            dose="1.0×10^8 cells in 100 mL",
            **kw,
        )

    ny = "America/New_York"
    return [
        # 02:30 does not exist on 2026-03-08 in New York: it is 03:30 EDT.
        timed("NYD-001", ny, 1, target=date(2026, 3, 8), time="02:30", duration=120),
        # 01:30 happens twice on 2026-11-01: the first one (EDT), written in UTC.
        timed("NYD-001", ny, 2, target=date(2026, 11, 1), time="01:30", duration=60),
        # Starts 00:30 EDT, ends in the repeated hour's second occurrence (01:00 EST).
        timed("NYD-001", ny, 3, target=date(2026, 11, 1), time="00:30", duration=90),
        # The longest duration, ending on the day after the zone's last date.
        timed("NYD-001", ny, 4, target=date(2026, 11, 1), time="23:30", duration=1440),
        # The European change (2026-03-29); no duration: the default hour.
        timed("BER-001", "Europe/Berlin", 1, target=date(2026, 3, 29), time="09:00"),
        # Completed a day late: placed on the actual date, at the planned time.
        timed("SHA-002", "Asia/Shanghai", 1, target=date(2026, 3, 8), time="09:00",
              duration=120, status="completed", actual=date(2026, 3, 9), revision=1),
    ]  # fmt: skip


def text_visits() -> list[VisitRecord]:
    """Characters that need escaping, control characters, long multibyte text."""

    def txt(event: str, occurrence: int, **kw: Any) -> VisitRecord:
        return make(
            "TXT-001",
            event,
            occurrence,
            3,
            protocol="text-test",
            arm="A,B;C",
            site="TXT",
            timezone="Europe/Paris",
            target=date(2026, 6, 1) + timedelta(days=occurrence),
            study_day=occurrence + 1,
            updated=datetime(2026, 5, 1, 8, 0),
            **{"kind": "visit", **kw},
        )

    return [
        txt("ESC", 1, label='Check; dose, "quoted" \\N not a newline\\',
            dose="1.5×10^6 cells/kg; max 100 mL, slowly\\"),
        txt("CJK", 2, label="随访 — 肝功能、腹水和 MELD 评分（门诊）" * 2,
            dose="ÄÖÜ ß € 𝄞 " * 12),
        txt("CTL", 3, label="Bell\x07 tab\tline\nbreak\r\nend\x7f", kind="odd-kind",
            time="10:15", duration=45),
    ]  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Scenario:
    visits: Callable[[], list[VisitRecord]]
    name: str
    alarm: timedelta | None = None
    golden: bool = True


def random_visits(seed: int = 2026, n: int = 300) -> list[VisitRecord]:
    """Many visits over several zones and DST seasons, for the parsers (not golden)."""
    rng = random.Random(seed)
    zones = ["America/New_York", "Europe/Berlin", "Asia/Shanghai", "Australia/Sydney", "UTC"]
    visits = []
    for i in range(n):
        target = date(2026, 1, 1) + timedelta(days=rng.randrange(0, 730))
        status = rng.choice(STATUSES)
        timed = rng.random() < 0.6
        visits.append(
            make(
                f"R{i // 10:02d}-{i % 10:03d}",
                rng.choice(["INF", "FU", "SURV"]),
                i % 10 + 1,
                10,
                protocol="random",
                arm=rng.choice(["LOW", "MED", "HIGH"]),
                site="RND",
                timezone=rng.choice(zones),
                label=rng.choice(["Infusion", "Follow-up", "Survival call"]),
                kind=rng.choice(["infusion", "visit", "call"]),
                target=target,
                study_day=i + 1,
                updated=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(10**8)),
                time=f"{rng.randrange(24):02d}:{rng.choice((0, 15, 30, 45)):02d}"
                if timed
                else None,
                duration=rng.choice([None, 30, 60, 120, 1440]) if timed else None,
                status=status,
                actual=target + timedelta(days=rng.randrange(-2, 3))
                if status == "completed"
                else None,
                revision=rng.randrange(5),
                dose=rng.choice(["", "2.5×10^7 cells in 100 mL"]),
                contact=rng.choice(["in-person", "phone"]),
            )
        )
    return visits


SCENARIOS = {
    "ucmsc-dlc-shanghai": Scenario(shanghai_visits, "SHA-001 · ucmsc-dlc"),
    "cs-huc-mscs-new-york": Scenario(new_york_visits, "NYC-001 · cs-huc-mscs"),
    "cs-huc-mscs-new-york-alarm": Scenario(
        new_york_visits, "NYC-001 · cs-huc-mscs", alarm=timedelta(minutes=30)
    ),
    "dst-edges": Scenario(dst_edge_visits, "DST edge cases", alarm=timedelta(days=1)),
    "text-escaping": Scenario(text_visits, 'Site TXT; trial, "quoted" \\ name — 测试'),
    "random": Scenario(random_visits, "Random", alarm=timedelta(hours=2), golden=False),
}


def render_scenario(key: str) -> bytes:
    scenario = SCENARIOS[key]
    visits = scenario.visits()
    return ics.render_bytes(
        visits, name=scenario.name, zones=ics.zone_ranges(visits), alarm=scenario.alarm
    )


@pytest.fixture(scope="module")
def produced() -> dict[str, bytes]:
    """Every scenario's calendar, rendered once per module."""
    return {key: render_scenario(key) for key in SCENARIOS}


# --------------------------------------------------------------------------- expectations


def expected_span(visit: VisitRecord) -> tuple[str, str]:
    """Start and end as ISO dates (date-only) or UTC instants, computed here
    from the record with zoneinfo, independently of planner.core.ics."""
    day = visit.actual if visit.status == "completed" and visit.actual else visit.target
    if visit.time is None:
        return day.isoformat(), (day + timedelta(days=1)).isoformat()
    hour, minute = map(int, visit.time.split(":"))
    # fold=0: first occurrence of a repeated time, pre-gap offset for a skipped one
    start = datetime.combine(day, clock(hour, minute), tzinfo=ZoneInfo(visit.timezone))
    end = start.astimezone(UTC) + timedelta(minutes=visit.duration_minutes or 60)
    return utc_iso(start), utc_iso(end)


def expected_spans(key: str) -> dict[str, tuple[str, str]]:
    return {visit.uid: expected_span(visit) for visit in SCENARIOS[key].visits()}


# --------------------------------------------------------------------------- parsers


# --------------------------------------------------------------------------- every file


@pytest.mark.parametrize("key", [key for key, s in SCENARIOS.items() if s.golden])
def test_golden(key: str, produced: dict[str, bytes]) -> None:
    path = GOLDEN / f"{key}.ics"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(exist_ok=True)
        path.write_bytes(produced[key])
    assert path.is_file(), f"{path} is missing: run with UPDATE_GOLDEN=1 and review it"
    assert produced[key] == path.read_bytes(), (
        f"{key}: output differs from {path} (UPDATE_GOLDEN=1 regenerates after review)"
    )


@pytest.mark.parametrize("key", SCENARIOS)
def test_own_checks(key: str, produced: dict[str, bytes]) -> None:
    ics_checks.assert_valid(produced[key])


@pytest.mark.parametrize("key", SCENARIOS)
def test_vobject_parses_and_agrees(key: str, produced: dict[str, bytes]) -> None:
    assert vobject_spans(produced[key]) == expected_spans(key)


@pytest.mark.parametrize("key", SCENARIOS)
def test_strict_ical_parses_and_agrees(key: str, produced: dict[str, bytes]) -> None:
    assert ical_spans(produced[key]) == expected_spans(key)


@pytest.mark.parametrize("key", SCENARIOS)
def test_icaljs_parses_and_agrees(
    key: str,
    produced: dict[str, bytes],
    icaljs: Callable[[Path], list[dict[str, str]]],
    tmp_path: Path,
) -> None:
    assert icaljs_spans(icaljs, produced[key], tmp_path) == expected_spans(key)


def test_without_node_ical_js_is_skipped_or_fails_on_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="node and npm are needed"):
        find_node()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        find_node()


def test_icaljs_checker_rejects_a_tzid_without_vtimezone(
    produced: dict[str, bytes], icaljs: Callable[[Path], list[dict[str, str]]], tmp_path: Path
) -> None:
    data = produced["cs-huc-mscs-new-york"]
    start, end = data.index(b"BEGIN:VTIMEZONE"), data.index(b"END:VTIMEZONE\r\n") + 15
    path = tmp_path / "no-vtimezone.ics"
    path.write_bytes(data[:start] + data[end:])
    with pytest.raises(AssertionError, match="without a VTIMEZONE"):
        icaljs(path)


# --------------------------------------------------------------------------- New York DST

NY_EXPECTED = {
    "20260302T090000": "2026-03-02T14:00:00.000Z",  # EST, before the change on 03-08
    "20260309T090000": "2026-03-09T13:00:00.000Z",  # EDT, after it
    "20260316T090000": "2026-03-16T13:00:00.000Z",
}


def _ny_infusions() -> dict[str, str]:
    """uid -> local DTSTART text of the three New York infusions."""
    return {
        v.uid: v.target.strftime("%Y%m%dT090000") for v in new_york_visits() if v.event == "INF"
    }


def test_new_york_infusions_keep_local_time_in_the_file(produced: dict[str, bytes]) -> None:
    text = produced["cs-huc-mscs-new-york"].decode()
    for local in NY_EXPECTED:
        assert f"\r\nDTSTART;TZID=America/New_York:{local}\r\n" in text
    assert "DTEND;TZID=America/New_York:20260309T110000\r\n" in text  # 120 minutes
    assert text.count("BEGIN:VTIMEZONE") == 1
    assert "TZID:America/New_York\r\n" in text


def test_new_york_infusions_in_utc_vobject(produced: dict[str, bytes]) -> None:
    spans = vobject_spans(produced["cs-huc-mscs-new-york"])
    for uid, local in _ny_infusions().items():
        assert spans[uid][0] == NY_EXPECTED[local]


def test_new_york_infusions_in_utc_icaljs(
    produced: dict[str, bytes], icaljs: Callable[[Path], list[dict[str, str]]], tmp_path: Path
) -> None:
    spans = icaljs_spans(icaljs, produced["cs-huc-mscs-new-york"], tmp_path)
    for uid, local in _ny_infusions().items():
        assert spans[uid][0] == NY_EXPECTED[local]


def _event_block(data: bytes, uid: str) -> str:
    text = data.decode()
    start = text.index(f"UID:{uid}\r\n")
    return text[text.rindex("BEGIN:VEVENT", 0, start) : text.index("END:VEVENT", start)]


def test_dst_edges_are_written_as_documented(produced: dict[str, bytes]) -> None:
    data = produced["dst-edges"]
    gap, twice, into_second, longest, berlin, late = dst_edge_visits()
    block = _event_block(data, gap.uid)  # 02:30 does not exist: 03:30 EDT
    assert "DTSTART;TZID=America/New_York:20260308T033000\r\n" in block
    assert "DTEND;TZID=America/New_York:20260308T053000\r\n" in block
    block = _event_block(data, twice.uid)  # 01:30 twice: the first, in UTC
    assert "DTSTART:20261101T053000Z\r\n" in block
    assert "DTEND:20261101T063000Z\r\n" in block
    block = _event_block(data, into_second.uid)
    assert "DTSTART;TZID=America/New_York:20261101T003000\r\n" in block
    assert "DTEND:20261101T060000Z\r\n" in block  # 01:00 EST, inexpressible as TZID
    block = _event_block(data, longest.uid)
    assert "DTEND;TZID=America/New_York:20261102T233000\r\n" in block
    assert "DTSTART;TZID=Europe/Berlin:20260329T090000\r\n" in _event_block(data, berlin.uid)
    assert "DTEND;TZID=Europe/Berlin:20260329T100000\r\n" in _event_block(data, berlin.uid)
    assert "DTSTART;TZID=Asia/Shanghai:20260309T090000\r\n" in _event_block(data, late.uid)


def test_vtimezones_sorted_and_cover_the_padded_range(produced: dict[str, bytes]) -> None:
    text = produced["dst-edges"].decode()
    tzids = [line[5:] for line in text.split("\r\n") if line.startswith("TZID:")]
    assert tzids == ["America/New_York", "Asia/Shanghai", "Europe/Berlin"]
    # New York visits span 2026-03-08 .. 2026-11-01: padded, then whole years.
    assert "COMMENT:This timezone only works from 2026-01-01 to 2027-01-01." in text


def test_only_the_zones_passed_get_a_vtimezone() -> None:
    visits = shanghai_visits()  # date-only: no zone needed
    assert ics.zone_ranges(visits) == {}
    assert b"VTIMEZONE" not in ics.render_bytes(visits, name="x", zones={})
    extra = ics.render_bytes(visits, name="x", zones={"Asia/Shanghai": (date(2026, 3, 1),) * 2})
    assert extra.count(b"BEGIN:VTIMEZONE") == 1
    ics_checks.assert_valid(extra)
    assert vobject_spans(extra) == ical_spans(extra) == expected_spans("ucmsc-dlc-shanghai")


# --------------------------------------------------------------------------- content


def test_calendar_header(produced: dict[str, bytes]) -> None:
    head = produced["cs-huc-mscs-new-york"].split(b"BEGIN:VTIMEZONE")[0].decode()
    assert head.split("\r\n") == [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//planner//planner 1//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "NAME:NYC-001 · cs-huc-mscs",
        "X-WR-CALNAME:NYC-001 · cs-huc-mscs",
        "X-PUBLISHED-TTL:PT1H",
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
        "",
    ]
    assert ics.PRODID == "-//planner//planner 1//EN"
    assert produced["cs-huc-mscs-new-york"].endswith(b"END:VEVENT\r\nEND:VCALENDAR\r\n")


def test_calendar_name_is_escaped(produced: dict[str, bytes]) -> None:
    text = produced["text-escaping"].decode()
    assert 'NAME:Site TXT\\; trial\\, "quoted" \\\\ name — 测试\r\n' in text
    calendar = vobject.readOne(text)
    assert calendar.contents["x-wr-calname"][0].value == 'Site TXT; trial, "quoted" \\ name — 测试'


def test_scheduled_timed_event_exactly() -> None:
    visit = new_york_visits()[2]
    assert ics.render_event(visit).decode().split("\r\n") == [
        "BEGIN:VEVENT",
        f"UID:{visit.uid}",
        "DTSTAMP:20260227T140000Z",
        "LAST-MODIFIED:20260227T140000Z",
        "SEQUENCE:0",
        "DTSTART;TZID=America/New_York:20260309T090000",
        "DTEND;TZID=America/New_York:20260309T110000",
        "SUMMARY:NYC-001 · Infusion 2/3 · LOW",
        "DESCRIPTION:Window: 2026-03-08 to 2026-03-10\\nStudy day: 8\\nDose: 2.5×10",
        " ^7 cells in 100 mL\\nContact: in person\\nStatus: scheduled\\nProtocol: cs-hu",
        " c-mscs\\, arm LOW\\nVisit: NYC-001/INF/2",
        "CATEGORIES:infusion",
        "STATUS:CONFIRMED",
        "TRANSP:OPAQUE",
        "END:VEVENT",
        "",
    ]


def test_summary_and_description_per_status() -> None:
    done, late, missed, cancelled, follow_up, call = shanghai_visits()
    assert ics.summary(follow_up) == "SHA-001 · Follow-up 1/5 · G1"
    assert ics.summary(done) == "SHA-001 · Infusion 1/4 · G1 (done)"
    assert ics.summary(missed) == "SHA-001 · Infusion 3/4 · G1 (missed)"
    assert ics.summary(cancelled) == "SHA-001 · Infusion 4/4 · G1 (cancelled)"
    assert ics.description(late).split("\n") == [
        "Window: 2026-03-05 to 2026-03-07",
        "Study day: 5",
        "Dose: 1.5×10^6 cells/kg",
        "Contact: in person",
        "Status: completed on 2026-03-08, protocol deviation",
        "Protocol: ucmsc-dlc, arm G1",
        "Visit: SHA-001/INF/2",
    ]
    assert ics.description(call).split("\n") == [
        "Window: 2027-02-16 to 2027-03-16",
        "Study day: 366",
        "Contact: by phone",
        "Status: scheduled",
        "Protocol: ucmsc-dlc, arm G1",
        "Visit: SHA-001/SURV/1",
    ]
    assert "Status: missed" in ics.description(missed)
    assert "Status: cancelled" in ics.description(cancelled)


def test_date_only_events(produced: dict[str, bytes]) -> None:
    data = produced["ucmsc-dlc-shanghai"]
    _, late, missed, cancelled, _, call = shanghai_visits()
    block = _event_block(data, late.uid)  # completed: on its actual date
    assert "DTSTART;VALUE=DATE:20260308\r\n" in block
    assert "DTEND;VALUE=DATE:20260309\r\n" in block
    assert "TRANSP:TRANSPARENT\r\n" in block
    assert "STATUS:CONFIRMED\r\n" in block
    assert "DTSTAMP:20260308T093000Z\r\n" in block  # 17:30 in Shanghai
    assert "LAST-MODIFIED:20260308T093000Z\r\n" in block
    block = _event_block(data, cancelled.uid)
    assert "STATUS:CANCELLED\r\n" in block
    assert "SEQUENCE:2\r\n" in block
    assert "DTSTAMP:20260314T020000Z\r\n" in block  # microseconds dropped
    assert "DTSTART;VALUE=DATE:20270302\r\n" in _event_block(data, call.uid)
    assert "CATEGORIES:call\r\n" in _event_block(data, call.uid)
    assert "DTSTART;VALUE=DATE:20260312\r\n" in _event_block(data, missed.uid)


def test_only_the_documented_properties() -> None:
    allowed = {
        "UID", "DTSTAMP", "LAST-MODIFIED", "SEQUENCE", "DTSTART", "DTEND", "SUMMARY",
        "DESCRIPTION", "CATEGORIES", "STATUS", "TRANSP",
    }  # fmt: skip
    calendar = {
        "VERSION",
        "PRODID",
        "CALSCALE",
        "METHOD",
        "NAME",
        "X-WR-CALNAME",
        "X-PUBLISHED-TTL",
        "REFRESH-INTERVAL",
    }  # fmt: skip  (no calendar UID: icalendar's Calendar.new() would add a random one)
    for key in SCENARIOS:
        for line in ics_checks.parse(render_scenario(key)):
            if line.path == ("VCALENDAR",):
                assert line.name in calendar, (key, line)
            elif line.path[-1] == "VEVENT":
                assert line.name in allowed, (key, line)
            elif line.path[-1] == "VALARM":
                assert line.name in {"ACTION", "TRIGGER", "DESCRIPTION"}, (key, line)


def test_alarm_only_on_scheduled_visits(produced: dict[str, bytes]) -> None:
    data = produced["cs-huc-mscs-new-york-alarm"]
    for visit in new_york_visits():
        block = _event_block(data, visit.uid)
        if visit.status == "scheduled":
            # 30 minutes before a timed visit; 09:00 the day before a date-only one.
            trigger = "-PT30M" if visit.time else "-PT15H"
            assert (
                f"BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:{trigger}\r\n"
                f"DESCRIPTION:{ics.summary(visit)}\r\nEND:VALARM\r\n"
            ) in block
        else:
            assert "VALARM" not in block
    assert b"VALARM" not in produced["cs-huc-mscs-new-york"]
    for visit in shanghai_visits():
        with_alarm = ics.render_event(visit, alarm=timedelta(days=1))
        trigger = b"TRIGGER:-P1D" if visit.time else b"TRIGGER:-PT15H"
        assert (trigger in with_alarm) == (visit.status == "scheduled")
    assert produced["cs-huc-mscs-new-york-alarm"].count(b"BEGIN:VALARM") == 5


def test_render_event_is_the_streamed_chunk() -> None:
    visits = new_york_visits()
    chunks = list(ics.render(visits, name="x", zones=ics.zone_ranges(visits)))
    assert chunks[2:-1] == [ics.render_event(visit) for visit in visits]


# --------------------------------------------------------------------------- identity


def test_same_input_same_bytes() -> None:
    for key in SCENARIOS:
        assert render_scenario(key) == render_scenario(key)


def test_rendering_in_a_fresh_process_gives_the_golden_bytes(tmp_path: Path) -> None:
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); from tests import test_ics; "
        "sys.stdout.buffer.write(test_ics.render_scenario('cs-huc-mscs-new-york-alarm'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(HERE.parent)],
        capture_output=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
        timeout=120,
    )
    assert done.stdout == render_scenario("cs-huc-mscs-new-york-alarm")


def _props(event: bytes) -> dict[str, str]:
    lines = ics_checks.parse(b"BEGIN:VCALENDAR\r\n" + event + b"END:VCALENDAR\r\n")
    return {line.name: line.value for line in lines if line.path[-1] == "VEVENT"}


def test_a_revised_visit_keeps_its_uid_and_raises_its_sequence() -> None:
    original = new_york_visits()[2]
    moved = dataclasses.replace(
        original,
        target=original.target + timedelta(days=1),
        revision=original.revision + 1,
        updated=datetime(2026, 3, 5, 10, 0, tzinfo=UTC),
    )
    cancelled = dataclasses.replace(
        moved,
        status="cancelled",
        revision=moved.revision + 1,
        updated=datetime(2026, 3, 6, 10, 0, tzinfo=UTC),
    )
    before, after, last = (_props(ics.render_event(v)) for v in (original, moved, cancelled))
    assert before["UID"] == after["UID"] == last["UID"] == original.uid
    assert int(before["SEQUENCE"]) < int(after["SEQUENCE"]) < int(last["SEQUENCE"])
    assert before["DTSTAMP"] < after["DTSTAMP"] < last["DTSTAMP"]
    assert (before["DTSTART"], after["DTSTART"]) == ("20260309T090000", "20260310T090000")
    assert (after["STATUS"], last["STATUS"]) == ("CONFIRMED", "CANCELLED")


def test_uid_comes_from_the_record() -> None:
    visit = dataclasses.replace(new_york_visits()[0], uid="fixed-uid@planner")
    assert _props(ics.render_event(visit))["UID"] == "fixed-uid@planner"


# --------------------------------------------------------------------------- streaming


def _exploding(visits: Iterable[VisitRecord], limit: int) -> Iterator[VisitRecord]:
    for index, visit in enumerate(visits):
        if index == limit:
            raise RuntimeError(f"visit {limit} was requested")
        yield visit


def test_render_consumes_visits_one_at_a_time() -> None:
    visits = random_visits(n=50)
    zones = ics.zone_ranges(visits)
    consumed = 0

    def counting() -> Iterator[VisitRecord]:
        nonlocal consumed
        for visit in visits:
            consumed += 1
            yield visit

    stream = ics.render(counting(), name="x", zones=zones)
    assert isinstance(stream, types.GeneratorType)
    assert consumed == 0
    header = next(stream)
    assert header.startswith(b"BEGIN:VCALENDAR\r\n")
    for _ in zones:
        assert next(stream).startswith(b"BEGIN:VTIMEZONE\r\n")
    assert consumed == 0
    for n in range(1, 4):
        assert next(stream).startswith(b"BEGIN:VEVENT\r\n")
        assert consumed == n

    chunks = ics.render(_exploding(visits, 3), name="x", zones=zones)
    taken = [next(chunks) for _ in range(1 + len(zones) + 3)]
    assert taken[-1].startswith(b"BEGIN:VEVENT")
    with pytest.raises(RuntimeError, match="visit 3 was requested"):
        next(chunks)


def _many(n: int) -> Iterator[VisitRecord]:
    template = new_york_visits()[0]
    for i in range(n):
        day = date(2026, 3, 2) + timedelta(days=i % 300)
        yield dataclasses.replace(
            template,
            visit_id=f"P{i:06d}/INF/1",
            participant=f"P{i:06d}",
            target=day,
            uid=f"{i:06d}@planner",
            updated=datetime(2026, 1, 1) + timedelta(seconds=i % 1000),
            time=None if i % 2 else "09:00",
        )


def _peak_memory(n: int) -> tuple[int, int]:
    zones = {"America/New_York": (date(2026, 3, 2), date(2026, 3, 2) + timedelta(days=299))}
    tracemalloc.start()
    try:
        total = 0
        for chunk in ics.render(_many(n), name="x", zones=zones):
            total += len(chunk)
        return tracemalloc.get_traced_memory()[1], total
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_the_number_of_visits() -> None:
    _peak_memory(2_000)  # fill the (bounded) value caches first
    small, small_bytes = _peak_memory(2_000)
    large, large_bytes = _peak_memory(20_000)
    assert large_bytes > 9 * small_bytes  # ten times the output...
    assert large < small + 64_000, (small, large)  # ...in the same few kilobytes


# --------------------------------------------------------------------------- errors


def test_timed_visit_without_its_zone_is_an_error() -> None:
    visits = new_york_visits()
    with pytest.raises(ValueError, match="America/New_York"):
        ics.render_bytes(visits, name="x", zones={"Europe/Berlin": (date(2026, 3, 2),) * 2})


def test_timed_visit_outside_its_zone_range_is_an_error() -> None:
    visits = new_york_visits()
    zones = {"America/New_York": (date(2026, 3, 2), date(2026, 3, 9))}
    with pytest.raises(ValueError, match=r"NYC-001/INF/3 on 2026-03-16 .*America/New_York"):
        ics.render_bytes(visits, name="x", zones=zones)


def test_completed_visit_range_uses_the_actual_date() -> None:
    late = dst_edge_visits()[-1]
    assert ics.event_date(late) == date(2026, 3, 9)
    assert ics.zone_ranges([late]) == {"Asia/Shanghai": (date(2026, 3, 9), date(2026, 3, 9))}
    with pytest.raises(ValueError, match="outside the range"):
        ics.render_bytes([late], name="x", zones={"Asia/Shanghai": (late.target, late.target)})


@pytest.mark.parametrize(
    ("zones", "alarm", "match"),
    [
        ({"Not/AZone": (date(2026, 1, 1),) * 2}, None, "'Not/AZone' is not in this computer's"),
        ({"UTC": (date(2026, 2, 1), date(2026, 1, 1))}, None, "is after last date"),
        ({}, timedelta(minutes=-5), "alarm must be"),
    ],
)
def test_bad_arguments_fail_before_anything_is_streamed(
    zones: dict[str, tuple[date, date]], alarm: timedelta | None, match: str
) -> None:
    with pytest.raises((ValueError, PlannerError), match=match):
        ics.render(iter(()), name="x", zones=zones, alarm=alarm)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"time": "9:00"}, "NYC-001/INF/1: time '9:00' is not HH:MM"),
        ({"time": "24:00"}, "not HH:MM"),
        ({"duration_minutes": 0}, "duration of 0 minutes"),
        ({"duration_minutes": 1441}, "duration of 1441 minutes"),
        ({"timezone": "Mars/Olympus"}, "'Mars/Olympus' is not in this computer's"),
        ({"revision": -1}, "revision -1 is negative"),
    ],
)
def test_bad_visits_are_errors(change: dict[str, Any], match: str) -> None:
    visit = dataclasses.replace(new_york_visits()[0], **change)
    with pytest.raises((ValueError, PlannerError), match=match):
        ics.render_event(visit)


# --------------------------------------------------------------------------- properties

_texts = st.text(alphabet=st.characters(exclude_categories=("Cs",)), min_size=1, max_size=120)


@st.composite
def visit_records(draw: st.DrawFn) -> VisitRecord:
    status = draw(st.sampled_from(STATUSES))
    target = draw(st.dates(date(2020, 1, 1), date(2035, 12, 31)))
    timed = draw(st.booleans())
    return make(
        draw(st.from_regex(r"[A-Z]{3}-[0-9]{3}", fullmatch=True)),
        draw(st.from_regex(r"[A-Z]{2,5}", fullmatch=True)),
        draw(st.integers(1, 40)),
        40,
        protocol=draw(_texts),
        arm=draw(_texts),
        site="HYP",
        timezone=draw(st.sampled_from(["America/New_York", "Europe/London", "Asia/Kolkata"])),
        label=draw(_texts),
        kind=draw(st.from_regex(r"[a-z][a-z-]{0,20}", fullmatch=True)),
        target=target,
        study_day=draw(st.integers(-30, 1000)),
        updated=draw(st.datetimes(datetime(2020, 1, 1), datetime(2035, 1, 1))),
        time=draw(st.times().map(lambda t: t.strftime("%H:%M"))) if timed else None,
        duration=draw(st.one_of(st.none(), st.integers(1, 1440))) if timed else None,
        status=status,
        actual=draw(st.dates(target - timedelta(days=5), target + timedelta(days=5)))
        if status == "completed"
        else None,
        revision=draw(st.integers(0, 10_000)),
        dose=draw(st.one_of(st.just(""), _texts)),
        contact=draw(st.sampled_from(["in-person", "phone"])),
    )


def _clean(text: str) -> str:
    """What a TEXT value reads back as: controls replaced, line breaks as LF."""
    text = "".join("\ufffd" if (ord(c) < 32 and c not in "\t\r\n") or c == "\x7f" else c
                   for c in text)  # fmt: skip
    return text.replace("\r\n", "\n").replace("\r", "\n")


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(visit_records(), min_size=1, max_size=8, unique_by=lambda v: v.uid))
def test_any_visits_make_a_valid_calendar(visits: list[VisitRecord]) -> None:
    data = ics.render_bytes(
        visits, name="Hypothesis", zones=ics.zone_ranges(visits), alarm=timedelta(minutes=10)
    )
    ics_checks.assert_valid(data)
    expected = {visit.uid: expected_span(visit) for visit in visits}
    assert vobject_spans(data) == expected
    assert ical_spans(data) == expected
    forget_vobject_zones()
    calendar = vobject.readOne(data.decode())
    by_uid = {event.uid.value: event for event in calendar.vevent_list}
    for visit in visits:
        event = by_uid[visit.uid]
        assert event.summary.value == _clean(ics.summary(visit)).replace("\\N", "\n")
        assert event.description.value == _clean(ics.description(visit)).replace("\\N", "\n")
        assert event.sequence.value == str(visit.revision)


# --------------------------------------------------------------------------- speed


def test_render_event_is_fast_enough() -> None:
    """A floor far below the measured rate (~55k events/s), to catch a regression
    to building icalendar trees (~1.5k events/s), not to benchmark."""
    visits = list(_many(5_000))
    started = time.perf_counter()
    for visit in visits:
        ics.render_event(visit)
    rate = len(visits) / (time.perf_counter() - started)
    assert rate > 8_000, f"{rate:.0f} events/s"


@pytest.mark.parametrize(
    ("alarm", "fires"),
    [
        (timedelta(minutes=15), "2026-05-04T09:00"),
        (timedelta(hours=1), "2026-05-04T09:00"),
        (timedelta(days=1), "2026-05-04T09:00"),
        (timedelta(hours=25), "2026-05-03T09:00"),
        (timedelta(days=2), "2026-05-03T09:00"),
    ],
)
def test_a_date_only_reminder_fires_at_nine_the_day_before_in_every_parser(
    alarm: timedelta, fires: str, tmp_path: Path, icaljs: Any
) -> None:
    """A date-only visit on 2026-05-05: the reminder's moment, computed from
    DTSTART and TRIGGER by each parser, is 09:00 (floating) on a day before."""
    visit = next(v for v in shanghai_visits() if v.time is None and v.status == "scheduled")
    visit = dataclasses.replace(visit, target=date(2026, 5, 5), actual=None)
    data = ics.render_bytes([visit], name="alarm", zones={}, alarm=alarm)
    expected = datetime.fromisoformat(fires)
    # vobject and ical: DTSTART (a date, midnight) plus TRIGGER.
    event = next(vobject.readComponents(data.decode())).vevent
    start = datetime.combine(event.dtstart.value, clock(0))
    assert start + event.valarm.trigger.value == expected
    parsed = IcsCalendarStream.calendar_from_ics(data.decode())
    ical_event = parsed.events[0]
    ical_trigger = ical_event.alarm[0].trigger
    assert datetime.combine(ical_event.dtstart, clock(0)) + ical_trigger == expected
    # ical.js: the trigger duration, in seconds.
    path = tmp_path / "alarm.ics"
    path.write_bytes(data)
    (row,) = icaljs(path)
    assert row["triggers"] == [int((expected - start).total_seconds())]

"""SDTM SV (Subject Visits) from visit records: a scripted cs-huc-mscs scenario."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.core.bundled import bundled
from planner.core.errors import InputError
from planner.core.schedule import Occurrence, VisitKey, expand, study_day
from planner.core.sdtm import UnscheduledVisit, subject_visits, usubjid
from planner.core.visits import Status, VisitRecord, visit_id, visit_uid

PROTOCOL = bundled("cs-huc-mscs")
STUDY = "CS-HUC-MSCS"
TODAY = date(2026, 5, 20)


def record(
    participant: str,
    arm: str,
    day1: date,
    occurrence: Occurrence,
    status: Status = "scheduled",
    actual: date | None = None,
) -> VisitRecord:
    return VisitRecord(
        visit_id=visit_id(participant, occurrence.event, occurrence.occurrence),
        participant=participant,
        site="WUH",
        protocol=PROTOCOL.id,
        protocol_version=1,
        arm=arm,
        event=occurrence.event,
        label=occurrence.label,
        kind=occurrence.kind,
        contact=occurrence.contact,
        setting=occurrence.setting,
        occurrence=occurrence.occurrence,
        count=occurrence.count,
        study_day=study_day(day1, occurrence.target),
        ideal=occurrence.ideal,
        target=occurrence.target,
        window_start=occurrence.window_start,
        window_end=occurrence.window_end,
        time=None,
        duration_minutes=None,
        timezone="Asia/Shanghai",
        status=status,
        actual=actual,
        deviation=False,
        revision=1,
        updated=datetime(2026, 5, 1),
        dose="",
        uid=visit_uid(PROTOCOL.id, participant, occurrence.event, occurrence.occurrence),
    )


def wuh_001() -> list[VisitRecord]:
    """MED arm from 2026-04-20; dies on 2026-05-10."""
    day1 = date(2026, 4, 20)
    actual = {
        VisitKey("INF", 1): day1,  # on target
        VisitKey("IHFU", 1): date(2026, 4, 23),  # on target
        VisitKey("INF", 2): date(2026, 4, 28),  # a day late (target 04-27)
        VisitKey("INF", 3): date(2026, 5, 5),  # moved from 05-04, done on the new date
    }
    moved = {VisitKey("INF", 3): date(2026, 5, 5)}
    records = []
    for occurrence in expand(PROTOCOL, "MED", day1, actual=actual, moved=moved):
        key = occurrence.key
        if key in actual:
            records.append(record("WUH-001", "MED", day1, occurrence, "completed", actual[key]))
        elif key == VisitKey("IHFU", 2):
            records.append(record("WUH-001", "MED", day1, occurrence, "missed"))
        elif occurrence.target > date(2026, 5, 10):  # death: later visits cancelled
            records.append(record("WUH-001", "MED", day1, occurrence, "cancelled"))
        else:  # IHFU 3, day 18, window to 05-08: past due
            records.append(record("WUH-001", "MED", day1, occurrence))
    return records


def wuh_002() -> list[VisitRecord]:
    """LOW arm from 2025-04-01, a few records: week 24 late, a survival call by phone."""
    day1 = date(2025, 4, 1)
    actual = {VisitKey("FU", 4): date(2025, 9, 18), VisitKey("SURV", 1): date(2026, 3, 20)}
    plan = {o.key: o for o in expand(PROTOCOL, "LOW", day1, actual=actual)}
    unscheduled = replace(
        record("WUH-002", "LOW", day1, plan[VisitKey("INF", 1)], "completed", date(2025, 4, 3)),
        visit_id="WUH-002/UNS/1",
        event="UNS",
        label="Lab check",
    )
    return [
        record("WUH-002", "LOW", day1, plan[VisitKey("INF", 1)], "completed", day1),
        unscheduled,
        record("WUH-002", "LOW", day1, plan[VisitKey("FU", 4)], "completed", date(2025, 9, 18)),
        record("WUH-002", "LOW", day1, plan[VisitKey("SURV", 1)], "completed", date(2026, 3, 20)),
        record("WUH-002", "LOW", day1, plan[VisitKey("SURV", 2)]),  # not yet due
    ]


S1 = usubjid(STUDY, "WUH-001")
S2 = usubjid(STUDY, "WUH-002")

TRT, FU, LTFU = "TREATMENT", "FOLLOW-UP", "LONG-TERM FOLLOW-UP"


def done(
    who: str, number: int, visit: str, planned: int | None, epoch: str, on: str, day: int,
    mode: str = "IN PERSON",
) -> tuple[object, ...]:  # fmt: skip
    """An SV row (from USUBJID on) of a planned visit that happened."""
    return (who, number, visit, "Y", "Y", "", mode, planned, epoch, on, on, day, day, "")


def not_done(
    who: str, number: int, visit: str, planned: int, epoch: str, reason: str = ""
) -> tuple[object, ...]:
    """An SV row of a planned visit that did not happen (missed or past due)."""
    return (who, number, visit, "Y", "N", reason, "", planned, epoch, "", "", None, None, "")


def unplanned(
    who: str, number: float, visit: str, epoch: str, on: str, day: int, what: str
) -> tuple[object, ...]:
    """An SV row of an unscheduled visit."""
    return (who, number, visit, "", "", "", "IN PERSON", None, epoch, on, on, day, day, what)


EXPECTED = [
    done(S1, 1001, "INFUSION 1", 1, TRT, "2026-04-20", 1),
    done(S1, 2001, "IN-HOSPITAL FOLLOW-UP 1", 4, TRT, "2026-04-23", 4),
    done(S1, 1002, "INFUSION 2", 8, TRT, "2026-04-28", 9),  # a day late
    not_done(S1, 2002, "IN-HOSPITAL FOLLOW-UP 2", 11, TRT, "patient too unwell"),
    unplanned(
        S1, 1002.01, "INFUSION 2: UNSCHEDULED 01", TRT, "2026-05-01", 12, "Adverse event follow-up"
    ),
    done(S1, 1003, "INFUSION 3", 15, TRT, "2026-05-05", 16),  # moved, done on the new date
    not_done(S1, 2003, "IN-HOSPITAL FOLLOW-UP 3", 18, FU),  # past due
    # 2026-05-10: died. Everything later was cancelled and is absent.
    done(S2, 1001, "INFUSION 1", 1, TRT, "2025-04-01", 1),
    unplanned(S2, 1001.01, "INFUSION 1: UNSCHEDULED 01", TRT, "2025-04-03", 3, "Lab check"),
    done(S2, 3004, "FOLLOW-UP 4", 169, FU, "2025-09-18", 171),
    done(S2, 4001, "SURVIVAL CALL 1", None, LTFU, "2026-03-20", 354, "TELEPHONE CALL"),
]


def scenario(records: list[VisitRecord]) -> list[tuple[object, ...]]:
    dataset = subject_visits(
        PROTOCOL,
        records,
        study_id=STUDY,
        today=TODAY,
        reasons={"WUH-001/IHFU/2": "patient too unwell"},
        unscheduled=[UnscheduledVisit("WUH-001", date(2026, 5, 1), "Adverse event follow-up")],
    )
    assert dataset.name == "SV"
    assert {row[:2] for row in dataset.rows} == {(STUDY, "SV")}
    return [row[2:] for row in dataset.rows]


def test_sv_rows_are_exact() -> None:
    assert scenario(wuh_001() + wuh_002()) == EXPECTED


def test_sv_rows_do_not_depend_on_record_order() -> None:
    assert scenario(list(reversed(wuh_002() + wuh_001()))) == EXPECTED


def test_cancelled_and_future_visits_are_not_subject_visits() -> None:
    rows = scenario(wuh_001())
    visits = {row[2] for row in rows}
    assert "IN-HOSPITAL FOLLOW-UP 4" not in visits  # cancelled after death
    assert not any(name.startswith(("FOLLOW-UP", "SURVIVAL")) for name in visits)


def test_sv_columns() -> None:
    dataset = subject_visits(PROTOCOL, [], study_id=STUDY, today=TODAY)
    assert dataset.column_names() == [
        "STUDYID", "DOMAIN", "USUBJID", "VISITNUM", "VISIT", "SVPRESP", "SVOCCUR", "SVREASOC",
        "SVCNTMOD", "VISITDY", "EPOCH", "SVSTDTC", "SVENDTC", "SVSTDY", "SVENDY", "SVUPDES",
    ]  # fmt: skip


def test_an_unscheduled_visit_of_an_unknown_participant_is_refused() -> None:
    with pytest.raises(InputError) as caught:
        subject_visits(
            PROTOCOL,
            wuh_001(),
            study_id=STUDY,
            today=TODAY,
            unscheduled=[UnscheduledVisit("NOBODY", TODAY, "x")],
        )
    assert caught.value.field == "participant"


def test_a_record_of_an_unknown_arm_is_refused() -> None:
    with pytest.raises(InputError) as caught:
        subject_visits(PROTOCOL, [replace(wuh_001()[0], arm="G1")], study_id=STUDY, today=TODAY)
    assert caught.value.field == "arm"


@settings(max_examples=60, deadline=None)
@given(
    day1=st.dates(date(2020, 1, 1), date(2030, 1, 1)),
    shifts=st.lists(st.integers(-40, 40), min_size=11, max_size=11),
)
def test_study_days_are_never_zero_and_count_from_day_1(day1: date, shifts: list[int]) -> None:
    plan = [o for o in expand(PROTOCOL, "HIGH", day1) if not o.survival]
    records = [
        record("P-1", "HIGH", day1, o, "completed", o.target + timedelta(days=shift))
        for o, shift in zip(plan, shifts, strict=True)
    ]
    rows = subject_visits(PROTOCOL, records, study_id="S", today=day1).records()
    assert len(rows) == len(records)
    for row in rows:
        assert row["SVSTDY"] != 0
        assert row["SVSTDY"] == row["SVENDY"]
        on = date.fromisoformat(str(row["SVSTDTC"]))
        assert row["SVSTDY"] == study_day(day1, on)
        assert (on < day1) == (int(row["SVSTDY"] or 0) < 0)
    subjects = [(row["USUBJID"], row["SVSTDTC"]) for row in rows]
    assert subjects == sorted(subjects)


@settings(max_examples=30, deadline=None)
@given(offsets=st.lists(st.integers(0, 200), min_size=1, max_size=15))
def test_unscheduled_visitnums_fall_between_planned_ones(offsets: list[int]) -> None:
    day1 = date(2026, 1, 5)
    plan = [o for o in expand(PROTOCOL, "LOW", day1) if o.study_day < 120]
    records = [record("P-1", "LOW", day1, o, "completed", o.target) for o in plan]
    extra = [UnscheduledVisit("P-1", day1 + timedelta(days=d), f"U{d}") for d in offsets]
    rows = subject_visits(PROTOCOL, records, study_id="S", today=day1, unscheduled=extra).records()
    planned = {float(str(r["VISITNUM"])) for r in rows if r["SVPRESP"] == "Y"}
    unplanned = [float(str(r["VISITNUM"])) for r in rows if r["SVPRESP"] == ""]
    assert len(unplanned) == len(set(unplanned)) == len(offsets)
    for number in unplanned:
        assert number not in planned
        assert int(number) in planned
        assert 0 < round(number - int(number), 2) < 1


def _infusion_1_then_missed(day1: date) -> list[VisitRecord]:
    """Infusion 1 attended; every later planned visit missed (all past due)."""
    plan = expand(PROTOCOL, "LOW", day1)
    return [
        record("P-1", "LOW", day1, o, "completed", o.target)
        if (o.event, o.occurrence) == ("INF", 1)
        else record("P-1", "LOW", day1, o, "missed")
        for o in plan
        if o.target < date(2026, 9, 1)
    ]


def test_an_unscheduled_visit_takes_the_epoch_of_the_planned_visit_before_it() -> None:
    """Numbered after the last attended visit (infusion 1), but in the epoch of
    the planned visit before it, attended or not: on study day 208, after the
    missed week-24 follow-up, that is FOLLOW-UP, not TREATMENT."""
    day1 = date(2026, 1, 5)
    on = day1 + timedelta(days=207)
    extra = [UnscheduledVisit("P-1", on, "Check-up")]
    rows = subject_visits(
        PROTOCOL, _infusion_1_then_missed(day1), study_id="S", today=TODAY, unscheduled=extra
    ).records()
    unplanned = [r for r in rows if r["SVPRESP"] == ""]
    assert [(r["VISITNUM"], r["VISIT"], r["EPOCH"], r["SVSTDY"]) for r in unplanned] == [
        (1001.01, "INFUSION 1: UNSCHEDULED 01", "FOLLOW-UP", 208)
    ]


def test_same_day_unscheduled_visits_are_numbered_by_time_then_as_recorded() -> None:
    day1 = date(2026, 1, 5)
    on = day1 + timedelta(days=2)
    extra = [
        UnscheduledVisit("P-1", on, "Rash review", time="16:00", number=1),
        UnscheduledVisit("P-1", on, "Allergy check", time="08:00", number=2),
        UnscheduledVisit("P-1", on, "Zinc level", number=4),
        UnscheduledVisit("P-1", on, "Blood pressure", number=3),
    ]
    rows = subject_visits(
        PROTOCOL, _infusion_1_then_missed(day1), study_id="S", today=TODAY, unscheduled=extra
    ).records()
    assert [(r["VISITNUM"], r["SVUPDES"]) for r in rows if r["SVPRESP"] == ""] == [
        (1001.01, "Blood pressure"),
        (1001.02, "Zinc level"),
        (1001.03, "Allergy check"),
        (1001.04, "Rash review"),
    ]


def test_a_hundredth_unscheduled_visit_after_one_planned_visit_names_the_participant() -> None:
    day1 = date(2026, 1, 5)
    extra = [
        UnscheduledVisit("P-1", day1 + timedelta(days=1), f"U{n}", number=n) for n in range(100)
    ]
    with pytest.raises(InputError) as refused:
        subject_visits(PROTOCOL, _infusion_1_then_missed(day1), study_id="S", today=TODAY,
                       unscheduled=extra)  # fmt: skip
    assert str(refused.value) == (
        "participant P-1 has more than 99 unscheduled visits after INFUSION 1: "
        "SDTM numbers them 1001.01 to 1001.99"
    )

"""SDTM trial design: TV, TA and TE rows from the bundled protocols."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.core.bundled import bundled
from planner.core.errors import InputError
from planner.core.protocol import StudyProtocol, parse
from planner.core.sdtm import (
    VisitNumbering,
    check_domains,
    check_study_id,
    sdtm_datasets,
    trial_arms,
    trial_elements,
    trial_visits,
)

W1 = "window 1 day before to 1 day after"
W7 = "window 7 days before to 7 days after"
W14 = "window 14 days before to 14 days after"
TWO_HOURS = "2 hours after the start of the visit"
G1 = ("G1", "Group 1: four infusions every 4 days")
G2 = ("G2", "Group 2: two infusions every 7 days")

W3 = "window 3 days before to 3 days after"
W5 = "window 5 days before to 5 days after"
AFTER_FU4 = "after the actual date of follow-up 4"
SHARED = ("", "")


def tv(
    number: int,
    visit: str,
    day: int | None,
    rule: str,
    end: str = "",
    arm: tuple[str, str] = SHARED,
) -> tuple[object, ...]:
    """A TV row from VISITNUM on."""
    return (number, visit, day, *arm, rule, end)


CS_HUC_MSCS_TV = [
    tv(1001, "INFUSION 1", 1, f"Study day 1, {W1}", TWO_HOURS),
    tv(1002, "INFUSION 2", 8, f"Study day 8, {W1}", TWO_HOURS),
    tv(1003, "INFUSION 3", 15, f"Study day 15, {W1}", TWO_HOURS),
    tv(2001, "IN-HOSPITAL FOLLOW-UP 1", 4, f"Study day 4, {W1}"),
    tv(2002, "IN-HOSPITAL FOLLOW-UP 2", 11, f"Study day 11, {W1}"),
    tv(2003, "IN-HOSPITAL FOLLOW-UP 3", 18, f"Study day 18, {W1}"),
    tv(2004, "IN-HOSPITAL FOLLOW-UP 4", 22, f"Study day 22, {W1}"),
    tv(3001, "FOLLOW-UP 1", 29, f"Week 4 (study day 29), {W3}"),
    tv(3002, "FOLLOW-UP 2", 57, f"Week 8 (study day 57), {W5}"),
    tv(3003, "FOLLOW-UP 3", 85, f"Week 12 (study day 85), {W7}"),
    tv(3004, "FOLLOW-UP 4", 169, f"Week 24 (study day 169), {W7}"),
    tv(4001, "SURVIVAL CALL 1", None, f"6 months {AFTER_FU4}, {W14}"),
    tv(4002, "SURVIVAL CALL 2", None, f"12 months {AFTER_FU4}, {W14}"),
    tv(4003, "SURVIVAL CALL 3", None, f"18 months {AFTER_FU4}, {W14}"),
]

UCMSC_DLC_TV = [
    tv(1001, "INFUSION 1", 1, f"Study day 1, {W1}", arm=G1),
    tv(1001, "INFUSION 1", 1, f"Study day 1, {W1}", arm=G2),
    tv(1002, "INFUSION 2", 5, f"4 days after the actual date of infusion 1, {W1}", arm=G1),
    tv(1002, "INFUSION 2", 8, f"7 days after the actual date of infusion 1, {W1}", arm=G2),
    tv(1003, "INFUSION 3", 9, f"4 days after the actual date of infusion 2, {W1}", arm=G1),
    tv(1004, "INFUSION 4", 13, f"4 days after the actual date of infusion 3, {W1}", arm=G1),
    tv(2001, "FOLLOW-UP 1", 29, f"Week 4 (study day 29), {W3}"),
    tv(2002, "FOLLOW-UP 2", 85, f"Week 12 (study day 85), {W7}"),
    tv(2003, "FOLLOW-UP 3", 169, f"Week 24 (study day 169), {W7}"),
    tv(2004, "FOLLOW-UP 4", 253, f"Week 36 (study day 253), {W7}"),
    tv(2005, "FOLLOW-UP 5", 337, f"Week 48 (study day 337), {W7}"),
    tv(3001, "SURVIVAL CHECK 1", None, f"12 months after day 1, {W14}"),
]


@pytest.mark.parametrize(
    ("protocol", "expected"),
    [("cs-huc-mscs", CS_HUC_MSCS_TV), ("ucmsc-dlc", UCMSC_DLC_TV)],
)
def test_tv_rows_are_exact(protocol: str, expected: list[tuple[object, ...]]) -> None:
    dataset = trial_visits(bundled(protocol), "STUDY-1")
    assert dataset.name == "TV"
    assert dataset.column_names() == [
        "STUDYID", "DOMAIN", "VISITNUM", "VISIT", "VISITDY", "ARMCD", "ARM", "TVSTRL", "TVENRL",
    ]  # fmt: skip
    assert {row[:2] for row in dataset.rows} == {("STUDY-1", "TV")}
    assert [row[2:] for row in dataset.rows] == expected


def test_ta_and_te_of_cs_huc_mscs() -> None:
    protocol = bundled("cs-huc-mscs")
    ta = [row[2:] for row in trial_arms(protocol, "CS").rows]
    assert ta == [
        (code, label, order, etcd, element, "", "", epoch)
        for code, label in [
            ("LOW", "Low-dose group"),
            ("MED", "Medium-dose group"),
            ("HIGH", "High-dose group"),
        ]
        for order, etcd, element, epoch in [
            (1, code, label, "TREATMENT"),
            (2, "FU", "Follow-up", "FOLLOW-UP"),
            (3, "SURVFU", "Survival follow-up", "LONG-TERM FOLLOW-UP"),
        ]
    ]
    te = [row[2:] for row in trial_elements(protocol, "CS").rows]
    last_infusion = "End of the day of the last infusion"
    last_follow_up = "End of the day of the last follow-up"
    last_call = "End of the day of the last survival call"
    assert te == [
        ("LOW", "Low-dose group", "Study day 1", last_infusion, "P15D"),
        ("FU", "Follow-up", "Day after the last infusion", last_follow_up, "P154D"),
        ("SURVFU", "Survival follow-up", "Day after the last follow-up", last_call, "P18M"),
        ("MED", "Medium-dose group", "Study day 1", last_infusion, "P15D"),
        ("HIGH", "High-dose group", "Study day 1", last_infusion, "P15D"),
    ]


def test_ta_and_te_of_ucmsc_dlc() -> None:
    protocol = bundled("ucmsc-dlc")
    ta = [(row[2], row[4], row[5], row[9]) for row in trial_arms(protocol, "UC").rows]
    assert ta == [
        ("G1", 1, "G1", "TREATMENT"),
        ("G1", 2, "FU", "FOLLOW-UP"),
        ("G1", 3, "SURVFU", "LONG-TERM FOLLOW-UP"),
        ("G2", 1, "G2", "TREATMENT"),
        ("G2", 2, "FU", "FOLLOW-UP"),
        ("G2", 3, "SURVFU", "LONG-TERM FOLLOW-UP"),
        ("CTRL", 1, "CTRL", "TREATMENT"),
        ("CTRL", 2, "SURVFU", "LONG-TERM FOLLOW-UP"),
    ]
    te = {row[2]: row[4:] for row in trial_elements(protocol, "UC").rows}
    assert te == {
        "G1": ("Study day 1", "End of the day of the last infusion", "P13D"),
        "G2": ("Study day 1", "End of the day of the last infusion", "P8D"),
        # The control arm has no treatment visits: its element runs to its last follow-up.
        "CTRL": ("Study day 1", "End of the day of the last follow-up", "P337D"),
        # G1 and G2 reach follow-up on different days: no single duration.
        "FU": ("Day after the last infusion", "End of the day of the last follow-up", ""),
        # Twelve calendar months after day 1, from day 338: the length varies.
        "SURVFU": ("Day after the last follow-up", "End of the day of the last survival check", ""),
    }


SCREENING = """
id = "scr"
title = "With screening"
[[arms]]
code = "A"
label = "Arm A"
[[arms]]
code = "VERYLONGARM"
label = "Arm B"
[[schedule]]
code = "SCR"
label = "Screening visit"
kind = "visit"
timing = { days = [-14, -7] }
[[schedule]]
code = "DOSE"
label = "Dose"
kind = "visit"
dose = "10 mg"
arms = ["A"]
timing = { days = [1] }
[[schedule]]
code = "CALL"
label = "Call"
kind = "call"
contact = "phone"
timing = { every = 2, unit = "weeks", count = 2, start = 3 }
anchor = { event = "SCR", occurrence = 2 }
"""


def test_screening_element_and_arm_codes_too_long_for_etcd() -> None:
    protocol = parse(SCREENING)
    ta = [(row[2], row[5], row[9]) for row in trial_arms(protocol, "SCR").rows]
    assert ta == [
        ("A", "SCREEN", "SCREENING"),
        ("A", "A", "TREATMENT"),
        ("A", "FU", "FOLLOW-UP"),
        ("VERYLONGARM", "SCREEN", "SCREENING"),
        ("VERYLONGARM", "TRT2", "TREATMENT"),
    ]
    te = {row[2]: row[4:] for row in trial_elements(protocol, "SCR").rows}
    assert te["SCREEN"] == (
        "Date of the first screening visit",
        "Day before study day 1",
        "P14D",
    )
    tv = {(row[2], row[5]): row[4] for row in trial_visits(protocol, "SCR").rows}
    assert tv[(3001, "")] == -4
    rules = {row[2]: row[7] for row in trial_visits(protocol, "SCR").rows}
    assert rules[3001] == "3 days after the actual date of screening visit 2"
    assert rules[3002] == "17 days after the actual date of screening visit 2"


def test_a_series_added_in_a_later_version_keeps_the_older_numbers() -> None:
    old = bundled("ucmsc-dlc")
    data = old.model_dump()
    extra = {**data["schedule"][2], "code": "LAB", "label": "Lab draw"}
    new = StudyProtocol.model_validate({**data, "schedule": [extra, *data["schedule"]]})
    numbering = VisitNumbering.of(old, new)
    assert numbering.visitnum("FU", 1) == VisitNumbering.of(old).visitnum("FU", 1) == 2001
    assert numbering.visitnum("LAB", 1) == 4001
    rows = trial_visits(new, "UC", numbering).rows
    assert {row[3] for row in rows if row[2] == 4001} == {"LAB DRAW 1"}


@pytest.mark.parametrize("protocol", ["cs-huc-mscs", "ucmsc-dlc"])
def test_visitnum_identifies_visit_and_grows_with_occurrence(protocol: str) -> None:
    rows = trial_visits(bundled(protocol), "S").rows
    names = {}
    for row in rows:
        assert names.setdefault(row[2], row[3]) == row[3]
    assert len(set(names.values())) == len(names)
    assert [row[2] for row in rows] == sorted(row[2] for row in rows)


@settings(max_examples=40, deadline=None)
@given(
    days=st.lists(st.integers(-30, 400).filter(bool), min_size=1, max_size=12, unique=True),
    weeks=st.lists(st.integers(1, 60), min_size=1, max_size=8, unique=True),
)
def test_visitnum_increases_with_planned_order_within_a_series(
    days: list[int], weeks: list[int]
) -> None:
    text = f"""
id = "prop"
title = "Property"
[[arms]]
code = "A"
label = "A"
[[schedule]]
code = "V"
label = "Visit"
kind = "visit"
timing = {{ days = {sorted(days)} }}
[[schedule]]
code = "W"
label = "Week visit"
kind = "visit"
timing = {{ weeks = {sorted(weeks)} }}
"""
    rows = trial_visits(parse(text), "P").rows
    for series in (1, 2):
        mine = [row for row in rows if int(row[2]) // 1000 == series]
        numbers = [row[2] for row in mine]
        assert numbers == sorted(set(numbers))
        planned_days = [row[4] for row in mine]
        assert planned_days == sorted(planned_days)
        assert 0 not in planned_days


@pytest.mark.parametrize("bad", ["", "study 1", "cs-huc-mscs", "A" * 21, "-X", "ÄB"])
def test_a_bad_study_id_is_refused(bad: str) -> None:
    with pytest.raises(InputError) as caught:
        check_study_id(bad)
    assert caught.value.field == "study_id"
    assert caught.value.value == bad
    assert "--" not in caught.value.message
    with pytest.raises(InputError):
        trial_visits(bundled("cs-huc-mscs"), bad)


@pytest.mark.parametrize("good", ["S", "NCT05442437", "CS-HUC_MSCS-2026", "A" * 20])
def test_good_study_ids(good: str) -> None:
    assert check_study_id(good) == good


def test_domains_are_checked_and_ordered() -> None:
    assert check_domains(["sv", "TA", "ta"]) == ("TA", "SV")
    with pytest.raises(InputError) as caught:
        check_domains(["TV", "DM"])
    assert caught.value.field == "domains"
    assert "DM" in caught.value.message
    built = sdtm_datasets(bundled("cs-huc-mscs"), [], study_id="CS", today=date(2026, 1, 1))
    assert list(built) == ["TA", "TE", "TV", "SV"]
    assert built["SV"].rows == ()


@pytest.mark.parametrize(("length", "refused"), [(20, False), (21, True), (32, True)])
def test_an_arm_code_longer_than_armcd_holds_is_refused(length: int, refused: bool) -> None:
    """Protocol files allow arm codes of 32 characters; SDTM's ARMCD holds 20."""
    code = "A" * length
    protocol = parse(SCREENING.replace('"VERYLONGARM"', f'"{code}"'))
    if not refused:
        assert code in {row[2] for row in trial_arms(protocol, "SCR").rows}
        return
    with pytest.raises(InputError) as caught:
        trial_arms(protocol, "SCR")
    assert caught.value.message == (
        f"arm code {code!r} of {protocol.id} is {length} characters long: "
        "SDTM's ARMCD holds at most 20"
    )

"""Protocol files: every bad file is refused with the place and a precise message."""

from __future__ import annotations

from datetime import date
from importlib import resources
from pathlib import Path

import pytest

from planner.core.bundled import BUNDLED_IDS, bundled, bundled_source
from planner.core.errors import InputError, ProtocolError
from planner.core.protocol import StudyProtocol, load, parse, validate
from planner.core.schedule import VisitKey, expand

SERIES_KEYS = (
    "code, label, kind, contact, setting, dose, window, windows, time, duration_minutes, "
    "arms, survival, timing, anchor"
)

HEAD = """\
id = "demo"
title = "Demo trial"

[[arms]]
code = "A"
label = "Arm A"

[[arms]]
code = "B"
label = "Arm B"
"""


def series(code: str = "V", body: str = "timing = { days = [1] }") -> str:
    return f"""
[[schedule]]
code = "{code}"
label = "Visit"
kind = "visit"
{body}
"""


def problems(text: str) -> tuple[tuple[str, str], ...]:
    """The problems a protocol text is refused with (it must be refused)."""
    with pytest.raises(ProtocolError) as caught:
        parse(text, "demo.toml")
    assert caught.value.source == "demo.toml"
    return caught.value.problems


def one_problem(text: str) -> tuple[str, str]:
    found = problems(text)
    assert len(found) == 1, found
    return found[0]


# --------------------------------------------------------------------------- good files


def test_minimal_protocol_is_accepted_with_defaults() -> None:
    protocol = parse(HEAD + series(), "demo.toml")
    assert protocol.arm_codes() == ["A", "B"]
    (visit,) = protocol.schedule
    assert visit.anchor.kind == "day1"
    assert visit.contact == "in-person"
    assert visit.setting == "outpatient"
    assert visit.survival is False
    assert visit.window_for(1).before == 0 and visit.window_for(1).after == 0
    assert visit.time is None and visit.duration is None


def test_duration_defaults_to_sixty_minutes_for_timed_events() -> None:
    protocol = parse(HEAD + series(body='timing = { days = [1] }\ntime = "08:30"'))
    assert protocol.schedule[0].duration == 60
    assert str(protocol.schedule[0].local_time) == "08:30:00"


@pytest.mark.parametrize("protocol_id", BUNDLED_IDS)
def test_bundled_files_load_from_disk(protocol_id: str) -> None:
    path = resources.files("planner") / "protocols" / f"{protocol_id}.toml"
    loaded = load(str(path))
    assert isinstance(loaded, StudyProtocol)
    assert loaded.id == protocol_id
    assert loaded == bundled(protocol_id)
    assert parse(bundled_source(protocol_id)) == loaded


def test_bundled_arms_and_series() -> None:
    dlc = bundled("ucmsc-dlc")
    assert dlc.arm_codes() == ["G1", "G2", "CTRL"]
    assert [s.code for s in dlc.series_for("G1")] == ["INF", "FU", "SURV"]
    assert [s.code for s in dlc.series_for("CTRL")] == ["FU", "SURV"]
    huc = bundled("cs-huc-mscs")
    assert huc.arm_codes() == ["LOW", "MED", "HIGH"]
    assert [s.code for s in huc.series_for("MED")] == ["INF", "IHFU", "FU", "SURV"]


def test_same_series_code_in_disjoint_arms_is_allowed() -> None:
    text = HEAD + series("INF", 'arms = ["A"]\ntiming = { days = [1, 5] }')
    text += series("INF", 'arms = ["B"]\ntiming = { days = [1, 8] }')
    protocol = parse(text)
    assert [s.timing.days for s in protocol.series_for("A")] == [[1, 5]]
    assert [s.timing.days for s in protocol.series_for("B")] == [[1, 8]]


def test_occurrence_anchor_may_use_day_zero_and_negative_days() -> None:
    text = HEAD + series("V", "timing = { days = [-14, 1] }")
    text += series("W", 'timing = { days = [0, 3] }\nanchor = { event = "V", occurrence = 2 }')
    protocol = parse(text)
    assert protocol.schedule[1].anchor.describe() == "V #2"


def test_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + (HEAD + series()).encode("utf-8"))
    assert load(str(path)).id == "demo"


# --------------------------------------------------------------------------- bad files


def test_not_toml() -> None:
    place, message = one_problem("id = \n")
    assert place == ""
    assert message.startswith("is not valid TOML: ")
    assert "line 1" in message


def test_error_text_names_file_place_and_problem() -> None:
    with pytest.raises(ProtocolError) as caught:
        parse(HEAD + series(body="timing = { days = [1] }\nwindow = { after = -2 }"), "x.toml")
    assert str(caught.value) == "x.toml: schedule[0].window.after: must be at least 0 (got -2)"
    assert isinstance(caught.value, InputError) and isinstance(caught.value, ValueError)
    assert caught.value.exit_code == 2


def test_file_level_error_text_has_no_place() -> None:
    with pytest.raises(ProtocolError) as caught:
        parse("[[arms]\n", "x.toml")
    assert str(caught.value).startswith("x.toml: is not valid TOML: ")


def test_every_problem_is_reported_at_once() -> None:
    text = HEAD.replace('title = "Demo trial"\n', "") + series(
        body='timing = { days = [1] }\ntime = "9am"\nwindow = { before = -1 }'
    )
    assert problems(text) == (
        ("title", "is required"),
        ("schedule[0].window.before", "must be at least 0 (got -1)"),
        ("schedule[0].time", "must be a 24-hour time in quotes, as \"HH:MM\", not '9am'"),
    )


def test_unknown_key_at_top_level() -> None:
    text = HEAD.replace('title = "Demo trial"\n', 'title = "Demo trial"\ncolour = "red"\n')
    assert one_problem(text + series()) == (
        "colour",
        "unknown key (allowed: id, title, registry, description, arms, schedule)",
    )


def test_unknown_key_in_a_series() -> None:
    assert one_problem(HEAD + series(body="timing = { days = [1] }\nvisit_day = 3")) == (
        "schedule[0].visit_day",
        f"unknown key (allowed: {SERIES_KEYS})",
    )


def test_unknown_key_in_nested_tables() -> None:
    assert one_problem(HEAD + series(body="timing = { days = [1], dayz = [2] }")) == (
        "schedule[0].timing.dayz",
        "unknown key (allowed: days, weeks, months, every, unit, count, start)",
    )
    assert one_problem(HEAD + series(body="timing = { days = [1] }\nwindow = { befor = 1 }")) == (
        "schedule[0].window.befor",
        "unknown key (allowed: before, after)",
    )
    body = 'timing = { days = [1] }\nanchor = { event = "V", occurrence = 1, day = 2 }'
    assert one_problem(HEAD + series(body=body)) == (
        "schedule[0].anchor.day",
        "unknown key (allowed: event, occurrence)",
    )


@pytest.mark.parametrize(
    ("text", "place"),
    [
        (HEAD.replace('id = "demo"\n', "") + series(), "id"),
        (HEAD, "schedule"),
        (HEAD + series(body=""), "schedule[0].timing"),
        (HEAD + series().replace('label = "Visit"\n', ""), "schedule[0].label"),
        (HEAD.replace('label = "Arm B"\n', "") + series(), "arms[1].label"),
    ],
)
def test_missing_required_key(text: str, place: str) -> None:
    assert one_problem(text) == (place, "is required")


def test_empty_file_lists_every_required_key() -> None:
    assert problems("") == (
        ("id", "is required"),
        ("title", "is required"),
        ("arms", "is required"),
        ("schedule", "is required"),
    )


def test_unknown_anchor_series() -> None:
    body = 'timing = { days = [1] }\nanchor = { event = "FU", occurrence = 1 }'
    assert one_problem(HEAD + series(body=body)) == (
        "schedule[0].anchor.event",
        "unknown series 'FU'",
    )


def test_anchor_series_missing_in_one_arm_names_that_arm() -> None:
    text = HEAD + series("FU", 'arms = ["A"]\ntiming = { days = [1] }')
    text += series("SURV", 'timing = { months = [6] }\nanchor = { event = "FU", occurrence = 1 }')
    assert one_problem(text) == ("schedule[1].anchor.event", "unknown series 'FU' in arm 'B'")


def test_anchor_occurrence_beyond_the_series_count() -> None:
    text = HEAD + series("FU", "timing = { weeks = [4, 8, 12] }")
    text += series("SURV", 'timing = { months = [6] }\nanchor = { event = "FU", occurrence = 4 }')
    assert one_problem(text) == (
        "schedule[1].anchor.occurrence",
        "series 'FU' has only 3 occurrences",
    )


def test_anchor_occurrence_beyond_count_in_one_arm_only() -> None:
    text = HEAD + series("INF", 'arms = ["A"]\ntiming = { every = 4, count = 4 }')
    text += series("INF", 'arms = ["B"]\ntiming = { every = 7, count = 1 }')
    text += series("FU", 'timing = { days = [7] }\nanchor = { event = "INF", occurrence = 2 }')
    assert one_problem(text) == (
        "schedule[2].anchor.occurrence",
        "series 'INF' has only 1 occurrence in arm 'B'",
    )


def test_anchor_occurrence_zero() -> None:
    body = 'timing = { days = [1] }\nanchor = { event = "V", occurrence = 0 }'
    assert one_problem(HEAD + series("W", body) + series()) == (
        "schedule[0].anchor.occurrence",
        "must be at least 1 (got 0)",
    )


def test_anchor_cycle_between_two_series() -> None:
    text = HEAD + series("P", 'timing = { days = [1] }\nanchor = { event = "Q", occurrence = 1 }')
    text += series("Q", 'timing = { days = [2] }\nanchor = { event = "P", occurrence = 1 }')
    assert one_problem(text) == ("schedule[0].anchor", "anchors form a cycle: P -> Q -> P")


def test_anchor_cycle_of_three_series() -> None:
    text = HEAD + series("C", 'timing = { days = [1] }\nanchor = { event = "A1", occurrence = 1 }')
    text += series("A1", 'timing = { days = [1] }\nanchor = { event = "B1", occurrence = 1 }')
    text += series("B1", 'timing = { days = [1] }\nanchor = { event = "C", occurrence = 1 }')
    assert one_problem(text) == ("schedule[1].anchor", "anchors form a cycle: A1 -> B1 -> C -> A1")


def test_series_anchored_on_itself() -> None:
    body = 'timing = { days = [1, 2] }\nanchor = { event = "V", occurrence = 1 }'
    assert one_problem(HEAD + series(body=body)) == (
        "schedule[0].anchor",
        "series 'V' is anchored on itself; to count each occurrence from the one before, "
        'use anchor = "previous"',
    )


def test_anchor_that_is_neither_keyword_nor_table() -> None:
    assert one_problem(HEAD + series(body='timing = { days = [1] }\nanchor = "first"')) == (
        "schedule[0].anchor",
        'must be "day1", "previous" or a table { event = "CODE", occurrence = N }, not \'first\'',
    )


def test_anchor_table_without_occurrence() -> None:
    body = 'timing = { days = [1] }\nanchor = { event = "V" }'
    assert one_problem(HEAD + series("W", body) + series()) == (
        "schedule[0].anchor",
        "an anchor on an occurrence needs both event and occurrence",
    )


def test_anchor_kind_contradicting_its_event_is_refused() -> None:
    body = 'timing = { days = [1] }\nanchor = { kind = "day1", event = "V", occurrence = 1 }'
    assert one_problem(HEAD + series("W", body) + series()) == (
        "schedule[0].anchor",
        "event and occurrence do not go with kind 'day1'",
    )


def test_count_above_500() -> None:
    assert one_problem(HEAD + series(body="timing = { every = 1, count = 501 }")) == (
        "schedule[0].timing.count",
        "must be at most 500 (got 501)",
    )


@pytest.mark.parametrize("count", [0, -3])
def test_count_zero_or_negative(count: int) -> None:
    assert one_problem(HEAD + series(body=f"timing = {{ every = 2, count = {count} }}")) == (
        "schedule[0].timing.count",
        f"must be at least 1 (got {count})",
    )


def test_count_must_be_a_number_not_true() -> None:
    assert one_problem(HEAD + series(body="timing = { every = 2, count = true }")) == (
        "schedule[0].timing.count",
        "must be a whole number (got True)",
    )


def test_every_without_count() -> None:
    assert one_problem(HEAD + series(body="timing = { every = 2 }")) == (
        "schedule[0].timing",
        "every needs a count",
    )


def test_count_without_every() -> None:
    assert one_problem(HEAD + series(body="timing = { days = [1], count = 2, start = 3 }")) == (
        "schedule[0].timing",
        "count and start only go with every",
    )


def test_too_many_listed_days() -> None:
    days = ", ".join(str(day) for day in range(1, 502))
    assert one_problem(HEAD + series(body=f"timing = {{ days = [{days}] }}")) == (
        "schedule[0].timing.days",
        "has 501 items; at most 500 are allowed",
    )


def test_too_many_occurrences_in_one_arm() -> None:
    text = HEAD
    for k in range(5):
        text += series(f"S{k}", "timing = { every = 1, count = 401 }")
    assert one_problem(text) == ("schedule", "too many occurrences (2005; at most 2000 per arm)")


def test_offset_beyond_twenty_years() -> None:
    assert one_problem(HEAD + series(body="timing = { every = 100, count = 100 }")) == (
        "schedule[0].timing",
        "every 100 days × 100 reaches beyond 7305 days (20 years)",
    )
    # Counted from the furthest occurrence, before day 1 too.
    for fine in ("every = 10, count = 500, start = -7000", "every = 1, count = 2, start = -7305"):
        parse(HEAD + series(body=f"timing = {{ {fine} }}"), "fine.toml")
    assert one_problem(HEAD + series(body="timing = { every = 100, count = 5, start = 7000 }")) == (
        "schedule[0].timing",
        "every 100 days × 5 reaches beyond 7305 days (20 years)",
    )
    assert one_problem(HEAD + series(body="timing = { months = [6, 241] }")) == (
        "schedule[0].timing.months",
        "months must lie within 0 to 240",
    )


@pytest.mark.parametrize("side", ["before", "after"])
def test_negative_window(side: str) -> None:
    body = f"timing = {{ days = [1] }}\nwindow = {{ {side} = -3 }}"
    assert one_problem(HEAD + series(body=body)) == (
        f"schedule[0].window.{side}",
        "must be at least 0 (got -3)",
    )


def test_negative_window_in_a_windows_list() -> None:
    body = "timing = { days = [1, 8] }\nwindows = [{ before = 1 }, { after = -1 }]"
    assert one_problem(HEAD + series(body=body)) == (
        "schedule[0].windows[1].after",
        "must be at least 0 (got -1)",
    )


def test_window_that_is_not_a_table() -> None:
    assert one_problem(HEAD + series(body="timing = { days = [1] }\nwindow = 3")) == (
        "schedule[0].window",
        "must be a table { key = value, ... }",
    )


@pytest.mark.parametrize(
    ("value", "shown"),
    [('"9am"', "'9am'"), ('"25:00"', "'25:00'"), ('"9:00"', "'9:00'"), ('"12:60"', "'12:60'")],
)
def test_time_not_hh_mm(value: str, shown: str) -> None:
    assert one_problem(HEAD + series(body=f"timing = {{ days = [1] }}\ntime = {value}")) == (
        "schedule[0].time",
        f'must be a 24-hour time in quotes, as "HH:MM", not {shown}',
    )


def test_time_as_a_toml_time_value_asks_for_quotes() -> None:
    place, message = one_problem(HEAD + series(body="timing = { days = [1] }\ntime = 09:00:00"))
    assert place == "schedule[0].time"
    assert message == 'must be a 24-hour time in quotes, as "HH:MM", not datetime.time(9, 0)'


def test_duration_without_time() -> None:
    body = "timing = { days = [1] }\nduration_minutes = 90"
    assert one_problem(HEAD + series(body=body)) == (
        "schedule[0].duration_minutes",
        "needs a time (duration_minutes only goes with time)",
    )


def test_duration_out_of_range() -> None:
    body = 'timing = { days = [1] }\ntime = "09:00"\nduration_minutes = 0'
    assert one_problem(HEAD + series(body=body)) == (
        "schedule[0].duration_minutes",
        "must be at least 1 (got 0)",
    )


def test_duplicate_arm_codes() -> None:
    assert one_problem(HEAD.replace('code = "B"', 'code = "A"') + series()) == (
        "arms[1].code",
        "duplicate arm code 'A'",
    )


def test_duplicate_series_codes_within_an_arm() -> None:
    text = (
        HEAD + series("FU", "timing = { weeks = [4] }") + series("FU", "timing = { weeks = [8] }")
    )
    assert one_problem(text) == ("schedule[1].code", "duplicate series code 'FU'")


def test_duplicate_series_codes_in_overlapping_arms_names_the_arm() -> None:
    text = HEAD + series("FU", 'arms = ["A"]\ntiming = { weeks = [4] }')
    text += series("FU", 'arms = ["A", "B"]\ntiming = { weeks = [8] }')
    assert one_problem(text) == ("schedule[1].code", "duplicate series code 'FU' in arm 'A'")


def test_codes_that_differ_only_in_case() -> None:
    """P/FU/1 and P/fu/1 could not be told apart in a calendar, nor UNS from uns."""
    assert one_problem(HEAD.replace('code = "B"', 'code = "a"') + series()) == (
        "arms[1].code",
        "arm code 'a' differs from 'A' only in case",
    )
    text = (
        HEAD + series("FU", "timing = { weeks = [4] }") + series("fu", "timing = { weeks = [8] }")
    )
    assert one_problem(text) == (
        "schedule[1].code",
        "series code 'fu' differs from 'FU' only in case",
    )
    assert one_problem(HEAD + series("uns")) == (
        "schedule[0].code",
        "'UNS' is reserved for unscheduled visits; choose another code",
    )


def test_an_arm_listed_twice_in_a_series() -> None:
    body = 'arms = ["A", "A"]\ntiming = { days = [1] }'
    assert one_problem(HEAD + series(body=body)) == (
        "schedule[0].arms[1]",
        "arm 'A' is listed twice",
    )


def test_series_restricted_to_an_unknown_arm() -> None:
    body = 'arms = ["A", "C"]\ntiming = { days = [1] }'
    assert one_problem(HEAD + series(body=body)) == (
        "schedule[0].arms[1]",
        "unknown arm 'C' (arms: A, B)",
    )


def test_series_restricted_to_no_arm() -> None:
    assert one_problem(HEAD + series(body="arms = []\ntiming = { days = [1] }")) == (
        "schedule[0].arms",
        "must not be empty (got [])",
    )


@pytest.mark.parametrize("anchor", ["", 'anchor = "day1"', 'anchor = "previous"'])
def test_day_zero(anchor: str) -> None:
    assert one_problem(HEAD + series(body=f"timing = {{ days = [0, 8] }}\n{anchor}")) == (
        "schedule[0].timing.days",
        "there is no study day 0 (day 1 is the anchor date)",
    )


def test_repetition_starting_on_day_zero() -> None:
    assert one_problem(HEAD + series(body="timing = { every = 4, count = 3, start = 0 }")) == (
        "schedule[0].timing.start",
        "there is no study day 0 (day 1 is the anchor date)",
    )


def test_months_with_anchor_previous() -> None:
    body = 'timing = { months = [6, 12] }\nanchor = "previous"'
    assert one_problem(HEAD + series(body=body)) == (
        "schedule[0].anchor",
        "months cannot be counted from the previous occurrence (the dates would drift at "
        "month ends); anchor them on day1 or on a named occurrence",
    )


@pytest.mark.parametrize(
    ("windows", "message"),
    [
        ("[{ before = 1 }]", "has 1 window for 3 occurrences; give one window per occurrence"),
        (
            "[{}, {}, {}, {}]",
            "has 4 windows for 3 occurrences; give one window per occurrence",
        ),
    ],
)
def test_windows_list_of_wrong_length(windows: str, message: str) -> None:
    body = f"timing = {{ weeks = [4, 8, 12] }}\nwindows = {windows}"
    assert one_problem(HEAD + series(body=body)) == ("schedule[0].windows", message)


def test_window_and_windows_together() -> None:
    body = "timing = { days = [1] }\nwindow = { before = 1 }\nwindows = [{ before = 2 }]"
    assert one_problem(HEAD + series(body=body)) == (
        "schedule[0].windows",
        "give either window or windows, not both",
    )


@pytest.mark.parametrize(
    ("timing", "found"),
    [
        ("{ days = [1], weeks = [4] }", "days, weeks"),
        ("{ months = [6], every = 7, count = 2 }", "months, every"),
        ("{}", "none"),
    ],
)
def test_timing_with_two_rules_or_none(timing: str, found: str) -> None:
    assert one_problem(HEAD + series(body=f"timing = {timing}")) == (
        "schedule[0].timing",
        f"needs exactly one of days, weeks, months or every (found: {found})",
    )


@pytest.mark.parametrize(
    ("rule", "values", "detail"),
    [
        ("days", "[1, 8, 8]", "8 comes after 8"),
        ("days", "[15, 8]", "8 comes after 15"),
        ("weeks", "[4, 12, 8]", "8 comes after 12"),
        ("months", "[6, 6]", "6 comes after 6"),
    ],
)
def test_non_increasing_lists(rule: str, values: str, detail: str) -> None:
    assert one_problem(HEAD + series(body=f"timing = {{ {rule} = {values} }}")) == (
        f"schedule[0].timing.{rule}",
        f"must be in increasing order without repeats ({detail})",
    )


def test_empty_day_list() -> None:
    assert one_problem(HEAD + series(body="timing = { days = [] }")) == (
        "schedule[0].timing.days",
        "must not be empty (got [])",
    )


def test_fractional_day() -> None:
    assert one_problem(HEAD + series(body="timing = { days = [1.5] }")) == (
        "schedule[0].timing.days[0]",
        "must be a whole number (got 1.5)",
    )


def test_unit_other_than_days_or_weeks() -> None:
    body = 'timing = { every = 1, count = 2, unit = "months" }'
    assert one_problem(HEAD + series(body=body)) == (
        "schedule[0].timing.unit",
        "must be 'days' or 'weeks' (got 'months')",
    )


def test_survival_flag_must_be_a_boolean() -> None:
    body = 'timing = { days = [1] }\nsurvival = "yes"'
    assert one_problem(HEAD + series(body=body)) == (
        "schedule[0].survival",
        "must be true or false (got 'yes')",
    )


def test_contact_and_setting_choices() -> None:
    body = 'timing = { days = [1] }\ncontact = "email"\nsetting = "home"'
    assert problems(HEAD + series(body=body)) == (
        ("schedule[0].contact", "must be 'in-person' or 'phone' (got 'email')"),
        ("schedule[0].setting", "must be 'inpatient', 'outpatient' or 'remote' (got 'home')"),
    )


def test_codes_and_kinds_are_checked() -> None:
    text = HEAD.replace('id = "demo"', 'id = "Demo Trial"') + series("bad code")
    text = text.replace('kind = "visit"', 'kind = "Visit"')
    assert problems(text) == (
        (
            "id",
            "must be 1 to 64 lower-case letters, digits, '.', '-' or '_', starting with a "
            "letter or digit (got 'Demo Trial')",
        ),
        (
            "schedule[0].code",
            "must be 1 to 32 letters, digits, '-' or '_', starting with a letter or digit "
            "(got 'bad code')",
        ),
        (
            "schedule[0].kind",
            "must be one lower-case word of up to 32 letters and '-' (got 'Visit')",
        ),
    )


def test_empty_label() -> None:
    assert one_problem(HEAD + series().replace('label = "Visit"', 'label = ""')) == (
        "schedule[0].label",
        "must not be empty (got '')",
    )


def test_dose_per_kg_must_be_positive() -> None:
    text = HEAD.replace(
        'label = "Arm A"\n', 'label = "Arm A"\ndose_per_kg = { amount = 0, unit = "cells" }\n'
    )
    assert one_problem(text + series()) == (
        "arms[0].dose_per_kg.amount",
        "must be more than 0 (got 0)",
    )


def test_validate_takes_a_plain_dict() -> None:
    data = {
        "id": "dict",
        "title": "From a dict",
        "arms": [{"code": "A", "label": "A"}],
        "schedule": [{"code": "V", "label": "V", "kind": "visit", "timing": {"days": [1]}}],
    }
    assert validate(data, "dict").schedule[0].timing.days == [1]
    data["arms"] = []
    with pytest.raises(ProtocolError) as caught:
        validate(data, "dict")
    assert caught.value.problems == (("arms", "must not be empty (got [])"),)


# --------------------------------------------------------------------------- reading files


def test_file_not_found(tmp_path: Path) -> None:
    path = str(tmp_path / "missing.toml")
    with pytest.raises(ProtocolError) as caught:
        load(path)
    assert caught.value.problems == (("", "no such file"),)
    assert str(caught.value) == f"{path}: no such file"


def test_non_utf8_bytes(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('title = "Étude"\n'.encode("latin-1"))
    with pytest.raises(ProtocolError) as caught:
        load(str(path))
    assert caught.value.problems == (("", "is not UTF-8 text (bad byte at offset 9)"),)


def test_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ProtocolError) as caught:
        load(str(tmp_path))
    assert caught.value.problems == (("", "is a folder, not a protocol file"),)
    assert str(caught.value) == f"{tmp_path}: is a folder, not a protocol file"


def test_a_huge_file(tmp_path: Path) -> None:
    path = tmp_path / "huge.toml"
    path.write_text("# " + "x" * 2_000_000 + "\n", encoding="utf-8")
    with pytest.raises(ProtocolError) as caught:
        load(str(path))
    assert caught.value.problems == (("", "is larger than 2 MB; a protocol is a small file"),)


def test_load_reports_problems_with_the_path(tmp_path: Path) -> None:
    path = tmp_path / "trial.toml"
    path.write_text(HEAD + series(body="timing = { days = [0] }"), encoding="utf-8")
    with pytest.raises(ProtocolError) as caught:
        load(str(path))
    assert str(caught.value) == (
        f"{path}: schedule[0].timing.days: there is no study day 0 (day 1 is the anchor date)"
    )


# --------------------------------------------------------------------------- the documented example


def _documented_example() -> str:
    doc = Path(__file__).resolve().parent.parent / "docs" / "protocol-format.md"
    text = doc.read_text(encoding="utf-8")
    start = text.index("```toml\n# example-trial.toml") + len("```toml\n")
    return text[start : text.index("```", start)]


def test_the_documented_example_is_valid_and_gives_the_documented_dates() -> None:
    protocol = parse(_documented_example(), "docs/protocol-format.md")
    assert protocol.arm_codes() == ["WEEKLY", "SINGLE", "CTRL"]
    day1 = date(2026, 3, 2)
    plan = expand(protocol, "WEEKLY", day1)
    assert [(o.event, o.occurrence, o.study_day, o.target.isoformat()) for o in plan] == [
        ("SCR", 1, -14, "2026-02-16"),
        ("SCR", 2, -1, "2026-03-01"),
        ("INF", 1, 1, "2026-03-02"),
        ("INF", 2, 8, "2026-03-09"),
        ("INF", 3, 15, "2026-03-16"),
        ("CALL", 1, 16, "2026-03-17"),
        ("CALL", 2, 22, "2026-03-23"),
        ("FU", 1, 29, "2026-03-30"),
        ("FU", 2, 85, "2026-05-25"),
        ("FU", 3, 169, "2026-08-17"),
        ("SURV", 1, 353, "2027-02-17"),
        ("SURV", 2, 534, "2027-08-17"),
    ]
    assert [(o.window_start.isoformat(), o.window_end.isoformat()) for o in plan][9:] == [
        ("2026-08-10", "2026-08-31"),
        ("2027-02-03", "2027-03-03"),
        ("2027-08-03", "2027-08-31"),
    ]
    late = expand(protocol, "WEEKLY", day1, actual={VisitKey("INF", 2): date(2026, 3, 11)})
    assert [o.target.isoformat() for o in late if o.event in ("INF", "CALL")] == [
        "2026-03-02",
        "2026-03-09",
        "2026-03-18",
        "2026-03-19",
        "2026-03-25",
    ]
    week24 = expand(protocol, "SINGLE", day1, actual={VisitKey("FU", 3): date(2026, 8, 20)})
    assert [o.target.isoformat() for o in week24 if o.event == "SURV"] == [
        "2027-02-20",
        "2027-08-20",
    ]
    assert [o.event for o in expand(protocol, "SINGLE", day1)].count("INF") == 1
    assert {o.event for o in expand(protocol, "CTRL", day1)} == {"SCR", "FU", "SURV"}


@pytest.mark.parametrize("amount", ["inf", "nan", "-inf"])
def test_a_dose_is_a_finite_number(amount: str) -> None:
    text = (Path(__file__).parent.parent / "planner" / "protocols" / "ucmsc-dlc.toml").read_text(
        encoding="utf-8"
    )
    broken = text.replace("amount = 1.5e6", f"amount = {amount}", 1)
    assert broken != text
    with pytest.raises(ProtocolError, match="amount"):
        parse(broken, "dose.toml")


@pytest.mark.parametrize(
    ("old", "new", "place", "code"),
    [
        ('label = "Visit"', 'label = "Vi\\u0000sit"', "schedule[0].label", "0000"),
        ('label = "Visit"', 'label = "Visit\\u0007"', "schedule[0].label", "0007"),
        ('id = "demo"', 'id = "demo"\ndescription = "a\\u001b[31m"', "description", "001B"),
    ],
)
def test_control_characters_in_text_are_refused(old: str, new: str, place: str, code: str) -> None:
    """They would reach calendars, CSV cells and a PostgreSQL text column (which
    refuses NUL with a driver's error naming no place in the file)."""
    text = (HEAD + series()).replace(old, new, 1)
    assert one_problem(text) == (place, f"holds the control character U+{code}; remove it")


def test_line_breaks_and_tabs_in_a_description_are_kept() -> None:
    text = (HEAD + series()).replace('id = "demo"', 'id = "demo"\ndescription = "a\\n\\tb"', 1)
    assert parse(text, "demo.toml").description == "a\n\tb"

"""planner.core.ics escapes TEXT values exactly as icalendar's ``vText`` does."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import vText

from planner.core.ics.text import escape, text, texts

#: Characters TEXT escaping treats specially, and a few ordinary ones.
SPECIAL = ["\\", "N", "n", ";", ",", "\r", "\n", "\t", ":", '"', "·", "€", "𝄞", "a"]
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def icalendar_text(value: str) -> bytes:
    """The reference: icalendar's TEXT value."""
    return vText(value).to_ical()


@pytest.mark.parametrize(
    "value",
    ["", "plain", "a;b,c", "back\\slash", "\\N line", "\\\\N", "\r\n", "\r", "\n\r", "€ 𝄞"],
)
def test_escape_matches_icalendar_on_edges(value: str) -> None:
    assert escape(value) == icalendar_text(value)


@settings(max_examples=500)
@given(st.lists(st.sampled_from(SPECIAL) | st.text(max_size=3), max_size=30).map("".join))
def test_escape_matches_icalendar(value: str) -> None:
    assert escape(value) == icalendar_text(value)


@settings(max_examples=300)
@given(st.lists(st.text(max_size=20) | st.sampled_from(SPECIAL), min_size=1, max_size=4))
def test_texts_escape_each_value_as_icalendar_does(values: list[str]) -> None:
    expected = [icalendar_text(CONTROL.sub("\ufffd", value)) for value in values]
    assert texts(*values) == expected
    assert [text(value) for value in values] == expected

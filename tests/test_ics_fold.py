"""planner.core.ics.fold gives exactly the bytes of icalendar's own line folding."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar.parser import Contentline

from planner.core import ics


def icalendar_fold(text: str) -> bytes:
    """The reference: icalendar's public content-line folding."""
    return Contentline(text).to_ical()


@pytest.mark.parametrize(
    "text",
    [
        "",
        "X:" + "a" * 72,  # 74 octets: not folded
        "X:" + "a" * 73,  # 75 octets: folded (as icalendar does)
        "X:" + "a" * 300,
        "X:" + "a" * 71 + "\\n" + "b" * 80,  # an escape across the 74th octet
        "X:" + "a" * 71 + "^" + "b" * 80,
        "X:" + "a" * 70 + "·" + "b" * 80,  # two-byte character across the boundary
        "X:" + "a" * 71 + "€" + "b" * 80,  # three-byte
        "X:" + "a" * 71 + "𝄞" + "b" * 80,  # four-byte
        "X:" + "€" * 100,
        "X:" + "\\" * 200,
        "X:" + "^" * 200,
    ],
)
def test_fold_matches_icalendar_on_edges(text: str) -> None:
    assert ics.fold(text.encode()) == icalendar_fold(text)


@settings(max_examples=500)
@given(
    st.text(
        alphabet=st.one_of(
            st.sampled_from("a\\^;, ·€𝄞"),
            st.characters(exclude_categories=("Cs",), exclude_characters="\r\n"),
        ),
        max_size=400,
    )
)
def test_fold_matches_icalendar(text: str) -> None:
    assert ics.fold(text.encode()) == icalendar_fold(text)


@given(st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=400))
def test_folded_lines_are_short_and_whole(text: str) -> None:
    line = ("DESCRIPTION:" + text.replace("\r", " ").replace("\n", " ")).encode()
    folded = ics.fold(line)
    pieces = folded.split(b"\r\n")
    for index, piece in enumerate(pieces):
        assert len(piece) <= 75
        piece.decode("utf-8")  # never a split character
        assert index == 0 or piece.startswith(b" ")
    assert pieces[0] + b"".join(piece[1:] for piece in pieces[1:]) == line

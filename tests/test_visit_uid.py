"""Visit UIDs are UUID 5 of protocol, participant, event and occurrence: forever."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from planner.core.visits import UID_NAMESPACE, visit_uid

codes = st.text(min_size=1, max_size=40)


@given(codes, codes, codes, st.integers(1, 500))
def test_uid_is_uuid5_of_the_visit_identity(
    protocol: str, participant: str, event: str, occurrence: int
) -> None:
    name = "\x1f".join((protocol, participant, event, str(occurrence)))
    assert visit_uid(protocol, participant, event, occurrence) == (
        f"{uuid.uuid5(UID_NAMESPACE, name)}@planner"
    )


def test_uid_never_changes() -> None:
    # A calendar that imported this visit once must recognise it forever.
    assert visit_uid("cs-huc-mscs", "WUH-001", "INF", 2) == (
        "cf9b7e65-3bf5-5a60-8e13-1f9d90be0280@planner"
    )

"""The protocols that ship with planner, usable by id without a file."""

from __future__ import annotations

from functools import cache
from importlib import resources

from planner.core.protocol import StudyProtocol, parse

BUNDLED_IDS = ("cs-huc-mscs", "ucmsc-dlc")


def bundled_source(protocol_id: str) -> str:
    """The TOML text of a bundled protocol."""
    if protocol_id not in BUNDLED_IDS:
        raise KeyError(protocol_id)
    return (resources.files("planner") / "protocols" / f"{protocol_id}.toml").read_text("utf-8")


@cache
def bundled(protocol_id: str) -> StudyProtocol:
    """A bundled protocol, parsed and validated."""
    return parse(bundled_source(protocol_id), f"bundled:{protocol_id}")

"""Study protocols: the model, the TOML file format, and its validation.

A protocol has arms and a schedule of event series. Each series has one
timing rule and one anchor (see ``docs/protocol-format.md``). The model is in
:mod:`~planner.core.protocol.model` and :mod:`~planner.core.protocol.timing`,
loading in :mod:`~planner.core.protocol.loading`, the plain error messages in
:mod:`~planner.core.protocol.messages` and the checks across fields in
:mod:`~planner.core.protocol.checks`; this package re-exports the public names.
"""

from __future__ import annotations

from planner.core.protocol.base import (
    CODE_PATTERN,
    KIND_PATTERN,
    MAX_ARM_OCCURRENCES,
    MAX_MONTHS,
    MAX_OCCURRENCES,
    MAX_OFFSET_DAYS,
    PROTOCOL_ID_PATTERN,
    Contact,
    Setting,
)
from planner.core.protocol.loading import fingerprint, load, parse, read_text, validate
from planner.core.protocol.model import Arm, PerKgDose, Series, StudyProtocol, Window
from planner.core.protocol.timing import DAY1, Anchor, AnchorField, Timing

__all__ = [
    "CODE_PATTERN",
    "DAY1",
    "KIND_PATTERN",
    "MAX_ARM_OCCURRENCES",
    "MAX_MONTHS",
    "MAX_OCCURRENCES",
    "MAX_OFFSET_DAYS",
    "PROTOCOL_ID_PATTERN",
    "Anchor",
    "AnchorField",
    "Arm",
    "Contact",
    "PerKgDose",
    "Series",
    "Setting",
    "StudyProtocol",
    "Timing",
    "Window",
    "fingerprint",
    "load",
    "parse",
    "read_text",
    "validate",
]

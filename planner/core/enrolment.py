"""Enrolment requests: one participant, as a coordinator asks for it.

An :class:`Enrolment` is a participant code, a protocol, an arm, a site, day 1
and optionally a weight. This module checks what can be checked without a
database (the code's spelling, a plausible weight); that the protocol, arm
and site exist is checked by the application. Many enrolments come from a
CSV file (:mod:`planner.core.enrolment_csv`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from planner.core.errors import InputError

PARTICIPANT_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True, slots=True)
class Enrolment:
    participant: str
    protocol: str
    arm: str
    site: str
    day1: date
    weight_kg: float | None = None
    #: The line of the CSV file it came from (0 when typed on the command line).
    line: int = 0


def check_participant_code(code: str) -> str:
    """``code`` if it is a well-formed study code, else InputError."""
    if not PARTICIPANT_PATTERN.fullmatch(code):
        raise InputError(
            f"participant code {code!r} is not allowed: use 1 to 64 of A-Z a-z 0-9 . _ - "
            "starting with a letter or digit (a study code only, never a name)",
            field="participant",
            value=code,
            allowed="1 to 64 of A-Z a-z 0-9 . _ -, starting with a letter or digit",
        )
    return code


def parse_weight(text: str | float | None) -> float | None:
    """A weight in kilograms (None when not given), or InputError."""
    if text is None or text == "":
        return None
    try:
        if isinstance(text, str) and not text.isascii():  # "７０": digits are ASCII, as in dates
            raise ValueError(text)
        weight = float(text)
    except ValueError:
        raise InputError(
            f"weight {text!r} is not a number of kilograms", field="weight_kg", value=text
        ) from None
    if not 1 <= weight <= 400:
        raise InputError(
            f"weight {text!r} kg is not plausible (1 to 400 kg)",
            field="weight_kg",
            value=text,
            allowed="1..400",
        )
    return weight

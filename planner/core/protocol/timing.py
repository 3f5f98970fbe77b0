"""When a series happens: its anchor and its timing rule.

An :class:`Anchor` says what a series is counted from (day 1, the previous
occurrence, or a named occurrence of another series); a :class:`Timing` holds
exactly one rule (listed days, listed weeks, calendar months, or a
repetition). Both check themselves field by field; the checks across series
are in :mod:`planner.core.protocol.checks`.
"""

from __future__ import annotations

import itertools
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, field_validator, model_validator

from planner.core.protocol.base import (
    CODE_PATTERN,
    MAX_OCCURRENCES,
    MAX_OFFSET_DAYS,
    StrictModel,
)


class Anchor(StrictModel):
    """What a series' timing is counted from.

    In a file: ``"day1"`` (the default), ``"previous"`` (the previous
    occurrence of the same series), or ``{ event = "FU", occurrence = 4 }``.
    """

    kind: Literal["day1", "previous", "occurrence"]
    event: str | None = Field(None, pattern=CODE_PATTERN)
    occurrence: int | None = Field(None, ge=1, le=MAX_OCCURRENCES)

    @model_validator(mode="after")
    def _complete(self) -> Anchor:
        if self.kind == "occurrence" and (self.event is None or self.occurrence is None):
            raise ValueError("an anchor on an occurrence needs both event and occurrence")
        if self.kind != "occurrence" and (self.event is not None or self.occurrence is not None):
            raise ValueError(f"event and occurrence do not go with kind {self.kind!r}")
        return self

    def describe(self) -> str:
        if self.kind == "occurrence":
            return f"{self.event} #{self.occurrence}"
        return "day 1" if self.kind == "day1" else "previous occurrence"


def _anchor_from_toml(value: Any) -> Any:
    if isinstance(value, Anchor):
        return value
    if value in ("day1", "previous"):
        return {"kind": value}
    if isinstance(value, dict):
        return {"kind": "occurrence", **value}
    raise ValueError(
        f'must be "day1", "previous" or a table {{ event = "CODE", occurrence = N }}, not {value!r}'
    )


AnchorField = Annotated[Anchor, BeforeValidator(_anchor_from_toml)]
DAY1 = Anchor(kind="day1")


class Timing(StrictModel):
    """Exactly one rule: listed days, listed weeks, a repetition, or months.

    With the day-1 anchor, ``days`` are study days (there is no day 0) and
    ``weeks`` are study weeks (week N is day 7N + 1). With any other anchor,
    ``days`` count days after the anchor's date and ``weeks`` weeks after it.
    ``months`` are calendar months after the reference, clamped at month end.
    ``every`` repeats ``count`` times from ``start`` (a study day, or days
    after the anchor), ``every`` being in ``unit`` (days or weeks).
    """

    days: list[int] | None = Field(None, min_length=1, max_length=MAX_OCCURRENCES)
    weeks: list[int] | None = Field(None, min_length=1, max_length=MAX_OCCURRENCES)
    months: list[int] | None = Field(None, min_length=1, max_length=MAX_OCCURRENCES)
    every: int | None = Field(None, ge=1, le=MAX_OFFSET_DAYS)
    unit: Literal["days", "weeks"] | None = None
    count: int | None = Field(None, ge=1, le=MAX_OCCURRENCES)
    start: int | None = Field(None, ge=-MAX_OFFSET_DAYS, le=MAX_OFFSET_DAYS)

    @field_validator("days", "weeks", "months")
    @classmethod
    def _increasing(cls, values: list[int] | None) -> list[int] | None:
        for a, b in itertools.pairwise(values or ()):
            if b <= a:
                raise ValueError(
                    f"must be in increasing order without repeats ({b} comes after {a})"
                )
        return values

    @model_validator(mode="after")
    def _one_rule(self) -> Timing:
        rules = [name for name in ("days", "weeks", "months", "every") if getattr(self, name)]
        if len(rules) != 1:
            found = ", ".join(rules) if rules else "none"
            raise ValueError(f"needs exactly one of days, weeks, months or every (found: {found})")
        if self.every is None:
            extra = [n for n in ("unit", "count", "start") if getattr(self, n) is not None]
            if extra:
                names = " and ".join([", ".join(extra[:-1]), extra[-1]] if extra[:-1] else extra)
                verb = "goes" if len(extra) == 1 else "go"
                raise ValueError(f"{names} only {verb} with every")
        elif self.count is None:
            raise ValueError("every needs a count")
        return self

    @property
    def size(self) -> int:
        """How many occurrences the rule makes."""
        if self.every is not None:
            return self.count or 0
        return len(self.days or self.weeks or self.months or ())

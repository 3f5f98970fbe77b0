"""The protocol model: a study's arms and its schedule of event series.

:class:`StudyProtocol` is what a protocol file becomes once loaded
(:mod:`planner.core.protocol.loading`): its arms (:class:`Arm`) and its
series (:class:`Series`), each series with one timing rule and one anchor
(:mod:`planner.core.protocol.timing`) and the windows allowed around its
target dates. The models are frozen pydantic models; the file format is in
``docs/protocol-format.md``.
"""

from __future__ import annotations

from datetime import time as clock_time
from typing import Any

from pydantic import Field, ValidationInfo, field_validator

from planner.core.protocol.base import (
    CODE_PATTERN,
    KIND_PATTERN,
    PROTOCOL_ID_PATTERN,
    TIME_PATTERN,
    Contact,
    Setting,
    StrictModel,
)
from planner.core.protocol.timing import DAY1, AnchorField, Timing


class Window(StrictModel):
    """Days allowed before and after the target date."""

    before: int = Field(0, ge=0, le=366)
    after: int = Field(0, ge=0, le=366)


class PerKgDose(StrictModel):
    """A dose given per kilogram of body weight, e.g. 1.5×10^6 cells/kg."""

    amount: float = Field(gt=0, allow_inf_nan=False)
    unit: str = Field(min_length=1, max_length=40)


class Arm(StrictModel):
    code: str = Field(pattern=CODE_PATTERN)
    label: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    dose: str = Field("", max_length=200)
    dose_per_kg: PerKgDose | None = None


class Series(StrictModel):
    """One event series: infusions, follow-up visits, survival calls, ..."""

    code: str = Field(pattern=CODE_PATTERN)
    label: str = Field(min_length=1, max_length=100)
    kind: str = Field(pattern=KIND_PATTERN)
    contact: Contact = "in-person"
    setting: Setting = "outpatient"
    dose: str | None = Field(None, max_length=200)
    window: Window | None = None
    windows: list[Window] | None = None
    time: str | None = None
    duration_minutes: int | None = Field(None, ge=1, le=1440)
    arms: list[str] | None = Field(None, min_length=1)
    survival: bool = False
    timing: Timing
    anchor: AnchorField = DAY1

    @field_validator("time", mode="before")
    @classmethod
    def _hh_mm(cls, value: Any) -> Any:
        if value is not None and not (isinstance(value, str) and TIME_PATTERN.match(value.strip())):
            raise ValueError(f'must be a 24-hour time in quotes, as "HH:MM", not {value!r}')
        return value

    @field_validator("windows")
    @classmethod
    def _not_both(cls, value: list[Window] | None, info: ValidationInfo) -> list[Window] | None:
        if value is not None and info.data.get("window") is not None:
            raise ValueError("give either window or windows, not both")
        return value

    @field_validator("duration_minutes")
    @classmethod
    def _timed(cls, value: int | None, info: ValidationInfo) -> int | None:
        # "time" is absent from info.data when it was itself wrong: say nothing more then.
        if value is not None and "time" in info.data and info.data["time"] is None:
            raise ValueError("needs a time (duration_minutes only goes with time)")
        return value

    @property
    def local_time(self) -> clock_time | None:
        if self.time is None:
            return None
        hours, minutes = self.time.split(":")
        return clock_time(int(hours), int(minutes))

    @property
    def duration(self) -> int | None:
        """Minutes, for timed events (one hour unless the file says)."""
        if self.time is None:
            return None
        return self.duration_minutes or 60

    def window_for(self, occurrence: int) -> Window:
        if self.windows is not None:
            return self.windows[occurrence - 1]
        return self.window or Window()

    def applies_to(self, arm: str) -> bool:
        return self.arms is None or arm in self.arms


class StudyProtocol(StrictModel):
    """A whole protocol: id, title, arms and schedule."""

    id: str = Field(pattern=PROTOCOL_ID_PATTERN)
    title: str = Field(min_length=1, max_length=500)
    registry: str | None = Field(None, max_length=100)
    description: str = Field("", max_length=5000)
    arms: list[Arm] = Field(min_length=1, max_length=50)
    schedule: list[Series] = Field(min_length=1, max_length=200)

    def arm(self, code: str) -> Arm:
        for arm in self.arms:
            if arm.code == code:
                return arm
        raise KeyError(code)

    def arm_codes(self) -> list[str]:
        return [arm.code for arm in self.arms]

    def series_for(self, arm: str) -> list[Series]:
        """The series that apply to an arm, in file order."""
        return [series for series in self.schedule if series.applies_to(arm)]

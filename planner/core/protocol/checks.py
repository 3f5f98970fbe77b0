"""Checks across fields, made once a protocol has the right shape.

Pydantic checks each field; :func:`check_semantics` checks what only the whole
protocol can tell: duplicate arm codes, arms that do not exist, one window per
occurrence and offsets within twenty years here, then what depends on the arm
(:mod:`planner.core.protocol.arm_checks`). It yields ``(place, message)``
pairs, as :class:`~planner.core.errors.ProtocolError` takes them.
"""

from __future__ import annotations

from collections.abc import Iterator

from planner.core.protocol.arm_checks import Problem, check_arms, counted
from planner.core.protocol.base import MAX_MONTHS, MAX_OFFSET_DAYS
from planner.core.protocol.model import Series, StudyProtocol
from planner.core.visits import UNSCHEDULED

_NO_DAY_0 = "there is no study day 0 (day 1 is the anchor date)"


def check_semantics(protocol: StudyProtocol) -> Iterator[Problem]:
    """Checks across fields: codes, arms, anchors, cycles and sizes."""
    arm_codes = protocol.arm_codes()
    yield from _check_arm_codes(protocol)
    for i, series in enumerate(protocol.schedule):
        yield from _check_series(series, f"schedule[{i}]", arm_codes)
    yield from check_arms(protocol)


def _check_arm_codes(protocol: StudyProtocol) -> Iterator[Problem]:
    seen: dict[str, str] = {}  # by the code in lower case: the first spelling
    for i, arm_def in enumerate(protocol.arms):
        first = seen.get(arm_def.code.casefold())
        if first is None:
            seen[arm_def.code.casefold()] = arm_def.code
        elif first == arm_def.code:
            yield f"arms[{i}].code", f"duplicate arm code {arm_def.code!r}"
        else:
            why = f"arm code {arm_def.code!r} differs from {first!r} only in case"
            yield f"arms[{i}].code", why


def _check_series(series: Series, here: str, arm_codes: list[str]) -> Iterator[Problem]:
    for j, listed in enumerate(series.arms or ()):
        if listed not in arm_codes:
            yield f"{here}.arms[{j}]", f"unknown arm {listed!r} (arms: {', '.join(arm_codes)})"
        elif listed in (series.arms or ())[:j]:
            yield f"{here}.arms[{j}]", f"arm {listed!r} is listed twice"
    size = series.timing.size
    if series.windows is not None and len(series.windows) != size:
        yield (
            f"{here}.windows",
            f"has {counted(len(series.windows), 'window')} for "
            f"{counted(size, 'occurrence')}; give one window per occurrence",
        )
    yield from _check_offsets(series, here)
    if series.code.upper() == UNSCHEDULED:
        yield (
            f"{here}.code",
            f"{UNSCHEDULED!r} is reserved for unscheduled visits; choose another code",
        )
    if series.anchor.kind == "previous" and series.timing.months:
        yield (
            f"{here}.anchor",
            (
                "months cannot be counted from the previous occurrence (the dates would "
                "drift at month ends); anchor them on day1 or on a named occurrence"
            ),
        )


def _check_offsets(series: Series, here: str) -> Iterator[Problem]:
    timing = series.timing
    on_day1 = series.anchor.kind != "occurrence"
    if on_day1 and timing.days and 0 in timing.days:
        yield f"{here}.timing.days", _NO_DAY_0
    if on_day1 and timing.start == 0:
        yield f"{here}.timing.start", _NO_DAY_0
    if timing.days and max(abs(d) for d in timing.days) > MAX_OFFSET_DAYS:
        yield f"{here}.timing.days", f"days must lie within ±{MAX_OFFSET_DAYS} (20 years)"
    if timing.weeks and max(abs(w) for w in timing.weeks) * 7 > MAX_OFFSET_DAYS:
        yield f"{here}.timing.weeks", f"weeks must lie within ±{MAX_OFFSET_DAYS // 7}"
    if timing.months and (min(timing.months) < 0 or max(timing.months) > MAX_MONTHS):
        yield f"{here}.timing.months", f"months must lie within 0 to {MAX_MONTHS}"
    if timing.every is not None and timing.count is not None:
        step = timing.every * (7 if timing.unit == "weeks" else 1)
        first = timing.start if timing.start is not None else 1
        if max(abs(first), abs(first + step * (timing.count - 1))) > MAX_OFFSET_DAYS:
            yield (
                f"{here}.timing",
                (
                    f"every {timing.every} {timing.unit or 'days'} × {timing.count} reaches "
                    f"beyond {MAX_OFFSET_DAYS} days (20 years)"
                ),
            )

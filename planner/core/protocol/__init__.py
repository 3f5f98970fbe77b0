"""Study protocols: the model, the TOML file format, and its validation.

A protocol has arms and a schedule of event series. Each series has one
timing rule and one anchor (see ``docs/protocol-format.md``). Loading checks
everything before anything is used: every problem is reported with the file,
its place in the file (``schedule[3].window.after``) and what is wrong.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import tomllib
from collections.abc import Iterator
from datetime import time as clock_time
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from planner.core.errors import ProtocolError

#: The most occurrences one series may have.
MAX_OCCURRENCES = 500
#: The most occurrences one arm may have, all series together.
MAX_ARM_OCCURRENCES = 2000
#: The furthest an occurrence may lie from its reference: twenty years.
MAX_OFFSET_DAYS = 7305
MAX_MONTHS = 240

CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$"
PROTOCOL_ID_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
KIND_PATTERN = r"^[a-z][a-z-]{0,31}$"
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

Setting = Literal["inpatient", "outpatient", "remote"]
Contact = Literal["in-person", "phone"]


class _Model(BaseModel):
    # strict: a TOML file says what it means; "yes" is not true and true is not 1.
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, strict=True)


class Window(_Model):
    """Days allowed before and after the target date."""

    before: int = Field(0, ge=0, le=366)
    after: int = Field(0, ge=0, le=366)


class PerKgDose(_Model):
    """A dose given per kilogram of body weight, e.g. 1.5×10^6 cells/kg."""

    amount: float = Field(gt=0)
    unit: str = Field(min_length=1, max_length=40)


class Arm(_Model):
    code: str = Field(pattern=CODE_PATTERN)
    label: str = Field(min_length=1, max_length=200)
    description: str = Field("", max_length=2000)
    dose: str = Field("", max_length=200)
    dose_per_kg: PerKgDose | None = None


class Anchor(_Model):
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


class Timing(_Model):
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


class Series(_Model):
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
        if value is not None and not (isinstance(value, str) and _TIME.match(value.strip())):
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


class StudyProtocol(_Model):
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


# --------------------------------------------------------------------------- loading


def parse(text: str, source: str = "<protocol>") -> StudyProtocol:
    """Parse and validate a protocol from TOML text; raise ProtocolError."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ProtocolError(source, [("", f"is not valid TOML: {error}")]) from None
    return validate(data, source)


def load(path: str) -> StudyProtocol:
    """Read, parse and validate a protocol file."""
    return parse(read_text(path), path)


def read_text(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            raw = handle.read(2_000_001)
    except FileNotFoundError:
        raise ProtocolError(path, [("", "no such file")]) from None
    except IsADirectoryError:
        raise ProtocolError(path, [("", "is a folder, not a protocol file")]) from None
    except OSError as error:
        raise ProtocolError(path, [("", f"cannot be read ({error.strerror})")]) from None
    if len(raw) > 2_000_000:
        raise ProtocolError(path, [("", "is larger than 2 MB; a protocol is a small file")])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ProtocolError(
            path, [("", f"is not UTF-8 text (bad byte at offset {error.start})")]
        ) from None


def validate(data: Any, source: str = "<protocol>") -> StudyProtocol:
    try:
        protocol = StudyProtocol.model_validate(data)
    except ValidationError as error:
        described = [_describe(e) for e in error.errors()]
        raise ProtocolError(source, list(dict.fromkeys(described))) from None
    problems = list(_check_semantics(protocol))
    if problems:
        raise ProtocolError(source, problems)
    return protocol


def fingerprint(text: str) -> str:
    """A content hash of a protocol's source, to tell versions apart."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _place(loc: tuple[int | str, ...]) -> str:
    place = ""
    for part in loc:
        if isinstance(part, int):
            place += f"[{part}]"
        else:
            place += f".{part}" if place else part
    return place


def _describe(error: Any) -> tuple[str, str]:
    loc = tuple(error["loc"])
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        hint = f" (allowed: {', '.join(allowed)})" if allowed else ""
        return _place(loc), f"unknown key{hint}"
    if kind == "missing":
        return _place(loc), "is required"
    message = _plain(kind, error.get("ctx") or {})
    if message is None:
        message = str(error["msg"]).removeprefix("Value error, ")
        message = message[0].lower() + message[1:]
        message = message.replace("input should be ", "must be ", 1)
    if kind not in _NO_INPUT and "input" in error:
        shown = repr(error["input"])
        if len(shown) <= 60:
            message += f" (got {shown})"
    return _place(loc), message


#: Error types whose message already says what was given.
_NO_INPUT = frozenset({"value_error", "model_type", "dict_type", "too_long", "list_type"})

_PATTERNS = {
    CODE_PATTERN: "must be 1 to 32 letters, digits, '-' or '_', starting with a letter or digit",
    PROTOCOL_ID_PATTERN: (
        "must be 1 to 64 lower-case letters, digits, '.', '-' or '_', "
        "starting with a letter or digit"
    ),
    KIND_PATTERN: "must be one lower-case word of up to 32 letters and '-'",
}


def _plain(kind: str, ctx: dict[str, Any]) -> str | None:
    """Pydantic's error types in the words of a protocol file, or None."""
    simple = {
        "int_type": "must be a whole number",
        "int_from_float": "must be a whole number",
        "float_type": "must be a number",
        "bool_type": "must be true or false",
        "string_type": "must be text in quotes",
        "list_type": "must be a list [ ... ]",
        "model_type": "must be a table { key = value, ... }",
        "dict_type": "must be a table { key = value, ... }",
    }
    if kind in simple:
        return simple[kind]
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        words = {"ge": "at least", "gt": "more than", "le": "at most", "lt": "less than"}
        bound = next(key for key in words if key in ctx)
        limit = ctx[bound]
        if isinstance(limit, float) and limit.is_integer():
            limit = int(limit)
        return f"must be {words[bound]} {limit}"
    if kind in ("string_too_short", "too_short"):
        least = ctx.get("min_length", 1)
        if least == 1:
            return "must not be empty"
        return f"needs at least {least} {'characters' if kind == 'string_too_short' else 'items'}"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters long"
    if kind == "too_long":
        return f"has {ctx.get('actual_length')} items; at most {ctx.get('max_length')} are allowed"
    if kind == "string_pattern_mismatch":
        return _PATTERNS.get(ctx.get("pattern", ""), f"must match {ctx.get('pattern')}")
    if kind == "literal_error":
        return f"must be {ctx.get('expected')}"
    return None


def _allowed_keys(loc: tuple[int | str, ...]) -> list[str]:
    """The keys a table at ``loc`` accepts, for 'unknown key' messages."""
    model: Any = StudyProtocol
    for part in loc:
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part) if hasattr(model, "model_fields") else None
        if field is None:
            return []
        model = _unwrap(field.annotation)
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return []
    return [name for name in model.model_fields if name != "kind" or model is not Anchor]


def _unwrap(annotation: Any) -> Any:
    while get_origin(annotation) is not None:
        args = [a for a in get_args(annotation) if a is not type(None)]
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        annotation = models[0] if models else args[0]
        if isinstance(annotation, type):
            break
    return annotation


def _check_semantics(protocol: StudyProtocol) -> Iterator[tuple[str, str]]:
    """Checks across fields: codes, arms, anchors, cycles and sizes."""
    arm_codes = protocol.arm_codes()
    seen: set[str] = set()
    for i, arm_def in enumerate(protocol.arms):
        if arm_def.code in seen:
            yield f"arms[{i}].code", f"duplicate arm code {arm_def.code!r}"
        seen.add(arm_def.code)

    for i, series in enumerate(protocol.schedule):
        here = f"schedule[{i}]"
        for j, listed in enumerate(series.arms or ()):
            if listed not in arm_codes:
                yield f"{here}.arms[{j}]", f"unknown arm {listed!r} (arms: {', '.join(arm_codes)})"
        size = series.timing.size
        if series.windows is not None and len(series.windows) != size:
            yield (
                f"{here}.windows",
                f"has {_count(len(series.windows), 'window')} for "
                f"{_count(size, 'occurrence')}; give one window per occurrence",
            )
        yield from _check_offsets(series, here)
        if series.anchor.kind == "previous" and series.timing.months:
            yield (
                f"{here}.anchor",
                (
                    "months cannot be counted from the previous occurrence (the dates would "
                    "drift at month ends); anchor them on day1 or on a named occurrence"
                ),
            )

    # Checks made arm by arm; a problem found in several arms is told once, naming the
    # arms only when it does not concern them all.
    per_arm: dict[tuple[str, str], list[str]] = {}
    for arm in arm_codes:
        for place, message in _check_arm(protocol, arm):
            per_arm.setdefault((place, message), []).append(arm)
    for (place, message), arms in per_arm.items():
        if len(arms) == len(arm_codes):
            yield place, message
        else:
            names = ", ".join(repr(a) for a in arms)
            yield place, f"{message} in {'arm' if len(arms) == 1 else 'arms'} {names}"


def _check_arm(protocol: StudyProtocol, arm: str) -> Iterator[tuple[str, str]]:
    in_arm = [(i, s) for i, s in enumerate(protocol.schedule) if s.applies_to(arm)]
    by_code: dict[str, Series] = {}
    for i, series in in_arm:
        if series.code in by_code:
            yield f"schedule[{i}].code", f"duplicate series code {series.code!r}"
        by_code[series.code] = series
    total = sum(series.timing.size for _, series in in_arm)
    if total > MAX_ARM_OCCURRENCES:
        message = f"too many occurrences ({total}; at most {MAX_ARM_OCCURRENCES} per arm)"
        yield "schedule", message
    for i, series in in_arm:
        anchor = series.anchor
        if anchor.kind != "occurrence":
            continue
        target = by_code.get(anchor.event or "")
        if target is None:
            yield f"schedule[{i}].anchor.event", f"unknown series {anchor.event!r}"
        elif anchor.occurrence and anchor.occurrence > target.timing.size:
            message = f"series {anchor.event!r} has only {_count(target.timing.size, 'occurrence')}"
            yield f"schedule[{i}].anchor.occurrence", message
    cycle = _find_cycle(by_code)
    if cycle:
        index = next(i for i, s in in_arm if s.code == cycle[0])
        if len(cycle) == 1:
            message = (
                f"series {cycle[0]!r} is anchored on itself; to count each occurrence from "
                'the one before, use anchor = "previous"'
            )
        else:
            message = f"anchors form a cycle: {' -> '.join([*cycle, cycle[0]])}"
        yield f"schedule[{index}].anchor", message


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _check_offsets(series: Series, here: str) -> Iterator[tuple[str, str]]:
    timing = series.timing
    on_day1 = series.anchor.kind != "occurrence"
    if on_day1 and timing.days and 0 in timing.days:
        yield f"{here}.timing.days", "there is no study day 0 (day 1 is the anchor date)"
    if on_day1 and timing.start == 0:
        yield f"{here}.timing.start", "there is no study day 0 (day 1 is the anchor date)"
    if timing.days and max(abs(d) for d in timing.days) > MAX_OFFSET_DAYS:
        yield f"{here}.timing.days", f"days must lie within ±{MAX_OFFSET_DAYS} (20 years)"
    if timing.weeks and max(abs(w) for w in timing.weeks) * 7 > MAX_OFFSET_DAYS:
        yield f"{here}.timing.weeks", f"weeks must lie within ±{MAX_OFFSET_DAYS // 7}"
    if timing.months and (min(timing.months) < 0 or max(timing.months) > MAX_MONTHS):
        yield f"{here}.timing.months", f"months must lie within 0 to {MAX_MONTHS}"
    if timing.every is not None and timing.count is not None:
        step = timing.every * (7 if timing.unit == "weeks" else 1)
        if abs(timing.start or 1) + step * (timing.count - 1) > MAX_OFFSET_DAYS:
            yield (
                f"{here}.timing",
                (
                    f"every {timing.every} {timing.unit or 'days'} × {timing.count} reaches "
                    f"beyond {MAX_OFFSET_DAYS} days (20 years)"
                ),
            )


def _find_cycle(by_code: dict[str, Series]) -> list[str]:
    """A cycle among named anchors, as series codes in order, or []."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(code: str) -> list[str]:
        state[code] = 1
        path.append(code)
        anchor = by_code[code].anchor
        nxt = anchor.event if anchor.kind == "occurrence" else None
        if nxt is not None and nxt in by_code:
            if state.get(nxt) == 1:
                return path[path.index(nxt) :]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        state[code] = 2
        path.pop()
        return []

    for code in sorted(by_code):
        if code not in state:
            found = visit(code)
            if found:
                return found
    return []

"""What changed between two versions of a protocol, in a coordinator's words.

:func:`diff` compares two :class:`StudyProtocol` values series by series and
returns a :class:`ProtocolDiff`: arms added and removed, and each series
added, removed or changed, with every changed aspect (timing, anchor,
windows, time, duration, kind, setting, arms...) said before and after.
Series are matched by code; a code used by several series (one per arm) is
matched by code and arms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from planner.core.protocol.model import Series, StudyProtocol, Window
from planner.core.protocol.timing import Anchor, Timing

Status = Literal["added", "removed", "changed"]


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One aspect of a series, before and after, in words."""

    field: str
    before: str
    after: str

    def to_json(self) -> dict[str, str]:
        return {"field": self.field, "before": self.before, "after": self.after}


@dataclass(frozen=True, slots=True)
class SeriesDiff:
    """A series added, removed, or changed (with what changed)."""

    series: str
    label: str
    status: Status
    arms: tuple[str, ...]
    changes: tuple[FieldChange, ...] = ()
    #: The series as it is (added, changed) or was (removed), in words.
    summary: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "series": self.series,
            "label": self.label,
            "status": self.status,
            "arms": list(self.arms),
            "summary": self.summary,
            "changes": [change.to_json() for change in self.changes],
        }


@dataclass(frozen=True, slots=True)
class ProtocolDiff:
    protocol: str
    old_version: int
    new_version: int
    arms_added: tuple[str, ...]
    arms_removed: tuple[str, ...]
    series: tuple[SeriesDiff, ...]
    #: The arms of the later version (a series for only some of them says which).
    arms: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.arms_added or self.arms_removed or self.series)

    def to_json(self) -> dict[str, Any]:
        return {
            "protocol": self.protocol,
            "from": self.old_version,
            "to": self.new_version,
            "arms_added": list(self.arms_added),
            "arms_removed": list(self.arms_removed),
            "series": [entry.to_json() for entry in self.series],
        }


def _numbers(values: list[int]) -> str:
    return ", ".join(str(value) for value in values)


def timing_text(timing: Timing, anchor: Anchor) -> str:
    """``weeks 4, 8, 12, 24``, ``study days 1, 8, 15``, ``every 4 days × 4 from day 1``."""
    day_word = "study days" if anchor.kind != "occurrence" else "days"
    if timing.days:
        return f"{day_word} {_numbers(timing.days)}"
    if timing.weeks:
        return f"weeks {_numbers(timing.weeks)}"
    if timing.months:
        return f"months {_numbers(timing.months)}"
    unit = timing.unit or "days"
    return f"every {timing.every} {unit} × {timing.count} from day {timing.start or 1}"


def anchor_text(anchor: Anchor) -> str:
    if anchor.kind == "occurrence":
        return f"{anchor.event}/{anchor.occurrence}"
    return "day 1" if anchor.kind == "day1" else "the previous occurrence"


def _window(window: Window) -> str:
    if window.before == window.after:
        return f"±{window.before}"
    return f"-{window.before}/+{window.after}"


def windows_text(series: Series) -> str:
    """``±3 days`` when every occurrence has the same window, else one per occurrence."""
    texts = [_window(series.window_for(n)) for n in range(1, series.timing.size + 1)]
    if len(set(texts)) == 1:
        return f"{texts[0]} {'day' if texts[0] == '±1' else 'days'}"
    return f"{', '.join(texts)} days"


def _time(series: Series) -> str:
    return series.time or "all day"


def _duration(series: Series) -> str:
    return f"{series.duration} minutes" if series.duration else "none"


def _arms(series: Series, protocol: StudyProtocol) -> tuple[str, ...]:
    return tuple(series.arms) if series.arms is not None else tuple(protocol.arm_codes())


#: Each aspect compared, and how it is said.
_ASPECTS: tuple[tuple[str, Any], ...] = (
    ("label", lambda s: s.label),
    ("kind", lambda s: s.kind),
    ("timing", lambda s: timing_text(s.timing, s.anchor)),
    ("anchor", lambda s: anchor_text(s.anchor)),
    ("windows", windows_text),
    ("time", _time),
    ("duration", _duration),
    ("setting", lambda s: s.setting),
    ("contact", lambda s: s.contact),
    ("survival", lambda s: "yes" if s.survival else "no"),
    ("dose", lambda s: s.dose or "none"),
)


def summary(series: Series, protocol: StudyProtocol) -> str:
    """A series in one line: ``Follow-up (visit): weeks 4, 8, 12, 24 from day 1, ±3 days``."""
    text = (
        f"{series.label} ({series.kind}, {series.setting}): "
        f"{timing_text(series.timing, series.anchor)} from {anchor_text(series.anchor)}, "
        f"window {windows_text(series)}"
    )
    if series.time:
        text += f", at {series.time} for {series.duration} minutes"
    return f"{text}; arms {', '.join(_arms(series, protocol))}"


def _keyed(protocol: StudyProtocol) -> dict[tuple[str, tuple[str, ...]], Series]:
    """Series by code, and by arms too when a code is used by several series."""
    codes = [series.code for series in protocol.schedule]
    keyed = {}
    for series in protocol.schedule:
        arms = _arms(series, protocol) if codes.count(series.code) > 1 else ()
        keyed[(series.code, arms)] = series
    return keyed


def _changed(
    old: Series, new: Series, old_protocol: StudyProtocol, new_protocol: StudyProtocol
) -> list[FieldChange]:
    found = []
    for name, say in _ASPECTS:
        before, after = str(say(old)), str(say(new))
        if before != after:
            found.append(FieldChange(name, before, after))
    old_arms = ", ".join(_arms(old, old_protocol))
    new_arms = ", ".join(_arms(new, new_protocol))
    if old_arms != new_arms:
        found.append(FieldChange("arms", old_arms, new_arms))
    return found


def _entry(
    was: Series | None, now: Series | None, old: StudyProtocol, new: StudyProtocol
) -> SeriesDiff | None:
    if now is not None and was is None:
        return SeriesDiff(now.code, now.label, "added", _arms(now, new), (), summary(now, new))
    if was is not None and now is None:
        return SeriesDiff(was.code, was.label, "removed", _arms(was, old), (), summary(was, old))
    if was is None or now is None:
        return None
    changes = tuple(_changed(was, now, old, new))
    if not changes:
        return None
    return SeriesDiff(now.code, now.label, "changed", _arms(now, new), changes, summary(now, new))


def diff(
    old: StudyProtocol, new: StudyProtocol, old_version: int = 0, new_version: int = 0
) -> ProtocolDiff:
    """What changed from ``old`` to ``new``: series in code order."""
    before, after = _keyed(old), _keyed(new)
    entries = [
        _entry(before.get(key), after.get(key), old, new)
        for key in sorted(set(before) | set(after))
    ]
    old_arms, new_arms = old.arm_codes(), new.arm_codes()
    return ProtocolDiff(
        new.id,
        old_version,
        new_version,
        tuple(code for code in new_arms if code not in old_arms),
        tuple(code for code in old_arms if code not in new_arms),
        tuple(entry for entry in entries if entry is not None),
        tuple(new_arms),
    )

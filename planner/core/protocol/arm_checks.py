"""Checks made arm by arm: series codes, arm size, anchors and their cycles.

Which series exist depends on the arm (a series may list the arms it applies
to), so duplicate series codes, the number of occurrences of an arm, anchors
that must name an occurrence of the same arm and cycles among anchors are
checked for each arm; :func:`check_arms` tells a problem found in several arms
once.
"""

from __future__ import annotations

from collections.abc import Iterator

from planner.core.protocol.base import MAX_ARM_OCCURRENCES
from planner.core.protocol.model import Series, StudyProtocol

#: ``(place, message)``, as :class:`~planner.core.errors.ProtocolError` takes them.
Problem = tuple[str, str]


def counted(number: int, noun: str) -> str:
    """``1 window``, ``3 windows``."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def check_arms(protocol: StudyProtocol) -> Iterator[Problem]:
    """Checks made arm by arm; a problem found in several arms is told once,
    naming the arms only when it does not concern them all."""
    arm_codes = protocol.arm_codes()
    per_arm: dict[Problem, list[str]] = {}
    for arm in arm_codes:
        for problem in _check_arm(protocol, arm):
            per_arm.setdefault(problem, []).append(arm)
    for (place, message), arms in per_arm.items():
        if len(arms) == len(arm_codes):
            yield place, message
        else:
            names = ", ".join(repr(a) for a in arms)
            yield place, f"{message} in {'arm' if len(arms) == 1 else 'arms'} {names}"


def _check_arm(protocol: StudyProtocol, arm: str) -> Iterator[Problem]:
    in_arm = [(i, s) for i, s in enumerate(protocol.schedule) if s.applies_to(arm)]
    by_code: dict[str, Series] = {}
    folded: dict[str, str] = {}  # the first spelling of each code in lower case
    for i, series in in_arm:
        first = folded.setdefault(series.code.casefold(), series.code)
        if series.code in by_code:
            yield f"schedule[{i}].code", f"duplicate series code {series.code!r}"
        elif first != series.code:
            why = f"series code {series.code!r} differs from {first!r} only in case"
            yield f"schedule[{i}].code", why
        by_code[series.code] = series
    total = sum(series.timing.size for _, series in in_arm)
    if total > MAX_ARM_OCCURRENCES:
        message = f"too many occurrences ({total}; at most {MAX_ARM_OCCURRENCES} per arm)"
        yield "schedule", message
    yield from _check_anchors(in_arm, by_code)
    yield from _check_cycle(in_arm, by_code)


def _check_anchors(
    in_arm: list[tuple[int, Series]], by_code: dict[str, Series]
) -> Iterator[Problem]:
    """Every anchor on an occurrence names a series of the arm and one of its occurrences."""
    for i, series in in_arm:
        anchor = series.anchor
        if anchor.kind != "occurrence":
            continue
        target = by_code.get(anchor.event or "")
        if target is None:
            yield f"schedule[{i}].anchor.event", f"unknown series {anchor.event!r}"
        elif anchor.occurrence and anchor.occurrence > target.timing.size:
            size = counted(target.timing.size, "occurrence")
            message = f"series {anchor.event!r} has only {size}"
            yield f"schedule[{i}].anchor.occurrence", message


def _check_cycle(in_arm: list[tuple[int, Series]], by_code: dict[str, Series]) -> Iterator[Problem]:
    cycle = _find_cycle(by_code)
    if not cycle:
        return
    index = next(i for i, s in in_arm if s.code == cycle[0])
    if len(cycle) == 1:
        message = (
            f"series {cycle[0]!r} is anchored on itself; to count each occurrence from "
            'the one before, use anchor = "previous"'
        )
    else:
        message = f"anchors form a cycle: {' -> '.join([*cycle, cycle[0]])}"
    yield f"schedule[{index}].anchor", message


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

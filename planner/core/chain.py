"""The audit trail's hash chain, pure: how a row's hash is computed, and
where a sequence of rows stops being the chain it claims to be.

Each row's hash is the SHA-256 of its own values and the previous row's
hash, so editing, deleting, inserting or reordering any row changes every
hash after it. Someone who can rewrite the whole table can also recompute
every hash: only a head hash kept elsewhere (``planner audit head``) shows that.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

#: The hash before the first row.
GENESIS = "0" * 64

#: The values a row's hash covers, in this order, then the previous hash.
FIELDS = ("id", "at", "actor", "action", "participant", "visit", "before", "after", "reason")


def row_hash(previous: str, row: Mapping[str, Any]) -> str:
    """The hash of one audit row, chained to the previous row's hash."""
    values: list[Any] = [_plain(row[name]) for name in FIELDS]
    values.append(previous)
    text = json.dumps(values, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    return value


@dataclass(frozen=True, slots=True)
class Walk:
    """A walk along the chain: rows read, the last id and hash, the first break."""

    rows: int = 0
    last_id: int = 0
    head: str = GENESIS
    #: The id of the first row whose hash is wrong, and why; None when intact.
    broken: int | None = None
    why: str | None = None


def walk(rows: Iterable[Mapping[str, Any]]) -> Walk:
    """Check rows given in id order; stop at the first whose hash is wrong."""
    count, last_id, previous = 0, 0, GENESIS
    for row in rows:
        count += 1
        if row["hash"] != row_hash(previous, row):
            why = "its values, or the rows before it, changed since it was written"
            return Walk(count, last_id, previous, row["id"], why)
        last_id, previous = row["id"], row["hash"]
    return Walk(count, last_id, previous)


def revision_mismatches(
    revisions: Iterable[tuple[str, int]], audited: Mapping[str, int]
) -> Iterable[tuple[str, int, int]]:
    """Visits whose revision is not the number of audited changes to them:
    (visit, revision, audited changes)."""
    for visit, revision in revisions:
        changes = audited.get(visit, 0)
        if changes != revision:
            yield visit, revision, changes


#: The visit columns an audit row's ``after`` may set (``reason`` is the row's
#: own column; ``updated_at`` is not audited).
AUDITED_COLUMNS = (
    "ideal", "target", "window_start", "window_end", "time", "duration_minutes", "kind",
    "status", "actual", "pinned", "deviation", "revision", "label",
)  # fmt: skip


def audited_state(afters: Iterable[str]) -> dict[str, Any]:
    """What a visit's audit rows say it holds now: each column's value in the
    last row that set it (rows given in id order, ``after`` as stored JSON)."""
    state: dict[str, Any] = {}
    for after in afters:
        values = json.loads(after)
        if isinstance(values, dict):
            state.update((k, v) for k, v in values.items() if k in AUDITED_COLUMNS)
    return state


def state_mismatch(current: Mapping[str, Any], audited: Mapping[str, Any]) -> str | None:
    """The first column whose stored value is not the one its last audit row
    set, as ``"target is 2026-05-02 but the audit trail says 2026-05-01"``."""
    for column, said in audited.items():
        value = current[column]
        if isinstance(value, date):  # audit rows hold dates as text (``str``)
            value = str(value)
        if value != said:
            return f"{column} is {_shown(value)} but the audit trail says {_shown(said)}"
    return None


def source_digest(source: str) -> str:
    """``sha256:<hex>`` of a stored protocol source, as enrolment and
    ``protocol-add`` rows record it (``source_sha256``)."""
    return "sha256:" + hashlib.sha256(source.encode("utf-8")).hexdigest()


#: Audit actions that set a visit's stored ``reason`` to the row's own reason,
#: and those that clear it; every other action leaves it. A visit starts with
#: none (planned at enrolment, or added by an amendment); an unscheduled one
#: with its ``add`` row's.
REASON_SET = frozenset({"add", "complete", "move", "miss", "cancel", "amend-cancel"})
REASON_CLEARED = frozenset({"undo", "reinstate"})


def audited_reason(rows: Iterable[tuple[str, str | None]]) -> str | None:
    """The reason a visit holds by its audit rows' (action, reason), in id order."""
    reason = None
    for action, said in rows:
        if action in REASON_SET:
            reason = said
        elif action in REASON_CLEARED:
            reason = None
    return reason


def _shown(value: Any) -> str:
    return "none" if value is None else json.dumps(value, ensure_ascii=False).strip('"')


#: The columns of a visit planned at enrolment that the enrolment's audit row
#: vouches for, through :func:`plan_digest` (``reason`` and ``updated_at`` are
#: not audited; a planned visit has no label).
PLANNED_COLUMNS = (
    "event", "occurrence", "kind", "ideal", "target", "window_start", "window_end", "time",
    "duration_minutes", "status", "pinned", "deviation", "revision",
)  # fmt: skip


#: How :func:`plan_digest` writes its value (``"1:<sha-256 hex>"``): a digest
#: of another format is not compared (a later planner may change the format).
PLAN_FORMAT = "1:"


def plan_digest(visits: Iterable[Mapping[str, Any]]) -> str:
    """SHA-256 of the visits an enrolment planned (their :data:`PLANNED_COLUMNS`,
    in series and occurrence order), after :data:`PLAN_FORMAT`: kept in the
    enrolment's audit row, so a visit never changed since enrolment is covered
    by the trail too."""
    return rows_digest([visit[c] for c in PLANNED_COLUMNS] for visit in visits)


def rows_digest(rows: Iterable[Sequence[Any]]) -> str:
    """:func:`plan_digest` of visits given as their :data:`PLANNED_COLUMNS` values."""
    ordered = sorted(rows, key=_series_order)
    # One line a visit, values by ``str`` (dates ISO, as the audit trail's JSON
    # holds them: a date and its text give the same line) between unit
    # separators: no planned value holds one.
    text = "\n".join("\x1f".join(map(str, row)) for row in ordered)
    return PLAN_FORMAT + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _series_order(row: Sequence[Any]) -> tuple[Any, Any]:
    return row[0], row[1]


_PLANNED_AT = {column: index for index, column in enumerate(PLANNED_COLUMNS)}


def as_enrolled(current: Sequence[Any], befores: Iterable[str]) -> Sequence[Any]:
    """A visit's :data:`PLANNED_COLUMNS` values at enrolment: its current ones,
    each changed column put back to the ``before`` of the first audit row that
    changed it (rows in id order, ``before`` as stored JSON)."""
    values: list[Any] | None = None
    restored: set[str] = set()
    for before in befores:
        earlier = json.loads(before)
        if not isinstance(earlier, dict):
            continue
        for column, value in earlier.items():
            at = _PLANNED_AT.get(column)
            if at is not None and column not in restored:
                values = values or list(current)
                values[at] = value
                restored.add(column)
    return current if values is None else values

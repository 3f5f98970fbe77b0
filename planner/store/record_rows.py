"""Rows of the visit query made into :class:`VisitRecord` objects.

Neither SQLAlchemy nor the protocol models are needed here: what a record
takes from its protocol comes from the facts stored with each protocol
version (:mod:`planner.core.facts`), so the command line's reading path
(:mod:`planner.store.lite`) and the application's (:mod:`planner.store.records`)
make records with the same code.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import fields
from typing import Any, Protocol

from planner.core.errors import DatabaseDamaged
from planner.core.facts import Facts, any_series, dose_text, series_facts
from planner.core.visits import UNSCHEDULED, VisitRecord, visit_uid

#: Series facts kept by a :class:`RecordMaker` (then it starts again).
FIXED_KEPT = 8192

#: The columns a visit row holds, in order (``planner.store.records.visit_select``).
ROW_COLUMNS = (
    "event", "occurrence", "ideal", "target", "window_start", "window_end", "time",
    "duration_minutes", "status", "actual", "deviation", "revision", "updated_at",
    "participant", "arm", "day1", "weight_kg", "protocol_version_id", "site", "timezone",
    "kind", "label",
)  # fmt: skip


class VersionSource(Protocol):
    """Where stored protocol versions are read (one database connection)."""

    def version(self, version_id: int) -> tuple[str, int, str]:
        """Protocol id, version number and facts JSON of a stored version."""

    def versions_of(self, protocol_id: str) -> list[int]:
        """The row ids of a protocol's stored versions, newest first."""


class RecordMaker:
    """Makes records from visit rows, keeping what never changes: each stored
    version's facts, and what a series contributes to a record."""

    def __init__(self) -> None:
        self._facts: dict[int, tuple[str, int, Facts]] = {}
        #: What a series contributes to a record, by (version, arm, event,
        #: weight) (at most :data:`FIXED_KEPT`).
        self.fixed: dict[tuple[int, str, str, float | None], tuple[Any, ...]] = {}

    def facts(self, source: VersionSource, version_id: int) -> tuple[str, int, Facts]:
        found = self._facts.get(version_id)
        if found is None:
            protocol_id, version, text = source.version(version_id)
            found = self._facts[version_id] = (
                protocol_id,
                version,
                _read(text, protocol_id, version),
            )
        return found

    def make(self, source: VersionSource, rows: Iterable[Any]) -> Iterator[VisitRecord]:
        """Visit rows as records (arguments in field order: a hot loop).

        Per row there is the visit id (formatted as :meth:`VisitId.to_string`
        does), the study day (as :func:`~planner.core.schedule.study_day`
        counts it) and the UID; the rest is worked out once per series.
        """
        known = self.fixed
        uid, build = visit_uid, _build
        for row in rows:
            (event, occurrence, ideal, target, w_start, w_end, time, duration, status, actual,
             deviation, revision, updated, participant, arm, day1, weight, version_id, site,
             zone, kind, _label) = row  # fmt: skip
            fixed = known.get((version_id, arm, event, weight))
            if fixed is None or event == UNSCHEDULED:
                fixed = self._fixed(source, row)
            protocol_id, version, label, kind, contact, setting, count, dose = fixed
            day = (target - day1).days
            yield build(
                f"{participant}/{event}/{occurrence}", participant, site, protocol_id, version,
                arm, event, label, kind, contact, setting, occurrence, count,
                day + 1 if day >= 0 else day, ideal, target, w_start, w_end, time, duration,
                zone, status, actual, bool(deviation), revision, updated, dose,
                uid(protocol_id, participant, event, occurrence),
            )  # fmt: skip

    def _fixed(self, source: VersionSource, row: Any) -> tuple[Any, ...]:
        """What a row's series contributes to its record (kept, except for
        unscheduled visits, whose label and kind are their own)."""
        event, occurrence, arm, weight, version_id = row[0], row[1], row[14], row[16], row[17]
        protocol_id, version, facts = self.facts(source, version_id)
        if event == UNSCHEDULED:
            return _unscheduled(protocol_id, version, row[21], row[20], occurrence)
        series = series_facts(facts, arm, event) or self._dropped(source, protocol_id, event)
        if len(self.fixed) >= FIXED_KEPT:
            self.fixed.clear()
        found = self.fixed[(version_id, arm, event, weight)] = (
            protocol_id,
            version,
            series["label"],
            series["kind"],
            series["contact"],
            series["setting"],
            series["count"],
            dose_text(facts, arm, series, weight),
        )
        return found

    def _dropped(self, source: VersionSource, protocol_id: str, event: str) -> dict[str, Any]:
        """A series an amendment removed (its visits stay as history): from the
        newest version of the protocol that has it."""
        for version_id in source.versions_of(protocol_id):
            found = any_series(self.facts(source, version_id)[2], event)
            if found is not None:
                return found
        raise LookupError(f"series {event!r} is in no version of {protocol_id}")


_SERIES = {"code", "label", "kind", "contact", "setting", "count", "dose", "arms"}
_ARM = {"dose", "per_kg"}


def _read(text: str, protocol_id: str, version: int) -> Facts:
    """Stored facts, or DatabaseDamaged when they are not facts at all
    (``planner db check`` names the version)."""
    try:
        facts = json.loads(text)
    except (TypeError, ValueError):
        facts = None
    if not (
        isinstance(facts, dict)
        and isinstance(facts.get("series"), list)
        and isinstance(facts.get("arms"), dict)
        and all(isinstance(one, dict) and one.keys() >= _SERIES for one in facts["series"])
        and all(isinstance(one, dict) and one.keys() >= _ARM for one in facts["arms"].values())
    ):
        raise DatabaseDamaged(value=f"the facts of protocol version {protocol_id} v{version}")
    return facts


def _unscheduled(
    protocol: str, version: int, label: str | None, kind: str, occurrence: int
) -> tuple[Any, ...]:
    """What a visit added outside the protocol shows: its own label and kind."""
    contact = "phone" if kind == "call" else "in-person"
    return (protocol, version, label or "Unscheduled visit", kind, contact, "outpatient",
            occurrence, "")  # fmt: skip


#: The fields of a record in the order :meth:`RecordMaker.make` gives their values.
_ORDER = (
    "visit_id", "participant", "site", "protocol", "protocol_version", "arm", "event", "label",
    "kind", "contact", "setting", "occurrence", "count", "study_day", "ideal", "target",
    "window_start", "window_end", "time", "duration_minutes", "timezone", "status", "actual",
    "deviation", "revision", "updated", "dose", "uid",
)  # fmt: skip
if tuple(field.name for field in fields(VisitRecord)) != _ORDER:
    raise ImportError("VisitRecord's fields changed: update planner.store.record_rows._ORDER")


def _builder() -> Callable[..., VisitRecord]:
    """A function of a record's field values (in :data:`_ORDER`) that makes
    the record by setting its slots one by one, as the dataclass's generated
    ``__init__`` does (and generated the same way), but through each slot's
    own setter: a frozen dataclass's ``__init__`` goes through
    ``object.__setattr__`` for each of 28 fields, about three times as slow,
    and records are made by the hundred thousand. The records are the same
    (equal, same hash)."""
    lines = [f"def build({', '.join(_ORDER)}):", "    record = new(VisitRecord)"]
    lines += [f"    set_{name}(record, {name})" for name in _ORDER]
    lines.append("    return record")
    scope: dict[str, Any] = {"new": object.__new__, "VisitRecord": VisitRecord}
    scope.update({f"set_{name}": getattr(VisitRecord, name).__set__ for name in _ORDER})
    exec("\n".join(lines), scope)
    build: Callable[..., VisitRecord] = scope["build"]
    return build


_build = _builder()

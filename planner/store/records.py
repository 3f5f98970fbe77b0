"""Reading visits out of the database as :class:`VisitRecord` objects."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import fields
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.engine import Connection

from planner.core.protocol import Series, StudyProtocol, parse
from planner.core.visits import UNSCHEDULED, VisitRecord, visit_uid
from planner.store.models import Participant, ProtocolVersion, Site, Visit

AnySelect = Select[*tuple[Any, ...]]

_COLUMNS = (
    Visit.event,
    Visit.occurrence,
    Visit.ideal,
    Visit.target,
    Visit.window_start,
    Visit.window_end,
    Visit.time,
    Visit.duration_minutes,
    Visit.status,
    Visit.actual,
    Visit.deviation,
    Visit.revision,
    Visit.updated_at,
    Participant.code,
    Participant.arm,
    Participant.day1,
    Participant.weight_kg,
    Participant.protocol_version_id,
    Site.code,
    Site.timezone,
    Visit.kind,
    Visit.label,
)


def visit_select() -> AnySelect:
    """Visits joined with what a record needs, in the order people read them."""
    return _VISIT_SELECT


#: The order people read visits in (:func:`planner.core.visits.visit_order`).
VISIT_ORDER = (
    Visit.target,
    func.coalesce(Visit.time, ""),
    Participant.code,
    Visit.event,
    Visit.occurrence,
)

_VISIT_SELECT: AnySelect = (
    select(*_COLUMNS)
    .join(Participant, Participant.id == Visit.participant_id)
    .join(Site, Site.id == Visit.site_id)
    .order_by(*VISIT_ORDER)
)


@lru_cache(maxsize=64)
def parse_snapshot(source: str, name: str) -> StudyProtocol:
    """A stored protocol version, parsed once per process (versions never change)."""
    return parse(source, name)


#: Series facts kept by a :class:`ProtocolCache` (then it starts again).
FIXED_KEPT = 8192
#: Visit records kept by a :class:`ProtocolCache` (about 0.7 KB each; then
#: it starts again): see :mod:`planner.store.repository.keyed`.
RECORDS_KEPT = 100_000


class ProtocolCache:
    """What a process keeps of things that never change once stored: protocol
    versions parsed once, by row id; sites' ids and zones, by code; visit
    records, by key (a changed visit has a new key).

    So one cache serves every transaction of a :class:`planner.app.Planner`.
    (``planner db restore`` under a running server: restart the server.)
    """

    def __init__(self) -> None:
        self._versions: dict[int, tuple[StudyProtocol, int]] = {}
        self._series: dict[tuple[int, str, str], Series] = {}
        #: What a series contributes to a record, by (version, arm, event,
        #: weight): :func:`to_records` fills it (at most :data:`FIXED_KEPT`).
        self.fixed: dict[tuple[int, str, str, float | None], tuple[Any, ...]] = {}
        #: Sites found, by code: ``(row id, time zone)``, which never change.
        self.sites: dict[str, tuple[int, str]] = {}
        #: Records made, by visit key (:mod:`planner.store.repository.keyed`).
        self.records: dict[tuple[Any, ...], VisitRecord] = {}

    def keep(self, made: list[tuple[tuple[Any, ...], VisitRecord]]) -> None:
        """Keep records by key; start again when there would be too many."""
        if len(made) > RECORDS_KEPT:
            return
        if len(self.records) + len(made) > RECORDS_KEPT:
            self.records = {}  # a new dict: a reader holding the old one is unharmed
        self.records.update(made)

    def get(self, connection: Connection, version_id: int) -> tuple[StudyProtocol, int]:
        found = self._versions.get(version_id)
        if found is None:
            row = connection.execute(
                select(
                    ProtocolVersion.protocol_id, ProtocolVersion.version, ProtocolVersion.source
                ).where(ProtocolVersion.id == version_id)
            ).first()
            if row is None:
                raise LookupError(f"protocol version {version_id} is missing")
            protocol_id, version, source = row
            found = (parse_snapshot(source, f"{protocol_id} v{version}"), version)
            self._versions[version_id] = found
        return found

    def series(self, connection: Connection, version_id: int, arm: str, event: str) -> Series:
        key = (version_id, arm, event)
        found = self._series.get(key)
        if found is None:
            protocol, _ = self.get(connection, version_id)
            for series in protocol.series_for(arm):
                self._series[(version_id, arm, series.code)] = series
            found = self._series.get(key) or self._dropped(connection, protocol.id, event)
            self._series[key] = found
        return found

    def _dropped(self, connection: Connection, protocol_id: str, event: str) -> Series:
        """A series an amendment removed (its visits stay as history): from the
        newest earlier version of the protocol that has it."""
        ids = connection.scalars(
            select(ProtocolVersion.id)
            .where(ProtocolVersion.protocol_id == protocol_id)
            .order_by(ProtocolVersion.version.desc())
        )
        for version_id in list(ids):
            protocol, _ = self.get(connection, version_id)
            for series in protocol.schedule:
                if series.code == event:
                    return series
        raise LookupError(f"series {event!r} is in no version of {protocol_id}")


def dose_text(protocol: StudyProtocol, arm: str, series: Series, weight_kg: float | None) -> str:
    """What the nurse gives: the series' dose, or the arm's dose for infusions.

    A per-kg dose with a known weight is worked out: ``1.5×10^6 cells/kg ×
    62 kg = 9.3×10^7 cells``.
    """
    if series.dose is not None:
        return series.dose
    if series.kind != "infusion":
        return ""
    arm_def = protocol.arm(arm)
    text = arm_def.dose
    per_kg = arm_def.dose_per_kg
    if per_kg is not None and weight_kg is not None:
        total = per_kg.amount * weight_kg
        text = f"{text} × {weight_kg:g} kg = {scientific(total)} {per_kg.unit}".strip()
    return text


def scientific(value: float) -> str:
    """9.3e7 as ``9.3×10^7``."""
    mantissa, exponent = f"{value:.2e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}×10^{int(exponent)}"


#: The fields of a record in the order :func:`to_records` gives their values.
_ORDER = (
    "visit_id", "participant", "site", "protocol", "protocol_version", "arm", "event", "label",
    "kind", "contact", "setting", "occurrence", "count", "study_day", "ideal", "target",
    "window_start", "window_end", "time", "duration_minutes", "timezone", "status", "actual",
    "deviation", "revision", "updated", "dose", "uid",
)  # fmt: skip
if tuple(field.name for field in fields(VisitRecord)) != _ORDER:
    raise ImportError("VisitRecord's fields changed: update planner.store.records._ORDER")


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


def read_records(
    connection: Connection, query: AnySelect, cache: ProtocolCache
) -> Iterator[VisitRecord]:
    """Run a :func:`visit_select` query; yield its rows as records, fetched
    ``yield_per`` rows at a time when the query streams, else all at once."""
    result = connection.execute(query)
    if query.get_execution_options().get("yield_per"):
        return to_records(connection, (row for part in result.partitions() for row in part), cache)
    return to_records(connection, result.fetchall(), cache)


def to_records(
    connection: Connection, rows: Iterable[Any], cache: ProtocolCache
) -> Iterator[VisitRecord]:
    """Rows of :func:`visit_select` as records (arguments in field order: a hot loop).

    What a series contributes is worked out once per (version, arm, event,
    weight) and kept in ``cache``; per row there is the visit id (formatted as
    :meth:`VisitId.to_string` does), the study day (as
    :func:`~planner.core.schedule.study_day` counts it) and the UID.
    """
    known = cache.fixed
    uid, build = visit_uid, _build
    for row in rows:
        (event, occurrence, ideal, target, w_start, w_end, time, duration, status, actual,
         deviation, revision, updated, participant, arm, day1, weight, version_id, site,
         zone, kind, _label) = row  # fmt: skip
        fixed = known.get((version_id, arm, event, weight))
        if fixed is None or event == UNSCHEDULED:
            fixed = _fixed(connection, cache, known, row)
        protocol_id, version, label, kind, contact, setting, count, dose = fixed
        day = (target - day1).days
        yield build(
            f"{participant}/{event}/{occurrence}", participant, site, protocol_id, version, arm,
            event, label, kind, contact, setting, occurrence, count,
            day + 1 if day >= 0 else day, ideal, target, w_start, w_end, time, duration, zone,
            status, actual, bool(deviation), revision, updated, dose,
            uid(protocol_id, participant, event, occurrence),
        )  # fmt: skip


def _fixed(
    connection: Connection,
    cache: ProtocolCache,
    known: dict[tuple[int, str, str, float | None], tuple[Any, ...]],
    row: Any,
) -> tuple[Any, ...]:
    """What a row's series contributes to its record (remembered in ``known``,
    except for unscheduled visits, whose label and kind are their own)."""
    event, occurrence, arm, weight, version_id = row[0], row[1], row[14], row[16], row[17]
    protocol, version = cache.get(connection, version_id)
    if event == UNSCHEDULED:
        return _unscheduled(protocol.id, version, row[21], row[20], occurrence)
    series = cache.series(connection, version_id, arm, event)
    if len(known) >= FIXED_KEPT:
        known.clear()
    found = known[(version_id, arm, event, weight)] = (
        protocol.id,
        version,
        series.label,
        series.kind,
        series.contact,
        series.setting,
        series.timing.size,
        dose_text(protocol, arm, series, weight),
    )
    return found


def _unscheduled(
    protocol: str, version: int, label: str | None, kind: str, occurrence: int
) -> tuple[Any, ...]:
    """What a visit added outside the protocol shows: its own label and kind."""
    contact = "phone" if kind == "call" else "in-person"
    return (protocol, version, label or "Unscheduled visit", kind, contact, "outpatient",
            occurrence, "")  # fmt: skip

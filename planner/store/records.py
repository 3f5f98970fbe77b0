"""Reading visits out of the database as :class:`VisitRecord` objects."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.engine import Connection

from planner.core.errors import DatabaseDamaged, ProtocolError
from planner.core.protocol import StudyProtocol, parse
from planner.core.visits import VisitRecord
from planner.store.models import Participant, ProtocolVersion, Site, Visit
from planner.store.record_rows import ROW_COLUMNS, RecordMaker

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


if len(_COLUMNS) != len(ROW_COLUMNS):
    raise ImportError("the visit query's columns changed: update planner.store.record_rows")


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
    """A stored protocol version, parsed once per process (versions never change).

    It was checked when stored: one that no longer parses was changed in the
    file since (a flipped bit, an edit), which is damage, not a protocol error
    for the person at the keyboard (``planner db check`` names the version)."""
    try:
        return parse(source, name)
    except ProtocolError:
        raise DatabaseDamaged(value=f"the source of protocol version {name}") from None


#: Visit records kept by a :class:`ProtocolCache` (about 0.7 KB each; then
#: it starts again): see :mod:`planner.store.repository.keyed`.
RECORDS_KEPT = 100_000


class ProtocolCache(RecordMaker):
    """What a process keeps of things that never change once stored: protocol
    versions parsed once, and their facts, by row id; sites' ids and zones, by
    code; visit records, by key (a changed visit has a new key).

    So one cache serves every transaction of a :class:`planner.app.Planner`.
    (``planner db restore`` under a running server: restart the server.)
    """

    def __init__(self) -> None:
        super().__init__()
        self._versions: dict[int, tuple[StudyProtocol, int]] = {}
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
        """A stored version's protocol (parsed: for re-planning) and number."""
        found = self._versions.get(version_id)
        if found is None:
            protocol_id, version, source = _version(connection, version_id, "source")
            found = (parse_snapshot(source, f"{protocol_id} v{version}"), version)
            self._versions[version_id] = found
        return found


def _version(connection: Connection, version_id: int, text: str) -> tuple[str, int, str]:
    """Protocol id, version number and one text column (``source`` or
    ``facts``) of a stored version."""
    column = ProtocolVersion.source if text == "source" else ProtocolVersion.facts
    row = connection.execute(
        select(ProtocolVersion.protocol_id, ProtocolVersion.version, column).where(
            ProtocolVersion.id == version_id
        )
    ).first()
    if row is None:
        raise LookupError(f"protocol version {version_id} is missing")
    return row[0], row[1], row[2]


class _Versions:
    """Stored versions' facts, read on one connection."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def version(self, version_id: int) -> tuple[str, int, str]:
        return _version(self.connection, version_id, "facts")

    def versions_of(self, protocol_id: str) -> list[int]:
        return list(
            self.connection.scalars(
                select(ProtocolVersion.id)
                .where(ProtocolVersion.protocol_id == protocol_id)
                .order_by(ProtocolVersion.version.desc())
            )
        )


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
    """Rows of :func:`visit_select` as records (:meth:`RecordMaker.make`)."""
    return cache.make(_Versions(connection), rows)

"""Visit records kept between queries, by visit key.

A long-running process (the server) asks the same questions again and
again, and most visits in the answers have not changed since the last time.
Making a record is most of a query's cost, so records are kept in the
:class:`~planner.store.records.ProtocolCache` of the process, by each
visit's key: its row id, revision and last change, and its participant's
code, arm, day 1, weight and protocol version. A visit's columns only change
with its revision and last change (every change goes through
``Context.change`` or the batched apply, which raise both), sites never
change, and neither do stored protocol versions: so equal keys make equal
records.

:func:`cached` runs a :func:`~planner.store.records.visit_select` query in
one of two ways. With nothing kept yet (a command-line run), it reads the
rows with their keys in one query. Otherwise it reads only the keys (same
joins, conditions and order), then in full only the visits whose key it has
not seen, 500 at a time, or all again in one query when most are new.
Only records read in a reading transaction are kept: a writing one may roll
back, and with a stopped clock (tests) a later change could repeat its keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, type_coerce
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from planner.core.visits import VisitRecord
from planner.store.models import Participant, Visit
from planner.store.records import AnySelect, ProtocolCache, to_records, visit_select

#: A visit's key (see the module's docstring); raw values: only compared.
Key = tuple[Any, ...]

KEY_COLUMNS = (
    Visit.id,
    Visit.revision,
    type_coerce(Visit.updated_at, String),
    Participant.code,
    Participant.arm,
    type_coerce(Participant.day1, String),
    Participant.weight_kg,
    Participant.protocol_version_id,
)
_WIDTH = len(KEY_COLUMNS)
_BATCH = 500
_BY_ID = visit_select().order_by(None).add_columns(*KEY_COLUMNS)


@dataclass(frozen=True, slots=True)
class Keyed:
    """A ``visit_select()`` query in the two forms :func:`cached` runs: its
    rows with their keys after them, and its keys only (same joins,
    conditions and order). Made once for a prepared query."""

    rows: AnySelect
    keys: AnySelect

    @classmethod
    def of(cls, query: AnySelect) -> Keyed:
        keys = query.with_only_columns(*KEY_COLUMNS, maintain_column_froms=True)
        return cls(query.add_columns(*KEY_COLUMNS), keys)

    def where(self, *conditions: Any) -> Keyed:
        return Keyed(self.rows.where(*conditions), self.keys.where(*conditions))


def cached(
    session: Session, cache: ProtocolCache, query: Keyed, params: dict[str, Any]
) -> list[tuple[Key, VisitRecord]]:
    """The records of ``query`` with their keys, in its order."""
    connection = session.connection()  # once: each call costs the session some work
    if not cache.records:
        return _full(connection, cache, query.rows, params)
    keys = [tuple(row) for row in connection.execute(query.keys, params).fetchall()]
    kept = cache.records  # never emptied: replaced by a new dict when full
    missing = [key[0] for key in keys if key not in kept]
    if len(missing) > _BATCH and len(missing) * 4 > len(keys):
        return _full(connection, cache, query.rows, params)
    made = _by_ids(connection, cache, missing) if missing else {}
    answer: list[tuple[Key, VisitRecord]] = []
    for key in keys:
        now = made.get(key[0])  # read again: as it is now, should it have just changed
        if now is not None:
            answer.append(now)
        elif key in kept:
            answer.append((key, kept[key]))
    return answer


def _full(
    connection: Connection, cache: ProtocolCache, rows_query: AnySelect, params: dict[str, Any]
) -> list[tuple[Key, VisitRecord]]:
    rows = connection.execute(rows_query, params).fetchall()
    keys = [tuple(row[-_WIDTH:]) for row in rows]
    records = to_records(connection, [row[:-_WIDTH] for row in rows], cache)
    made = list(zip(keys, records, strict=True))
    if connection.get_execution_options().get("readonly", False):
        cache.keep(made)  # committed: a writing transaction may yet roll back
    return made


def _by_ids(
    connection: Connection, cache: ProtocolCache, ids: list[int]
) -> dict[int, tuple[Key, VisitRecord]]:
    """Records of visits by row id, with their keys as read now."""
    found: dict[int, tuple[Key, VisitRecord]] = {}
    for start in range(0, len(ids), _BATCH):
        part = _BY_ID.where(Visit.id.in_(ids[start : start + _BATCH]))
        for key, record in _full(connection, cache, part, {}):
            found[key[0]] = (key, record)
    return found

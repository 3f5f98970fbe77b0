"""Many rows in one statement, without SQLAlchemy's work for every row.

An ``INSERT`` (or ``UPDATE``) of a list of dictionaries through SQLAlchemy
converts each value of each row (dates to text on SQLite, for instance) and
builds each row's parameters again: for enrolments of 100,000 visits that is
most of the time, and for re-planning 10,000 visits more than the database's
own work. Here a :class:`Rows` converts a row once (an enrolment's plan is
shared by many participants; dates repeat), and :func:`insert` and
:func:`update` hand tuples straight to the driver's ``executemany``. The values
stored are the ones SQLAlchemy would store: each is converted by its column
type's own bind processor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

Convert = Callable[[Any], Any]


class Rows:
    """Rows for ``table``'s ``columns``, converted to what the database driver takes."""

    def __init__(
        self, session: Session, table: Table, columns: Sequence[str], *, inserting: bool = True
    ) -> None:
        dialect = session.get_bind().dialect
        missing = [
            column.name
            for column in table.columns
            if column.default is not None and column.name not in columns
        ]
        if inserting and missing:  # a bulk insert never applies Python-side defaults
            raise ValueError(f"{table.name}: give a value for {', '.join(missing)}")
        self.table = table
        self.columns = tuple(columns)
        #: Per converted column: its index, its processor and the values converted
        #: so far (dates and flags repeat across rows far more than they differ).
        self._convert: list[tuple[int, Convert, dict[Any, Any]]] = []
        for index, name in enumerate(self.columns):
            process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                self._convert.append((index, process, {}))

    def convert(self, values: Sequence[Any]) -> tuple[Any, ...]:
        """One row (values in :attr:`columns` order) as the driver takes it."""
        row = list(values)
        for index, process, known in self._convert:
            value = row[index]
            found = known.get(value, _MISSING)
            if found is _MISSING:
                found = process(value)
                if len(known) < REMEMBERED:
                    known[value] = found
            row[index] = found
        return tuple(row)


#: Tables whose rows are only ever added (the database refuses the rest too).
APPEND_ONLY = frozenset({"audit"})

#: Converted values remembered per column.
REMEMBERED = 4096
_MISSING = object()


def insert(session: Session, rows: Rows, values: Iterable[tuple[Any, ...]]) -> None:
    """Insert converted rows (tuples in ``rows.columns`` order) with one ``executemany``."""
    batch = list(values)
    if not batch:
        return
    connection = session.connection()
    quote = connection.dialect.identifier_preparer.quote
    marks, parameters = _parameters(connection.dialect, len(rows.columns), batch)
    names = ", ".join(quote(name) for name in rows.columns)
    statement = f"INSERT INTO {quote(rows.table.name)} ({names}) VALUES ({', '.join(marks)})"
    connection.exec_driver_sql(statement, parameters)


def update(session: Session, rows: Rows, keys: int, values: Iterable[tuple[Any, ...]]) -> int:
    """``UPDATE`` with one ``executemany``: each converted row (a tuple in
    ``rows.columns`` order) sets the columns before its last ``keys`` ones
    where the last ``keys`` columns equal its last values; return the number
    of rows written (the drivers sum it over the batch)."""
    if rows.table.name in APPEND_ONLY:
        raise ValueError(f"rows of {rows.table.name} are never changed")
    batch = list(values)
    if not batch:
        return 0
    connection = session.connection()
    quote = connection.dialect.identifier_preparer.quote
    marks, parameters = _parameters(connection.dialect, len(rows.columns), batch)
    named = [f"{quote(name)} = {mark}" for name, mark in zip(rows.columns, marks, strict=True)]
    statement = (
        f"UPDATE {quote(rows.table.name)} SET {', '.join(named[:-keys])} "
        f"WHERE {' AND '.join(named[-keys:])}"
    )
    return int(connection.exec_driver_sql(statement, parameters).rowcount)


def _parameters(
    dialect: Dialect, count: int, batch: list[tuple[Any, ...]]
) -> tuple[list[str], list[Any]]:
    """The placeholders of ``count`` values in the driver's style, and the batch
    as the driver takes it (tuples, or dictionaries for named styles)."""
    if dialect.positional:
        return [_positional(dialect.paramstyle, n) for n in range(count)], batch
    keys = [f"c{n}" for n in range(count)]
    marks = [_named(dialect.paramstyle, key) for key in keys]
    return marks, [dict(zip(keys, row, strict=True)) for row in batch]


def _positional(style: str, number: int) -> str:
    return {"qmark": "?", "format": "%s"}.get(style, f":{number + 1}")


def _named(style: str, key: str) -> str:
    return f"%({key})s" if style == "pyformat" else f":{key}"

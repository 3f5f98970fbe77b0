"""A tabular dataset with CDISC column metadata, whatever file it becomes.

:class:`Dataset` is what the SDTM builders return and what every writer
(Dataset-JSON, NDJSON, CSV, XPT) takes: a name (``TV``), a label, the columns
in order, and the rows as tuples of plain values. Missing character values
are ``""`` (as in SDTM and CDISC's examples); missing numbers are ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

#: The Dataset-JSON logical data types planner uses.
DataType = Literal["string", "integer", "float", "date", "datetime"]
#: One cell: text, a number, or None (a missing number).
Cell = str | int | float | None
Row = tuple[Cell, ...]

#: Data types whose values are text, with a length in the metadata.
TEXT_TYPES = frozenset({"string"})


@dataclass(frozen=True, slots=True)
class Column:
    """One variable: name (≤ 8 characters), label (≤ 40), type, length, key."""

    name: str
    label: str
    data_type: DataType
    #: Planned length of a text column; None: the longest value (at least 1).
    length: int | None = None
    #: Position among the dataset's keys (1 first), or None.
    key_sequence: int | None = None

    def item_oid(self, dataset: str) -> str:
        """``IT.SV.VISITNUM``, as in CDISC's examples and Define-XML."""
        return f"IT.{dataset}.{self.name}"


@dataclass(frozen=True, slots=True)
class Dataset:
    """One SDTM domain: ``name`` is its code (``SV``), ``label`` its title."""

    name: str
    label: str
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]

    @property
    def item_group_oid(self) -> str:
        return f"IG.{self.name}"

    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    def records(self) -> list[dict[str, Cell]]:
        """Rows as dictionaries keyed by column name (for tests and tools)."""
        names = self.column_names()
        return [dict(zip(names, row, strict=True)) for row in self.rows]

    def sized(self) -> Dataset:
        """The same dataset with every text column's length filled in.

        A length not given is that of the longest value (at least 1), counted
        in characters as Dataset-JSON and Define-XML count them.
        """
        columns = []
        for index, column in enumerate(self.columns):
            if column.data_type in TEXT_TYPES and column.length is None:
                longest = max((len(str(row[index] or "")) for row in self.rows), default=0)
                column = replace(column, length=max(1, longest))
            columns.append(column)
        return replace(self, columns=tuple(columns))

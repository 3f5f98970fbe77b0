"""CDISC Dataset-JSON v1.1 (JSON and NDJSON) and CSV, written as bytes.

Pure: each writer yields ``bytes`` chunks for the caller to put in a file, an
HTTP response or a test. Nothing reads the clock: the creation time is passed
in (:class:`FileMetadata`), so the same data gives the same bytes.

- JSON: one object, attributes in the order of the specification, one row
  array per line inside ``rows``.
- NDJSON: line 1 is the same object without ``rows``; then one row array per
  line (specification, "NDJSON Representation of Dataset-JSON").
- CSV: a header of column names, then the rows; a text cell that starts with
  ``= + - @``, a tab or a carriage return gets a leading ``'`` so spreadsheets
  do not run it as a formula (numbers, such as study day -7, are left alone).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from planner.core.csvsafe import safe_cell
from planner.core.sdtm.dataset import Cell, Column, Dataset, Row

DATASET_JSON_VERSION = "1.1.0"
#: Leading characters that make a spreadsheet treat a cell as a formula.


@dataclass(frozen=True, slots=True)
class SourceSystem:
    name: str
    version: str


@dataclass(frozen=True, slots=True)
class FileMetadata:
    """The file-level attributes of a Dataset-JSON file.

    ``created`` is required (``datasetJSONCreationDateTime``); the rest are
    optional and left out when None. ``study_oid`` is usually the STUDYID.
    """

    created: datetime
    study_oid: str | None = None
    originator: str | None = None
    source_system: SourceSystem | None = None
    file_oid: str | None = None
    db_last_modified: datetime | None = None
    metadata_version_oid: str | None = None
    metadata_ref: str | None = None


def _timestamp(moment: datetime) -> str:
    """ISO 8601 to the second; an aware time keeps its offset (``Z`` for UTC)."""
    text = moment.isoformat(timespec="seconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def metadata(dataset: Dataset, info: FileMetadata) -> dict[str, Any]:
    """The top-level object without ``rows``, attributes in specification order."""
    sized = dataset.sized()
    optional: list[tuple[str, Any]] = [
        ("fileOID", info.file_oid),
        (
            "dbLastModifiedDateTime",
            _timestamp(info.db_last_modified) if info.db_last_modified else None,
        ),
        ("originator", info.originator),
        (
            "sourceSystem",
            {"name": info.source_system.name, "version": info.source_system.version}
            if info.source_system
            else None,
        ),
        ("studyOID", info.study_oid),
        ("metaDataVersionOID", info.metadata_version_oid),
        ("metaDataRef", info.metadata_ref),
    ]
    head: dict[str, Any] = {
        "datasetJSONCreationDateTime": _timestamp(info.created),
        "datasetJSONVersion": DATASET_JSON_VERSION,
    }
    head.update((key, value) for key, value in optional if value is not None)
    head.update(
        {
            "itemGroupOID": dataset.item_group_oid,
            "records": len(dataset.rows),
            "name": dataset.name,
            "label": dataset.label,
            "columns": [_column(dataset.name, column) for column in sized.columns],
        }
    )
    return head


def _column(dataset: str, column: Column) -> dict[str, Any]:
    described: dict[str, Any] = {
        "itemOID": column.item_oid(dataset),
        "name": column.name,
        "label": column.label,
        "dataType": column.data_type,
    }
    if column.length is not None:
        described["length"] = column.length
    if column.key_sequence is not None:
        described["keySequence"] = column.key_sequence
    return described


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def json_value(cell: Cell) -> Cell:
    """A cell as JSON writes it: whole floats (VISITNUM 3001.0) as integers."""
    if isinstance(cell, float) and cell.is_integer():
        return int(cell)
    return cell


def _row(row: Row) -> str:
    return _dumps([json_value(cell) for cell in row])


def dataset_json(dataset: Dataset, info: FileMetadata) -> Iterator[bytes]:
    """A Dataset-JSON v1.1 file (``.json``), in chunks of UTF-8 bytes."""
    head = _dumps(metadata(dataset, info))
    yield (head[:-1] + ',"rows":[').encode("utf-8")
    for index, row in enumerate(dataset.rows):
        yield (("\n" if index == 0 else ",\n") + _row(row)).encode("utf-8")
    yield b"\n]}\n"


def dataset_ndjson(dataset: Dataset, info: FileMetadata) -> Iterator[bytes]:
    """A Dataset-JSON v1.1 NDJSON file (``.ndjson``): metadata line, then rows."""
    yield (_dumps(metadata(dataset, info)) + "\n").encode("utf-8")
    for row in dataset.rows:
        yield (_row(row) + "\n").encode("utf-8")


def csv_cell(cell: Cell) -> str:
    """A cell as CSV text, neutralised against formula injection."""
    if cell is None:
        return ""
    if isinstance(cell, str):
        return safe_cell(cell)
    return str(json_value(cell))


def dataset_csv(dataset: Dataset) -> Iterator[bytes]:
    """The dataset as CSV (UTF-8, ``\\n`` line ends): header, then one line per row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(dataset.column_names())
    for row in dataset.rows:
        writer.writerow([csv_cell(cell) for cell in row])
        if buffer.tell() > 65536:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")

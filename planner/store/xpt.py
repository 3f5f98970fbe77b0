"""SAS transport (XPT) version 5 files, through pyreadstat (``planner[sdtm]``).

XPT v5 is what regulatory submissions take: variable names of at most 8
characters, labels of at most 40, text values of at most 200 bytes, numbers
as 8-byte floats (an integer column reads back as 1.0, 2.0...). Missing
numbers are SAS missing values; missing text is blank. Text is written as
UTF-8; plain ASCII is safest for submissions.

pyreadstat writes to a path, so :func:`xpt_bytes` lets it write into a
private temporary folder and returns the bytes, which the caller writes
where it wants (for example with :func:`planner.store.files.write_atomically`,
so that no partial file is ever left behind).
"""

from __future__ import annotations

import importlib
import os
import re
import tempfile
from datetime import datetime
from typing import Any

from planner.core.errors import InputError
from planner.core.sdtm.dataset import Dataset

MAX_NAME = 8
MAX_LABEL = 40
MAX_TEXT_BYTES = 200
MISSING_EXTRA = "writing XPT needs the optional sdtm extra: pip install 'planner[sdtm]'"


def _modules() -> tuple[Any, Any]:
    """pyreadstat and pandas, or the InputError that says how to get them."""
    try:
        pyreadstat = importlib.import_module("pyreadstat")
        pandas = importlib.import_module("pandas")
    except ImportError:
        raise InputError(MISSING_EXTRA, field="format", value="xpt") from None
    return pyreadstat, pandas


def _where(names: list[str], row: tuple[object, ...]) -> str:
    """Which row: its subject and visit when the dataset has them."""
    found = [f"{name} {row[names.index(name)]}" for name in ("USUBJID", "VISIT") if name in names]
    return f" of {', '.join(found)}" if found else ""


def check_transport(dataset: Dataset) -> None:
    """Raise InputError if the dataset does not fit in an XPT v5 file."""
    problems = [
        f"variable name {column.name!r} is longer than {MAX_NAME} characters"
        for column in dataset.columns
        if len(column.name) > MAX_NAME
    ] + [
        f"the label of {column.name} is longer than {MAX_LABEL} characters"
        for column in dataset.columns
        if len(column.label) > MAX_LABEL
    ]
    if len(dataset.name) > MAX_NAME:
        problems.append(f"dataset name {dataset.name!r} is longer than {MAX_NAME} characters")
    names = [column.name for column in dataset.columns]
    for row in dataset.rows:
        for column, cell in zip(dataset.columns, row, strict=True):
            if isinstance(cell, str) and len(size := cell.encode("utf-8")) > MAX_TEXT_BYTES:
                problems.append(
                    f"{column.name}{_where(names, row)} is {len(size)} bytes long, over "
                    f"{MAX_TEXT_BYTES} (Dataset-JSON holds it: --format dataset-json)"
                )
    if problems:
        raise InputError(
            f"{dataset.name} cannot be written as XPT: {problems[0]}",
            field="format",
            value="xpt",
        )


def _frame(pandas: Any, dataset: Dataset) -> Any:
    data: dict[str, Any] = {}
    for index, column in enumerate(dataset.columns):
        values = [row[index] for row in dataset.rows]
        if column.data_type in ("integer", "float"):
            numbers = [float("nan") if v is None else float(v) for v in values]
            data[column.name] = pandas.Series(numbers, dtype="float64")
        else:
            texts = ["" if v is None else str(v) for v in values]
            data[column.name] = pandas.Series(texts, dtype="object")
    return pandas.DataFrame(data, columns=dataset.column_names())


#: Where a header stamps its date and time (``06DEC26:07:49:19``), and where
#: the headers end (the observations follow).
_STAMP = re.compile(rb"\d\d(?:JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)\d\d:\d\d:\d\d:\d\d")
_OBSERVATIONS = b"HEADER RECORD*******OBS     HEADER RECORD"
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def stamped(data: bytes, created: datetime) -> bytes:
    """``data`` with every header's created and modified stamps set to
    ``created`` (the writer puts the clock there): the same data and time
    give the same bytes, as the other formats do."""
    end = data.find(_OBSERVATIONS)
    end = len(data) if end < 0 else end
    stamp = (
        f"{created.day:02d}{_MONTHS[created.month - 1]}{created.year % 100:02d}:{created:%H:%M:%S}"
    ).encode("ascii")
    return _STAMP.sub(stamp, data[:end]) + data[end:]


def xpt_bytes(dataset: Dataset, created: datetime | None = None) -> bytes:
    """The dataset as a SAS transport v5 file (headers stamped ``created``, if given)."""
    pyreadstat, pandas = _modules()
    check_transport(dataset)
    with tempfile.TemporaryDirectory(prefix="planner-xpt-") as folder:
        path = os.path.join(folder, f"{dataset.name.lower()}.xpt")
        pyreadstat.write_xport(
            _frame(pandas, dataset),
            path,
            file_label=dataset.label[:MAX_LABEL],
            column_labels=[column.label for column in dataset.columns],
            table_name=dataset.name,
            file_format_version=5,
        )
        with open(path, "rb") as handle:
            data = handle.read()
    return data if created is None else stamped(data, created)

"""Text tables sized to the terminal, and CSV a spreadsheet cannot run.

Tables take the terminal's width (``shutil.get_terminal_size``; 80 columns
when stdout is not a terminal and ``COLUMNS`` is not set, so pipes and tests
see the same layout). Labels and free text are cut (ending in "…") only when
the table would not fit otherwise, visit ids after them; dates never are.

CSV cells that a spreadsheet would run as a formula (starting with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return) get a leading ``'``, as
OWASP recommends for CSV injection; a cell that is a plain number (``-7``)
is left as it is.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from planner.core.csvsafe import safe_cell
from planner.core.texts import printable

#: The width when there is no terminal to ask.
DEFAULT_WIDTH = 80
#: Narrower terminals get this width anyway (and wrap).
MIN_WIDTH = 40


def terminal_width() -> int:
    """The terminal's width; 80 when output goes to a pipe or a file."""
    if "COLUMNS" not in os.environ and not sys.stdout.isatty():
        return DEFAULT_WIDTH
    return max(MIN_WIDTH, shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns)


def plural(count: int, word: str, words: str | None = None) -> str:
    """``1 visit``, ``2 visits``; ``words`` for irregular plurals."""
    return f"{count} {word if count == 1 else (words or word + 's')}"


def natural_width(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> int:
    """How wide a table would be with nothing cut."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    return sum(widths) + 2 * (len(widths) - 1)


def without_columns(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    optional: Sequence[Sequence[str]],
    width: int | None = None,
) -> tuple[list[str], list[list[str]], list[str]]:
    """Leave out groups of ``optional`` columns, in order, until the table fits.

    Returns the headers and rows kept, and the headers left out.
    """
    limit = width or terminal_width()
    keep = list(range(len(headers)))
    dropped: list[str] = []
    for group in optional:
        shown = [[r[i] for i in keep] for r in rows]
        if natural_width([headers[i] for i in keep], shown) <= limit:
            break
        keep = [i for i in keep if headers[i] not in group]
        dropped += [h for h in headers if h in group]
    return [headers[i] for i in keep], [[r[i] for i in keep] for r in rows], dropped


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    shrink: Sequence[int] = (-1,),
    width: int | None = None,
) -> str:
    """A plain text table that fits in ``width`` columns (default: the terminal's).

    Only the columns ``shrink`` (labels and free text, then visit ids) are cut,
    a cut value ending in "…": each to 10 characters at the least, in order,
    then the widest of them down to 4. Dates, times, windows and statuses are
    never cut: when the table still does not fit, it is wider than the
    terminal, which wraps it.
    """
    limit = width or terminal_width()
    body = [[printable(value) for value in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in body)]) for i, h in enumerate(headers)]

    def excess() -> int:
        return sum(widths) + 2 * (len(widths) - 1) - limit

    for index in shrink:
        index %= len(headers)
        if excess() > 0:
            widths[index] = max(10, widths[index] - excess())
    cut = sorted({index % len(headers) for index in shrink})
    while excess() > 0 and max(widths[i] for i in cut) > 4:
        widest = max(cut, key=lambda i: widths[i])
        widths[widest] = max(4, widths[widest] - excess())

    def cell(text: str, width: int) -> str:
        return text if len(text) <= width else text[: width - 1] + "…"

    lines = [
        "  ".join(cell(value, widths[i]).ljust(widths[i]) for i, value in enumerate(row)).rstrip()
        for row in [list(headers), *body]
    ]
    return "\n".join(lines)


# ----------------------------------------------------------------------- csv


def render_csv(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> str:
    """Rows as CSV with a header line; every cell spreadsheet-safe."""
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n"
    )
    writer.writeheader()
    for row in rows:
        writer.writerow({k: csv_value(v) for k, v in row.items()})
    return buffer.getvalue().rstrip("\n")


def csv_value(value: Any) -> Any:
    """One cell as CSV text: booleans, nulls, lists and objects spelt out, then made safe."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, dict):
        return safe_cell(json.dumps(value, ensure_ascii=False, sort_keys=True))
    if isinstance(value, list | tuple):
        return safe_cell(" ".join(str(item) for item in value))
    if isinstance(value, str):
        return safe_cell(value)
    return value

"""Values from query strings and forms, checked as the command line checks
its options: a wrong one is an :class:`~planner.core.errors.InputError` naming
the parameter.

>>> day("as_of", "2026-04-20")
datetime.date(2026, 4, 20)
>>> day("as_of", "") is None
True
>>> number("days", "0", 1, 3660)
Traceback (most recent call last):
...
planner.core.errors.InputError: days must be between 1 and 3660, not 0
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date

from planner.core.dates import parse_date
from planner.core.errors import InputError, out_of_range

_WHOLE = re.compile(r"-?[0-9]{1,12}")


def day(name: str, text: str | None) -> date | None:
    """A YYYY-MM-DD date in the years the command line accepts, or None when
    empty (:func:`planner.core.dates.parse_date`: the same rules and words)."""
    if not text:
        return None
    return parse_date(text, name.replace("_", " "), field=name)


def required_day(name: str, text: str | None) -> date:
    found = day(name, text)
    if found is None:
        raise InputError(f"{name.replace('_', ' ')} is missing: give a date", field=name)
    return found


def number(name: str, text: str | None, low: int, high: int) -> int:
    """A whole number in ``low..high``, in ASCII digits (``int`` would also take
    ``1_4``, `` 14`` and other scripts' digits)."""
    if not _WHOLE.fullmatch(text or ""):
        raise InputError(
            f"{name.replace('_', ' ')} {text!r} is not a whole number",
            field=name,
            value=text,
            allowed=f"{low}..{high}",
        )
    value = int(text or "")
    if not low <= value <= high:
        raise out_of_range(name, value, low, high)
    return value


def single(items: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Query parameters by name, each given once (``site=A&site=B`` would
    otherwise answer for one of them without a word)."""
    found: dict[str, str] = {}
    for name, value in items:
        if name in found:
            raise InputError(
                f"parameter {name!r} is given more than once; give it once",
                field=name,
                value=value,
            )
        found[name] = value
    return found


def only(query: Mapping[str, str], known: tuple[str, ...]) -> None:
    """Refuse a parameter nobody reads (a typo would silently widen the
    answer), and one given with no value: ``site=`` is not "every site", as
    ``--site ""`` is not on the command line, and a script that builds
    ``?participant=$CODE`` from an empty variable must not get everyone's."""
    unknown = sorted(set(query) - set(known))
    if unknown:
        takes = f"parameters: {', '.join(known)}" if known else "this address takes none"
        raise InputError(
            f"unknown parameter {unknown[0]!r} ({takes})",
            field=unknown[0],
            value=query[unknown[0]],
            choices=known,
        )
    for name in known:
        if name in query and not query[name].strip():
            raise InputError(
                f"{name} is empty; give a value, or leave the parameter out", field=name
            )


def day_range(query: Mapping[str, str]) -> tuple[date | None, date | None]:
    """``from`` and ``to`` (either may be left out); 400 when ``to`` is before ``from``."""
    first, last = day("from", query.get("from")), day("to", query.get("to"))
    if first is not None and last is not None and last < first:
        raise InputError(f"to ({last}) is before from ({first})", field="to", value=str(last))
    return first, last


def text(query: Mapping[str, str], name: str) -> str | None:
    """A text parameter, None when absent or empty."""
    return query.get(name) or None

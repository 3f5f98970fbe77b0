"""Free text people type (names, labels, reasons): what it may hold, and how
it is shown.

Text goes into calendars, CSV cells, terminals and database columns
(PostgreSQL refuses NUL): control characters are refused where text comes in,
line breaks and tabs excepted where a text may have several lines
(:func:`control_character`); text shown on a terminal or written to a log has
them escaped (:func:`printable`), whatever was stored or sent before.
"""

from __future__ import annotations

import unicodedata


def control_character(text: str, allowed: str = "\n\t") -> str | None:
    """The first control character of ``text`` not in ``allowed``, as
    ``U+001B``; None when there is none.

    >>> control_character("a\\x1b[31m"), control_character("two\\nlines"), control_character("x")
    ('U+001B', None, None)
    """
    if text.isprintable():
        return None
    for char in text:
        if unicodedata.category(char) == "Cc" and char not in allowed:
            return f"U+{ord(char):04X}"
    return None


def printable(text: str) -> str:
    """``text`` with control and format characters escaped (``\\x1b``, ``\\n``), so
    stored or sent text (a reason, a label, an actor, a requested path) cannot
    move the cursor, recolour or rewrite a terminal, nor fake a line of its own."""
    if text.isprintable():
        return text
    return "".join(_escaped(char) for char in text)


def _escaped(char: str) -> str:
    if char.isprintable() or unicodedata.category(char) == "Zs":
        return char
    return char.encode("unicode_escape").decode("ascii")

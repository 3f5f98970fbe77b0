"""Free text people type (names, labels, reasons): what it may hold.

Text goes into calendars, CSV cells, terminals and database columns
(PostgreSQL refuses NUL): control characters are refused where text comes in,
line breaks and tabs excepted where a text may have several lines.
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

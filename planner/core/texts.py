"""Free text people type (names, labels, reasons): what it may hold, and how
it is shown.

Text goes into calendars, CSV cells, terminals and database columns
(PostgreSQL refuses NUL): control characters, and bytes that are not UTF-8,
are refused where text comes in, line breaks and tabs excepted where a text
may have several lines (:func:`refused_character`); text shown on a terminal
or written to a log has them escaped (:func:`printable`), whatever was stored
or sent before.
"""

from __future__ import annotations

import unicodedata


def refused_character(text: str, allowed: str = "\n\t") -> str | None:
    """What free text may not hold, named for a sentence ("holds …"): a
    control character not in ``allowed``, or a byte that is not UTF-8 (a
    command line typed on a Latin-1 terminal reaches Python as a lone
    surrogate, which no database, file or calendar can store); None if none.

    >>> refused_character("a\\x1b"), refused_character("hospitalis\\udce9"), refused_character("é")
    ('the control character U+001B', 'the byte 0xE9, which is not UTF-8 text', None)
    """
    if text.isprintable():
        return None
    for char in text:
        category = unicodedata.category(char)
        if category == "Cs":
            return _surrogate(char)
        if category == "Cc" and char not in allowed:
            return f"the control character U+{ord(char):04X}"
        if category in ("Zl", "Zp"):  # one line stays one line; several use line breaks
            return f"the line separator U+{ord(char):04X}"
        if char in BIDI_CONTROLS:
            return f"the direction override U+{ord(char):04X}"
    return None


def undecodable_byte(text: str) -> str | None:
    """The first byte of ``text`` that was not UTF-8 where it came from (a
    command line on a Latin-1 terminal), named as :func:`refused_character` does."""
    for char in text:
        if "\ud800" <= char <= "\udfff":
            return _surrogate(char)
    return None


def _surrogate(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte os.fsdecode could not decode
        return f"the byte 0x{code - 0xDC00:02X}, which is not UTF-8 text"
    return f"the lone surrogate U+{code:04X}, which is not text"


#: Embeddings, overrides and isolates (not the marks U+200E/U+200F): shown raw
#: on a page or in a calendar they reverse the text after them ("Trojan Source").
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


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

"""CSV cells a spreadsheet cannot run as a formula (one rule for every CSV).

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return
gets a leading ``'``, as OWASP recommends against CSV injection; a cell that is
a plain number (``-7``, ``+1.5e3``) is left as it is: a spreadsheet reads it as
the number it is, and runs nothing.
"""

from __future__ import annotations

import re

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def safe_cell(text: str) -> str:
    """``text`` with a leading ``'`` if a spreadsheet would run it as a formula.

    >>> safe_cell("=HYPERLINK(\\"http://x\\")"), safe_cell("-7"), safe_cell("a-b")
    ('\\'=HYPERLINK("http://x")', '-7', 'a-b')
    """
    if text.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text

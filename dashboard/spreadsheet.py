"""Cells a spreadsheet shows as text: the one rule for every CSV the console writes or reads back.

CSV has no cell types, so a spreadsheet opening it runs any cell starting with "=", "+", "-", "@", a tab or
a carriage return as a formula (CSV injection). OWASP's advice: prefix such text with an apostrophe.
"""

from __future__ import annotations

import re
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")


def csv_cell(value: Any) -> Any:
    """A value as a CSV cell a spreadsheet shows as text, never runs as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_cell_read(value: Any) -> Any:
    """The value `csv_cell` wrote (its apostrophe removed), so exports import back unchanged."""
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(FORMULA_START):
        return value[1:]
    return value

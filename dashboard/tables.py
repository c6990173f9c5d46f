"""unfold's table component (`unfold/components/table.html`), rendered once per page shape instead of once per
cell.

The component is a template loop that resolves a dozen lookups per cell (`row.cols|default:row`,
`row.table.rows|length`, the header for `data-label`, ...), most of them failing lookups that Django answers
by raising and catching; for the DB health index page's 70 rows of 5-7 cells it was about 40 ms of the
page's ~100 at 10M rows. unfold has no faster path, so `table_html` renders the component itself, once per
(headers, column count, striping), for three rows of markers (the first row, an odd one and an even one: the
only positions the template tells apart for flat rows), and fills each row's markup with the row's escaped
cells and attributes. The markup is unfold's own: tests/dashboard/test_tables.py compares it with the
component's for any number of rows, hostile text and safe markup. Rows it cannot vouch for (nested tables,
rows without `cols`, ragged rows, no rows) go through the component as they are.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any

from django.template import Context
from django.template.base import render_value_in_context
from django.template.loader import render_to_string
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

TEMPLATE = "unfold/components/table.html"
ATTRS_TEMPLATE = "unfold/helpers/attrs.html"
_ATTRS_SLOT = "\0attrs\0"
_MARK = "custodianmark"
_ROW_ATTR = f"data-{_MARK}-row"
_SKELETON_ROWS = 3
_CONTEXT = Context(autoescape=True)  # how `{{ cell }}` writes a value: localized, then escaped


@functools.lru_cache(maxsize=64)
def _skeleton(
    headers: tuple[str, ...], columns: int, striped: bool
) -> tuple[str, str, str, tuple[list, ...]]:
    """(head, separator, tail, row pieces for rows 0, odd, even>0) of the component's markup."""
    rows = [
        {"cols": [f"{_MARK}r{r}c{c}x" for c in range(columns)], "attrs": {_ROW_ATTR: f"r{r}"}}
        for r in range(_SKELETON_ROWS)
    ]
    html = render_to_string(
        TEMPLATE, {"table": {"headers": list(headers), "rows": rows}, "striped": int(striped)}
    )
    spans = []
    for r in range(_SKELETON_ROWS):
        marker = html.index(f'{_ROW_ATTR}="r{r}"')
        start = html.rindex("<tbody", 0, marker)
        end = html.index("</tbody>", marker) + len("</tbody>")
        spans.append((start, end))
    separators = {html[spans[r][1] : spans[r + 1][0]] for r in range(_SKELETON_ROWS - 1)}
    if len(separators) != 1:
        raise ValueError("unfold's table rows are no longer separated alike: table_html cannot fill them")
    pieces = []
    for r, (start, end) in enumerate(spans):
        # The row's attributes as the component writes them (`{% include attrs.html %} `) become a slot.
        written = render_to_string(ATTRS_TEMPLATE, {"attrs": {_ROW_ATTR: f"r{r}"}}) + " "
        chunk = html[start:end].replace(written, _ATTRS_SLOT)
        if _ATTRS_SLOT not in chunk:
            raise ValueError("unfold's table rows no longer write their attributes as table_html expects")
        pieces.append(re.split(f"{_MARK}r{r}c(\\d+)x", chunk))
    return html[: spans[0][0]], separators.pop(), html[spans[-1][1] :], tuple(pieces)


@functools.cache
def _attrs_end() -> str:
    """What the attributes template writes after its last attribute (its file's final newline)."""
    return render_to_string(ATTRS_TEMPLATE, {"attrs": {"a": True}}).removeprefix(" a")


def _attrs_html(attrs: Mapping[str, Any] | None) -> str:
    """unfold/helpers/attrs.html: ` name="value"` per attribute, a bare name for True, nothing for False."""
    if not attrs:
        return ""
    out = []
    for name, value in attrs.items():
        if value is False:
            continue
        out.append(f" {name}" if value is True else f' {name}="{conditional_escape(value)}"')
    return "".join(out) + _attrs_end() + " "


def _fill(pieces: list[str], attrs: str, cells: Sequence[Any]) -> str:
    out = []
    for n, piece in enumerate(pieces):
        out.append(cells[int(piece)] if n % 2 else piece.replace(_ATTRS_SLOT, attrs))
    return "".join(out)


def table_html(table: Mapping[str, Any], *, striped: bool = False) -> SafeString:
    """What `{% component "unfold/components/table.html" with table=table striped=1 %}` writes, for a table of
    `headers` and `rows` ({"cols": [...], "attrs": {...}} each)."""
    rows = table.get("rows") or []
    headers = tuple(str(h) for h in table.get("headers") or ())
    flat = rows and all(isinstance(r, Mapping) and "cols" in r and "table" not in r for r in rows)
    columns = len(rows[0]["cols"]) if flat else 0
    if not flat or not columns or any(len(r["cols"]) != columns for r in rows):
        return mark_safe(render_to_string(TEMPLATE, {"table": table, "striped": int(striped)}))
    head, separator, tail, pieces = _skeleton(headers, columns, striped)
    written = []
    for n, row in enumerate(rows):
        cells = [render_value_in_context(cell, _CONTEXT) for cell in row["cols"]]
        written.append(
            _fill(pieces[0 if n == 0 else 1 if n % 2 else 2], _attrs_html(row.get("attrs")), cells)
        )
    return mark_safe(head + separator.join(written) + tail)

"""Server-side plotly figures rendered into pages; static/dashboard/js/charts.js draws them.

A page that shows figures loads `dashboard/includes/chart_scripts.html` (plotly.min.js from our own static
files, then charts.js) and renders each figure with `render_figure` or `{% plotly_figure fig "id" %}`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import plotly.io as pio
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

if TYPE_CHECKING:
    import plotly.graph_objects as go

_ELEMENT_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")

# Inside <script>, a literal "</script>" or "<!--" would end or confuse the element; JSON allows
# these characters as \u escapes, so escaping them keeps the data identical once parsed.
_SCRIPT_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


# A figure is plotly's JSON structure as plain dicts and lists ({"data": [traces], "layout": {...}}), not a
# plotly.graph_objects.Figure: building one validates and copies every property through plotly's validators,
# which was most of the DB health index page's time at 10M rows (~60 ms for its four figures) for data that
# is written out as JSON anyway. tests/dashboard/test_chart_figures.py checks every figure against plotly's
# schema instead, so a misspelt property still fails a test.
Figure = dict[str, Any]


def figure(data: list[dict[str, Any]] | None = None, **layout: Any) -> Figure:
    """A figure of `data` (trace dicts, each with its "type") and `layout` properties."""
    return {"data": list(data or []), "layout": layout}


def figure_json(fig: Figure | go.Figure) -> str:
    """The figure as JSON (plotly's own encoder handles numpy arrays, dates and decimals), without plotly's
    default template: charts.js draws with its own light and dark colours and drops it, and it was some 7 KB
    of every figure to encode and send."""
    data = fig.to_plotly_json() if hasattr(fig, "to_plotly_json") else dict(fig)
    data["layout"] = {k: v for k, v in data.get("layout", {}).items() if k != "template"}
    return pio.to_json(data, validate=False)


def render_figure(fig: Figure | go.Figure, element_id: str) -> SafeString:
    """A container div plus a JSON data island that charts.js turns into a chart."""
    if not _ELEMENT_ID.match(element_id):
        raise ValueError(f"Invalid chart element id {element_id!r}")
    data = figure_json(fig).translate(_SCRIPT_ESCAPES)
    return format_html(
        '<div id="{}" class="custodian-chart" data-figure-id="{}-data" style="min-height: 320px"></div>'
        '<script id="{}-data" type="application/json">{}</script>',
        element_id,
        element_id,
        element_id,
        mark_safe(data),  # escaped above for the script context
    )

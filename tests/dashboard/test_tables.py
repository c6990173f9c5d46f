"""dashboard.tables.table_html writes exactly what unfold's table component writes, and does its template work
once per table shape rather than once per cell."""

import datetime

import pytest
from django.template import Context, Template
from django.utils.html import format_html

from dashboard import tables
from dashboard.tables import table_html

HEADERS = ["index", "Table", "size <b>"]


def unfold(table: dict, striped: int) -> str:
    """The component as the pages used it: `{% component ... with table=... striped=... %}`."""
    template = Template(
        '{% load unfold %}{% component "unfold/components/table.html" with table=table striped=striped %}'
        "{% endcomponent %}"
    )
    return template.render(Context({"table": table, "striped": striped}))


def rows(count: int) -> list[dict]:
    hostile = "<script>alert(\"x\")</script> & 'quoted'"
    return [
        {
            "cols": [
                format_html('<a href="/i/?n={}">{}</a>', n, f"idx_{n}"),
                hostile if n % 2 else f"table_{n}",
                n * 1024,
            ],
            "attrs": {"data-index-row": f'idx "{n}"', "data-flag": True, "data-off": False}
            if n % 3
            else ({} if n % 2 else {"data-table": format_html("<b>{}</b>", n)}),
        }
        for n in range(count)
    ]


@pytest.mark.parametrize("striped", [0, 1])
@pytest.mark.parametrize("count", [1, 2, 3, 4, 5, 8, 51])
def test_the_markup_is_the_components_own(count, striped):
    table = {"headers": HEADERS, "rows": rows(count)}
    assert table_html(table, striped=bool(striped)) == unfold(table, striped)


@pytest.mark.parametrize(
    "table",
    [
        {"headers": HEADERS, "rows": []},  # "No data"
        {"headers": [], "rows": [{"cols": ["a"]}]},  # no header row
        {"headers": HEADERS, "rows": [["plain", "list", "row"]]},  # rows without cols
        {"headers": HEADERS, "rows": [{"cols": ["a", "b"]}, {"cols": ["a"]}]},  # ragged
        {
            "headers": HEADERS,
            "rows": [{"cols": ["a"], "table": {"headers": ["x"], "rows": [["1"]]}}],  # nested table
        },
    ],
)
def test_shapes_it_cannot_vouch_for_go_through_the_component(table):
    assert table_html(table, striped=True) == unfold(table, 1)


def test_values_are_written_as_the_template_writes_them(settings):
    settings.USE_THOUSAND_SEPARATOR = True
    table = {"headers": HEADERS, "rows": [{"cols": [1234567, 1.5, datetime.date(2026, 12, 3)]}]}
    assert table_html(table) == unfold(table, 0)


def test_the_component_is_rendered_once_per_shape_not_per_row(monkeypatch):
    tables._skeleton.cache_clear()
    tables._attrs_end()
    rendered = []
    real = tables.render_to_string
    monkeypatch.setattr(tables, "render_to_string", lambda *a, **k: rendered.append(a[0]) or real(*a, **k))
    table_html({"headers": HEADERS, "rows": rows(40)}, striped=True)
    table_html({"headers": HEADERS, "rows": rows(7)}, striped=True)
    # The table once, and the attributes template for each of its three marker rows; nothing per row.
    assert rendered == [tables.TEMPLATE] + [tables.ATTRS_TEMPLATE] * 3


def test_the_template_tag_writes_the_same():
    table = {"headers": HEADERS, "rows": rows(3)}
    tag = Template("{% load custodian_tables %}{% table_component table striped=1 %}")
    assert tag.render(Context({"table": table})) == unfold(table, 1)

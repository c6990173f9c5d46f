"""Every figure the pages draw is valid plotly: the charts are built as plain data (dashboard.charts.Figure,
no graph_objects validation on the request path), so plotly's own validator checks them here instead, for
data-full and empty inputs of each chart."""

from datetime import UTC, date, datetime

import plotly.graph_objects as go
import pytest

from dashboard.charts import figure, figure_json
from dashboard.dbhealth import charts
from dashboard.dbhealth.selectors import CatalogIndex
from dashboard.dbhealth.trends import DailyScans, TableUsage
from dashboard.validation import charts as validation_charts
from dashboard.validation.selectors import ResultRow
from models_core.models import Ticket

START, END = date(2026, 11, 1), date(2026, 12, 3)
DAYS = [date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 5)]


def _index(name: str, table: str, size: int, scans: int, schema: str = "public") -> CatalogIndex:
    return CatalogIndex(
        schema, table, name, "btree", scans, 0, 0, size, True, False, False, False, "CREATE INDEX ...",
        ("a",), (), (), (), 1, "", "", scans_in_window=scans, provenance="declared", declaration="Meta",
    )  # fmt: skip


INDEXES = [
    _index("idx_a", "t1", 5_000_000, 10),
    _index("idx_b", "t2", 2**20, 0),
    _index("idx_a", "t3", 3 * 2**20, 5, schema="other"),  # the same name in another schema
    _index("x" * 70, "t4", 7, 1),  # longer than a label
]
DAILY = DailyScans(
    days=DAYS,
    series={"t1.idx_a": [1, 2, 3], "t2.idx_b": [0, 5, 0], "other": [4, 4, 4]},
    resets=[datetime(2026, 11, 2, 5, tzinfo=UTC)],
    index_resets=[(DAYS[1], "t1.idx_a")],
    keys={"t1.idx_a": ("public", "t1", "idx_a"), "t2.idx_b": ("public", "t2", "idx_b")},
)
NO_SCANS = DailyScans([], {}, [], [])
HISTORY = [
    {"day": d, "scans": 3 * n, "reset": n == 1, "size_bytes": 2**20 * (n + 1)} for n, d in enumerate(DAYS)
]
VIOLATIONS = [
    {
        "constraint_name": f"c{n % 12}",
        "column_name": "col" if n % 2 else None,
        "day": DAYS[n % 3],
        "count": n + 1,
    }
    for n in range(30)
]
SQLSTATES = [
    {"sqlstate": "23505", "kind": "error", "count": 3},
    {"sqlstate": "23503", "kind": "prevented", "count": 2},
]
ORGANIZATIONS = [
    {"label": "Acme", "organization_id": 1, "count": 5},
    {"label": "Acme", "organization_id": 2, "count": 3},
]
RESULTS = [
    ResultRow(Ticket, "models_core.Ticket", "subject_set", "m", True, 5, 1, 0, 0, False, ""),
    ResultRow(None, "gone.Model", "old_rule", "m", True, 0, 4, 0, 0, False, ""),
]
TREND = [
    {"scan": 1, "at": datetime(2026, 12, 1, tzinfo=UTC), "violations": 5, "waived": 1},
    {"scan": 2, "at": None, "violations": 0, "waived": 0},
]

FIGURES = {
    "scans per day": lambda: charts.scans_daily_figure(
        DAILY, START, END, 5, {"t1.idx_a": "/i/"}, {"t1.idx_a": "x"}
    ),
    "scans per day, no snapshot": lambda: charts.scans_daily_figure(NO_SCANS, START, END, 0),
    "scans per day, one snapshot": lambda: charts.scans_daily_figure(NO_SCANS, START, END, 1),
    "index sizes": lambda: charts.index_size_figure(INDEXES, {"t1.idx_a": "/i/"}),
    "index sizes, none": lambda: charts.index_size_figure([]),
    "busiest tables": lambda: charts.busiest_tables_figure(
        [TableUsage("t1", 100, 5, 7, 1, 0), TableUsage("y" * 70, 1, 3, 0, 1, 1)], "Nov 1"
    ),
    "busiest tables, none": lambda: charts.busiest_tables_figure([], "Nov 1"),
    "index scans": lambda: charts.index_history_figures(HISTORY, START, END)[0],
    "index size": lambda: charts.index_history_figures(HISTORY, START, END)[1],
    "index history, none": lambda: charts.index_history_figures([], START, END)[0],
    "violations over time": lambda: charts.violations_over_time_figure(VIOLATIONS, START, END),
    "violations over time, none": lambda: charts.violations_over_time_figure([], START, END),
    "by sqlstate": lambda: charts.violations_by_sqlstate_figure(SQLSTATES),
    "by sqlstate, none": lambda: charts.violations_by_sqlstate_figure([]),
    "by organization": lambda: charts.violations_by_organization_figure(ORGANIZATIONS),
    "by organization, none": lambda: charts.violations_by_organization_figure([]),
    "scans per node": lambda: charts.scans_per_node_figure(
        [("primary", DAYS[0], 5), ("replica1", DAYS[0], 2)]
    ),
    "violations by rule": lambda: validation_charts.violations_by_rule_figure(RESULTS),
    "violations trend": lambda: validation_charts.violations_trend_figure(TREND),
    "violations trend, none": lambda: validation_charts.violations_trend_figure([]),
}


@pytest.mark.parametrize("name", list(FIGURES))
def test_every_figure_is_valid_plotly(name):
    fig = FIGURES[name]()
    assert isinstance(fig, dict) and set(fig) == {"data", "layout"}
    go.Figure(fig)  # raises ValueError naming any property plotly does not know or a value it refuses
    assert all("type" in trace for trace in fig["data"])  # plotly.js would draw an untyped trace as a scatter
    assert '"template"' not in figure_json(fig)


def test_the_validator_catches_a_misspelt_property():
    with pytest.raises(ValueError, match="hovertemplat"):
        go.Figure(figure([{"type": "bar", "x": [1], "hovertemplat": "%{x}"}]))
    with pytest.raises(ValueError):
        go.Figure(figure(barmode="piled"))


def test_a_reset_draws_a_dashed_line_and_says_so():
    layout = charts.scans_daily_figure(DAILY, START, END, 5)["layout"]
    [line] = layout["shapes"]
    assert line["x0"] == line["x1"] == DAILY.resets[0] and line["line"]["dash"] == "dash"
    assert [a["text"] for a in layout["annotations"]] == ["statistics reset"]
    assert (
        "shapes"
        not in charts.scans_daily_figure(DailyScans(DAYS, {"t1.idx_a": [1, 2, 3]}, [], []), START, END, 5)[
            "layout"
        ]
    )

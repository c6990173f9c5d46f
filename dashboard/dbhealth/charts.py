"""Plotly figures of the DB health pages (rendered by dashboard.charts / {% plotly_figure %}).

Every axis says what its data is (`type`): plotly otherwise guesses from the values, and reads SQLSTATEs such
as "23505" and small counts as dates. Names sit on category axes with `automargin` so they are drawn whole;
time axes span the whole window with bars one day wide, so one day of data is one narrow bar, not the
chart's width. A figure without data draws no axes, only a message saying why and when data will appear.
A trace's `meta.link` (or `meta.links`, one per point) is where a click on it goes (static charts.js).
Figures are plain plotly data (dashboard.charts.Figure); tests check them against plotly's schema.
"""

from __future__ import annotations

import textwrap
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from dashboard.charts import Figure, figure
from dashboard.dbhealth.selectors import CatalogIndex
from dashboard.dbhealth.trends import DailyScans, TableUsage
from dashboard.dbhealth.violations import SQLSTATE_NAMES, violation_label

MiB = 1024 * 1024
DAY_MS = 24 * 3600 * 1000
LABEL_MAX = 63  # PostgreSQL names fit whole; longer labels (organization names) are cut, whole on hover


def _layout(fig: Figure, title: str, **kwargs) -> Figure:
    kwargs.setdefault("height", 380)
    fig["layout"].update(
        title={"font": {"size": 14}, "text": title, "automargin": True},
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "y": -0.2},
        **kwargs,
    )
    return fig


def _empty(title: str, message: str) -> Figure:
    """No axes, one message: why the chart is empty and when it will not be."""
    text = "<br>".join(textwrap.wrap(message, 60))
    fig = figure(
        xaxis={"visible": False},
        yaxis={"visible": False},
        annotations=[
            {
                "text": text,
                "xref": "paper",
                "yref": "paper",
                "x": 0.5,
                "y": 0.5,
                "showarrow": False,
                "font": {"size": 13},
            }
        ],
        meta={"empty": True},
    )
    return _layout(fig, title, height=260)


def _label(name: str) -> str:
    return name if len(name) <= LABEL_MAX else name[: LABEL_MAX - 1] + "…"


def _count_axis(title: str) -> dict:
    return {"title": {"text": title}, "type": "linear", "rangemode": "tozero", "tickformat": ",d"}


def _name_axis(names: list[str]) -> dict:
    return {
        "type": "category",
        "automargin": True,
        "categoryorder": "array",
        "categoryarray": names,
        "tickfont": {"size": 11},
    }


def _day_axis(start: date, end: date) -> dict:
    # Half a day either side, so the first and last days' bars are drawn whole.
    return {
        "type": "date",
        "range": [
            datetime.combine(start, time()) - timedelta(hours=12),
            datetime.combine(end, time()) + timedelta(hours=12),
        ],
        "tickformat": "%b %d",
        "automargin": True,
    }


def next_snapshot_at(now: datetime | None = None) -> datetime:
    """When the hourly job (cron "7 * * * *") takes its next snapshot."""
    now = now or timezone.now()
    at = now.replace(minute=7, second=0, microsecond=0)
    return at if at > now else at + timedelta(hours=1)


def scans_daily_figure(
    daily: DailyScans,
    start: date,
    end: date,
    snapshots: int,
    links: dict[str, str] | None = None,
    declarations: dict[str, str] | None = None,
) -> Figure:
    """Scans per day of the busiest indexes; statistics resets as dashed vertical lines."""
    title = "Index scans per day"
    links, declarations = links or {}, declarations or {}
    if not daily.series:
        nxt = f"{next_snapshot_at():%H:%M} UTC"
        if snapshots == 0:
            message = (
                f"No snapshot yet. Scans per day appear once two snapshots exist: the hourly job takes the "
                f"next at {nxt} and one more an hour later (or take one now, then another)."
            )
        elif snapshots == 1:
            message = (
                f"One snapshot so far. Scans per day appear after the next one, at {nxt} (or take one now)."
            )
        else:
            message = (
                f"No index was scanned between the snapshots since {start:%Y-%m-%d}. The next snapshot is "
                f"at {nxt}."
            )
        return _empty(title, message)
    traces = []
    for label, values in daily.series.items():
        _schema, table, index = daily.keys.get(label, ("", "", label))
        trace = {
            "customdata": [[index, table or "several tables", declarations.get(label, "")]] * len(values),
            "hovertemplate": "<b>%{customdata[0]}</b><br>table %{customdata[1]}<br>%{customdata[2]}"
            "<br>%{x|%Y-%m-%d}: %{y:,} scans<extra></extra>",
            "name": _label(index),
            "width": DAY_MS * 0.8,  # one number, not one per bar
            "x": daily.days,
            "y": values,
            "type": "bar",
        }
        if label in links:
            trace["meta"] = {"link": links[label]}
        traces.append(trace)
    if daily.index_resets:
        traces.append(
            {
                "hovertemplate": "%{text}: counter reset on %{x|%Y-%m-%d}<extra></extra>",
                "marker": {"color": "#dc2626", "size": 10, "symbol": "x"},
                "mode": "markers",
                "name": "counter reset (day counts scans since the reset)",
                "text": [label for _, label in daily.index_resets],
                "x": [day for day, _ in daily.index_resets],
                "y": [0] * len(daily.index_resets),
                "type": "scatter",
            }
        )
    fig = figure(traces, barmode="stack", xaxis=_day_axis(start, end), yaxis=_count_axis("scans"))
    if daily.resets:
        # A dashed line across the plot at each reset (what plotly's add_vline draws), with its label.
        fig["layout"]["shapes"] = [
            {
                "line": {"color": "#dc2626", "dash": "dash"},
                "type": "line",
                "x0": taken_at,
                "x1": taken_at,
                "xref": "x",
                "y0": 0,
                "y1": 1,
                "yref": "y domain",
            }
            for taken_at in daily.resets
        ]
        fig["layout"]["annotations"] = [
            {
                "showarrow": False,
                "text": "statistics reset",
                "x": at,
                "y": 1,
                "yanchor": "bottom",
                "yref": "paper",
            }
            for at in daily.resets
        ]
    return _layout(fig, title)


def _unique_labels(indexes: list[CatalogIndex]) -> list[str]:
    names = [i.name for i in indexes]
    return [_label(i.name if names.count(i.name) == 1 else f"{i.schema}.{i.name}") for i in indexes]


def index_size_figure(
    indexes: list[CatalogIndex], links: dict[str, str] | None = None, top: int = 20
) -> Figure:
    """The largest indexes; hover names the table and the Django declaration, a click opens the index."""
    title = f"Largest {min(top, len(indexes))} indexes (MiB)"
    if not indexes:
        return _empty(title, "No index in the user schemas yet: migrate creates them.")
    biggest = sorted(indexes, key=lambda i: (-i.size_bytes, i.table, i.name))[:top]
    labels = _unique_labels(biggest)
    links = links or {}
    bars = {
        "customdata": [[i.name, i.table, i.declaration or i.provenance, i.scans_in_window] for i in biggest],
        "hovertemplate": "<b>%{customdata[0]}</b><br>table %{customdata[1]}<br>%{customdata[2]}"
        "<br>%{x:.2f} MiB, %{customdata[3]:,} scans in the window<extra></extra>",
        "meta": {"links": [links.get(f"{i.table}.{i.name}", "") for i in biggest]},
        "orientation": "h",
        "x": [i.size_bytes / MiB for i in biggest],
        "y": labels,
        "type": "bar",
    }
    fig = figure(
        [bars],
        xaxis={"type": "linear", "rangemode": "tozero", "title": {"text": "MiB"}, "automargin": True},
        # Largest at the top: plotly draws the first category at the bottom.
        yaxis=_name_axis(labels[::-1]),
    )
    return _layout(fig, title, height=max(380, 26 * len(biggest) + 120))


def busiest_tables_figure(tables: list[TableUsage], since: str, top: int = 15) -> Figure:
    title = "Busiest tables in the window"
    busiest = [t for t in tables if t.scans][:top]
    if not busiest:
        return _empty(title, f"No table was scanned since {since}: scans appear here as queries read tables.")
    names = [_label(t.table) for t in busiest]
    bars = [
        {
            "customdata": [t.table for t in busiest],
            "hovertemplate": f"<b>%{{customdata}}</b><br>%{{x:,}} {name}<extra></extra>",
            "name": name,
            "orientation": "h",
            "x": [getattr(t, column) for t in busiest],
            "y": names,
            "type": "bar",
        }
        for column, name in (("idx_scan", "index scans"), ("seq_scan", "sequential scans"))
    ]
    fig = figure(bars, barmode="stack", xaxis=_count_axis("scans"), yaxis=_name_axis(names[::-1]))
    return _layout(fig, title, height=max(380, 26 * len(busiest) + 140))


def index_history_figures(history: list[dict], start: date, end: date) -> tuple[Figure, Figure]:
    """One index's scans per day and size per day, over the whole window."""
    if not history:
        message = (
            "No daily figures for this index in the window yet: each hourly snapshot adds its scans since "
            f"the previous one; the next is at {next_snapshot_at():%H:%M} UTC."
        )
        return _empty("Scans per day", message), _empty("Size", message)
    days = [row["day"] for row in history]
    bars = {
        "customdata": [("counter reset: scans since the reset" if row["reset"] else "") for row in history],
        "hovertemplate": "%{x|%Y-%m-%d}: %{y:,} scans<br>%{customdata}<extra></extra>",
        "marker": {"color": ["#dc2626" if row["reset"] else "#6366f1" for row in history]},
        "name": "scans",
        "width": [DAY_MS * 0.8] * len(days),
        "x": days,
        "y": [row["scans"] for row in history],
        "type": "bar",
    }
    scans = figure([bars], xaxis=_day_axis(start, end), yaxis=_count_axis("scans"), showlegend=False)
    line = {
        "hovertemplate": "%{x|%Y-%m-%d}: %{y:.2f} MiB<extra></extra>",
        "mode": "lines+markers",
        "name": "size",
        "x": days,
        "y": [row["size_bytes"] / MiB for row in history],
        "type": "scatter",
    }
    size = figure(
        [line],
        xaxis=_day_axis(start, end),
        yaxis={"type": "linear", "rangemode": "tozero", "title": {"text": "MiB"}},
        showlegend=False,
    )
    return _layout(scans, "Scans per day"), _layout(size, "Size (MiB, at each day's last snapshot)")


def violations_over_time_figure(rows: list[dict], start: date, end: date, top: int = 10) -> Figure:
    """Stacked bars per day, one colour per constraint (the `top` most hit; the rest summed)."""
    title = "Violations per constraint per day"
    if not rows:
        return _empty(
            title,
            f"No violation recorded since {start:%Y-%m-%d}. Integrity errors are recorded as they happen "
            "(even when their transaction rolled back), and so are those validation caught first.",
        )
    totals: dict[str, int] = {}
    for row in rows:
        label = violation_label(row["constraint_name"], row["column_name"])
        totals[label] = totals.get(label, 0) + row["count"]
    keep = set(sorted(totals, key=lambda label: (-totals[label], label))[:top])
    series: dict[str, dict] = {}
    for row in rows:
        label = violation_label(row["constraint_name"], row["column_name"])
        label = label if label in keep else "other constraints"
        day = row["day"].date() if isinstance(row["day"], datetime) else row["day"]
        per_day = series.setdefault(label, {})
        per_day[day] = per_day.get(day, 0) + row["count"]
    bars = [
        {
            "customdata": [label] * len(per_day),
            "hovertemplate": "<b>%{customdata}</b><br>%{x|%Y-%m-%d}: %{y:,} violations<extra></extra>",
            "name": _label(label),
            "width": [DAY_MS * 0.8] * len(per_day),
            "x": list(per_day),
            "y": list(per_day.values()),
            "type": "bar",
        }
        for label, per_day in series.items()
    ]
    fig = figure(bars, barmode="stack", xaxis=_day_axis(start, end), yaxis=_count_axis("violations"))
    return _layout(fig, title)


def violations_by_sqlstate_figure(rows: list[dict]) -> Figure:
    title = "By SQLSTATE (class 23: integrity constraint violation)"
    if not rows:
        return _empty(title, "No violation in the window: each SQLSTATE gets a bar once one is recorded.")
    states = sorted({row["sqlstate"] for row in rows})
    labels = [f"{state} {SQLSTATE_NAMES.get(state, '')}".strip() for state in states]
    bars = []
    for kind, name in (("error", "reached the database"), ("prevented", "prevented by validation")):
        counts = {row["sqlstate"]: row["count"] for row in rows if row["kind"] == kind}
        bars.append(
            {
                "hovertemplate": "%{x}<br>%{y:,} " + name + "<extra></extra>",
                "name": name,
                "x": labels,
                "y": [counts.get(state, 0) for state in states],
                "type": "bar",
            }
        )
    fig = figure(bars, barmode="stack", xaxis=_name_axis(labels), yaxis=_count_axis("violations"))
    return _layout(fig, title)


def violations_by_organization_figure(rows: list[dict]) -> Figure:
    title = "By organization"
    if not rows:
        return _empty(title, "No violation in the window: organizations appear here once one is recorded.")
    names = [r["label"] for r in rows]
    # Two organizations may share a name: a category axis would add their bars together.
    labels = [
        _label(r["label"] if names.count(r["label"]) == 1 else f"{r['label']} (#{r['organization_id']})")
        for r in rows
    ]
    bars = {
        "customdata": [r["label"] for r in rows],
        "hovertemplate": "<b>%{customdata}</b><br>%{x:,} violations<extra></extra>",
        "orientation": "h",
        "x": [r["count"] for r in rows],
        "y": labels,
        "type": "bar",
    }
    fig = figure([bars], xaxis=_count_axis("violations"), yaxis=_name_axis(labels[::-1]))
    return _layout(fig, title, height=max(380, 26 * len(rows) + 120))


def scans_per_node_figure(rows: list[tuple]) -> Figure:
    """Index scans per day on each node (primary and replicas): rows of (node, day, scans)."""
    by_node: dict[str, tuple[list, list]] = {}
    for node, day, scans in rows:
        days, values = by_node.setdefault(node, ([], []))
        days.append(day)
        values.append(int(scans))
    bars = [
        {
            "hovertemplate": f"{node}<br>%{{x}}: %{{y}} scans",
            "name": node,
            "x": days,
            "y": values,
            "type": "bar",
        }
        for node, (days, values) in by_node.items()
    ]
    yaxis = {"type": "linear", "title": {"text": "scans"}}
    fig = figure(bars, barmode="group", xaxis={"type": "date"}, yaxis=yaxis)
    return _layout(fig, "Index scans per day on each node")

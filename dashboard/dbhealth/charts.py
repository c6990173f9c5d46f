"""Plotly figures of the DB health pages (rendered by dashboard.charts / {% plotly_figure %})."""

from __future__ import annotations

import plotly.graph_objects as go

from dashboard.dbhealth.selectors import SQLSTATE_NAMES, CatalogIndex, DailyScans, TableUsage, violation_label

MiB = 1024 * 1024


def _layout(fig: go.Figure, title: str, **kwargs) -> go.Figure:
    kwargs.setdefault("height", 380)
    fig.update_layout(
        title={"text": title, "font": {"size": 14}},
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        legend={"orientation": "h", "y": -0.2},
        **kwargs,
    )
    return fig


def scans_daily_figure(daily: DailyScans) -> go.Figure:
    """Scans per day of the busiest indexes; statistics resets as dashed vertical lines."""
    fig = go.Figure()
    for label, values in daily.series.items():
        fig.add_trace(go.Scatter(x=daily.days, y=values, mode="lines+markers", name=label))
    for taken_at in daily.resets:
        fig.add_vline(x=taken_at, line_dash="dash", line_color="#dc2626")
        fig.add_annotation(
            x=taken_at, y=1, yref="paper", text="statistics reset", showarrow=False, yanchor="bottom"
        )
    if daily.index_resets:
        fig.add_trace(
            go.Scatter(
                x=[day for day, _ in daily.index_resets],
                y=[0] * len(daily.index_resets),
                mode="markers",
                marker={"symbol": "x", "size": 10, "color": "#dc2626"},
                name="counter reset (day counts scans since the reset)",
                text=[label for _, label in daily.index_resets],
            )
        )
    return _layout(fig, "Index scans per day", yaxis_title="scans", xaxis_title=None)


def index_size_figure(indexes: list[CatalogIndex], top: int = 20) -> go.Figure:
    biggest = sorted(indexes, key=lambda i: -i.size_bytes)[:top][::-1]
    fig = go.Figure(
        go.Bar(
            x=[i.size_bytes / MiB for i in biggest],
            y=[f"{i.table}.{i.name}" for i in biggest],
            orientation="h",
            customdata=[i.scans_in_window for i in biggest],
            hovertemplate="%{y}<br>%{x:.2f} MiB<br>%{customdata} scans in the window<extra></extra>",
        )
    )
    return _layout(
        fig, f"Largest {len(biggest)} indexes (MiB)", xaxis_title="MiB", height=max(380, 22 * len(biggest))
    )


def busiest_tables_figure(tables: list[TableUsage], top: int = 15) -> go.Figure:
    busiest = [t for t in tables if t.scans][:top][::-1]
    names = [t.table for t in busiest]
    fig = go.Figure(
        [
            go.Bar(y=names, x=[t.idx_scan for t in busiest], name="index scans", orientation="h"),
            go.Bar(y=names, x=[t.seq_scan for t in busiest], name="sequential scans", orientation="h"),
        ]
    )
    fig.update_layout(barmode="stack")
    return _layout(
        fig, "Busiest tables in the window", xaxis_title="scans", height=max(380, 24 * len(busiest))
    )


def violations_over_time_figure(rows: list[dict], top: int = 10) -> go.Figure:
    """Stacked bars per day, one colour per constraint (the `top` most hit; the rest summed)."""
    totals: dict[str, int] = {}
    for row in rows:
        label = violation_label(row["constraint_name"], row["column_name"])
        totals[label] = totals.get(label, 0) + row["count"]
    keep = set(sorted(totals, key=lambda label: (-totals[label], label))[:top])
    series: dict[str, dict] = {}
    for row in rows:
        label = violation_label(row["constraint_name"], row["column_name"])
        label = label if label in keep else "other constraints"
        per_day = series.setdefault(label, {})
        per_day[row["day"]] = per_day.get(row["day"], 0) + row["count"]
    fig = go.Figure(
        [go.Bar(x=list(per_day), y=list(per_day.values()), name=label) for label, per_day in series.items()]
    )
    fig.update_layout(barmode="stack")
    return _layout(fig, "Violations per constraint per day", yaxis_title="violations")


def violations_by_sqlstate_figure(rows: list[dict]) -> go.Figure:
    states = sorted({row["sqlstate"] for row in rows})
    labels = [f"{state} {SQLSTATE_NAMES.get(state, '')}".strip() for state in states]
    fig = go.Figure()
    for kind, name in (("error", "reached the database"), ("prevented", "prevented by validation")):
        counts = {row["sqlstate"]: row["count"] for row in rows if row["kind"] == kind}
        fig.add_trace(go.Bar(x=labels, y=[counts.get(state, 0) for state in states], name=name))
    fig.update_layout(barmode="stack")
    return _layout(fig, "By SQLSTATE (class 23: integrity constraint violation)", yaxis_title="violations")


def violations_by_organization_figure(rows: list[dict]) -> go.Figure:
    ordered = rows[::-1]
    fig = go.Figure(go.Bar(x=[r["count"] for r in ordered], y=[r["label"] for r in ordered], orientation="h"))
    return _layout(fig, "By organization", xaxis_title="violations", height=max(380, 24 * len(ordered)))


def scans_per_node_figure(rows: list[tuple]) -> go.Figure:
    """Index scans per day on each node (primary and replicas): rows of (node, day, scans)."""
    fig = go.Figure()
    by_node: dict[str, tuple[list, list]] = {}
    for node, day, scans in rows:
        days, values = by_node.setdefault(node, ([], []))
        days.append(day)
        values.append(int(scans))
    for node, (days, values) in by_node.items():
        fig.add_trace(go.Bar(x=days, y=values, name=node, hovertemplate=f"{node}<br>%{{x}}: %{{y}} scans"))
    fig.update_layout(barmode="group", xaxis={"type": "date"}, yaxis={"type": "linear"})
    return _layout(fig, "Index scans per day on each node", yaxis_title="scans")

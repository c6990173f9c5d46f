"""Figures of the validation overview (drawn by static/dashboard/js/charts.js, which follows dark mode)."""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go

from dashboard.validation.selectors import ResultRow

VIOLATION_COLOR = "#dc2626"
WAIVED_COLOR = "#9ca3af"


def violations_by_rule_figure(rows: list[ResultRow]) -> go.Figure:
    """Horizontal bars, one per (model, rule) with violations or waivers, largest at the top."""
    shown = sorted((r for r in rows if r.violations or r.waived), key=lambda r: (r.violations, r.waived))
    labels = [f"{r.model_title} · {r.rule_name}" for r in shown]
    figure = go.Figure(
        [
            go.Bar(
                y=labels,
                x=[r.violations for r in shown],
                name="Violations",
                orientation="h",
                marker_color=VIOLATION_COLOR,
            ),
            go.Bar(
                y=labels,
                x=[r.waived for r in shown],
                name="Waived",
                orientation="h",
                marker_color=WAIVED_COLOR,
            ),
        ]
    )
    figure.update_layout(
        barmode="stack",
        height=max(260, 28 * len(shown) + 120),
        margin={"l": 10, "r": 10, "t": 30, "b": 40},
        yaxis={"automargin": True},
        xaxis={"title": "Records"},
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
    )
    return figure


def violations_trend_figure(trend: list[dict[str, Any]]) -> go.Figure:
    """Violations and waived violations per finished scan, oldest first."""
    x = [f"#{row['scan']}" for row in trend]
    text = [row["at"].strftime("%Y-%m-%d %H:%M") if row["at"] else "" for row in trend]
    figure = go.Figure(
        [
            go.Scatter(
                x=x,
                y=[row["violations"] for row in trend],
                name="Violations",
                mode="lines+markers",
                line={"color": VIOLATION_COLOR},
                text=text,
                hovertemplate="Scan %{x} (%{text}): %{y}<extra>Violations</extra>",
            ),
            go.Scatter(
                x=x,
                y=[row["waived"] for row in trend],
                name="Waived",
                mode="lines+markers",
                line={"color": WAIVED_COLOR, "dash": "dot"},
                text=text,
                hovertemplate="Scan %{x} (%{text}): %{y}<extra>Waived</extra>",
            ),
        ]
    )
    figure.update_layout(
        height=300,
        margin={"l": 10, "r": 10, "t": 30, "b": 40},
        xaxis={"title": "Scan", "type": "category"},
        yaxis={"title": "Records", "rangemode": "tozero"},
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
    )
    return figure

"""Figures of the validation overview (drawn by static/dashboard/js/charts.js, which follows dark mode).

Figures are plain plotly data (dashboard.charts.Figure); tests check them against plotly's schema."""

from __future__ import annotations

from typing import Any

from dashboard.charts import Figure, figure
from dashboard.validation.selectors import ResultRow

VIOLATION_COLOR = "#dc2626"
WAIVED_COLOR = "#9ca3af"
LEGEND = {"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"}


def violations_by_rule_figure(rows: list[ResultRow]) -> Figure:
    """Horizontal bars, one per (model, rule) with violations or waivers, largest at the top."""
    shown = sorted((r for r in rows if r.violations or r.waived), key=lambda r: (r.violations, r.waived))
    labels = [f"{r.model_title} · {r.rule_name}" for r in shown]
    bars = [
        {
            "marker": {"color": color},
            "name": name,
            "orientation": "h",
            "x": [getattr(r, field) for r in shown],
            "y": labels,
            "type": "bar",
        }
        for field, name, color in (
            ("violations", "Violations", VIOLATION_COLOR),
            ("waived", "Waived", WAIVED_COLOR),
        )
    ]
    return figure(
        bars,
        margin={"l": 10, "r": 10, "t": 30, "b": 40},
        yaxis={"automargin": True},
        legend=LEGEND,
        barmode="stack",
        height=max(260, 28 * len(shown) + 120),
        xaxis={"title": {"text": "Records"}},
    )


def violations_trend_figure(trend: list[dict[str, Any]]) -> Figure:
    """Violations and waived violations per finished scan, oldest first."""
    x = [f"#{row['scan']}" for row in trend]
    text = [row["at"].strftime("%Y-%m-%d %H:%M") if row["at"] else "" for row in trend]
    lines = [
        {
            "hovertemplate": f"Scan %{{x}} (%{{text}}): %{{y}}<extra>{name}</extra>",
            "line": line,
            "mode": "lines+markers",
            "name": name,
            "text": text,
            "x": x,
            "y": [row[field] for row in trend],
            "type": "scatter",
        }
        for field, name, line in (
            ("violations", "Violations", {"color": VIOLATION_COLOR}),
            ("waived", "Waived", {"color": WAIVED_COLOR, "dash": "dot"}),
        )
    ]
    return figure(
        lines,
        height=300,
        margin={"l": 10, "r": 10, "t": 30, "b": 40},
        xaxis={"title": {"text": "Scan"}, "type": "category"},
        yaxis={"title": {"text": "Records"}, "rangemode": "tozero"},
        legend=LEGEND,
    )

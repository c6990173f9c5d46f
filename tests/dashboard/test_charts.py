import json
import re

import plotly.graph_objects as go
import pytest
from django.template import Context, Template

from dashboard.charts import render_figure

EVIL = "</script><script>alert(1)</script> & <!-- done"


def data_island(html: str, element_id: str) -> str:
    match = re.search(rf'<script id="{element_id}-data" type="application/json">(.*?)</script>', html, re.S)
    assert match, html[:300]
    return match.group(1)


def figure() -> go.Figure:
    return go.Figure(go.Bar(x=["a", "b"], y=[3, 5], name=EVIL), layout={"title": {"text": "Scans"}})


def test_renders_container_and_json_island():
    html = render_figure(figure(), "scans")
    assert '<div id="scans" class="custodian-chart" data-figure-id="scans-data"' in html
    parsed = json.loads(data_island(html, "scans"))
    assert parsed["data"][0]["y"] == [3, 5]
    assert parsed["layout"]["title"]["text"] == "Scans"


def test_the_island_leaves_out_plotlys_default_template_which_charts_js_drops():
    html = render_figure(figure(), "scans")
    parsed = json.loads(data_island(html, "scans"))
    assert "template" not in parsed["layout"] and parsed["layout"]["title"]["text"] == "Scans"
    assert len(html) < 2000  # the template alone was some 7 KB


def test_script_end_tag_in_a_trace_name_cannot_break_out():
    html = render_figure(figure(), "scans")
    # Exactly one closing tag: the island's own. The name survives intact once parsed.
    assert html.count("</script>") == 1
    assert "<!--" not in html
    assert json.loads(data_island(html, "scans"))["data"][0]["name"] == EVIL


@pytest.mark.parametrize("bad_id", ['x" onload="alert(1)', "1abc", "", "a b"])
def test_element_id_is_validated(bad_id):
    with pytest.raises(ValueError):
        render_figure(figure(), bad_id)


def test_template_tag():
    html = Template('{% load custodian_charts %}{% plotly_figure fig "by-day" %}').render(
        Context({"fig": figure()})
    )
    assert json.loads(data_island(html, "by-day"))["data"][0]["x"] == ["a", "b"]


def test_chart_scripts_include_loads_plotly_from_our_static_files():
    html = Template('{% include "dashboard/includes/chart_scripts.html" %}').render(Context())
    assert '<script src="/static/vendor/plotly/plotly.min.js" defer></script>' in html
    assert '<script src="/static/dashboard/js/charts.js" defer></script>' in html

from django import template
from django.utils.safestring import SafeString

from dashboard.charts import render_figure

register = template.Library()


@register.simple_tag
def plotly_figure(fig, element_id: str) -> SafeString:
    """`{% plotly_figure fig "scans-per-day" %}`: see dashboard.charts.render_figure."""
    return render_figure(fig, element_id)

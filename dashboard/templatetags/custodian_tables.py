"""`{% table_component table striped=1 %}`: unfold's table component, fast (dashboard.tables.table_html)."""

from collections.abc import Mapping
from typing import Any

from django import template
from django.utils.safestring import SafeString

from dashboard.tables import table_html

register = template.Library()


@register.simple_tag
def table_component(table: Mapping[str, Any], striped: int = 0) -> SafeString:
    return table_html(table, striped=bool(striped))

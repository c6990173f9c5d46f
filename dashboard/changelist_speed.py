"""Three costs django-unfold 0.91's changelist rows pay for every row, paid once instead.

unfold's `items_for_result` (unfold/templatetags/unfold_list.py) rebuilds every column header for every row,
only to read each header's text for its cell's `data-label`, and renders the label template
(unfold/helpers/display_label.html) anew for every badge cell. On a 100-row ticket page that was most of the
page's CPU time: the headers alone were O(rows x columns), and a status badge is one of a handful of
strings; the row's checkbox is a widget template rendered per row for what differs only in its value.
unfold offers no hook for these (module functions called by name, a method of its ModelAdmin), so
`install()` wraps them in place, without changing what they return:

- `result_headers(cl)`: computed once per ChangeList (the headers depend only on its ordering and
  columns, fixed once it is built) and handed out as a fresh list each call.
- `display_for_label(value, empty, label)`: a pure function of its arguments (a template render of them
  alone), kept in a bounded cache keyed by them when they are hashable.
- `ModelAdmin.action_checkbox(obj)`: the widget rendered once with a marker for its value; each row
  gets that markup with its own (escaped) primary key in the marker's place.

tests/dashboard/test_changelist_speed.py checks the output is the same and the work is done once.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

from django.contrib.admin import helpers
from django.contrib.admin.views.main import ChangeList
from django.db.models import Model
from django.utils.html import escape
from django.utils.safestring import SafeText, mark_safe
from unfold import admin as unfold_admin
from unfold.templatetags import unfold_list

_HEADERS_ATTRIBUTE = "_custodian_result_headers"
LABEL_CACHE_SIZE = 4096


def _headers_once(result_headers: Callable[[ChangeList], Iterator[dict]]) -> Callable[[ChangeList], Iterator]:
    @functools.wraps(result_headers)
    def headers(cl: ChangeList) -> Iterator[dict]:
        computed = getattr(cl, _HEADERS_ATTRIBUTE, None)
        if computed is None:
            computed = list(result_headers(cl))
            setattr(cl, _HEADERS_ATTRIBUTE, computed)
        return iter(list(computed))

    return headers


def _label_key(label: Any) -> tuple:
    # A label is True (one style) or a dict of value -> style; the key can be turned back into it.
    return ("dict", tuple(label.items())) if isinstance(label, dict) else ("plain", label)


def _label_from_key(key: tuple) -> Any:
    kind, value = key
    return dict(value) if kind == "dict" else value


def _labels_cached(display_for_label: Callable[..., SafeText]) -> Callable[..., SafeText]:
    @functools.lru_cache(maxsize=LABEL_CACHE_SIZE)
    def render(value: Any, empty_value_display: str, label_key: tuple) -> SafeText:
        return display_for_label(value, empty_value_display, _label_from_key(label_key))

    @functools.wraps(display_for_label)
    def display(value: Any, empty_value_display: str, label: Any) -> SafeText:
        try:
            key = (value, str(empty_value_display), _label_key(label))
            hash(key)
        except TypeError:  # a list of labels, a dict with unhashable values: rendered every time
            return display_for_label(value, empty_value_display, label)
        return render(*key)

    return display


_VALUE_MARKER = "custodianpkmarker"


@functools.cache
def _checkbox_parts() -> list[str]:
    html = unfold_admin.checkbox.render(helpers.ACTION_CHECKBOX_NAME, _VALUE_MARKER)
    return html.split(_VALUE_MARKER)


def _checkbox_fast(action_checkbox: Callable[[Any, Model], str]) -> Callable[[Any, Model], str]:
    @functools.wraps(action_checkbox)  # keeps its @display description: the "select all" box
    def checkbox(self: Any, obj: Model) -> str:
        return mark_safe(escape(str(obj.pk)).join(_checkbox_parts()))

    return checkbox


def install() -> None:
    """Wrap unfold's two functions once per process (idempotent)."""
    if getattr(unfold_list.result_headers, "__custodian_wrapped__", False):
        return
    headers = _headers_once(unfold_list.result_headers)
    label = _labels_cached(unfold_list.display_for_label)
    headers.__custodian_wrapped__ = True  # type: ignore[attr-defined]
    unfold_list.result_headers = headers
    unfold_list.display_for_label = label
    unfold_admin.ModelAdmin.action_checkbox = _checkbox_fast(unfold_admin.ModelAdmin.action_checkbox)

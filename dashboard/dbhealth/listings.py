"""The index page's two tables: findings grouped by kind, and every index; filtered, sorted and paged.

Both lists are built in memory from one catalog read (hundreds of rows, not customer data), so filtering,
sorting and paging here costs no query. Rows are unfold table component rows (`unfold/components/table.html`,
written by dashboard.tables.table_html); links keep the rest of the query string, so a tab, a filter and a
page of the other table survive each click.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import HttpRequest
from django.template.defaultfilters import filesizeformat
from django.utils.html import format_html, format_html_join

from dashboard.dbhealth.forms import FINDING_SORTS, INDEX_SORTS
from dashboard.dbhealth.index_findings import FINDING_KINDS
from dashboard.dbhealth.selectors import CatalogIndex, Finding

FINDINGS_PER_PAGE = 20
INDEXES_PER_PAGE = 50


def _query(request: HttpRequest, anchor: str, **changes: Any) -> str:
    params = {key: value for key, value in request.GET.items()}
    for key, value in changes.items():
        if value in (None, ""):
            params.pop(key, None)
        else:
            params[key] = value
    return "?" + urlencode(params) + anchor


def _pages(request: HttpRequest, page: Any, param: str, anchor: str) -> list[dict]:
    # Every page number is a link, so any row is one click from the first page.
    return [
        {"number": n, "link": _query(request, anchor, **{param: n}), "active": n == page.number}
        for n in page.paginator.page_range
    ]


def _sorts(
    request: HttpRequest, choices: list, current: str, param: str, page_param: str, anchor: str
) -> list:
    return [
        {
            "label": label,
            "link": _query(request, anchor, **{param: value, page_param: None}),
            "active": value == current,
        }
        for value, label in choices
    ]


def _index_cell(name: str, link: str | None, detail: str = "") -> Any:
    if link is None:
        return format_html('<span class="dbh-wrap font-mono text-xs">{}</span>', name)
    return format_html(
        '<a class="dbh-wrap font-mono text-xs text-primary-600 underline dark:text-primary-500" href="{}" '
        'data-index-link="{}">{}</a>{}',
        link,
        name,
        name,
        format_html('<br><span class="text-xs">{}</span>', detail) if detail else "",
    )


def findings_context(
    request: HttpRequest,
    params: dict,
    findings: list[Finding],
    by_key: dict[tuple[str, str], CatalogIndex],
    links: dict[str, str],
) -> dict:
    counts = {kind: sum(1 for f in findings if f.kind == kind) for kind in FINDING_KINDS}
    kind = params.get("kind") or next((k for k in FINDING_KINDS if counts[k]), FINDING_KINDS[0])
    of_kind = [f for f in findings if f.kind == kind]
    table_choices = sorted({f.table for f in of_kind})
    table = params.get("ftable") or ""
    shown = [f for f in of_kind if not table or f.table == table]
    sort = params.get("fsort") or "size"
    if sort == "table":
        shown.sort(key=lambda f: (f.table, f.index))
    elif sort == "index":
        shown.sort(key=lambda f: (f.index, f.table))
    elif kind != "unused":  # unused come ranked by what dropping saves; keep that order for "size"
        shown.sort(key=lambda f: (-f.size_bytes, f.table, f.index))
    page = Paginator(shown, FINDINGS_PER_PAGE).get_page(params.get("fpage") or 1)
    rows = []
    for finding in page.object_list:
        index = by_key.get((finding.table, finding.index))
        rows.append(
            {
                "cols": [
                    _index_cell(finding.index, links.get(f"{finding.table}.{finding.index}")),
                    format_html('<span class="dbh-wrap">{}</span>', finding.table),
                    filesizeformat(finding.size_bytes),
                    format_html('<span class="text-xs">{}</span>', finding.detail),
                    format_html('<span class="dbh-wrap font-mono text-xs">{}</span>', finding.action),
                ],
                "attrs": {
                    "data-finding": finding.kind,
                    "data-index": finding.index,
                    "data-table": finding.table,
                    "data-declared": "1" if index is not None and index.is_declared else "0",
                },
            }
        )
    anchor = "#findings"
    return {
        "finding_counts": [(k, counts[k]) for k in FINDING_KINDS],
        "finding_tabs": [
            {
                "title": f"{k} ({counts[k]})",
                "link": _query(request, anchor, kind=k, ftable=None, fpage=None),
                "active": k == kind,
            }
            for k in FINDING_KINDS
        ],
        "finding_kind": kind,
        "finding_total": len(findings),
        "finding_table": table,
        "finding_table_choices": table_choices,
        "finding_sorts": _sorts(request, FINDING_SORTS, sort, "fsort", "fpage", anchor),
        "finding_page": page,
        "finding_pages": _pages(request, page, "fpage", anchor),
        "findings_table": {
            "headers": ["Index", "Table", "Size", "Why", "Migration to write"],
            "rows": rows,
        },
    }


def _flags(index: CatalogIndex) -> str:
    flags = [
        name
        for name, on in (
            ("primary", index.is_primary),
            ("unique", index.is_unique),
            ("exclusion", index.is_exclusion),
            ("invalid", not index.is_valid and not index.building),
            ("building", index.building),
        )
        if on
    ]
    return " ".join(flags) or "—"


def _scans_cell(index: CatalogIndex) -> Any:
    by_node = getattr(index, "scans_by_node", {}) or {}
    per_node = format_html_join(
        "",
        '<br><span class="text-xs whitespace-nowrap" data-node-scans="{}">{}: {}</span>',
        ((node, node, f"{scans:,}") for node, scans in by_node.items()),
    )
    return format_html(
        "<span data-scans>{}</span>{}", f"{index.scans_in_window:,}", per_node if len(by_node) > 1 else ""
    )


def indexes_context(request: HttpRequest, params: dict, indexes: list[CatalogIndex], links: dict) -> dict:
    table = params.get("itable") or ""
    shown = [i for i in indexes if not table or i.table == table]
    sort = params.get("isort") or "table"
    keys = {
        "table": lambda i: (i.table, i.name),
        "index": lambda i: (i.name, i.table),
        "scans": lambda i: (-i.scans_in_window, i.table, i.name),
        "size": lambda i: (-i.size_bytes, i.table, i.name),
    }
    shown.sort(key=keys[sort])
    page = Paginator(shown, INDEXES_PER_PAGE).get_page(params.get("ipage") or 1)
    rows = [
        {
            "cols": [
                _index_cell(i.name, links.get(f"{i.table}.{i.name}"), i.method),
                format_html('<span class="dbh-wrap">{}</span>', i.table),
                format_html(
                    '<span data-provenance>{}</span><br><span class="text-xs">{}</span>',
                    i.provenance,
                    i.declaration,
                ),
                format_html(
                    '<span data-drift class="{}">{}</span>',
                    "text-red-600 dark:text-red-500" if i.drift in ("differs", "undeclared") else "",
                    i.drift,
                ),
                _scans_cell(i),
                filesizeformat(i.size_bytes),
                format_html('<span class="text-xs">{}</span>', _flags(i)),
            ],
            "attrs": {"data-index-row": i.name, "data-table": i.table},
        }
        for i in page.object_list
    ]
    anchor = "#indexes"
    return {
        "index_total": len(indexes),
        "index_shown": len(shown),
        "index_table": table,
        "index_table_choices": sorted({i.table for i in indexes}),
        "index_sorts": _sorts(request, INDEX_SORTS, sort, "isort", "ipage", anchor),
        "index_page": page,
        "index_pages": _pages(request, page, "ipage", anchor),
        "indexes_table": {
            "headers": ["Index", "Table", "Provenance", "Drift", "Scans in window", "Size", "Flags"],
            "rows": rows,
        },
    }

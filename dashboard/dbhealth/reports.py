"""DB health's exports: the index findings its index usage page lists, as a report dataset
(dashboard.exports formats and answers)."""

from __future__ import annotations

from dashboard.dbhealth import index_findings, selectors
from dashboard.exports import Report, dataset_build

FINDING_HEADERS = ["kind", "table", "index", "detail", "action", "size_bytes"]


def index_findings_report(days: int) -> Report:
    """The findings the index usage page lists for a window of `days` (unused, duplicate, invalid, bloated,
    missing, undeclared, differs), from the same selectors."""
    window = selectors.window_for(days)
    indexes = selectors.index_usage_list(window)
    findings = index_findings.index_findings_list(window, indexes)
    rows = [[f.kind, f.table, f.index, f.detail, f.action, f.size_bytes] for f in findings]
    return Report(dataset_build(FINDING_HEADERS, rows, title="Index findings"), f"index-findings-{days}d")

"""Report downloads: the one place that formats a console page's export and answers with it.

Each capability builds its own report (a tablib dataset read through its own selectors, scoping and filters
included) and hands it here; this module picks the format from the query string, writes the file
(dashboard.formats: CSV, XLSX with formula-like cells kept as text, JSON), names it and answers. Lists too
long for memory stream as CSV through `export_csv_stream`. A refused download (bad format, bad filters) is
dashboard.pages.page_refuse, like any refused request.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import tablib
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.text import slugify
from import_export.formats.base_formats import Format

from dashboard import formats
from dashboard.spreadsheet import csv_cell

EXPORT_FORMATS: dict[str, type[Format]] = {"csv": formats.CSV, "xlsx": formats.XLSX, "json": formats.JSON}
FORMATS_TEXT = "csv, xlsx or json"


@dataclass
class Report:
    """A capability's export: its rows, what the file is called, and whether the row cap cut it short."""

    dataset: tablib.Dataset
    filename_stem: str
    truncated: bool = False


def dataset_build(headers: Iterable[str], rows: Iterable[Iterable[Any]], title: str = "") -> tablib.Dataset:
    """A dataset from plain rows (report exports), values as they are."""
    dataset = tablib.Dataset(headers=list(headers), title=title[:31] or None)
    for row in rows:
        dataset.append(list(row))
    return dataset


def export_filename(stem: str, extension: str) -> str:
    """ "tickets-2025-03-01.csv": what a download is called."""
    return f"{slugify(stem) or 'export'}-{timezone.now():%Y-%m-%d}.{extension}"


def export_format_get(key: str) -> Format | None:
    """The export format named by a query string value ("csv", "xlsx", "json"); None for anything else."""
    file_format = EXPORT_FORMATS.get((key or "").lower())
    return file_format() if file_format is not None else None


def export_response(dataset: tablib.Dataset, file_format: Format, filename_stem: str) -> HttpResponse:
    """A download of `dataset` in `file_format` (one of dashboard.formats), for any report page."""
    response = HttpResponse(file_format.export_data(dataset), content_type=file_format.get_content_type())
    name = export_filename(filename_stem, file_format.get_extension())
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def report_response(report: Report, file_format: Format) -> HttpResponse:
    """The download of a capability's report; a header says when the cap cut it short (the file itself stays
    plain data)."""
    response = export_response(report.dataset, file_format, report.filename_stem)
    response["X-Export-Truncated"] = "true" if report.truncated else "false"
    return response


class _Echo:
    """csv.writer's file: hands each written line back instead of keeping it."""

    def write(self, value: str) -> str:
        return value


def export_csv_stream(
    headers: list[str], rows: Iterable[Iterable[Any]], filename_stem: str
) -> StreamingHttpResponse:
    """A CSV download written row by row as `rows` yields them (bounded memory for any number of rows); cells
    that would run as formulas are kept as text (dashboard.spreadsheet)."""
    writer = csv.writer(_Echo())

    def lines() -> Iterable[str]:
        yield writer.writerow(headers)
        for row in rows:
            yield writer.writerow([csv_cell(value) for value in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{export_filename(filename_stem, "csv")}"'
    return response

"""The file formats the admin offers: CSV, XLSX and JSON (settings.IMPORT_EXPORT_FORMATS).

XLSX is written here rather than by tablib: tablib hands every string to openpyxl as is, and openpyxl stores a
string starting with "=" as a formula, so a ticket subject like "=HYPERLINK(...)" would run in the reader's
Excel. Writing such cells as explicit strings keeps the value exact (an import gives it back unchanged) and
inert. The workbook is written in openpyxl's write-only mode, which keeps memory flat as rows are added.

CSV has no cell types: every CSV cell the console writes goes through `dashboard.spreadsheet.csv_cell`
(formula-like text gets an apostrophe, numbers stay as they are), and reading a CSV back removes exactly
that prefix again, so an exported file still imports unchanged.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

import tablib
from import_export.formats import base_formats

from dashboard.spreadsheet import csv_cell, csv_cell_read


def _headers_tidy(dataset: tablib.Dataset) -> tablib.Dataset:
    """Strip spaces around column names, and drop trailing nameless columns that hold nothing (spreadsheets
    report styled but empty columns). The dry run and the confirm step both read files through here, so
    they see the same columns."""
    headers = list(dataset.headers or [])
    keep = len(headers)
    while (
        keep and headers[keep - 1] in (None, "") and all(v in (None, "") for v in dataset.get_col(keep - 1))
    ):
        keep -= 1
    tidy = tablib.Dataset(headers=[h.strip() if isinstance(h, str) else h for h in headers[:keep]])
    if keep == len(headers):
        if headers:
            dataset.headers = tidy.headers
        return dataset
    for row in dataset:
        tidy.append(list(row)[:keep])
    return tidy


class CSV(base_formats.CSV):
    def create_dataset(self, in_stream: Any, **kwargs: Any) -> tablib.Dataset:
        dataset = _headers_tidy(super().create_dataset(in_stream, **kwargs))
        if not any(isinstance(v, str) and v.startswith("'") for row in dataset for v in row):
            return dataset
        unquoted = tablib.Dataset(headers=dataset.headers)
        for row in dataset:
            unquoted.append([csv_cell_read(v) for v in row])
        return unquoted

    def export_data(self, dataset: tablib.Dataset, **kwargs: Any) -> str:
        safe = tablib.Dataset(headers=dataset.headers, title=dataset.title)
        for row in dataset:
            safe.append([csv_cell(v) for v in row])
        return super().export_data(safe, **kwargs)


class JSON(base_formats.JSON):
    def create_dataset(self, in_stream: Any, **kwargs: Any) -> tablib.Dataset:
        return _headers_tidy(super().create_dataset(in_stream, **kwargs))


class XLSX(base_formats.XLSX):
    def create_dataset(self, in_stream: Any) -> tablib.Dataset:
        return _headers_tidy(super().create_dataset(in_stream))

    def export_data(self, dataset: tablib.Dataset, **kwargs: Any) -> bytes:
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Font

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet(title=(dataset.title or "Export")[:31])
        sheet.freeze_panes = "A2"
        bold = Font(bold=True)
        header = []
        for title in dataset.headers or []:
            cell = WriteOnlyCell(sheet, value=str(title))
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        for row in dataset:
            cells = []
            for value in row:
                cell = WriteOnlyCell(sheet, value=value)
                if isinstance(value, str) and value.startswith("="):
                    cell.data_type = "s"  # a string, never a formula
                cells.append(cell)
            sheet.append(cells)
        stream = BytesIO()
        workbook.save(stream)
        return stream.getvalue()

"""The file formats the admin offers: CSV, XLSX and JSON (settings.IMPORT_EXPORT_FORMATS).

XLSX is written here rather than by tablib: tablib hands every string to openpyxl as is, and openpyxl stores a
string starting with "=" as a formula, so a ticket subject like "=HYPERLINK(...)" would run in the reader's
Excel. Writing such cells as explicit strings keeps the value exact (an import gives it back unchanged) and
inert. The workbook is written in openpyxl's write-only mode, which keeps memory flat as rows are added.

CSV has no cell types: every CSV cell the console writes goes through `dashboard.spreadsheet.csv_cell`
(formula-like text gets an apostrophe, numbers stay as they are), and reading a CSV back removes exactly
that prefix again, so an exported file still imports unchanged.

Reading stops at the limits while it reads: CSV and XLSX rows are taken one at a time and the file is refused
at row CUSTODIAN_IMPORT_MAX_ROWS + 1, and an XLSX (a zip) that unpacks to more than
CUSTODIAN_IMPORT_MAX_EXPANDED_BYTES is refused before any of it is parsed: a 700 KB workbook can hold a
million rows or one 200 MB cell, and memory must not depend on that.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from typing import Any

import tablib
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
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


def _text(in_stream: Any) -> str:
    # import-export hands the preview the upload's bytes, our own checks the decoded text
    # (import_dataset_parse has refused what is not UTF-8 before either gets here).
    return in_stream.decode("utf-8-sig") if isinstance(in_stream, bytes) else in_stream


def _too_many_rows(max_rows: int) -> ValidationError:
    return ValidationError(
        f"The file has more than {max_rows} rows; an import takes at most {max_rows}. "
        "Split it into smaller files.",
        code="too_many_rows",
    )


class CSV(base_formats.CSV):
    def create_dataset(self, in_stream: Any, **kwargs: Any) -> tablib.Dataset:
        """tablib's CSV reading (header row, short rows padded, blank lines skipped), one row at a time and
        stopped at the row limit (a 5 MB file of two-byte lines would be millions of rows), with the
        apostrophe `csv_cell` put before formula-like text taken off again."""
        max_rows = settings.CUSTODIAN_IMPORT_MAX_ROWS
        rows = csv.reader(io.StringIO(_text(in_stream)), **kwargs)
        dataset = tablib.Dataset(headers=next(rows, None))
        for row in rows:
            if not row:
                continue
            if len(dataset) >= max_rows:
                raise _too_many_rows(max_rows)
            if len(row) < dataset.width:
                row += [""] * (dataset.width - len(row))
            dataset.append([csv_cell_read(v) for v in row])
        return _headers_tidy(dataset)

    def export_data(self, dataset: tablib.Dataset, **kwargs: Any) -> str:
        safe = tablib.Dataset(headers=dataset.headers, title=dataset.title)
        for row in dataset:
            safe.append([csv_cell(v) for v in row])
        return super().export_data(safe, **kwargs)


class JSON(base_formats.JSON):
    def create_dataset(self, in_stream: Any, **kwargs: Any) -> tablib.Dataset:
        """tablib's JSON reading (`Dataset.dict` from a list of objects), the row limit checked on the parsed
        list before tablib turns it into rows (JSON has no streaming parser; the text is at most
        CUSTODIAN_IMPORT_MAX_BYTES)."""
        data = json.loads(_text(in_stream))
        max_rows = settings.CUSTODIAN_IMPORT_MAX_ROWS
        if isinstance(data, list) and len(data) > max_rows:
            raise _too_many_rows(max_rows)
        dataset = tablib.Dataset()
        dataset.dict = data
        return _headers_tidy(dataset)


def _to_width(values: list, width: int, number: int) -> list:
    """A sheet row as wide as the header row: padded with blanks, or cut where only blanks stick out."""
    if len(values) < width:
        return values + [None] * (width - len(values))
    if any(v is not None for v in values[width:]):
        raise ValidationError(
            f"Row {number} has a value in column {width + 1}, which has no name in the header row.",
            code="unnamed_column",
        )
    return values[:width]


class XLSX(base_formats.XLSX):
    def create_dataset(self, in_stream: Any) -> tablib.Dataset:
        """The first sheet in openpyxl's read-only (streaming) mode, as import-export reads it (values, not
        formulas; blank rows skipped), refused unread when it unpacks past the limit, stopped at the row
        limit."""
        import openpyxl

        stream = io.BytesIO(in_stream)
        limit = settings.CUSTODIAN_IMPORT_MAX_EXPANDED_BYTES
        with zipfile.ZipFile(stream) as archive:
            # The sizes the zip's directory declares; zipfile refuses to inflate a member past its declared
            # size, so a lying directory cannot unpack more than this either.
            expanded = sum(member.file_size for member in archive.infolist())
        if expanded > limit:
            raise ValidationError(
                f"The workbook unpacks to {filesizeformat(expanded)}; an import takes at most "
                f"{filesizeformat(limit)} unpacked. Split it into smaller files.",
                code="too_big",
            )
        max_rows = settings.CUSTODIAN_IMPORT_MAX_ROWS
        book = openpyxl.load_workbook(stream, read_only=True, data_only=True)
        try:
            sheet = book.active
            # The sheet's own <dimension> may be wrong (openpyxl would stop reading at it, dropping rows
            # without a word): read to the last row there is.
            sheet.reset_dimensions()
            rows = sheet.iter_rows(values_only=True)
            dataset = tablib.Dataset(headers=list(next(rows, None) or []))
            for values in rows:
                if settings.IMPORT_EXPORT_IMPORT_IGNORE_BLANK_LINES and all(v is None for v in values):
                    continue
                if len(dataset) >= max_rows:
                    raise _too_many_rows(max_rows)
                dataset.append(_to_width(list(values), dataset.width, len(dataset) + 1))
        finally:
            book.close()
        return _headers_tidy(dataset)

    def export_data(self, dataset: tablib.Dataset, **kwargs: Any) -> bytes:
        stream = io.BytesIO()
        xlsx_write(stream, list(dataset.headers or []), dataset, title=dataset.title or "")
        return stream.getvalue()


def xlsx_write(target: Any, headers: list, rows: Any, *, title: str = "") -> None:
    """A workbook of `headers` and `rows` saved to `target` (a path or a binary file), in openpyxl's
    write-only mode: rows go to a temporary file as they come, so memory stays flat however many there are
    (export jobs write theirs through here too). Strings starting with "=" stay strings, never formulas."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=(title or "Export")[:31])
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for name in headers:
        cell = WriteOnlyCell(sheet, value=str(name))
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    for row in rows:
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=value)
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"  # a string, never a formula
            cells.append(cell)
        sheet.append(cells)
    workbook.save(target)

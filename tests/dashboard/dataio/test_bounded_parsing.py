# ruff: noqa: E501  (the XML of a minimal workbook is clearer on one line per part)
"""Import files are read with bounded memory and stop at the limits while reading."""

import io
import tracemalloc
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings

from dashboard.dataio.services import import_dataset_parse
from dashboard.formats import CSV, XLSX


def xlsx_with_rows(rows: int) -> bytes:
    """A real workbook of `rows` rows, written by openpyxl's streaming writer (small: it compresses well)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(["subject", "customer"])
    for i in range(rows):
        sheet.append([f"row {i % 10}", 1])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def raw_xlsx(write_rows) -> bytes:
    """A valid minimal workbook whose sheet rows `write_rows(stream)` writes as XML (fast, and tiny once zipped)."""
    content_types = (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        "</Types>"
    )
    rels = (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
        "</Relationships>"
    )
    workbook = (
        '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
        '<sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>'
    )
    workbook_rels = (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
        "</Relationships>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", content_types)
        z.writestr("_rels/.rels", rels)
        z.writestr("xl/workbook.xml", workbook)
        z.writestr("xl/_rels/workbook.xml.rels", workbook_rels)
        with z.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(
                b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                # Excel always writes one (without it openpyxl scans the whole sheet when it opens it); this
                # one is wrong, as a hand-made file's may be: every row is still read.
                b'<dimension ref="A1:B2"/>'
                b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>subject</t></is></c>'
                b'<c r="B1" t="inlineStr"><is><t>customer</t></is></c></row>'
            )
            write_rows(sheet)
            sheet.write(b"</sheetData></worksheet>")
    return out.getvalue()


def xlsx_with_one_huge_cell(chars: int) -> bytes:
    def rows(sheet):
        sheet.write(b'<row r="2"><c r="A2" t="inlineStr"><is><t>')
        block = b"x" * (1 << 20)
        for _ in range(chars // len(block)):
            sheet.write(block)
        sheet.write(b"</t></is></c></row>")

    return raw_xlsx(rows)


def xlsx_with_many_rows(count: int) -> bytes:
    def rows(sheet):
        # Positions (r="A2") are optional in OOXML; leaving them out makes every row the same bytes.
        row = b'<row><c t="inlineStr"><is><t>Printer broken</t></is></c><c><v>1</v></c></row>'
        for _ in range(count // 1000):
            sheet.write(row * 1000)

    return raw_xlsx(rows)


def test_an_xlsx_of_a_million_rows_is_refused_without_reading_it():
    data = xlsx_with_many_rows(1_000_000)
    assert len(data) < 1024 * 1024  # under a megabyte on disk
    tracemalloc.start()
    with pytest.raises(ValidationError) as error:
        import_dataset_parse(data, XLSX)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert error.value.code == "too_big"
    assert peak < 20 * 1024 * 1024, peak


@override_settings(CUSTODIAN_IMPORT_MAX_EXPANDED_BYTES=1 << 40, CUSTODIAN_IMPORT_MAX_ROWS=2000)
def test_the_same_xlsx_under_a_lax_unpacked_limit_stops_reading_at_the_row_limit():
    data = xlsx_with_many_rows(1_000_000)
    tracemalloc.start()
    with pytest.raises(ValidationError) as error:
        import_dataset_parse(data, XLSX)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert error.value.code == "too_many_rows" and "more than 2000 rows" in error.value.messages[0]
    assert peak < 30 * 1024 * 1024, peak


@override_settings(CUSTODIAN_IMPORT_MAX_EXPANDED_BYTES=1 << 40)
def test_an_xlsx_past_the_row_limit_stops_reading_at_the_limit():
    with override_settings(CUSTODIAN_IMPORT_MAX_ROWS=50), pytest.raises(ValidationError) as error:
        import_dataset_parse(xlsx_with_rows(20_000), XLSX)
    assert error.value.code == "too_many_rows"
    assert "more than 50 rows" in error.value.messages[0]


def test_a_200_mb_cell_is_refused_without_loading_it():
    data = xlsx_with_one_huge_cell(200 * 1024 * 1024)
    assert len(data) < 2 * 1024 * 1024
    tracemalloc.start()
    with pytest.raises(ValidationError) as error:
        import_dataset_parse(data, XLSX)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert error.value.code == "too_big" and "unpacks to" in error.value.messages[0]
    assert peak < 20 * 1024 * 1024, peak


@override_settings(CUSTODIAN_IMPORT_MAX_ROWS=10)
def test_a_csv_stops_at_the_row_limit():
    data = ("subject,customer\n" + "x,1\n" * 100_000).encode()
    with override_settings(CUSTODIAN_IMPORT_MAX_BYTES=len(data)), pytest.raises(ValidationError) as error:
        import_dataset_parse(data, CSV)
    assert error.value.code == "too_many_rows"


def test_small_files_still_read_the_same():
    dataset = import_dataset_parse(xlsx_with_rows(3), XLSX)
    assert dataset.headers == ["subject", "customer"] and len(dataset) == 3
    dataset = import_dataset_parse(b"subject,customer\nx,1\n\ny\n", CSV)
    assert list(dataset) == [("x", "1"), ("y", "")]


def test_a_workbook_whose_dimension_is_wrong_still_gives_every_row():
    def rows(sheet):
        for i in range(5):
            sheet.write(f'<row><c t="inlineStr"><is><t>row {i}</t></is></c><c><v>1</v></c></row>'.encode())

    dataset = import_dataset_parse(raw_xlsx(rows), XLSX)  # its <dimension> says A1:B2
    assert [r[0] for r in dataset] == [f"row {i}" for i in range(5)]


def test_a_value_past_the_named_columns_is_a_clear_refusal():
    def rows(sheet):
        sheet.write(b'<row><c t="inlineStr"><is><t>x</t></is></c><c><v>1</v></c><c><v>7</v></c></row>')

    with pytest.raises(ValidationError) as error:
        import_dataset_parse(raw_xlsx(rows), XLSX)
    assert error.value.messages == ["Row 1 has a value in column 3, which has no name in the header row."]

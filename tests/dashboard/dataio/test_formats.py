"""The file formats: formula-like XLSX cells stay text; headers are tidied the same on both steps."""

import io

import openpyxl
import pytest
import tablib

from dashboard import formats
from dashboard.dataio.resources import TicketResource
from dashboard.dataio.services import import_confirm
from models_core.models import Ticket
from tests.dashboard.dataio.conftest import dataset_of

pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("http://evil.example/","click me")'


def test_xlsx_writes_formula_like_strings_as_text():
    data = formats.XLSX().export_data(tablib.Dataset([1, FORMULA, 2.5], headers=["id", "subject", "n"]))
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert [cell.data_type for cell in sheet[2]] == ["n", "s", "n"]
    assert sheet["B2"].value == FORMULA
    assert sheet["A1"].font.bold


def test_a_formula_like_subject_round_trips_through_xlsx(tenant, org_admin):
    Ticket.objects.filter(pk=tenant["ticket"].pk).update(subject=FORMULA)
    exported = TicketResource(user=org_admin).export(queryset=Ticket.objects.all())
    result = import_confirm(
        TicketResource(user=org_admin), dataset_of(formats.XLSX().export_data(exported), formats.XLSX)
    )
    assert result.totals["skip"] == 1 and not result.has_validation_errors()
    assert Ticket.objects.get().subject == FORMULA


@pytest.mark.parametrize("file_format", [formats.CSV, formats.JSON])
def test_header_names_are_stripped(file_format):
    data = b" id ,subject \n1,x\n" if file_format is formats.CSV else b'[{" id ": 1, "subject ": "x"}]'
    assert dataset_of(data, file_format).headers == ["id", "subject"]


def test_empty_trailing_spreadsheet_columns_are_dropped():
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["id", "subject", None])
    sheet.append([1, "x", None])
    sheet["C3"].font = openpyxl.styles.Font(bold=True)  # styled but empty: spreadsheets report it
    stream = io.BytesIO()
    workbook.save(stream)
    dataset = dataset_of(stream.getvalue(), formats.XLSX)
    assert dataset.headers == ["id", "subject"]
    assert list(dataset[0]) == [1, "x"]

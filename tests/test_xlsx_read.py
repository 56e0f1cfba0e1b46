"""read_workbook: tables, first rows and Setup names from real xlsx files."""
from __future__ import annotations

import datetime as dt

import openpyxl
import pytest
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.table import Table as XlTable

from _xlsx_fixtures import build_workbook, sha
from ecm_xl import contract as C
from ecm_xl.data import Table
from ecm_xl.xlsx import WorkbookError, read_workbook


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    return str(build_workbook(tmp_path_factory.mktemp("read") / "book.xlsm", xlsm=True))


def test_every_table_is_read_with_its_sheet_and_headers(book):
    w = read_workbook(book)
    assert set(w.tables) == {"Staff", "Members", "Timesheet", "Codes", "Activities",
                             "Summary", "Claim", "Exceptions"}
    assert w.sheets["Codes"] == "Lists" and w.sheets["Activities"] == "Lists"
    assert w.sheets["Timesheet"] == "Timesheet"
    assert w.headers["Timesheet"] == C.TIMESHEET_HEADERS + ("Hours",)
    assert w.headers["Claim"] == C.CLAIM_HEADERS
    assert all(isinstance(t, Table) for t in w.tables.values())
    assert w.path == book


def test_timesheet_not_at_a1_keeps_excel_row_numbers_and_blank_rows(book):
    ts = read_workbook(book).tables["Timesheet"]
    assert ts.first_row == 4                   # header on row 3
    assert len(ts.rows) == 5 + 3               # five typed rows (one blank) and three blank tail rows
    first = ts.rows[0]
    assert first["Staff ID"] == "S1" and first["Member ID"] == "M1"
    assert first["Start"] == dt.time(9, 0) and first["End"] == dt.time(9, 50)
    assert first["Minutes"] == 50 and first["Notes"] == "first"
    assert all(v is None for v in ts.rows[2].values())
    assert all(v is None for r in ts.rows[5:] for v in r.values())


def test_dates_typed_several_ways_come_back_as_typed(book):
    rows = read_workbook(book).tables["Timesheet"].rows
    assert rows[0]["Date"] == dt.date(2026, 10, 1)              # a date
    assert rows[1]["Date"] in (dt.date(2026, 10, 1), dt.datetime(2026, 10, 1))   # a datetime at midnight
    assert rows[3]["Date"] == "10/2/2026"                        # text stays text: the engine reads it
    assert rows[4]["Date"] == dt.date(2026, 10, 5)               # a serial number in a date-formatted cell
    assert rows[4]["Minutes"] == 30.5


def test_setup_names_single_cells_only(book):
    setup = read_workbook(book).setup
    assert setup["ProviderName"] == "Sunrise Clinic"
    assert setup["BillingNPI"] == "1234567893"
    assert setup["BillingMonth"] == dt.date(2026, 10, 1)
    assert setup["UnitMinutes"] == 60
    assert "NotASetting" not in setup and "Region" not in setup   # not in contract.SETTINGS
    assert "PayerID" not in setup                                   # a setting with no name is absent


def _openpyxl_table_rows(path, sheet, ref_top, headers, first_col):
    wb = openpyxl.load_workbook(path, data_only=True)
    ws = wb[sheet]
    out = []
    for row in ws.iter_rows(min_row=ref_top[0], max_row=ref_top[1], min_col=first_col,
                            max_col=first_col + len(headers) - 1, values_only=True):
        out.append(dict(zip(headers, row)))
    return out


def _same(a, b):
    if isinstance(a, dt.datetime) and isinstance(b, dt.date) and not isinstance(b, dt.datetime):
        return a == dt.datetime.combine(b, dt.time())
    if isinstance(b, dt.datetime) and isinstance(a, dt.date) and not isinstance(a, dt.datetime):
        return b == dt.datetime.combine(a, dt.time())
    return a == b


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_values_agree_with_openpyxl(book):
    w = read_workbook(book)
    wb = openpyxl.load_workbook(book, data_only=True)
    for name, table in w.tables.items():
        ws = wb[w.sheets[name]]
        xl = ws.tables[name]
        from openpyxl.utils.cell import range_boundaries
        c1, r1, c2, r2 = range_boundaries(xl.ref)
        assert table.first_row == r1 + 1
        expected = [dict(zip(w.headers[name], row)) for row in
                    ws.iter_rows(min_row=r1 + 1, max_row=r2, min_col=c1, max_col=c2, values_only=True)]
        assert len(expected) == len(table.rows), name
        for got, want in zip(table.rows, expected):
            for h in want:
                assert _same(got[h], want[h]), (name, h, got[h], want[h])


def test_table_alone_far_from_a1(tmp_path):
    """calamine's grid starts at the first used cell; rows must still land right."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Staff"
    ws["D7"], ws["E7"] = "Staff ID", "Staff Type"
    ws["D9"], ws["E9"] = "S9", "Clinical"        # row 8 is blank
    ws.add_table(XlTable(displayName="Staff", ref="D7:E10"))
    wb.defined_names["ProviderName"] = DefinedName("ProviderName", attr_text="Staff!$E$9")
    path = tmp_path / "far.xlsx"
    wb.save(path)
    w = read_workbook(path, required=("Staff",))
    t = w.tables["Staff"]
    assert t.first_row == 8
    assert t.rows == [{"Staff ID": None, "Staff Type": None},
                      {"Staff ID": "S9", "Staff Type": "Clinical"},
                      {"Staff ID": None, "Staff Type": None}]
    assert w.setup == {"ProviderName": "Clinical"}


def test_quoted_sheet_name_in_defined_name(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Set up"
    ws["B2"] = "Clinic O'Neil"
    wb.defined_names["ProviderName"] = DefinedName("ProviderName", attr_text="'Set up'!$B$2")
    path = tmp_path / "q.xlsx"
    wb.save(path)
    assert read_workbook(path, required=()).setup == {"ProviderName": "Clinic O'Neil"}


def test_reading_never_changes_the_file(book):
    before = sha(book)
    read_workbook(book)
    assert sha(book) == before


def test_required_tables_are_checked(book):
    with pytest.raises(WorkbookError) as e:
        read_workbook(book, required=("Staff", "Visits"))
    assert str(e.value) == "book.xlsm: has no Visits sheet and no table named Visits"


def test_tables_reads_only_the_tables_asked_for(book, tmp_path):
    import zipfile
    from _xlsx_fixtures import _sheet_parts
    full = read_workbook(book)
    some = read_workbook(book, tables=("Timesheet", "Codes"))
    assert set(some.tables) == {"Timesheet", "Codes"}
    assert some.tables["Timesheet"] == full.tables["Timesheet"]
    assert some.tables["Codes"] == full.tables["Codes"]
    assert some.setup == full.setup
    assert some.headers == full.headers and some.sheets == full.sheets

    # a sheet holding none of the tables asked for is not read for values, but every part
    # is checked (issue 12): a damaged Claim sheet refuses a read of the inputs too, since a
    # close would pass it on into its output
    with zipfile.ZipFile(book) as z:
        claim_part = _sheet_parts(z)["Claim"]
        parts = [(i, z.read(i)) for i in z.infolist()]
    damaged = tmp_path / "damaged.xlsm"
    with zipfile.ZipFile(damaged, "w", zipfile.ZIP_DEFLATED) as z:
        for info, data in parts:
            if info.filename == claim_part:
                data = data.replace(b"</sheetData>", b"<row r=\"9\"><c r=\"A9\"><v>1</v></row></sheetData>")
            z.writestr(info, data)
    for tables in (None, ("Staff", "Members", "Timesheet", "Codes", "Activities")):
        with pytest.raises(WorkbookError) as e:
            read_workbook(damaged, tables=tables)
        assert str(e.value).startswith(f"damaged.xlsm: is damaged: part {claim_part} is not well-formed XML")

"""ecm_xl.api used from Python: new, fill and close on real workbooks."""
from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

import pytest
from openpyxl import Workbook

from ecm_xl import api
from ecm_xl import contract as C
from ecm_xl.xlsx import WorkbookError, owned_parts, read_workbook

from _xlsx_fixtures import build_workbook
from cli_workbooks import CLOSE_DATE, MEMBERS, SETTINGS, STAFF, sha256, sheet_xml, small_workbook, write_csv


def members_of(path) -> dict:
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def test_header_matching_ignores_case_spacing_and_punctuation():
    mapping, ignored = api.match_columns("x.csv", ["  date", "STAFF_ID", "member-id", "Service ", "contact",
                                                   "Mins", "minutes", "Supervisor"],
                                         C.TIMESHEET_HEADERS, required=("Date", "Staff ID"))
    assert mapping == {0: "Date", 1: "Staff ID", 2: "Member ID", 3: "Service", 4: "Contact", 6: "Minutes"}
    assert ignored == ("Mins", "Supervisor")
    with pytest.raises(WorkbookError, match=r"^x\.csv: has no 'Contact' column"):
        api.match_columns("x.csv", ["Date"], C.TIMESHEET_HEADERS, required=("Date", "Contact"))


@pytest.mark.parametrize("header, typed, kept", [
    ("Date", "10/5/2026", dt.date(2026, 10, 5)),
    ("Date", "2026-10-05", dt.date(2026, 10, 5)),
    ("Date", "10/32/2026", "10/32/2026"),             # not a date: kept, the close says why
    ("Start", "9:30 AM", dt.time(9, 30)),
    ("Start", "13:05", dt.time(13, 5)),
    ("Minutes", "45", 45),
    ("Minutes", "45.5", 45.5),
    ("Minutes", "45 min", 45),                         # duration text: the vocabulary's words
    ("Minutes", "1.5 hrs", 90),
    ("Minutes", "an hour", "an hour"),                 # not a duration: kept, the close says why
    ("Minutes", dt.timedelta(minutes=45), 45),         # an [h]:mm cell of an xlsx export
    ("Contact", "Mass mailing", "Mass communication"),  # the vocabulary's words become the plan's value
    ("Contact", "Fax", "Fax"),
    ("Place of Service", "02", "02"),                  # codes stay text
    ("Place of Service", 2.0, "2"),
    ("Member ID", 91000001.0, "91000001"),
    ("Notes", "=1+1", "=1+1"),                        # text; the xlsx layer writes it as a string cell
    ("Notes", "   ", None),
])
def test_clean_value(header, typed, kept):
    assert api.clean_value(header, typed) == kept


def test_new_workbook_changes_only_the_setup_sheet_of_the_template(tmp_path):
    out = tmp_path / "W.xlsx"
    api.new_workbook(out, month=dt.date(2026, 10, 1), settings={"Billing NPI": "1234567893", "TaxID": "123456789"})
    template = members_of(io.BytesIO(api.template_source()))
    made = members_of(out)
    assert set(template) == set(made)
    changed = {k for k in made if made[k] != template[k]}
    assert len(changed) == 1 and "<" in sheet_xml(out, C.SETUP)
    assert made[changed.pop()].decode() == sheet_xml(out, C.SETUP)      # only the Setup sheet changed
    wb = read_workbook(out)
    assert wb.setup["BillingNPI"] == "1234567893" and wb.setup["BillingMonth"] == dt.date(2026, 10, 1)


def test_new_workbook_takes_rows_from_python(tmp_path):
    r = api.new_workbook(tmp_path / "W.xlsx", staff=STAFF, members=MEMBERS, settings=SETTINGS)
    assert (r.staff, r.members) == (2, 2)
    wb = read_workbook(tmp_path / "W.xlsx")
    assert [m["Last Name"] for m in wb.tables[C.MEMBERS].rows if m["Member ID"]] == ["Zyxwvutson", "Qwertyberg"]
    with pytest.raises(ValueError, match="no Setup setting"):
        api.new_workbook(tmp_path / "X.xlsx", settings={"Colour": "blue"})
    assert not (tmp_path / "X.xlsx").exists()


def test_fill_keeps_every_other_part_byte_for_byte(tmp_path):
    """fill's promise is the close's: only the Timesheet sheet, its table and workbook.xml change."""
    src = build_workbook(tmp_path / "features.xlsx")
    before, src_hash = members_of(src), sha256(src)
    out = tmp_path / "filled.xlsx"
    report = api.fill_workbook(src, [{"Date": "10/9/2026", "Staff ID": "S1", "Member ID": "M1",
                                      "Service": "ECM service", "Contact": "In person", "Minutes": "30"}], out)
    after = members_of(out)
    owned = owned_parts(src, [C.TIMESHEET])
    assert set(after) == set(before)
    assert {k for k in after if after[k] != before[k]} <= owned
    for name in set(before) - owned:
        assert after[name] == before[name], name
    assert sha256(src) == src_hash                  # with -o the workbook itself is untouched
    assert report.codes_filled == 1
    rows = read_workbook(out).tables[C.TIMESHEET]
    new = rows.rows[report.rows[0] - rows.first_row]
    assert (new["Date"], new["HCPCS"], new["Modifier 1"]) == (dt.date(2026, 10, 9), "G9008", "U1")


def test_fill_grows_the_table_and_its_validations(tmp_path):
    wb = small_workbook(tmp_path / "W.xlsx", entries=[])
    n = 5200                                        # past the template's 5,000 validated rows
    rows = [{"Date": dt.date(2026, 10, 1 + i % 28), "Staff ID": "C1", "Member ID": "91000001A",
             "Service": "ECM service", "Contact": "Phone/Telehealth", "Minutes": 1} for i in range(n)]
    report = api.fill_workbook(wb, rows)
    assert report.rows == list(range(2, n + 2))
    assert report.codes_filled == n
    xml = sheet_xml(wb, C.TIMESHEET)
    bottoms = [int(m) for m in re.findall(r'<dataValidation\b[^>]*sqref="[A-Z]+\d+:[A-Z]+(\d+)"', xml)]
    assert bottoms and min(bottoms) >= n + 1
    with zipfile.ZipFile(wb) as z:
        table = next(z.read(i).decode() for i in z.namelist()
                     if i.startswith("xl/tables/") and 'name="Timesheet"' in z.read(i).decode())
    assert re.search(r'ref="A1:[A-Z]+%d"' % (n + 1), table)
    res = api.close_workbook(wb, close_date=CLOSE_DATE).result
    assert res.totals.rows_in == n


def test_fill_from_an_xlsx_export(tmp_path):
    wb = small_workbook(tmp_path / "W.xlsx", entries=[])
    book = Workbook()
    ws = book.active
    ws.title = "Export"
    ws.append(["Report of visits"])                 # a title line above the header
    ws.append(["date", "staff id", "member id", "service", "contact", "start", "end"])
    ws.append([dt.datetime(2026, 10, 5), "C1", "91000001A", "ECM service", "In person", dt.time(9, 0), dt.time(10, 15)])
    book.save(tmp_path / "export.xlsx")
    report = api.fill_workbook(wb, tmp_path / "export.xlsx")
    assert report.rows == [2]
    row = read_workbook(wb).tables[C.TIMESHEET].rows[0]
    assert (row["Date"], row["Start"], row["End"]) == (dt.date(2026, 10, 5), dt.time(9, 0), dt.time(10, 15))
    res = api.close_workbook(wb, close_date=CLOSE_DATE).result
    assert res.totals.units == 2                     # 75 minutes -> 2 units (R2)


def test_fill_rejects_what_it_cannot_read(tmp_path):
    wb = small_workbook(tmp_path / "W.xlsx", entries=[])
    before = sha256(wb)
    (tmp_path / "e.pdf").write_bytes(b"%PDF")
    with pytest.raises(WorkbookError, match=r"^e\.pdf: is not a CSV or Excel file"):
        api.fill_workbook(wb, tmp_path / "e.pdf")
    only_header = write_csv(tmp_path / "e.csv", ["Date", "Staff ID", "Member ID", "Service", "Contact", "Minutes"], [])
    with pytest.raises(WorkbookError, match="has no time entries"):
        api.fill_workbook(wb, only_header)
    assert sha256(wb) == before


def test_close_report_and_output_names(tmp_path):
    wb = small_workbook(tmp_path / "Clinic.xlsx")
    before = sha256(wb)
    report = api.close_workbook(wb, close_date=CLOSE_DATE)
    assert report.out == str(tmp_path / "Clinic.closed.xlsx")
    assert sha256(wb) == before
    text = report.text()
    assert "Zyxwvutson" not in text and "Qwertyberg" not in text
    assert text.splitlines()[0].endswith(report.out)
    with pytest.raises(ValueError):
        api.close_workbook(wb, tmp_path / "other.xlsx", in_place=True)
    assert api.default_output(tmp_path / "Book.xlsm").name == "Book.closed.xlsm"
    with pytest.raises(WorkbookError, match="already a closed copy"):
        api.default_output(tmp_path / "Book.closed.xlsx")


def test_close_of_a_bad_file_writes_nothing(tmp_path):
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(WorkbookError, match=r"^bad\.xlsx: "):
        api.close_workbook(bad)
    assert [p.name for p in tmp_path.iterdir()] == ["bad.xlsx"]


def test_new_workbook_is_all_or_nothing(tmp_path, monkeypatch):
    out = tmp_path / "W.xlsx"
    api.new_workbook(out, settings=SETTINGS)
    before = sha256(out)

    def broken(*a, **kw):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(api, "append_table_rows", broken)
    with pytest.raises(OSError):
        api.new_workbook(out, staff=STAFF, overwrite=True)
    assert sha256(out) == before                                  # the old workbook is still whole
    assert [p.name for p in tmp_path.iterdir()] == ["W.xlsx"]     # and no temporary file is left


def test_fill_reads_a_semicolon_csv_in_windows_encoding(tmp_path):
    wb = small_workbook(tmp_path / "W.xlsx", entries=[])
    text = ("Fecha de servicio;Date;Staff ID;Member ID;Service;Contact;Minutes;Notes\r\n"
            ";10/5/2026;C1;91000001A;ECM service;In person;61;visita a domicilio, señora\r\n")
    (tmp_path / "e.csv").write_bytes(text.encode("cp1252"))
    report = api.fill_workbook(wb, tmp_path / "e.csv")
    assert report.rows == [2] and report.ignored_columns == ("Fecha de servicio",)
    row = read_workbook(wb).tables[C.TIMESHEET].rows[0]
    assert row["Notes"] == "visita a domicilio, señora" and row["Minutes"] == 61
    assert api.close_workbook(wb, close_date=CLOSE_DATE).result.totals.units == 2    # 61 min -> 2 units

"""write_tables and append_table_rows on real workbooks, read back three ways."""
from __future__ import annotations

import datetime as dt
import re
import zipfile

import openpyxl
import pytest
from openpyxl.worksheet.table import Table as XlTable

from _xlsx_fixtures import build_workbook, members, sha
from ecm_xl import contract as C
from ecm_xl.xlsx import WorkbookError, append_table_rows, owned_parts, read_workbook, write_tables
from ecm_xl.xlsx.reader import Package, read_structure

pytestmark = pytest.mark.filterwarnings("ignore:Data Validation extension:UserWarning")

OCT = dt.date(2026, 10, 1)


def summary_rows(n):
    return [[OCT, f"M{i}", f"Doe, Jane {i}", "G9008", "U1", None, 50 + i, round((50 + i) / 60, 2),
             1 + i // 10, 100.0 * (1 + i // 10)] for i in range(n)]


def claim_rows(n):
    return [[f"C{i:05d}", 1, f"M{i}", "Doe, Jane", dt.date(1960, 5, 6), OCT, dt.date(2026, 10, 30), "11",
             "G9008", "U1", "", 2, 101.25, 202.5, "Z71.89", "1234567893", "123456789", 70, "4, 5"]
            for i in range(n)]


def exception_rows(texts):
    return [[4 + i, OCT, "S1", "M1", 20, "Error", "R8", t, "Timesheet", "Date"] for i, t in enumerate(texts)]


def outputs(n_summary=3, n_claim=2, texts=("not eligible",)):
    return {C.SUMMARY: (C.SUMMARY_HEADERS, summary_rows(n_summary)),
            C.CLAIM: (C.CLAIM_HEADERS, claim_rows(n_claim)),
            C.EXCEPTIONS: (C.EXCEPTION_HEADERS, exception_rows(texts))}


@pytest.fixture()
def book(tmp_path):
    return str(build_workbook(tmp_path / "book.xlsx"))


def table_ref(path, name):
    with Package(path) as pkg:
        st = read_structure(pkg)
        t = st.tables[name]
        xml = pkg.read(t.part).decode()
        sheet = pkg.read(t.sheet_part).decode()
    af = re.search(r'<autoFilter[^>]*\bref="([^"]+)"', xml)
    dim = re.search(r'<dimension ref="([^"]+)"', sheet)
    return re.search(r'<table[^>]*\bref="([^"]+)"', xml).group(1), af and af.group(1), dim and dim.group(1), sheet


def plain(v):
    """openpyxl gives datetimes for dates and ints for whole numbers; compare as values."""
    if isinstance(v, dt.datetime) and v.time() == dt.time():
        return v.date()
    return v


def test_rows_read_back_equal_through_calamine_and_openpyxl(book, tmp_path):
    out = str(tmp_path / "out.xlsx")
    data = outputs(n_summary=4, n_claim=3, texts=["=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "plain"])
    write_tables(book, out, data)
    w = read_workbook(out)
    wb = openpyxl.load_workbook(out)
    for name, (headers, rows) in data.items():
        assert w.headers[name] == headers
        got = [[r[h] for h in headers] for r in w.tables[name].rows]
        want = [[None if v in ("", None) else v for v in row] for row in rows]
        assert got == want, name
        ws = wb[name]
        xl = [[plain(c) for c in r] for r in ws.iter_rows(min_row=2, max_row=1 + len(rows),
                                                          max_col=len(headers), values_only=True)]
        assert xl == want, name


def test_text_that_looks_like_a_formula_is_stored_as_text(book, tmp_path):
    out = str(tmp_path / "out.xlsx")
    texts = ["=1+2", "+A1", "-A1", "@A1", "=cmd|' /C calc'!A0"]
    write_tables(book, out, outputs(texts=texts))
    _ref, _af, _dim, sheet = table_ref(out, C.EXCEPTIONS)
    assert "<f>" not in sheet and "<f " not in sheet
    ws = openpyxl.load_workbook(out)["Exceptions"]
    cells = [ws.cell(2 + i, 8) for i in range(len(texts))]
    assert [c.value for c in cells] == texts
    assert all(c.data_type == "s" for c in cells)


def test_table_ref_autofilter_and_dimension_follow_the_rows(book, tmp_path):
    out = str(tmp_path / "out.xlsx")
    write_tables(book, out, outputs(n_summary=5, n_claim=3))
    ref, af, dim, _ = table_ref(out, C.SUMMARY)
    assert (ref, af) == ("A1:J6", "A1:J6")
    assert dim == "A1:M6"               # the SUMIFS block reaches column M
    ref, af, dim, _ = table_ref(out, C.CLAIM)
    assert (ref, af, dim) == ("A1:S4", "A1:S4", "A1:S4")


def test_a_shorter_close_clears_the_old_rows(book, tmp_path):
    first, second = str(tmp_path / "a.xlsx"), str(tmp_path / "b.xlsx")
    write_tables(book, first, outputs(n_summary=6))
    write_tables(first, second, outputs(n_summary=2))
    ref, af, dim, sheet = table_ref(second, C.SUMMARY)
    assert (ref, af) == ("A1:J3", "A1:J3")
    assert dim == "A1:M3"
    assert 'r="A4"' not in sheet and 'r="J7"' not in sheet
    rows = read_workbook(second).tables[C.SUMMARY].rows
    assert [r["Member ID"] for r in rows] == ["M0", "M1"]
    ws = openpyxl.load_workbook(second)["Summary"]
    assert all(ws.cell(r, c).value is None for r in range(4, 8) for c in range(1, 11))


def test_no_rows_leaves_one_blank_styled_row(book, tmp_path):
    out = str(tmp_path / "out.xlsx")
    write_tables(book, str(tmp_path / "a.xlsx"), outputs(n_claim=4))
    write_tables(str(tmp_path / "a.xlsx"), out, outputs(n_claim=0))
    ref, af, _dim, _ = table_ref(out, C.CLAIM)
    assert ref == "A1:S2"
    ws = openpyxl.load_workbook(out)["Claim"]
    assert [ws.cell(2, c).value for c in range(1, 20)] == [None] * 19
    assert ws.cell(2, 5).number_format == C.DATE_FORMAT          # the template's style survives
    assert read_workbook(out).tables[C.CLAIM].rows == [dict.fromkeys(C.CLAIM_HEADERS)]


def test_number_formats_come_from_the_first_data_row(book, tmp_path):
    out = str(tmp_path / "out.xlsx")
    write_tables(book, out, outputs(n_summary=3, n_claim=3))
    ws = openpyxl.load_workbook(out)["Claim"]
    for r in (2, 3, 4):
        assert ws.cell(r, 5).number_format == C.DATE_FORMAT       # Date of Birth
        assert ws.cell(r, 5).value == dt.datetime(1960, 5, 6)
        assert ws.cell(r, 14).number_format == C.MONEY_FORMAT     # Charge
    ws = openpyxl.load_workbook(out)["Summary"]
    assert ws.cell(4, 1).number_format == C.MONTH_FORMAT


def test_cells_outside_the_table_are_kept(book, tmp_path):
    out = str(tmp_path / "out.xlsx")
    write_tables(book, out, outputs(n_summary=5))
    before, after = table_ref(book, C.SUMMARY)[3], table_ref(out, C.SUMMARY)[3]
    for ref in ("L1", "L2", "M2", "L3", "M3"):
        cell = re.compile(r'<c r="%s"[^>]*?(?:/>|>.*?</c>)' % ref)
        assert cell.search(after).group(0) == cell.search(before).group(0)
    ws = openpyxl.load_workbook(out)["Summary"]
    assert ws["M2"].value == "=SUMIFS(Summary[Units],Summary[HCPCS],L2)"


def test_columns_are_matched_by_header_text(tmp_path):
    """A clinic reordered the Claim table and added a column of its own."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Claim"
    headers = ["Member ID", "Checked by", "Claim ID", "Units", "Charge", "Line"]
    ws.append(headers)
    ws.add_table(XlTable(displayName="Claim", ref="A1:F2"))
    src = tmp_path / "own.xlsx"
    wb.save(src)
    out = tmp_path / "out.xlsx"
    write_tables(src, out, {C.CLAIM: (C.CLAIM_HEADERS, claim_rows(2))})
    got = read_workbook(out, required=()).tables["Claim"].rows
    assert got == [{"Member ID": "M0", "Checked by": None, "Claim ID": "C00000", "Units": 2,
                    "Charge": 202.5, "Line": 1},
                   {"Member ID": "M1", "Checked by": None, "Claim ID": "C00001", "Units": 2,
                    "Charge": 202.5, "Line": 1}]


def test_closing_a_closed_workbook_gives_the_same_bytes(book, tmp_path):
    a, b = str(tmp_path / "a.xlsx"), str(tmp_path / "b.xlsx")
    write_tables(book, a, outputs(n_summary=7, n_claim=5))
    write_tables(a, b, outputs(n_summary=7, n_claim=5))
    assert sha(a) == sha(b)
    # and in place, as the CLI's --in-place does
    write_tables(b, b, outputs(n_summary=7, n_claim=5))
    assert sha(a) == sha(b)


def test_input_untouched_and_zip_sound(book, tmp_path):
    before = sha(book)
    out = str(tmp_path / "out.xlsx")
    write_tables(book, out, outputs())
    assert sha(book) == before
    with zipfile.ZipFile(out) as z:
        assert z.testzip() is None
        assert z.namelist() == zipfile.ZipFile(book).namelist()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_awkward_text_round_trips(book, tmp_path):
    out = str(tmp_path / "out.xlsx")
    texts = ["  leading and trailing  ", "line\nbreak", "a & b < c > d", "bell\x07gone", "_x0041_ stays",
             "ünïcødé — ✓", "x" * 40000]
    write_tables(book, out, outputs(texts=texts))
    got = [r["Reason"] for r in read_workbook(out).tables[C.EXCEPTIONS].rows]
    assert got[:6] == ["  leading and trailing  ", "line\nbreak", "a & b < c > d", "bellgone",
                       "_x0041_ stays", "ünïcødé — ✓"]
    assert got[6] == "x" * 32767        # Excel's cell limit


def test_calc_on_load_is_set(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.title = "Claim"
    wb.active.append(list(C.CLAIM_HEADERS))
    wb.active.add_table(XlTable(displayName="Claim", ref="A1:S2"))
    src = tmp_path / "s.xlsx"
    wb.save(src)
    # remove calcPr entirely, as some writers do
    parts = members(src)
    parts["xl/workbook.xml"] = re.sub(rb"<calcPr[^>]*/>", b"", parts["xl/workbook.xml"])
    with zipfile.ZipFile(src, "w") as z:
        for n, d in parts.items():
            z.writestr(n, d)
    out = tmp_path / "o.xlsx"
    write_tables(src, out, {C.CLAIM: (C.CLAIM_HEADERS, claim_rows(1))})
    xml = members(out)["xl/workbook.xml"].decode()
    assert re.search(r'<calcPr fullCalcOnLoad="1"/>', xml)
    assert xml.index("<calcPr") > xml.index("</sheets>")
    assert openpyxl.load_workbook(out).calculation.fullCalcOnLoad is True


def test_a_table_not_in_the_workbook_is_a_clear_error(book, tmp_path):
    out = tmp_path / "out.xlsx"
    with pytest.raises(WorkbookError, match=r"^book\.xlsx: has no table named Claims to write"):
        write_tables(book, out, {"Claims": (C.CLAIM_HEADERS, [])})
    assert not out.exists()
    assert not list(tmp_path.glob("*.tmp"))


def test_rows_that_would_run_into_other_cells_are_refused(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Claim"
    ws.append(list(C.CLAIM_HEADERS))
    ws.add_table(XlTable(displayName="Claim", ref="A1:S2"))
    ws["B5"] = "a note someone typed under the table"
    src = tmp_path / "s.xlsx"
    wb.save(src)
    out = tmp_path / "o.xlsx"
    with pytest.raises(WorkbookError, match="cell B5 below it is in use"):
        write_tables(src, out, {C.CLAIM: (C.CLAIM_HEADERS, claim_rows(5))})
    assert not out.exists()


# -- append_table_rows ---------------------------------------------------------------
NEW = [{"Date": dt.date(2026, 10, 20 + i), "Staff ID": "S1", "Member ID": "M1", "Service": "ECM service",
        "Contact": "In person", "Minutes": 30 + i, "Notes": "=not a formula" if i == 0 else None}
       for i in range(5)]


def test_append_reuses_blank_rows_then_grows_the_table(book, tmp_path):
    out = str(tmp_path / "out.xlsx")
    rows = append_table_rows(book, out, C.TIMESHEET, NEW)
    # typed rows end on row 8; rows 9-11 are blank table rows, reused first
    assert rows == [9, 10, 11, 12, 13]
    ref, af, dim, sheet = table_ref(out, C.TIMESHEET)
    assert (ref, af) == ("B3:Q13", "B3:Q13")
    assert dim == "A1:T13"
    ts = read_workbook(out).tables[C.TIMESHEET]
    assert len(ts.rows) == 10
    assert [r["Minutes"] for r in ts.rows[5:]] == [30, 31, 32, 33, 34]
    assert ts.rows[5]["Date"] == dt.date(2026, 10, 20)
    assert ts.rows[5]["Notes"] == "=not a formula"
    assert [r["Staff ID"] for r in ts.rows[:5]] == ["S1", "S1", None, "S2", "S2"]     # old rows untouched


def test_append_extends_validations_and_formats(book, tmp_path):
    out = str(tmp_path / "out.xlsx")
    append_table_rows(book, out, C.TIMESHEET, NEW)
    _ref, _af, _dim, sheet = table_ref(out, C.TIMESHEET)
    assert 'sqref="E4:E13"' in sheet and 'sqref="J4:J13"' in sheet
    assert '<conditionalFormatting sqref="J4:J13">' in sheet
    assert "<xm:sqref>F4:F13</xm:sqref>" in sheet              # the x14 list on Contact
    ws = openpyxl.load_workbook(out)["Timesheet"]
    assert str(ws.data_validations.dataValidation[0].sqref) == "E4:E13"


def test_append_writes_calculated_columns_and_copies_styles(book, tmp_path):
    out = str(tmp_path / "out.xlsx")
    append_table_rows(book, out, C.TIMESHEET, NEW)
    ws = openpyxl.load_workbook(out)["Timesheet"]
    for r in (12, 13):                                           # rows beyond the old table
        assert ws.cell(r, 17).value == "=Timesheet[[#This Row],[Minutes]]/60"
        assert ws.cell(r, 2).number_format == "m/d/yyyy"
        assert ws.cell(r, 2).fill.fgColor.rgb == "00FFF2CC"
        assert ws.cell(r, 8).number_format == "h:mm AM/PM"
    assert ws.cell(9, 16).data_type == "s" and ws.cell(9, 16).value == "=not a formula"


def test_append_keeps_other_members_and_the_input(book, tmp_path):
    before = sha(book)
    out = str(tmp_path / "out.xlsx")
    append_table_rows(book, out, C.TIMESHEET, NEW)
    assert sha(book) == before
    a, b = members(book), members(out)
    owned = owned_parts(book, [C.TIMESHEET])
    assert list(a) == list(b)
    assert [n for n in a if a[n] != b[n] and n not in owned] == []


def test_append_nothing_and_unknown_columns(book, tmp_path):
    out = tmp_path / "out.xlsx"
    with pytest.raises(WorkbookError, match="the Timesheet table has no 'Mins' column"):
        append_table_rows(book, out, C.TIMESHEET, [{"Mins": 3}])
    assert not out.exists()


def test_append_after_a_full_table(tmp_path):
    src = build_workbook(tmp_path / "full.xlsx", blank_tail=0, extras=False)
    out = tmp_path / "o.xlsx"
    assert append_table_rows(src, out, C.TIMESHEET, NEW[:2]) == [9, 10]
    assert table_ref(out, C.TIMESHEET)[0] == "B3:Q10"


def test_a_sheet_written_with_a_namespace_prefix(book, tmp_path):
    """Some non-Excel writers prefix the main namespace (<x:row>); rows written must still read."""
    parts = members(book)
    with Package(book) as pkg:
        part = read_structure(pkg).tables[C.CLAIM].sheet_part
    xml = parts[part].decode()
    xml = xml.replace('xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"',
                      'xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"')
    xml = re.sub(r"<(/?)([A-Za-z]\w*)(?=[\s/>])", r"<\1x:\2", xml)
    parts[part] = xml.encode()
    src = tmp_path / "prefixed.xlsx"
    with zipfile.ZipFile(src, "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in parts.items():
            z.writestr(n, d)
    out = tmp_path / "out.xlsx"
    write_tables(src, out, {C.CLAIM: (C.CLAIM_HEADERS, claim_rows(3))})
    want = [[None if v == "" else v for v in r] for r in claim_rows(3)]
    got = read_workbook(out).tables[C.CLAIM].rows
    assert [[r[h] for h in C.CLAIM_HEADERS] for r in got] == want
    ws = openpyxl.load_workbook(out)["Claim"]
    assert [plain(c.value) for c in ws[4]][:3] == want[2][:3]
    # and a second close over the first keeps it readable and identical
    again = tmp_path / "again.xlsx"
    write_tables(out, again, {C.CLAIM: (C.CLAIM_HEADERS, claim_rows(3))})
    assert sha(again) == sha(out)


def test_append_shares_one_formula_per_calculated_column(book, tmp_path):
    out = str(tmp_path / "out.xlsx")
    many = [dict(NEW[0], Minutes=m) for m in range(1, 41)]
    written = append_table_rows(book, out, C.TIMESHEET, many)
    _ref, _af, _dim, sheet = table_ref(out, C.TIMESHEET)
    # rows 9-11 already held the formula; 12..48 share one, written once
    assert written[0] == 9 and written[-1] == 48
    masters = re.findall(r'<c r="Q(\d+)"[^>]*><f t="shared" ref="([A-Z0-9:]+)" si="(\d+)">([^<]+)</f>', sheet)
    assert masters == [("12", "Q12:Q48", "0", "Timesheet[[#This Row],[Minutes]]/60")]
    assert len(re.findall(r'<f t="shared" si="0"/>', sheet)) == 36
    ws = openpyxl.load_workbook(out)["Timesheet"]
    assert ws["Q48"].value == "=Timesheet[[#This Row],[Minutes]]/60"


def test_append_moves_plain_a1_formulas_to_their_row(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Timesheet"
    ws.append(["Minutes", "Double"])
    ws.append([10, "=A2*2"])
    t = XlTable(displayName="Timesheet", ref="A1:B2")
    t._initialise_columns()
    from openpyxl.worksheet.table import TableFormula
    t.tableColumns[0].name, t.tableColumns[1].name = "Minutes", "Double"
    t.tableColumns[1].calculatedColumnFormula = TableFormula(attr_text="A2*2")
    ws.add_table(t)
    src = tmp_path / "a1.xlsx"
    wb.save(src)
    out = tmp_path / "o.xlsx"
    assert append_table_rows(src, out, "Timesheet", [{"Minutes": 1}, {"Minutes": 2}, {"Minutes": 3}]) == [3, 4, 5]
    ws = openpyxl.load_workbook(out)["Timesheet"]
    assert [ws[f"B{r}"].value for r in (2, 3, 4, 5)] == ["=A2*2", "=A3*2", "=A4*2", "=A5*2"]


def test_zip64_members_and_the_recompressing_fallback(book, tmp_path):
    """Parts stored with zip64 extras copy raw; the zipfile fallback keeps every part's content."""
    from ecm_xl.xlsx import package
    parts = members(book)
    src = tmp_path / "z64.xlsx"
    with zipfile.ZipFile(src, "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in parts.items():
            with z.open(zipfile.ZipInfo(n, date_time=(2026, 1, 1, 0, 0, 0)), "w", force_zip64=True) as f:
                f.write(d)
    out = tmp_path / "o.xlsx"
    write_tables(src, out, outputs())
    owned = owned_parts(src, [C.SUMMARY, C.CLAIM, C.EXCEPTIONS])
    a, b = members(src), members(out)
    assert [n for n in a if n not in owned and a[n] != b[n]] == []
    assert [r["Member ID"] for r in read_workbook(out).tables[C.SUMMARY].rows] == ["M0", "M1", "M2"]

    fallback = tmp_path / "fallback.xlsx"
    with package.Package(out) as pkg:
        tmp = package._write_with_zipfile(pkg, str(fallback), {"xl/workbook.xml": iter([b["xl/workbook.xml"]])}, 6)
    package.commit(tmp, str(fallback))
    assert members(fallback) == b

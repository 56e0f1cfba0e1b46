"""Nothing broken: a close changes only the parts it owns, and those stay right.

The fixture workbook carries every feature issue 4 names: other sheets,
styles, data validations (including the Excel 2010 x14 kind written as raw
XML), defined names, an image, a button shape (raw DrawingML), a chart,
comments, conditional formatting and a VBA project (.xlsm).
"""
from __future__ import annotations

import datetime as dt
import re
import struct
import zipfile
from pathlib import Path

import openpyxl
import pytest

from _xlsx_fixtures import VBA_BYTES, X14_URI, build_workbook, members, sha
from ecm_xl import contract as C
from ecm_xl.xlsx import append_table_rows, owned_parts, read_workbook, write_tables
from test_xlsx_write import NEW, outputs, plain, table_ref

pytestmark = pytest.mark.filterwarnings("ignore:Data Validation extension:UserWarning")

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "templates" / "ECM_Timesheet.xlsx"
OUTPUTS = (C.SUMMARY, C.CLAIM, C.EXCEPTIONS)


def raw_members(path) -> dict:
    """{name: (local header + compressed bytes)}: what is stored, not what it inflates to."""
    out = {}
    with zipfile.ZipFile(path) as z, open(path, "rb") as f:
        for i in z.infolist():
            f.seek(i.header_offset)
            head = f.read(30)
            n, e = struct.unpack("<HH", head[26:30])
            f.seek(i.header_offset + 30 + n + e)
            out[i.filename] = (i.CRC, i.compress_type, f.read(i.compress_size))
    return out


@pytest.fixture(scope="module")
def closed(tmp_path_factory):
    d = tmp_path_factory.mktemp("preserve")
    src = str(build_workbook(d / "full.xlsm", xlsm=True))
    before = sha(src)
    out = str(d / "full.closed.xlsm")
    data = outputs(n_summary=4, n_claim=3, texts=["=1+1", "not eligible"])
    write_tables(src, out, data)
    return src, out, data, before


def test_every_part_the_close_does_not_own_is_byte_identical(closed):
    src, out, _data, _ = closed
    owned = owned_parts(src, OUTPUTS)
    a, b = members(src), members(out)
    assert list(a) == list(b)                                    # same parts, same order
    kept = [n for n in a if n not in owned]
    assert len(kept) >= 30
    assert [n for n in kept if a[n] != b[n]] == []
    ra, rb = raw_members(src), raw_members(out)
    assert [n for n in kept if ra[n] != rb[n]] == []             # not even recompressed


def test_owned_parts_are_the_output_sheets_their_tables_and_the_workbook(closed):
    src, _out, _data, _ = closed
    owned = owned_parts(src, OUTPUTS)
    with zipfile.ZipFile(src) as z:
        tables = {n for n in z.namelist() if n.startswith("xl/tables/")
                  and re.search(r'displayName="(Summary|Claim|Exceptions)"', z.read(n).decode())}
    assert len(tables) == 3 and tables <= owned
    assert "xl/workbook.xml" in owned
    assert len(owned) == 7                                       # 3 sheets + 3 tables + workbook
    assert not any(n.endswith((".bin", ".png", "styles.xml", ".vml")) or "drawing" in n or "chart" in n
                   for n in owned)


def test_features_survive(closed):
    _src, out, _data, _ = closed
    b = members(out)
    assert b["xl/vbaProject.bin"] == VBA_BYTES
    assert "macroEnabled.main+xml" in b["[Content_Types].xml"].decode()
    assert b"Monthly Close Button" in b["xl/drawings/drawing9.xml"]
    assert b["xl/media/image9.png"].startswith(b"\x89PNG")
    assert any(n.startswith("xl/charts/chart") for n in b)
    assert any(n.startswith("xl/comments") for n in b)
    ts = [v.decode() for n, v in b.items() if n.startswith("xl/worksheets/sheet") and b"x14:dataValidation" in v]
    assert len(ts) == 1 and X14_URI in ts[0]
    wb = openpyxl.load_workbook(out, keep_vba=True)
    assert set(wb.defined_names) >= {"ProviderName", "BillingMonth", "Region"}
    assert wb["Timesheet"]["B3"].comment.text == "Type the date of service."
    assert wb["Timesheet"]["C1"].font.b is True


def test_owned_sheets_keep_what_is_outside_the_table(closed):
    src, out, _data, _ = closed
    ref, af, dim, sheet = table_ref(out, C.SUMMARY)
    assert (ref, af, dim) == ("A1:J5", "A1:J5", "A1:M5")
    old = table_ref(src, C.SUMMARY)[3]
    for tag in ("drawing", "tableParts", "pageMargins"):
        assert re.search(r"<%s\b[^>]*>" % tag, sheet).group(0) == re.search(r"<%s\b[^>]*>" % tag, old).group(0)
    ws = openpyxl.load_workbook(out)["Summary"]
    assert [ws["L1"].value, ws["L2"].value, ws["M3"].value] == [
        "Units by code", "G9008", "=SUMIFS(Summary[Units],Summary[HCPCS],L3)"]


def test_openpyxl_and_calamine_read_the_rows_written(closed):
    _src, out, data, _ = closed
    w = read_workbook(out)
    wb = openpyxl.load_workbook(out, keep_vba=True)
    for name, (headers, rows) in data.items():
        want = [[None if v in ("", None) else v for v in row] for row in rows]
        assert [[r[h] for h in headers] for r in w.tables[name].rows] == want
        got = [[plain(c) for c in r] for r in wb[name].iter_rows(min_row=2, max_row=1 + len(rows),
                                                                  max_col=len(headers), values_only=True)]
        assert got == want


def test_input_unchanged_and_reclose_identical(closed, tmp_path):
    src, out, data, before = closed
    assert sha(src) == before
    again = str(tmp_path / "again.xlsm")
    write_tables(out, again, data)
    assert sha(again) == sha(out)


def test_fill_keeps_the_same_promise(tmp_path):
    src = str(build_workbook(tmp_path / "fill.xlsm", xlsm=True))
    before = sha(src)
    out = str(tmp_path / "filled.xlsm")
    append_table_rows(src, out, C.TIMESHEET, NEW)
    assert sha(src) == before
    owned = owned_parts(src, [C.TIMESHEET])
    assert len(owned) == 3
    ra, rb = raw_members(src), raw_members(out)
    assert list(ra) == list(rb)
    assert [n for n in ra if n not in owned and ra[n] != rb[n]] == []
    assert members(out)["xl/vbaProject.bin"] == VBA_BYTES


# -- the real template ------------------------------------------------------------
needs_template = pytest.mark.skipif(not TEMPLATE.exists(), reason="templates/ECM_Timesheet.xlsx not built yet")


@needs_template
def test_template_close_keeps_everything_else(tmp_path):
    src = str(TEMPLATE)
    before = sha(src)
    out = str(tmp_path / "closed.xlsx")
    data = outputs(n_summary=12, n_claim=9, texts=["a", "b", "=c"])
    write_tables(src, out, data)
    assert sha(src) == before
    owned = owned_parts(src, OUTPUTS)
    ra, rb = raw_members(src), raw_members(out)
    assert list(ra) == list(rb)
    assert [n for n in ra if n not in owned and ra[n] != rb[n]] == []
    w = read_workbook(out)
    for name, (headers, rows) in data.items():
        want = [[None if v in ("", None) else v for v in row] for row in rows]
        assert [[r[h] for h in headers] for r in w.tables[name].rows] == want
    ws = openpyxl.load_workbook(out)["Claim"]
    assert ws.cell(2, 5).number_format == C.DATE_FORMAT and ws.cell(10, 5).number_format == C.DATE_FORMAT
    assert ws.cell(10, 14).number_format == C.MONEY_FORMAT
    # the SUMIFS block beside Summary is still there, untouched
    summary = openpyxl.load_workbook(out)["Summary"]
    from ecm_xl.template import SUMMARY_BLOCK_COLUMN, SUMMARY_BLOCK_ROW
    first = summary.cell(SUMMARY_BLOCK_ROW + 2, SUMMARY_BLOCK_COLUMN + 1).value      # the first code's units
    assert first.startswith("=SUMIFS(")


@needs_template
def test_template_append_fills_its_timesheet(tmp_path):
    src = str(TEMPLATE)
    out = str(tmp_path / "filled.xlsx")
    rows = [{k: v for k, v in r.items() if k in C.TIMESHEET_HEADERS} for r in NEW]
    written = append_table_rows(src, out, C.TIMESHEET, rows)
    w = read_workbook(out)
    ts = w.tables[C.TIMESHEET]
    assert written == list(range(ts.first_row, ts.first_row + len(rows)))
    assert [r["Minutes"] for r in ts.rows] == [30, 31, 32, 33, 34]
    with zipfile.ZipFile(src) as z:
        tpart = next(n for n in z.namelist() if n.startswith("xl/tables/")
                     and b'displayName="Timesheet"' in z.read(n))
        formulas = re.findall(r"<calculatedColumnFormula>", z.read(tpart).decode())
    ws = openpyxl.load_workbook(out)["Timesheet"]
    last = written[-1]
    calc = [c.value for c in ws[last] if isinstance(c.value, str) and c.value.startswith("=")]
    assert len(calc) == len(formulas) > 0
    assert ws.cell(last, 1).number_format == ws.cell(written[0], 1).number_format
    assert ws.cell(last, 1).value == dt.datetime(2026, 10, 24)


@needs_template
def test_template_close_opens_in_libreoffice_and_the_sums_follow(tmp_path):
    from libreoffice import recalculate, soffice_or_skip
    soffice_or_skip()
    out = tmp_path / "closed.xlsx"
    summary = [[dt.date(2026, 10, 1), f"M{i}", "x", "G9008", "U1", None, 60, 1, 1 + i, 10.0] for i in range(5)]
    write_tables(TEMPLATE, out, {C.SUMMARY: (C.SUMMARY_HEADERS, summary)})
    recalced = recalculate(out, tmp_path / "recalc.xlsx")
    ws = openpyxl.load_workbook(recalced, data_only=True)["Summary"]
    cells = {ws.cell(r, 12).value: ws.cell(r, 13).value for r in range(2, 20) if ws.cell(r, 12).value}
    assert cells["G9008 U1"] == sum(1 + i for i in range(5))
    assert [ws.cell(r, 2).value for r in range(2, 7)] == [f"M{i}" for i in range(5)]


@needs_template
def test_template_fill_computes_in_libreoffice(tmp_path):
    """Rows appended to the template's Timesheet look staff and members up once recalculated."""
    from libreoffice import recalculate, soffice_or_skip
    soffice_or_skip()
    book = tmp_path / "filled.xlsx"
    append_table_rows(TEMPLATE, book, C.STAFF, [
        {"Staff ID": "S1", "Staff Name": "Ana Diaz", "Staff Type": "Clinical"},
        {"Staff ID": "S2", "Staff Name": "Bo Lee", "Staff Type": "Non-clinical"}])
    append_table_rows(book, book, C.MEMBERS, [{"Member ID": "M1", "Last Name": "Doe", "First Name": "Jane"}])
    entries = [{"Date": dt.date(2026, 10, 1 + i % 28), "Staff ID": f"S{1 + i % 2}", "Member ID": "M1",
                "Service": "ECM service", "Contact": "In person", "Minutes": 30} for i in range(60)]
    written = append_table_rows(book, book, C.TIMESHEET, entries)
    recalced = recalculate(book, tmp_path / "recalc.xlsx")
    ws = openpyxl.load_workbook(recalced, data_only=True)["Timesheet"]
    heads = [c.value for c in ws[1]]
    name_col, member_col = heads.index("Staff Name") + 1, heads.index("Member Name") + 1
    got = [ws.cell(r, name_col).value for r in written]
    assert got == ["Ana Diaz" if i % 2 == 0 else "Bo Lee" for i in range(60)]
    assert {ws.cell(r, member_col).value for r in written} == {"Doe, Jane"}


def test_a_workbook_saved_by_libreoffice(tmp_path):
    """Another real writer (shared strings, its own XML habits): read, close, reopen."""
    from libreoffice import convert, recalculate, soffice_or_skip
    soffice_or_skip()
    src = convert(build_workbook(tmp_path / "src.xlsx"), tmp_path / "lo", "xlsx")
    w = read_workbook(src)
    assert w.tables[C.TIMESHEET].first_row == 4
    assert w.tables[C.TIMESHEET].rows[0]["Staff ID"] == "S1"
    assert w.setup["BillingMonth"] == dt.date(2026, 10, 1)
    out = tmp_path / "closed.xlsx"
    data = outputs(n_summary=4, n_claim=2)
    write_tables(src, out, data)
    owned = owned_parts(src, OUTPUTS)
    ra, rb = raw_members(src), raw_members(out)
    assert [n for n in ra if n not in owned and ra[n] != rb[n]] == []
    back = openpyxl.load_workbook(recalculate(out, tmp_path / "recalc.xlsx"), data_only=True)
    ws = back[C.SUMMARY]
    assert [ws.cell(r, 2).value for r in range(2, 6)] == ["M0", "M1", "M2", "M3"]
    assert ws["M2"].value == 4          # SUMIFS over the Units written for G9008 (1 unit each)

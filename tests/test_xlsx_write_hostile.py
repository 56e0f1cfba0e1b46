"""The writer parses what it rewrites: XML that fooled pattern matching, on real files.

Each case is the fixture workbook with one owned part written the way some
program (or someone) might: a comment holding `<sheetData>`, a comment before a
table's root, `>` inside attributes, processing instructions, CDATA, the main
namespace under an `x:` prefix. The output must hold exactly the rows written,
read back by openpyxl and by this package's reader, with the odd markup kept;
two of them are opened in LibreOffice too.
"""
from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
import zipfile

import openpyxl
import pytest

from _xlsx_fixtures import build_workbook, members, sha
from ecm_xl import contract as C
from ecm_xl.xlsx import WorkbookError, append_table_rows, read_workbook, write_named_cells, write_tables
from ecm_xl.xlsx.reader import Package, read_structure
from test_xlsx_write import NEW, claim_rows, outputs, plain, summary_rows

pytestmark = pytest.mark.filterwarnings("ignore:Data Validation extension:UserWarning")

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


def parts_of(path, table):
    with Package(path) as pkg:
        t = read_structure(pkg).tables[table]
        return t.sheet_part, t.part


def sheet_of(table):
    return ("sheet", table)


def table_part(table):
    return ("table", table)


def edited(src, dst, edits: dict):
    """A copy of src with parts changed: {part name, sheet_of(table) or table_part(table):
    function of the part's XML text}."""
    parts = members(src)
    for key, fn in edits.items():
        if isinstance(key, tuple):
            key = parts_of(src, key[1])[0 if key[0] == "sheet" else 1]
        parts[key] = fn(parts[key].decode()).encode()
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in parts.items():
            z.writestr(n, d)
    return str(dst)


def well_formed(path):
    """Every XML part of the package parses."""
    with zipfile.ZipFile(path) as z:
        for n in z.namelist():
            if n.endswith((".xml", ".rels")):
                ET.fromstring(z.read(n))


def xl_rows(path, sheet, n, width):
    ws = openpyxl.load_workbook(path)[sheet]
    got = [[plain(c) for c in r] for r in ws.iter_rows(min_row=2, max_row=1 + n, max_col=width, values_only=True)]
    return got, ws


def want(rows):
    return [[None if v == "" else v for v in r] for r in rows]


@pytest.fixture()
def book(tmp_path):
    return str(build_workbook(tmp_path / "book.xlsx"))


def claims_written(src, out, n=108):
    write_tables(src, out, {C.CLAIM: (C.CLAIM_HEADERS, claim_rows(n))})
    well_formed(out)
    got, ws = xl_rows(out, "Claim", n, len(C.CLAIM_HEADERS))
    assert got == want(claim_rows(n))
    assert ws.max_row == n + 1
    assert ws.tables["Claim"].ref == f"A1:S{n + 1}"
    rows = read_workbook(out).tables[C.CLAIM].rows
    assert len(rows) == n and rows[n - 1]["Claim ID"] == f"C{n - 1:05d}"
    return members(out)[parts_of(out, C.CLAIM)[0]].decode()


def test_a_comment_holding_sheet_data_is_left_alone(book, tmp_path):
    note = "<!-- layout of 2025: <sheetData><row r=\"2\"><c r=\"A2\"/></row></sheetData> -->"
    src = edited(book, tmp_path / "c.xlsx",
                 {sheet_of(C.CLAIM): lambda x: x.replace("<sheetData>", note + "<sheetData>", 1)})
    xml = claims_written(src, str(tmp_path / "out.xlsx"))
    assert note in xml                                   # the comment is kept, and kept empty
    assert xml.index(note) < xml.index("<sheetData>") < xml.index('<row r="109"')


def test_a_comment_before_the_table_root(book, tmp_path):
    note = '<!-- <table ref="A1:S2"><autoFilter ref="A1:S2"/> -->'
    src = edited(book, tmp_path / "c.xlsx", {table_part(C.CLAIM): lambda x: note + x})
    out = str(tmp_path / "out.xlsx")
    claims_written(src, out, n=5)
    table = members(out)[parts_of(out, C.CLAIM)[1]].decode()
    assert table.startswith(note)
    assert re.search(r'<table [^>]*ref="A1:S6"', table) and '<autoFilter ref="A1:S6"' in table


def test_a_greater_than_sign_inside_attributes(book, tmp_path):
    def odd(x):
        x = x.replace('<row r="2"', '<row xmlns:my="urn:example" my:note="2 > 1" r="2"', 1)
        return x.replace('<row r="1"', '<row xmlns:my="urn:example" my:why=\'a>b "quoted"\' r="1"', 1)
    src = edited(book, tmp_path / "g.xlsx", {sheet_of(C.CLAIM): odd})
    xml = claims_written(src, str(tmp_path / "out.xlsx"), n=4)
    # row 2's own attributes survive its rebuild, re-serialized by the writer
    assert '<row xmlns:my="urn:example" my:note="2 &gt; 1" r="2">' in xml
    assert """my:why='a>b "quoted"' r="1">""" in xml                # the header row, untouched


def test_greater_than_in_the_last_timesheet_row_before_an_append(book, tmp_path):
    src = edited(book, tmp_path / "g.xlsx", {sheet_of(C.TIMESHEET): lambda x: x.replace(
        '<row r="8"', '<row xmlns:my="urn:example" my:n="x>y" r="8"', 1)})
    out = str(tmp_path / "out.xlsx")
    assert append_table_rows(src, out, C.TIMESHEET, NEW) == [9, 10, 11, 12, 13]
    well_formed(out)
    ts = read_workbook(out).tables[C.TIMESHEET]
    assert [r["Minutes"] for r in ts.rows[5:]] == [30, 31, 32, 33, 34]
    ws = openpyxl.load_workbook(out)["Timesheet"]
    assert [ws.cell(r, 10).value for r in range(9, 14)] == [30, 31, 32, 33, 34]
    assert 'my:n="x>y"' in members(out)[parts_of(out, C.TIMESHEET)[0]].decode()   # untouched row, byte for byte


def test_processing_instructions_in_a_sheet(book, tmp_path):
    pi_head, pi_rows = "<?ecm-note before > data?>", "<?ecm-note between rows > here?>"

    def odd(x):
        x = x.replace("<sheetData>", pi_head + "<sheetData>" + pi_rows, 1)
        return x.replace("</sheetData>", pi_rows + "</sheetData>", 1)
    src = edited(book, tmp_path / "p.xlsx", {sheet_of(C.CLAIM): odd})
    xml = claims_written(src, str(tmp_path / "out.xlsx"), n=7)
    assert xml.count(pi_rows) == 2 and pi_head in xml
    assert xml.index(pi_rows) < xml.index('<row r="1"') < xml.rindex('<row r="8"') < xml.rindex(pi_rows)


def test_cdata_beside_the_table_is_kept_and_not_taken_for_rows(book, tmp_path):
    """Summary's rows hold the SUMIFS block in L:M; put CDATA that looks like rows there."""
    tricky = '<row r="99"><c r="A99"><v>1</v></c></row>'
    cell = f'<c r="O3" t="inlineStr"><is><t><![CDATA[{tricky}]]></t></is></c>'
    src = edited(book, tmp_path / "d.xlsx", {sheet_of(C.SUMMARY): lambda x: re.sub(
        r'(<row r="3"[^>]*>.*?)(</row>)', lambda m: m.group(1) + cell + m.group(2), x, count=1, flags=re.S)})
    out = str(tmp_path / "out.xlsx")
    data = {C.SUMMARY: (C.SUMMARY_HEADERS, summary_rows(5))}
    write_tables(src, out, data)
    well_formed(out)
    got, ws = xl_rows(out, "Summary", 5, len(C.SUMMARY_HEADERS))
    assert got == want(summary_rows(5))
    assert ws["O3"].value == tricky and ws.max_row == 6
    assert ws["M3"].value.startswith("=SUMIFS(")
    assert cell in members(out)[parts_of(out, C.SUMMARY)[0]].decode()
    assert read_workbook(out).tables[C.SUMMARY].rows[1]["Member ID"] == "M1"


def prefixed(x: str) -> str:
    """The same part with the main namespace bound to x: instead of the default."""
    x = x.replace(f'xmlns="{MAIN}"', f'xmlns:x="{MAIN}"')
    return re.sub(r"<(/?)([A-Za-z]\w*)(?=[\s/>])", r"<\1x:\2", x)


def test_the_main_namespace_under_a_prefix_everywhere(book, tmp_path):
    """Sheets, table parts and workbook.xml written as <x:row>, <x:table>, <x:workbook>."""
    def no_calc(x):
        return prefixed(re.sub(r"<calcPr[^>]*/>", "", x))
    with Package(book) as pkg:
        st = read_structure(pkg)
        setup = next(s.part for s in st.sheets if s.name == "Setup")
    src = edited(book, tmp_path / "x.xlsx", {sheet_of(C.CLAIM): prefixed, sheet_of(C.TIMESHEET): prefixed,
                                             table_part(C.CLAIM): prefixed, table_part(C.TIMESHEET): prefixed,
                                             "xl/workbook.xml": no_calc, setup: prefixed})
    out = str(tmp_path / "out.xlsx")
    claims_written(src, out, n=6)
    append_table_rows(out, out, C.TIMESHEET, NEW)
    write_named_cells(out, out, {"ProviderName": "Prefix Clinic & Co"})
    well_formed(out)
    w = read_workbook(out)
    assert w.setup["ProviderName"] == "Prefix Clinic & Co"
    assert [r["Minutes"] for r in w.tables[C.TIMESHEET].rows[5:]] == [30, 31, 32, 33, 34]
    assert len(w.tables[C.CLAIM].rows) == 6
    wb = openpyxl.load_workbook(out)
    assert wb.calculation.fullCalcOnLoad is True
    assert wb["Timesheet"].tables["Timesheet"].ref == "B3:Q13"
    assert wb["Timesheet"].cell(13, 17).value == "=Timesheet[[#This Row],[Minutes]]/60"
    m = members(out)
    assert '<x:calcPr fullCalcOnLoad="1"/>' in m["xl/workbook.xml"].decode()
    assert "<x:table " in m[parts_of(out, C.CLAIM)[1]].decode()


def test_a_damaged_owned_sheet_is_refused_not_copied(book, tmp_path):
    src = edited(book, tmp_path / "bad.xlsx", {sheet_of(C.CLAIM): lambda x: x.replace("</row>", "", 1)})
    out = tmp_path / "out.xlsx"
    with pytest.raises(WorkbookError) as e:
        write_tables(src, out, outputs())
    line = str(e.value)
    assert line.startswith("bad.xlsx: is damaged: part xl/worksheets/") and "not well-formed XML" in line
    assert "\n" not in line and not out.exists() and not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize("change, says", [
    (lambda x: x.replace('<row r="2"', '<row r="5"', 1).replace('<row r="1"', '<row r="7"', 1), "rows out of order"),
    (lambda x: re.sub(r'(<row r="2"[^>]*>)', r'\1<row r="3"/>', x, count=1), "a row inside a row"),
    (lambda x: '<?xml version="1.0" encoding="ISO-8859-1"?>' + x, "saved as 'ISO-8859-1'"),
])
def test_sheets_no_program_writes_are_refused_by_name(book, tmp_path, change, says):
    src = edited(book, tmp_path / "odd.xlsx", {sheet_of(C.CLAIM): change})
    before = sha(src)
    with pytest.raises(WorkbookError, match=says):
        write_tables(src, tmp_path / "out.xlsx", outputs())
    assert sha(src) == before and not (tmp_path / "out.xlsx").exists()


def test_a_package_object_is_accepted_as_the_source(book, tmp_path):
    out = str(tmp_path / "out.xlsx")
    with Package(book) as pkg:
        write_tables(pkg, out, outputs(n_claim=3))
    assert len(read_workbook(out).tables[C.CLAIM].rows) == 3
    with Package(out) as pkg:
        assert append_table_rows(pkg, str(tmp_path / "more.xlsx"), C.TIMESHEET, NEW[:1]) == [9]


def test_hostile_close_and_prefixed_fill_open_in_libreoffice(book, tmp_path):
    from libreoffice import convert, soffice_or_skip
    soffice_or_skip()
    note = "<!-- <sheetData> -->"

    def claim(x):
        x = x.replace("<sheetData>", note + "<?pi a > b?><sheetData>", 1)
        return x.replace('<row r="2"', '<row xmlns:my="urn:example" my:note="2 > 1" r="2"', 1)
    src = edited(book, tmp_path / "hostile.xlsx", {
        sheet_of(C.CLAIM): claim, table_part(C.CLAIM): lambda x: "<!-- <table ref='A1:S2'> -->" + x,
        sheet_of(C.TIMESHEET): prefixed, table_part(C.TIMESHEET): prefixed})
    out = str(tmp_path / "closed.xlsx")
    write_tables(src, out, {C.CLAIM: (C.CLAIM_HEADERS, claim_rows(108))})
    append_table_rows(out, out, C.TIMESHEET, NEW)
    lo = convert(out, tmp_path / "lo", "xlsx")
    wb = openpyxl.load_workbook(lo)
    ws = wb["Claim"]
    got = [[plain(c) for c in r] for r in ws.iter_rows(min_row=2, max_row=109, max_col=19, values_only=True)]
    assert got == want(claim_rows(108))
    assert ws.cell(110, 1).value is None
    ts = wb["Timesheet"]
    assert [ts.cell(r, 10).value for r in range(9, 14)] == [30, 31, 32, 33, 34]
    assert ts.cell(9, 2).value == dt.datetime(2026, 10, 20)


@pytest.mark.parametrize("decoy", [
    b"<!-- an old layout: </sheets> -->",
    b"<?note </sheets>?>",
])
def test_a_sheet_added_to_an_older_workbook_lands_in_the_sheet_list_not_in_a_comment(tmp_path, decoy):
    """add_table_sheets (remit, status and export on a workbook from an older template)
    edits workbook.xml, its relationships and the content types with the parser."""
    from fuzz_workbooks import part, replace_parts

    from ecm_xl.xlsx.sheets import add_table_sheets
    src = build_workbook(tmp_path / "old.xlsx")
    data = src.read_bytes()
    wb_xml = part(data, "xl/workbook.xml")
    types = part(data, "[Content_Types].xml")
    hostile = tmp_path / "hostile.xlsx"
    hostile.write_bytes(replace_parts(data, {
        "xl/workbook.xml": wb_xml.replace(b"<sheets>", decoy + b"<sheets>", 1),
        "[Content_Types].xml": types.replace(b"<Default", decoy.replace(b"sheets", b"Types") + b"<Default", 1)}))
    out = tmp_path / "out.xlsx"
    assert add_table_sheets(hostile, out, {C.REMITTANCE: C.REMITTANCE_HEADERS}) == [C.REMITTANCE]
    wb = read_workbook(out, required=())
    assert wb.headers[C.REMITTANCE] == C.REMITTANCE_HEADERS and wb.sheets[C.REMITTANCE] == C.REMITTANCE
    assert part(out.read_bytes(), "xl/workbook.xml").count(decoy) == 1      # the decoy kept as it was
    assert C.REMITTANCE in openpyxl.load_workbook(out).sheetnames

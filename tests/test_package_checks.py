"""The package checks made cheap (issue 12's speed): same verdicts, fewer passes.

- `partcheck.scan_part` bounds the reach of plain Excel XML without counting it,
  and counts it exactly whenever the bound could matter;
- the name check finds a capital where SpreadsheetML has none, and only there;
- `aside.run_beside` runs the whole-package check beside the read and reports
  its verdict first, however the check ends.
"""
from __future__ import annotations

import io
import os

import pytest

from ecm_xl.xlsx import WorkbookError, aside
from ecm_xl.xlsx.partcheck import MAX_GRID_CELLS, NEAR_ROWS, _odd_name, scan_part
from ecm_xl.xlsx.reader import col_letters as col

HEAD = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
TAIL = b"</sheetData></worksheet>"


def sheet(rows: int, cols: int, extra: bytes = b"") -> bytes:
    body = b"".join(
        f'<row r="{r}">'.encode() + b"".join(f'<c r="{col(c)}{r}"><v>{c}</v></c>'.encode() for c in range(1, cols + 1))
        + b"</row>" for r in range(1, rows + 1))
    return HEAD + body + extra + TAIL


def scan(xml: bytes, **kw):
    return scan_part("book.xlsx", "xl/worksheets/sheet1.xml", lambda: io.BytesIO(xml), **kw)


@pytest.mark.parametrize("extent_only", [True, False])
def test_plain_excel_xml_is_bounded_not_counted(extent_only):
    got = scan(sheet(50, 10), extent_only=extent_only)
    assert (got.max_row, got.max_col) == (NEAR_ROWS, 26)      # within Z99999: bounded
    assert got.max_row * got.max_col <= MAX_GRID_CELLS


def test_a_wide_sheet_is_counted_exactly_when_the_bound_could_refuse_it(monkeypatch):
    from ecm_xl.xlsx import partcheck
    monkeypatch.setattr(partcheck, "SCAN_CHUNK", 4096)       # many pieces: plain ones, then wide ones
    narrow = sheet(200, 10)
    wide = b"".join(f'<row r="{r}">'.encode() + b"".join(f'<c r="{col(c)}{r}"><v>1</v></c>'.encode()
                                                            for c in range(1, 61)) + b"</row>"
                    for r in range(201, 241))
    got = scan(narrow[:-len(TAIL)] + wide + TAIL, extent_only=True)
    # bounded, the plain rows would say 99,999 x 60 cells, over the limit: counted instead
    assert (got.max_row, got.max_col, got.cells) == (240, 60, 200 * 10 + 40 * 60)


def test_a_far_cell_is_found_among_plain_ones():
    got = scan(sheet(5, 3, b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'), extent_only=True)
    assert (got.max_row, got.max_col, got.far) == (1_048_576, 16_384, "XFD1048576")


@pytest.mark.parametrize("bad, words", [
    (b'<row r="0"><c r="A0"><v>1</v></c></row>', "numbers a row with something that is not a row number"),
    (b'<row r="1048577"><c r="A1048577"><v>1</v></c></row>', "beyond Excel's last row"),
    (b'<row r="7"><c r="XFE7"><v>1</v></c></row>', "outside Excel's grid"),
])
def test_rows_and_cells_off_the_grid_are_refused_by_the_quick_reach_too(bad, words):
    with pytest.raises(WorkbookError) as e:
        scan(sheet(3, 2, bad), extent_only=True)
    assert words in str(e.value)


def test_a_row_number_off_the_grid_is_refused_by_the_whole_check_after_the_reach():
    """The reach before a read looks at cells only (a reader places a cell by its r=);
    the whole check that follows still refuses a row numbered past the grid."""
    xml = sheet(3, 2, b'<row r="2000000"><c r="A4"><v>1</v></c></row>')
    reach = scan(xml, extent_only=True)
    with pytest.raises(WorkbookError) as e:
        scan(xml, reach=reach)
    assert "numbers a row beyond Excel's last row" in str(e.value)


def test_rows_placed_by_position_after_plain_ones_are_counted():
    xml = sheet(3, 2, b"".join(b"<row><c><v>1</v></c></row>" for _ in range(5)))
    got = scan(xml, extent_only=True)
    assert got.max_row >= 8                 # not the bound of the plain rows alone


@pytest.mark.parametrize("xml, odd", [
    (b'<c r="A1" S="3"><v>1</v></c>', True),
    (b'<c r="A1" s="3"/><Foo/>', True),
    (b'<dataValidation type="list" allowBlank="1"\tShowDropDown="1"/>', True),
    (b'<c r="A1" s="3"T="n"><v>1</v></c>', True),            # no space after a quote
    (b"<c r='A1' s='3' T='n'/>", True),
    (b'<c r="A1"><f>IF( A1="x",1,0)</f></c>', False),          # a formula's text, not a tag
    (b'<dataValidation prompt="Enter A=1" sqref="A2"/>', False),  # an attribute's value
    (b'<x14:dataValidation Type="list"/>', False),            # a prefixed element is another schema's
    (b'<c r="A1" t="inlineStr"><is><t>Call Back="soon"</t></is></c>', False),
    (b'<row r="1" spans="1:20" x14ac:dyDescent="0.25"><c r="AB1"/></row>', False),
])
def test_a_name_with_a_capital_is_found_only_in_a_tag(xml, odd):
    assert _odd_name(xml) is odd


def test_the_check_beside_the_read_reports_first(monkeypatch):
    monkeypatch.setattr(aside, "FORK_FROM", 0)

    def damaged():
        raise WorkbookError("book.xlsx", "is damaged: part x.xml is not well-formed XML")

    def panics():
        raise RuntimeError("the reader's own words")
    for fork in ([True] if aside.FORK else []) + [False]:
        monkeypatch.setattr(aside, "FORK", fork)
        assert aside.run_beside(lambda: None, lambda: 42, 1) == 42
        with pytest.raises(WorkbookError) as e:
            aside.run_beside(damaged, panics, 1)
        assert str(e.value) == "book.xlsx: is damaged: part x.xml is not well-formed XML"
        with pytest.raises(RuntimeError):
            aside.run_beside(lambda: None, panics, 1)


@pytest.mark.skipif(not aside.FORK, reason="no fork on this system: the check always runs in-process")
def test_a_check_child_that_dies_is_done_again_here(monkeypatch, tmp_path):
    monkeypatch.setattr(aside, "FORK_FROM", 0)
    parent, ran_here, mark = os.getpid(), [], tmp_path / "the child ran"

    def check():
        if os.getpid() != parent:
            mark.write_text("yes")
            os._exit(9)             # the child dies without a verdict (killed, out of memory)
        ran_here.append(True)
    assert aside.run_beside(check, lambda: "grids", 1) == "grids"
    assert mark.exists() and ran_here == [True]


@pytest.mark.skipif(not aside.FORK, reason="no fork on this system: the check always runs in-process")
def test_a_check_left_running_is_settled_before_trust_or_reaped_on_close(tmp_path, monkeypatch):
    from _xlsx_fixtures import build_workbook

    from ecm_xl.xlsx import read_workbook
    from ecm_xl.xlsx.package import Package
    from ecm_xl.xlsx.reader import settle
    monkeypatch.setattr(aside, "FORK_FROM", 0)
    real_fork, children = os.fork, []

    def fork():
        pid = real_fork()
        if pid:
            children.append(pid)
        return pid
    monkeypatch.setattr(os, "fork", fork)
    path = build_workbook(tmp_path / "book.xlsx")
    with Package(path) as pkg:
        read_workbook(pkg, settle_later=True)
        assert "pending" in pkg.flags and not pkg.flags.get("checked")
        assert settle(pkg) is True and pkg.flags["checked"]
    with Package(path) as pkg:
        read_workbook(pkg, settle_later=True)
    assert len(children) == 2
    with pytest.raises(ChildProcessError):      # closing the package waited for its child
        os.waitpid(children[-1], os.WNOHANG)

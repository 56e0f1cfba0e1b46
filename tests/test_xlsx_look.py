"""How written rows look: every appended row styled like the table's first data row,
and rows whose text wraps stored tall enough for it (not left to a viewer's autofit)."""
from __future__ import annotations

import datetime as dt
import shutil

import openpyxl
import pytest

from ecm_xl import contract as C
from ecm_xl.template import template_path
from ecm_xl.xlsx import append_table_rows, write_tables
from ecm_xl.xlsx.heights import wrapped_lines

pytestmark = pytest.mark.filterwarnings("ignore:Data Validation extension:UserWarning")

OCT = dt.date(2026, 10, 1)


@pytest.fixture()
def book(tmp_path):
    dst = tmp_path / "book.xlsx"
    shutil.copyfile(template_path(), dst)
    return str(dst)


def look(cell):
    """What a clerk sees of a cell's style."""
    b, a = cell.border, cell.alignment
    sides = [getattr(b, k) for k in ("left", "right", "top", "bottom")]
    lines = [(s.style, s.color.rgb if s.color is not None else None) if s is not None else None for s in sides]
    return (cell.number_format, *lines, a.horizontal, a.vertical, a.wrap_text, a.indent,
            cell.fill.fgColor.rgb, cell.font.b)


def test_every_appended_row_looks_like_the_first(book, tmp_path):
    out = str(tmp_path / "out.xlsx")
    staff = [{"Staff ID": f"S{i}", "Staff Name": f"Pat {i}", "Staff Type": "Clinical", "NPI": "1234567893"}
             for i in range(1, 6)]
    assert append_table_rows(book, out, C.STAFF, staff) == [2, 3, 4, 5, 6]
    times = [{"Date": OCT, "Staff ID": "S1", "Member ID": f"M{i}", "Minutes": 30, "Place of Service": "11"}
             for i in range(4)]
    assert append_table_rows(out, out, C.TIMESHEET, times) == [2, 3, 4, 5]
    wb = openpyxl.load_workbook(out)
    for name, last in ((C.STAFF, 6), (C.TIMESHEET, 5)):
        ws = wb[name]
        width = ws.max_column
        first = [look(ws.cell(2, c)) for c in range(1, width + 1)]
        # the template's first row has the row line under every column
        assert all(f[4] and f[4][0] == "thin" for f in first), name
        for r in range(3, last + 1):
            assert [look(ws.cell(r, c)) for c in range(1, width + 1)] == first, (name, r)
        # below what was written, the template's blank cells are as they were (no row line)
        below = ws.cell(last + 1, 1).border.bottom
        assert below is None or below.style is None


def test_reused_rows_inside_the_table_keep_their_own_style(book, tmp_path):
    grown = str(tmp_path / "grown.xlsx")
    append_table_rows(book, grown, C.STAFF, [{"Staff ID": "S1"}, {"Staff ID": "S2"}, {"Staff ID": "S3"}])
    wb = openpyxl.load_workbook(grown)
    ws = wb[C.STAFF]
    ws.cell(4, 2).fill = openpyxl.styles.PatternFill("solid", fgColor="FFC000")    # a clinic's colour
    for c in range(1, 5):
        ws.cell(4, c).value = None                    # row 4: the table's last row, now blank
    wb.save(grown)
    out = str(tmp_path / "out.xlsx")
    assert append_table_rows(grown, out, C.STAFF, [{"Staff ID": "S9", "Staff Name": "Kim"}]) == [4]
    ws = openpyxl.load_workbook(out)[C.STAFF]
    assert ws.cell(4, 2).value == "Kim" and ws.cell(4, 2).fill.fgColor.rgb == "00FFC000"


def row_heights(path, sheet):
    """{row: stored height} of a sheet's rows that store one."""
    ws = openpyxl.load_workbook(path)[sheet]
    return {r: d.height for r, d in ws.row_dimensions.items() if r > 1 and d.height and d.customHeight}


def exception(row, reason):
    return [row, OCT, "S1", "M1", 20, "Error", "R8", reason, C.TIMESHEET, "Date"]


LONG = ("Member M1 is not eligible on 10/14/2026 (eligible 8/1/2025 to 10/12/2026). Check the "
        "member's eligibility dates on Members; if they are right, this time cannot be billed.")


def test_a_long_reason_gets_a_tall_row_and_a_short_one_none(book, tmp_path):
    ws = openpyxl.load_workbook(book)[C.EXCEPTIONS]
    width, indent = ws.column_dimensions["H"].width, int(ws["H2"].alignment.indent)
    # by hand: the reason is 170 characters; a column `width` wide holds at most ~1.2 characters
    # per unit of width, so it takes at least ceil(170 / (1.2 * width)) lines, and more than one
    assert len(LONG) == 170 and width < 170 / 1.2
    at_least = -(-170 // int(1.2 * width))
    out = str(tmp_path / "out.xlsx")
    write_tables(book, out, {C.EXCEPTIONS: (C.EXCEPTION_HEADERS,
                                            [exception(5, "short"), exception(6, LONG), exception(7, "")])})
    heights = row_heights(out, C.EXCEPTIONS)
    assert 2 not in heights and 4 not in heights
    assert heights[3] >= at_least * 14.5
    assert heights[3] == pytest.approx(wrapped_lines(LONG, width, 11, indent) * 15 + 1.5)

    # closing again with short reasons takes the stored height away again
    again = str(tmp_path / "again.xlsx")
    write_tables(out, again, {C.EXCEPTIONS: (C.EXCEPTION_HEADERS, [exception(5, "short"), exception(6, "x")])})
    assert row_heights(again, C.EXCEPTIONS) == {}


def test_a_wider_reason_column_gives_shorter_rows(book, tmp_path):
    wb = openpyxl.load_workbook(book)
    wb[C.EXCEPTIONS].column_dimensions["H"].width = 250        # a clinic widened Reason
    wide = str(tmp_path / "wide.xlsx")
    wb.save(wide)
    out = str(tmp_path / "out.xlsx")
    write_tables(wide, out, {C.EXCEPTIONS: (C.EXCEPTION_HEADERS, [exception(5, LONG)])})
    assert row_heights(out, C.EXCEPTIONS) == {}


def test_wrapped_lines_by_hand():
    # 10 units wide, 11 pt, no indent: (10 - 1.5) * 1.05 = 8.9 -> 8 characters a line
    assert wrapped_lines("abcd efg", 10) == 1
    assert wrapped_lines("abcd efgh", 10) == 2             # 9 characters: the second word moves down
    assert wrapped_lines("abcdefghijklmnopq", 10) == 3     # one long word breaks at 8 and 16
    assert wrapped_lines("ab\ncd", 10) == 2
    assert wrapped_lines("abcd efg", 10, size=22) == 2     # twice the size: half the room

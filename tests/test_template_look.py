"""The template's look on paper, read from the workbook: page setup on every sheet a clerk
prints, padding between neighbouring columns, no file paths anywhere, page breaks that never
leave a heading at the foot of a page. (test_pdf_layout.py checks the printed result.)"""
from __future__ import annotations

import re

import openpyxl
import pytest

from ecm_xl import contract as C
from ecm_xl import template as T

pytestmark = pytest.mark.filterwarnings("ignore:Data Validation extension:UserWarning")

PRINTED = {C.INSTRUCTIONS: "portrait", C.SETUP: "landscape", C.STAFF: "landscape", C.MEMBERS: "landscape",
           C.TIMESHEET: "landscape", C.SUMMARY: "landscape", C.CLAIM: "landscape", C.EXCEPTIONS: "landscape",
           C.LISTS: "landscape", **{name: "landscape" for name in (*C.RECORD_TABLES, *C.CYCLE_TABLES)}}
TABLE_SHEETS = (C.STAFF, C.MEMBERS, C.TIMESHEET, C.SUMMARY, C.CLAIM, C.EXCEPTIONS)


@pytest.fixture(scope="module")
def wb(tmp_path_factory):
    path = tmp_path_factory.mktemp("t") / "template.xlsx"
    path.write_bytes(T.template_bytes())
    return openpyxl.load_workbook(path)


@pytest.mark.parametrize("sheet", sorted(PRINTED))
def test_every_printed_sheet_has_a_page_setup_and_a_print_area(wb, sheet):
    ws = wb[sheet]
    ps = ws.page_setup
    assert ps.orientation == PRINTED[sheet]
    assert str(ps.paperSize) == "1"                                   # letter
    assert ws.sheet_properties.pageSetUpPr.fitToPage and (ps.fitToWidth, ps.fitToHeight) == (1, 0)
    assert "&P" in ws.oddFooter.center.text and "&A" in ws.oddFooter.center.text
    area = ws.print_area
    assert area, sheet
    if sheet in TABLE_SHEETS:
        # the table's columns, every row: the area grows with the rows a close writes
        table = ws.tables[sheet]
        last_col = re.match(r"A1:([A-Z]+)\d+", table.ref).group(1)
        assert f"$A$1:${last_col}$1048576" in area or sheet == C.SUMMARY, area
        assert ws.print_title_rows == "$1:$1"
    assert ws.page_margins.left <= 0.5 and ws.page_margins.right <= 0.5


def test_summary_prints_its_table_and_the_block_beside_it(wb):
    last = openpyxl.utils.get_column_letter(T.SUMMARY_BLOCK_COLUMN + 2)
    assert wb[C.SUMMARY].print_area.endswith(f"$A$1:${last}$1048576")


def _aligned(cell):
    a = cell.alignment
    return a.horizontal, a.indent or 0


@pytest.mark.parametrize("sheet", TABLE_SHEETS)
def test_no_right_aligned_column_runs_into_left_aligned_text(wb, sheet):
    """A right-aligned column's text ends at its right edge; the next column's text must not
    start at its left edge: it is centred or indented."""
    ws = wb[sheet]
    row2 = [ws.cell(2, c) for c in range(1, ws.max_column + 1) if ws.cell(1, c).value]
    for left, right in zip(row2, row2[1:]):
        lh, _ = _aligned(left)
        rh, rindent = _aligned(right)
        if lh == "right":
            assert rh in ("center", "right") or rindent >= 1, (sheet, left.coordinate, right.coordinate)
    for cell in row2:
        h, indent = _aligned(cell)
        assert h in ("center", "right") or indent >= 1, (sheet, cell.coordinate)


def test_claim_and_exceptions_widths_fit_a_landscape_page_at_a_legible_size(wb):
    """Letter landscape at 0.4 in margins holds about 10.2 in = 979 px; a column w wide is about
    7w + 5 px. Claim at no less than 65 % (about 7 pt), Exceptions at no less than 90 %."""
    for sheet, least in ((C.CLAIM, 0.65), (C.EXCEPTIONS, 0.90), (C.SUMMARY, 0.85)):
        ws = wb[sheet]
        last = T.SUMMARY_BLOCK_COLUMN + 2 if sheet == C.SUMMARY else ws.max_column
        px = sum(7 * (ws.column_dimensions[openpyxl.utils.get_column_letter(c)].width or 8.43) + 5
                 for c in range(1, last + 1))
        assert 979 / px >= least, (sheet, round(979 / px, 2))


_PATH = re.compile(r"[\w.-]+/[\w./-]*\.(txt|md|toml|py|xlsx|pdf)\b|shared/|/work/|seed/")


def test_no_file_path_anywhere_in_the_template(wb):
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str):
                    assert not _PATH.search(c.value), (ws.title, c.coordinate, c.value[:80])


def test_instructions_name_the_flyer_by_title_and_publisher(wb):
    text = " ".join(str(c.value) for row in wb[C.INSTRUCTIONS].iter_rows() for c in row if c.value)
    assert "Health Net / CHPIV provider flyer 'Enhanced Care Management and Fee for Service Billing'" in text


def test_instruction_page_breaks_never_follow_a_heading(wb):
    ws = wb[C.INSTRUCTIONS]
    breaks = [b.id for b in ws.row_breaks.brk]
    assert breaks, "the Instructions print on more than one page: their breaks are set"
    headings = {c.row for c in ws["A"] if c.font and c.font.b and c.font.sz == 12}
    assert len(headings) == 5
    header_rows = {c.row for c in ws["A"] if c.value in ("Rule", "Code")}
    for b in breaks:                 # a break after row b: b is the last row on its page
        assert b not in headings and b not in header_rows, b

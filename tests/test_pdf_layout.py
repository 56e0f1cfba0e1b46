"""The demo month's closed workbook as a clerk prints it: LibreOffice renders it to PDF, and
poppler's text positions (pdftotext -bbox-layout) must show no text over other text, nothing
off the paper, and a cell's padding (not a word space) between one cell's text and the next's.

A deliberately broken copy (row heights taken away, numbers and text pushed against each
other, as the workbook looked before) must fail the same checks, so they can fail.
"""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import openpyxl
import pytest
from openpyxl.styles import Alignment

sys.path.insert(0, str(Path(__file__).resolve().parent))
from libreoffice import pdf_to_png, soffice_or_skip, to_pdf  # noqa: E402
from pdf_layout import describe, find_pdftotext, off_page, overlaps, read_pages, rows_of, touching  # noqa: E402

from ecm_xl import api  # noqa: E402
from ecm_xl import contract as C  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Data Validation extension:UserWarning")

CHECKED = (C.INSTRUCTIONS, C.SETUP, C.STAFF, C.MEMBERS, C.TIMESHEET, C.SUMMARY, C.CLAIM, C.EXCEPTIONS, C.LISTS,
           *C.RECORD_TABLES, *C.CYCLE_TABLES)
TABLES = (C.SUMMARY, C.CLAIM, C.EXCEPTIONS)


def _needs_tools():
    soffice_or_skip(need_pdftoppm=True)
    if find_pdftotext() is None:
        pytest.fail("pdftotext (poppler-utils) is missing though pdftoppm is installed")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    _needs_tools()
    d = tmp_path_factory.mktemp("demo")
    report = api.demo(d / "month")
    closed = Path(report.close.out)
    pdf = to_pdf(closed, d / "closed.pdf")
    return closed, read_pages(pdf), pdf


@pytest.fixture(scope="module")
def broken(demo, tmp_path_factory):
    """The closed workbook as it printed before: one line's height for every Exceptions row,
    right-aligned numbers against unindented left-aligned text."""
    closed, _pages, _pdf = demo
    d = tmp_path_factory.mktemp("broken")
    wb = openpyxl.load_workbook(closed)
    ws = wb[C.EXCEPTIONS]
    for r in range(2, ws.max_row + 1):
        ws.row_dimensions[r].height = None
    headers = [c.value for c in ws[1]]
    for name, horizontal in (("Minutes", "right"), ("Severity", "left"), ("Date", "right"),
                             ("Staff ID", "left")):
        col = headers.index(name) + 1
        for r in range(2, ws.max_row + 1):
            cell = ws.cell(r, col)
            cell.alignment = Alignment(horizontal=horizontal, vertical="top", wrap_text=cell.alignment.wrap_text)
    src = d / "broken.xlsx"
    wb.save(src)
    return src, read_pages(to_pdf(src, d / "broken.pdf"))


def pages_of(pages, sheet):
    found = [p for p in pages if p.sheet == sheet]
    assert found, f"no page of {sheet} (footers: {sorted({p.sheet for p in pages if p.sheet})})"
    return found


# -- what is printed where ------------------------------------------------------------------
def test_every_page_names_its_sheet_and_every_sheet_prints(demo):
    _closed, pages, _pdf = demo
    assert all(p.sheet for p in pages), [p.number for p in pages if not p.sheet]
    assert {p.sheet for p in pages} == set(CHECKED)


@pytest.mark.parametrize("sheet", CHECKED)
def test_no_text_over_other_text_and_none_off_the_page(demo, sheet):
    _closed, pages, _pdf = demo
    for page in pages_of(pages, sheet):
        assert page.words
        assert not overlaps(page), f"{sheet} page {page.number}: {describe(overlaps(page))}"
        assert not off_page(page), f"{sheet} page {page.number}: {[w.text for w in off_page(page)][:8]}"


def shown(cell) -> str:
    """A cell's text as a spreadsheet shows it, for the number formats the template uses (by hand)."""
    v, fmt = cell.value, cell.number_format
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        return f"{v:%b} {v.year}" if fmt == C.MONTH_FORMAT else f"{v.month}/{v.day}/{v.year}"
    if isinstance(v, bool):
        return str(v).upper()
    if isinstance(v, (int, float)):
        if fmt == "0":
            return str(round(v))
        if fmt == "0.00":
            return f"{v:.2f}"
        if fmt == C.MONEY_FORMAT:
            return f"{v:,.2f}"
        return str(int(v)) if float(v).is_integer() else str(v)
    return str(v)


def word_pairs(path, sheet):
    """(last word of a cell, first word of the next filled cell on its row) for cells that do not
    wrap, (word, next word) inside any one cell, and every word of any cell."""
    ws = openpyxl.load_workbook(path)[sheet]
    boundaries, inside, every = set(), set(), set()
    for row in ws.iter_rows():                       # every cell of the sheet (the Summary block too)
        for c in row:
            words = shown(c).split()
            inside.update(zip(words, words[1:]))
            every.update(words)
    for row in ws.iter_rows(min_row=1, max_row=ws.max_row, max_col=len(C.OUTPUT_TABLES[sheet])):
        filled = [(shown(c).split(), bool(c.alignment.wrap_text)) for c in row if shown(c).strip()]
        for (left, wraps), (right, _w) in zip(filled, filled[1:]):
            if not wraps:
                boundaries.add((left[-1], right[0]))
    return boundaries, inside, every


@pytest.mark.parametrize("sheet", TABLES)
def test_a_cells_padding_between_numbers_and_text(demo, sheet):
    closed, pages, _pdf = demo
    boundaries, inside, every = word_pairs(closed, sheet)
    assert len(boundaries - inside) > 10
    for page in pages_of(pages, sheet):
        bad = touching(page, boundaries, inside, words=every)
        assert not bad, f"{sheet} page {page.number}: {describe(bad)}"


@pytest.mark.parametrize("sheet", TABLES)
def test_no_cell_text_is_cut_off(demo, sheet):
    """Every word of every cell that does not wrap is printed whole (a value wider than its
    column is cut at the next filled cell: 'E26109CTA16CTA21' for the claim ID 'E26109CTA16CTA21Z')."""
    closed, pages, _pdf = demo
    printed = {w.text for p in pages_of(pages, sheet) for w in p.words}
    ws = openpyxl.load_workbook(closed)[sheet]
    want = {word for row in ws.iter_rows(min_row=2, max_col=len(C.OUTPUT_TABLES[sheet]))
            for c in row if not c.alignment.wrap_text for word in shown(c).split()}
    assert len(want) > 50
    assert not want - printed, sorted(want - printed)[:10]


def test_claim_and_exceptions_print_landscape_and_legibly(demo):
    _closed, pages, _pdf = demo
    for sheet in (C.CLAIM, C.EXCEPTIONS, C.SUMMARY):
        for page in pages_of(pages, sheet):
            assert page.width > page.height, sheet                        # landscape
            body = [w for w in page.words if w.y1 < page.height - 40]     # not the footer
            heights = sorted(w.height for w in body)
            # the median word is at least 8 pt tall (a box holds ascent and descent: about 6.5 pt text)
            assert heights[len(heights) // 2] >= 8.0, (sheet, page.number, heights[len(heights) // 2])


def test_header_row_repeats_on_every_page(demo):
    _closed, pages, _pdf = demo
    for sheet in (C.CLAIM, C.EXCEPTIONS, C.TIMESHEET):
        first = C.OUTPUT_TABLES.get(sheet, C.TIMESHEET_HEADERS)[0].split()[0]
        sheet_pages = pages_of(pages, sheet)
        assert len(sheet_pages) > 1, sheet
        for page in sheet_pages:
            top = min(w.y0 for w in page.words)
            band = [w.text for w in page.words if w.y0 < top + 20]      # the header row
            assert first in band, (sheet, page.number, band)


def test_summary_total_is_printed_with_the_claims_total(demo):
    closed, pages, _pdf = demo
    rows = [" ".join(w.text for w in row) for p in pages_of(pages, C.SUMMARY) for row in rows_of(p)]
    claim = openpyxl.load_workbook(closed, data_only=True)[C.CLAIM]
    headers = [c.value for c in claim[1]]
    units = sum(r[headers.index("Units")] for r in claim.iter_rows(min_row=2, values_only=True))
    charge = sum(r[headers.index("Charge")] for r in claim.iter_rows(min_row=2, values_only=True))
    assert any(r.endswith(f"Total {units} {charge:,.2f}") for r in rows), [r for r in rows if "Total" in r]
    # the block's heading prints once, on the first Summary page only
    titles = [p.number for p in pages_of(pages, C.SUMMARY)
              if any("Units and charge by code" in " ".join(w.text for w in line) for line in p.lines)]
    assert titles == [pages_of(pages, C.SUMMARY)[0].number]


def test_no_heading_ends_an_instructions_page(demo):
    _closed, pages, _pdf = demo
    headings = ("Once, before the first month", "Every day: the Timesheet", "Once a month: close the month",
                "What each rule on the Exceptions sheet means", "The codes this plan bills")
    seen = set()
    for page in pages_of(pages, C.INSTRUCTIONS):
        body = [" ".join(w.text for w in line) for line in page.lines if not line[0].y0 > page.height - 50]
        for h in headings:
            if h in body:
                seen.add(h)
                assert body.index(h) < len(body) - 1, f"{h!r} ends page {page.number}"
        text = " ".join(body)
        assert "/seed/" not in text and ".txt" not in text      # the flyer by its title, not a file path
    assert seen == set(headings)


def test_renders_to_png(demo, tmp_path):
    _closed, pages, pdf = demo
    first = pages_of(pages, C.EXCEPTIONS)[0].number
    (png,) = pdf_to_png(pdf, tmp_path / "page", dpi=40, first=first, last=first)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -- the checks fail on a workbook that prints badly ------------------------------------------
def test_the_checks_find_rows_printed_over_each_other_and_touching_cells(broken):
    src, pages = broken
    exceptions = pages_of(pages, C.EXCEPTIONS)
    assert sum(len(overlaps(p)) for p in exceptions) > 20
    boundaries, inside, every = word_pairs(src, C.EXCEPTIONS)
    bad = [pair for p in exceptions for pair in touching(p, boundaries, inside, words=every)]
    texts = {(a.text, b.text) for a, b in bad}
    assert any(a.isdigit() and b in ("Error", "Warning") for a, b in texts), texts      # "75 Error"
    assert any(a.count("/") == 2 for a, _b in texts), texts                             # "11/2/2026 C01"

"""The template in a real spreadsheet engine: LibreOffice headless.

Sample rows are written into a copy of the committed template with openpyxl;
LibreOffice opens it, recalculates every formula and saves it; the helper
columns must then show exactly what the Python engine derives for the same
rows. The same run renders the sheets to PDF and the Timesheet to PNG.

Regenerate the README's picture with:

    python tests/test_template_libreoffice.py --picture docs/timesheet.png
"""
from __future__ import annotations

import copy
import datetime as dt
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import openpyxl
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from libreoffice import (LibreOfficeError, convert, find_pdftoppm, pdf_to_png, recalculate,  # noqa: E402
                         soffice_or_skip, to_pdf)

from ecm_xl import contract as C  # noqa: E402
from ecm_xl.engine import close_month, fill_codes  # noqa: E402
from ecm_xl.loader import as_table, read_members, read_staff  # noqa: E402
from ecm_xl.profile import load_profile  # noqa: E402
from ecm_xl.tables import output_tables  # noqa: E402
from ecm_xl import template as T  # noqa: E402

# LibreOffice saves the template's print areas (rows 1 to 1048576) as whole columns, which openpyxl
# reads with a warning (and ignores); the print areas themselves are checked in test_pdf_layout.py.
pytestmark = pytest.mark.filterwarnings("ignore:Print area cannot be set:UserWarning")

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "templates" / "ECM_Timesheet.xlsx"
MONTH = dt.date(2026, 10, 1)
CLOSE_DATE = dt.date(2026, 11, 5)
PICTURE_FILTER = 'pdf:calc_pdf_Export:{"SinglePageSheets":{"type":"boolean","value":"true"}}'

# -- sample data (made up) ------------------------------------------------------
STAFF = [
    {"Staff ID": "S01", "Staff Name": "Ana Ruiz, RN", "Staff Type": "Clinical", "NPI": "1234567893"},
    {"Staff ID": "S02", "Staff Name": "Ben Ortiz", "Staff Type": "Non-clinical", "NPI": None},
    {"Staff ID": "S03", "Staff Name": "Carla Diaz, LCSW", "Staff Type": "Clinical", "NPI": None},
]
MEMBERS = [
    {"Member ID": "91000001A", "Last Name": "Lopez", "First Name": "Maria", "Date of Birth": dt.date(1961, 3, 4),
     "Sex": "F", "ECM Enrollment Date": dt.date(2026, 9, 1), "Eligible From": dt.date(2026, 1, 1),
     "Diagnosis Code": "Z59.00"},
    {"Member ID": "91000002B", "Last Name": "Nguyen", "First Name": "Thomas", "Date of Birth": dt.date(1975, 7, 19),
     "Sex": "M", "Eligible From": dt.date(2026, 1, 1), "Diagnosis Code": "Z60.2"},
    {"Member ID": "91000003C", "Last Name": "Smith", "First Name": "", "Date of Birth": dt.date(1988, 11, 2),
     "Sex": "U", "ECM Enrollment Date": dt.date(2026, 8, 15), "Eligible From": dt.date(2026, 6, 1),
     "Diagnosis Code": "F20.9"},
]


def _t(h, m=0):
    return dt.time(h, m)


_COLS = ("Date", "Staff ID", "Member ID", "Service", "Contact", "Activity", "Start", "End", "Minutes",
         "HCPCS", "Modifier 1", "Modifier 2", "Notes")
_ROWS = [
    (dt.date(2026, 10, 1), "S01", "91000001A", "ECM service", "In person", "Comprehensive assessment",
     _t(9), _t(10), None, None, None, None, "Home visit"),
    (dt.date(2026, 10, 1), "S02", "91000001A", "ECM service", "Phone/Telehealth", "Care coordination",
     None, None, 30, None, None, None, None),
    (dt.date(2026, 10, 2), "S02", "91000002B", "Outreach attempt", "In person", "Outreach and engagement",
     None, None, 20, None, None, None, "Shelter visit"),
    (dt.date(2026, 10, 2), "S01", "91000002B", "Outreach attempt", "Phone/Telehealth", "Outreach and engagement",
     None, None, 10, None, None, None, "No answer"),
    (dt.date(2026, 10, 5), "S02", "91000002B", "Outreach attempt", "Text/Email", "Outreach and engagement",
     None, None, 5, None, None, None, None),
    (dt.date(2026, 10, 6), "S03", "91000003C", "ECM service", "Text/Email", "Care plan",
     None, None, 25, None, None, None, None),
    (dt.date(2026, 10, 7), "S02", "91000003C", "ECM service", "In person", "Accompany to appointment",
     _t(13), _t(14, 30), 90, None, None, None, None),
    (dt.date(2026, 10, 8), "S03", "91000001A", "ECM service", "In person", "Case conference",
     None, None, 45, "G9008", "U1", None, "Code typed by hand"),
    (dt.date(2026, 10, 9), "S02", "91000003C", "ECM service", "In person", "Transportation arranging",
     None, None, 40, "G9008", "U1", None, "Wrong code typed"),
    (dt.date(2026, 10, 12), "S01", "91000002B", "Outreach attempt", "Mass communication", "Outreach and engagement",
     None, None, 15, None, None, None, "Flyer mailing"),
    (dt.date(2026, 10, 13), "S03", "91000003C", "ECM service", "Phone/Telehealth", "Administrative overhead",
     None, None, 30, None, None, None, None),
    (dt.date(2026, 10, 14), "S02", "91000001A", "ECM service", "Phone/Telehealth", "Care coordination",
     None, None, 20, "G9012", None, None, None),
    (dt.date(2026, 10, 15), "S01", "91000002B", "ECM service", "Text/Email", "Health promotion / education",
     None, None, 15, None, None, None, None),
    (dt.date(2026, 10, 16), "S09", "91000009Z", "ECM service", "In person", "Care coordination",
     None, None, 30, None, None, None, "Unknown IDs"),
]
TIMESHEET = [dict(zip(_COLS, r)) for r in _ROWS]


# -- writing sample rows into a copy of the template ----------------------------
def _fill_table(ws, table_name: str, rows: list[dict]) -> None:
    """Write rows under a table's header, copy row 2's styles and calculated-column formulas, grow the ref."""
    table = ws.tables[table_name]
    headers = [c.name for c in table.tableColumns]
    formulas = {c.name: c.calculatedColumnFormula.attr_text for c in table.tableColumns
                if c.calculatedColumnFormula is not None}
    for i, row in enumerate(rows):
        r = 2 + i
        for j, h in enumerate(headers, start=1):
            cell = ws.cell(r, j)
            if r > 2:
                cell._style = copy.copy(ws.cell(2, j)._style)
            if h in formulas:
                cell.value = f"={formulas[h]}"
            else:
                cell.value = row.get(h)
    last = openpyxl.utils.get_column_letter(len(headers))
    table.ref = f"A1:{last}{1 + max(1, len(rows))}"
    if table.autoFilter is not None:
        table.autoFilter.ref = table.ref


def sample_workbook(path: Path, with_summary: bool = False) -> Path:
    wb = openpyxl.load_workbook(TEMPLATE)
    setup = {name: ref.split("!")[1].replace("$", "") for name, ref in T.setup_cells().items()}
    ws = wb[C.SETUP]
    ws[setup["BillingMonth"]] = MONTH
    ws[setup["ProviderName"]] = "Valley Community Care"
    ws[setup["BillingNPI"]] = "1234567893"
    ws[setup["TaxID"]] = "123456789"
    _fill_table(wb[C.STAFF], C.STAFF, STAFF)
    _fill_table(wb[C.MEMBERS], C.MEMBERS, MEMBERS)
    _fill_table(wb[C.TIMESHEET], C.TIMESHEET, TIMESHEET)
    if with_summary:
        headers, rows = output_tables(_close())[C.SUMMARY]
        _fill_table(wb[C.SUMMARY], C.SUMMARY, [dict(zip(headers, r)) for r in rows])
    wb.save(path)
    return path


def _close():
    return close_month(TIMESHEET, STAFF, MEMBERS, {"BillingMonth": MONTH}, load_profile(),
                       close_date=CLOSE_DATE)


def _text(v) -> str:
    return "" if v is None else str(v)


@pytest.fixture(scope="module")
def recalculated(tmp_path_factory):
    soffice_or_skip()
    d = tmp_path_factory.mktemp("lo")
    src = sample_workbook(d / "sample.xlsx", with_summary=True)
    book = openpyxl.load_workbook(src)
    probe = book.create_sheet("Probe")   # what each drop-down name resolves to
    for r, name in enumerate(T.LIST_NAMES, start=1):
        probe.cell(r, 1, name)
        probe.cell(r, 2, f"=COUNTA({name})")
        probe.cell(r, 3, f'=INDEX({name},1)&""')
    book.save(src)
    out = recalculate(src, d / "sample.recalc.xlsx")
    wb = openpyxl.load_workbook(out, data_only=True)
    ws = wb[C.TIMESHEET]
    headers = [c.value for c in ws[1]]
    rows = {}
    for r in range(2, 2 + len(TIMESHEET)):
        rows[r] = {h: ws.cell(r, j).value for j, h in enumerate(headers, start=1)}
    return wb, rows


# -- the tests --------------------------------------------------------------------
def test_helper_recalculation_is_forced(tmp_path):
    """The helper's profile really makes LibreOffice recalculate: a stale cached value is replaced."""
    soffice_or_skip()
    import zipfile
    wb = openpyxl.Workbook()
    wb.active["A1"] = 20
    wb.active["B1"] = "=A1*2+2"
    plain = tmp_path / "plain.xlsx"
    wb.save(plain)
    stale = tmp_path / "stale.xlsx"
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(stale, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                body = body.replace(b"<f>A1*2+2</f><v></v>", b"<f>A1*2+2</f><v>7</v>") \
                           .replace(b"<f>A1*2+2</f><v/>", b"<f>A1*2+2</f><v>7</v>") \
                           .replace(b"<f>A1*2+2</f><v />", b"<f>A1*2+2</f><v>7</v>")
                assert b"<v>7</v>" in body
            dst.writestr(info, body)
    kept = convert(stale, tmp_path / "kept", "xlsx", recalc=False)
    assert openpyxl.load_workbook(kept, data_only=True).active["B1"].value == 7   # LibreOffice trusted the cache
    fresh = recalculate(stale, tmp_path / "fresh.xlsx")
    assert openpyxl.load_workbook(fresh, data_only=True).active["B1"].value == 42


def test_plan_code_column_matches_the_engine(recalculated):
    _, rows = recalculated
    blanked = [{**r, "HCPCS": None, "Modifier 1": None, "Modifier 2": None} for r in TIMESHEET]
    derived = fill_codes(blanked, STAFF, load_profile())
    assert len(derived) >= 8                     # most sample rows derive a code
    for r, got in rows.items():
        key = derived.get(r)
        want = " ".join(p for p in key if p) if key else ""
        assert _text(got[T.PLAN_CODE]) == want, f"Timesheet row {r}"


def test_code_check_flags_exactly_the_rows_the_engine_refuses_under_r6(recalculated):
    _, rows = recalculated
    result = _close()
    r6 = {p.row for p in result.problems if p.rule == "R6" and p.sheet == C.TIMESHEET}
    typed = {r for r, row in rows.items() if any(row[h] for h in ("HCPCS", "Modifier 1", "Modifier 2"))}
    assert r6 and typed - r6                      # the sample has both a wrong and a right typed code
    flagged = {r for r, row in rows.items() if row[T.CODE_CHECK] == T.CHECK_DIFFERS}
    assert flagged == r6
    assert {r for r, row in rows.items() if row[T.CODE_CHECK] == T.CHECK_OK} == typed - r6
    assert all(_text(row[T.CODE_CHECK]) == "" for r, row in rows.items() if r not in typed)


def test_staff_and_member_lookups_match_the_engine(recalculated):
    _, rows = recalculated
    profile = load_profile()
    staff, _ = read_staff(as_table(STAFF, C.STAFF_HEADERS), profile)
    members, _ = read_members(as_table(MEMBERS, C.MEMBER_HEADERS))
    for r, row in rows.items():
        s = staff.get(row["Staff ID"])
        m = members.get(row["Member ID"])
        assert _text(row[T.STAFF_NAME]) == (s.name if s else T.NOT_ON_STAFF), f"row {r}"
        assert _text(row[T.STAFF_TYPE]) == (s.staff_type if s else ""), f"row {r}"
        assert _text(row[T.MEMBER_NAME]) == (m.name if m else T.NOT_ON_MEMBERS), f"row {r}"


def test_every_drop_down_name_resolves_in_libreoffice(recalculated):
    wb, _ = recalculated
    src = openpyxl.load_workbook(TEMPLATE)
    ws = wb["Probe"]
    for r, (name, target) in enumerate(T.LIST_NAMES.items(), start=1):
        table, column = target[:-1].split("[")
        values = _column_values(wb, table, column)
        assert ws.cell(r, 2).value == sum(1 for v in values if v not in (None, "")), name
        assert _text(ws.cell(r, 3).value) == _text(values[0]), name
        assert table in [t for sheet in src.worksheets for t in sheet.tables], name


def _column_values(wb, table_name, column):
    for ws in wb.worksheets:
        if table_name in ws.tables:
            t = ws.tables[table_name]
            c0, r0, _, r1 = openpyxl.utils.range_boundaries(t.ref)
            headers = [ws.cell(r0, c).value for c in range(c0, c0 + len(t.tableColumns))]
            c = c0 + headers.index(column)
            return [ws.cell(r, c).value for r in range(r0 + 1, r1 + 1)]
    raise AssertionError(f"no table {table_name}")


def test_blank_timesheet_row_shows_blank_helpers(tmp_path):
    soffice_or_skip()
    out = recalculate(TEMPLATE, tmp_path / "empty.xlsx")
    ws = openpyxl.load_workbook(out, data_only=True)[C.TIMESHEET]
    headers = [c.value for c in ws[1]]
    for h in T.HELPER_HEADERS:
        assert _text(ws.cell(2, headers.index(h) + 1).value) == "", h


def test_units_by_code_block_sums_the_summary_table(recalculated):
    wb, _ = recalculated
    ws = wb[C.SUMMARY]
    c0 = T.SUMMARY_BLOCK_COLUMN
    block = {}
    r = T.SUMMARY_BLOCK_ROW + 2
    while ws.cell(r, c0).value not in (None, "Total"):
        block[ws.cell(r, c0).value] = ws.cell(r, c0 + 1).value
        r += 1
    want = Counter()
    for s in _close().summary:
        want[" ".join(p for p in (s.hcpcs, s.modifier_1, s.modifier_2) if p)] += s.units
    assert sum(want.values()) > 0
    assert set(block) == {c.label for c in load_profile().codes}
    assert {k: v for k, v in block.items() if v} == dict(want)
    assert ws.cell(r, c0 + 1).value == sum(want.values())


def test_units_by_code_fill_in_after_a_headless_close(tmp_path):
    """The whole path: the template, filled in, closed headless by ecm-xl, then recalculated by a spreadsheet."""
    soffice_or_skip()
    from ecm_xl import api
    src = sample_workbook(tmp_path / "October.xlsx")
    report = api.close_workbook(src, tmp_path / "October.closed.xlsx", close_date=CLOSE_DATE)
    out = recalculate(report.out, tmp_path / "October.recalc.xlsx")
    ws = openpyxl.load_workbook(out, data_only=True)[C.SUMMARY]
    c0, first = T.SUMMARY_BLOCK_COLUMN, T.SUMMARY_BLOCK_ROW + 2
    rows = range(first, first + len(load_profile().codes) + 1)
    block = {ws.cell(r, c0).value: ws.cell(r, c0 + 1).value for r in rows}
    charges = {ws.cell(r, c0).value: ws.cell(r, c0 + 2).value for r in rows}
    units, charge = Counter(), Counter()
    for s in report.result.summary:
        key = " ".join(p for p in (s.hcpcs, s.modifier_1, s.modifier_2) if p)
        units[key] += s.units
        charge[key] += s.charge
    assert block.pop("Total") == report.result.totals.units == sum(units.values()) > 0
    assert {k: v for k, v in block.items() if v} == dict(units)
    # the Total charge is the Claim's total charge (R14: what the Summary shows is what is billed)
    claim_charge = sum(line.charge for line in report.result.claim_lines)
    assert charges.pop("Total") == pytest.approx(claim_charge) and claim_charge > 0
    assert {k: pytest.approx(v) for k, v in charges.items() if v} == {k: pytest.approx(v) for k, v in charge.items()}
    assert sum(line.units for line in report.result.claim_lines) == report.result.totals.units


def test_renders_every_sheet_to_pdf_and_the_timesheet_to_png(tmp_path):
    soffice_or_skip(need_pdftoppm=True)
    src = sample_workbook(tmp_path / "sample.xlsx", with_summary=True)
    pdf = to_pdf(src, tmp_path / "sample.pdf")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout \
        if shutil.which("pdftotext") else ""
    if text:
        for expected in ("ECM Timesheet", "Billing NPI", T.CHECK_DIFFERS, "Units and charge by code", "Lookup Key"):
            assert expected in text
    png = render_timesheet(src, tmp_path / "timesheet.png")
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width > 1000 and width > 4 * height   # one wide, short page: the Timesheet's used range
    assert 10_000 < len(data) < 400_000


def render_timesheet(workbook: Path, png: Path, dpi: int = 96) -> Path:
    """The Timesheet sheet of `workbook` as one PNG (LibreOffice: one page per sheet, sized to its content)."""
    png = Path(png)
    work = png.parent / (png.stem + ".work")
    work.mkdir(parents=True, exist_ok=True)
    pdf = convert(workbook, work, PICTURE_FILTER)
    page = openpyxl.load_workbook(workbook, read_only=True).sheetnames.index(C.TIMESHEET) + 1
    pages = pdf_to_png(pdf, work / "page", dpi=dpi, first=page, last=page)
    if len(pages) != 1:
        raise LibreOfficeError(f"{pdf.name}: expected one Timesheet page, got {len(pages)}")
    shutil.move(str(pages[0]), png)
    shutil.rmtree(work)
    return png


if __name__ == "__main__":
    import argparse
    import tempfile

    ap = argparse.ArgumentParser(description="Render the Timesheet with sample rows to a PNG.")
    ap.add_argument("--picture", default=str(ROOT / "docs" / "timesheet.png"))
    ap.add_argument("--dpi", type=int, default=96)
    args = ap.parse_args()
    if find_pdftoppm() is None:
        sys.exit("pdftoppm (poppler-utils) is needed")
    with tempfile.TemporaryDirectory() as tmp:
        src = sample_workbook(Path(tmp) / "sample.xlsx")
        out = render_timesheet(src, Path(tmp) / "timesheet.png", dpi=args.dpi)
        Path(args.picture).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(out, args.picture)
    print(f"wrote {args.picture}")

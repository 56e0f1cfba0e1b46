"""Claim lines as an xlsx workbook, for people: what the CSV holds, typed so Excel keeps it.

The CSV is for a billing system to import; double-clicked, Excel turns Member
ID 000000123 into 123 and place of service 02 into 2. Here identifiers and
codes are text cells (their zeros stay), dates are dates, units whole numbers
and money currency, under a bold, filtered, frozen header row. openpyxl
writes it; the caller writes the bytes atomically.
"""
from __future__ import annotations

import datetime as dt
import io

from .. import contract as C
from .claims_csv import _groups, _rows_of

SHEET = "Claim Lines"
TEXT_COLUMNS = {"Source File", "Claim ID", "Member ID", "Member Name", "Place of Service", "HCPCS", "Modifier 1",
                "Modifier 2", "Diagnosis Code", "Billing NPI", "Tax ID", "Source Rows"}
FORMATS = {"Date of Birth": C.DATE_FORMAT, "From Date": C.DATE_FORMAT, "To Date": C.DATE_FORMAT,
           "Rate": '"$"#,##0.00', "Charge": '"$"#,##0.00', "Units": "0", "Line": "0", "Minutes": "0"}
CENTRED = {"Line", "Place of Service", "HCPCS", "Modifier 1", "Modifier 2", "Units"}   # short codes beside numbers
WIDTHS = {"Source File": 28, "Claim ID": 14, "Member Name": 24, "Date of Birth": 12, "From Date": 11,
          "To Date": 11, "Diagnosis Code": 10, "Billing NPI": 12, "Tax ID": 11, "Source Rows": 18}


def claims_xlsx(results_or_lines, *, source=None) -> bytes:
    """The claim lines of one or more closes (or a list of ClaimLine) as xlsx bytes.

    `source` as for claims_csv: a name for every row, or one per close; when
    given, a 'Source File' column comes first.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    groups = _groups(results_or_lines, source)
    headers = (("Source File",) if source is not None else ()) + C.CLAIM_HEADERS
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    ws.append(list(headers))
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
    centre = Alignment(horizontal="center")
    r = 1
    for name, lines in groups:
        for row in _rows_of(lines):
            r += 1
            values = ([name or ""] if source is not None else []) + list(row)
            for c, (header, value) in enumerate(zip(headers, values), start=1):
                cell = ws.cell(r, c)
                if header in TEXT_COLUMNS:
                    cell.number_format = "@"
                    if value not in (None, ""):
                        cell.value = str(value)
                        cell.data_type = "s"       # text, even when it starts with '=' or looks like a number
                elif isinstance(value, dt.datetime):
                    cell.value = value.date()
                else:
                    cell.value = value
                if header in FORMATS:
                    cell.number_format = FORMATS[header]
                if header in CENTRED:
                    cell.alignment = centre
    for c, header in enumerate(headers, start=1):
        ws.column_dimensions[get_column_letter(c)].width = WIDTHS.get(header, max(9, len(header) + 2))
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{max(r, 1)}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def is_claims_xlsx(path) -> bool:
    """Whether `path` is an earlier claim-lines xlsx export (its sheet and header row), which
    an export may replace without --force."""
    from openpyxl import load_workbook
    wb = load_workbook(path, read_only=True)
    try:
        if wb.sheetnames != [SHEET]:
            return False
        header = [c.value for c in next(wb[SHEET].iter_rows(max_row=1))]
        return tuple(header[-len(C.CLAIM_HEADERS):]) == C.CLAIM_HEADERS
    finally:
        wb.close()

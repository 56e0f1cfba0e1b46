"""How the template looks on screen and on paper: fonts, fills, column looks, page setup.

Every column has a look: its width, number format and a kind that sets its
alignment, so numbers and text never touch ("75 Error"):

- code:   short codes, IDs and dates, centred
- text:   left, indented one step from the cell edge
- wrap:   like text, and wraps (the writer stores the row height it needs)
- number: right
- fit:    like text, and shrinks a value too wide for the column (a claim ID of wide letters)
          rather than cutting it

Every sheet a clerk prints has a page setup: letter paper, the orientation
its width needs, one page wide, a print area, the table's header row repeated
on every page and a footer with the sheet name and page number.
"""
from __future__ import annotations

from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.pagebreak import Break

from .. import contract as C
from ..xlsx.heights import row_height, wrapped_lines
from .layout import CODE_CHECK, MEMBER_NAME, PLAN_CODE, STAFF_NAME, STAFF_TYPE

FONT = "Calibri"
TITLE = Font(name=FONT, size=16, bold=True, color="1F3864")
HEADING = Font(name=FONT, size=12, bold=True, color="1F3864")
BOLD = Font(name=FONT, size=11, bold=True)
NOTE = Font(name=FONT, size=10, italic=True, color="595959")
SMALL = Font(name=FONT, size=10)
HELPER_FONT = Font(name=FONT, size=11, color="1F3864")
INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")     # pale yellow: type here
HELPER_FILL = PatternFill("solid", fgColor="EDEDED")    # grey: computed, don't type
HEAD_FILL = PatternFill("solid", fgColor="D9E1F2")
TABLE_HEAD_FILL = PatternFill("solid", fgColor="1F4E78")   # explicit: LibreOffice draws no table styles
HELPER_HEAD_FILL = PatternFill("solid", fgColor="595959")
TABLE_HEAD_FONT = Font(name=FONT, size=11, bold=True, color="FFFFFF")
HELPER_HEAD_FONT = Font(name=FONT, size=11, bold=True, italic=True, color="FFFFFF")
BAD_FILL = PatternFill("solid", fgColor="F8CBAD")
WARN_FILL = PatternFill("solid", fgColor="FFEB9C")
THIN = Side(style="thin", color="BFBFBF")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
ROW_LINE = Border(bottom=Side(style="thin", color="D9D9D9"))
TOTAL_LINE = Border(top=Side(style="thin", color="1F3864"), bottom=Side(style="double", color="1F3864"))
WRAP = Alignment(wrap_text=True, vertical="top")
TOP = Alignment(vertical="top")
HEADER_ALIGN = Alignment(wrap_text=True, vertical="center")
TABLE_STYLE = "TableStyleMedium2"
LIST_STYLE = "TableStyleLight9"
HEADER_HEIGHT = 32             # a table's header row: two lines of 11 pt

TEXT = "@"
TIME_FORMAT = "h:mm AM/PM"
MONTH_LONG = "mmmm yyyy"

CODE, PLAIN, WRAPPED, NUMBER, FIT = "code", "text", "wrap", "number", "fit"
_ALIGN = {
    CODE: Alignment(horizontal="center", vertical="top"),
    PLAIN: Alignment(horizontal="left", vertical="top", indent=1),
    WRAPPED: Alignment(horizontal="left", vertical="top", indent=1, wrap_text=True),
    NUMBER: Alignment(horizontal="right", vertical="top"),
    FIT: Alignment(horizontal="left", vertical="top", indent=1, shrink_to_fit=True),
}
_HEAD_ALIGN = {
    CODE: Alignment(horizontal="center", vertical="center", wrap_text=True),
    PLAIN: Alignment(horizontal="left", vertical="center", wrap_text=True, indent=1),
    WRAPPED: Alignment(horizontal="left", vertical="center", wrap_text=True, indent=1),
    NUMBER: Alignment(horizontal="right", vertical="center", wrap_text=True),
    FIT: Alignment(horizontal="left", vertical="center", wrap_text=True, indent=1),
}


def align(kind: str) -> Alignment:
    return _ALIGN[kind]


def head_align(kind: str) -> Alignment:
    return _HEAD_ALIGN[kind]


# Input tables: {header: (width, number format or None, kind)}.
TIMESHEET_LOOK = {
    "Date": (11, C.DATE_FORMAT, CODE), "Staff ID": (9, TEXT, CODE), "Member ID": (12, TEXT, CODE),
    "Service": (17, None, PLAIN), "Contact": (20, None, PLAIN), "Activity": (29, None, PLAIN),
    "Start": (10, TIME_FORMAT, CODE), "End": (10, TIME_FORMAT, CODE), "Minutes": (9, "0", NUMBER),
    "Place of Service": (9, TEXT, CODE), "HCPCS": (8, TEXT, CODE), "Modifier 1": (10, TEXT, CODE),
    "Modifier 2": (10, TEXT, CODE), "Approved": (10, None, CODE), "Notes": (24, None, PLAIN),
    STAFF_NAME: (17, None, PLAIN), STAFF_TYPE: (13, None, PLAIN), MEMBER_NAME: (19, None, PLAIN),
    PLAN_CODE: (13, None, CODE), CODE_CHECK: (15, None, CODE),
}
STAFF_LOOK = {"Staff ID": (10, TEXT, CODE), "Staff Name": (27, None, PLAIN), "Staff Type": (15, None, PLAIN),
              "NPI": (13, TEXT, CODE)}
MEMBER_LOOK = {
    "Member ID": (13, TEXT, CODE), "Last Name": (17, None, PLAIN), "First Name": (15, None, PLAIN),
    "Date of Birth": (12, C.DATE_FORMAT, CODE), "Sex": (6, None, CODE),
    "ECM Enrollment Date": (13, C.DATE_FORMAT, CODE), "Eligible From": (12, C.DATE_FORMAT, CODE),
    "Eligible Through": (12, C.DATE_FORMAT, CODE), "Diagnosis Code": (11, TEXT, CODE),
    "Address": (27, None, PLAIN), "City": (15, None, PLAIN), "State": (7, TEXT, CODE), "ZIP": (11, TEXT, CODE),
}
# Output tables: {header: (width, kind)}; number formats come from contract.NUMBER_FORMATS.
# Widths are what the longest usual value needs (a claim ID is 17 characters, a date 10),
# so Claim's 19 columns print one landscape page wide at about 65 % (7 pt type) and Exceptions at 90 %.
OUTPUT_LOOK = {
    "Month": (10, CODE), "Member ID": (11, CODE), "Member Name": (19, FIT), "HCPCS": (7.5, CODE),
    "Modifier 1": (8.5, CODE), "Modifier 2": (8.5, CODE), "Minutes": (8, NUMBER), "Hours": (8, NUMBER),
    "Units": (7, NUMBER), "Charge": (10, NUMBER), "Claim ID": (21, FIT), "Line": (5.5, CODE),
    "Date of Birth": (11, CODE), "From Date": (11, CODE), "To Date": (11, CODE),
    "Place of Service": (8, CODE), "Rate": (8, NUMBER), "Diagnosis Code": (9.5, CODE),
    "Billing NPI": (11, CODE), "Tax ID": (10.5, CODE), "Source Rows": (15, WRAPPED),
    "Row": (6, CODE), "Date": (10.5, CODE), "Staff ID": (9, CODE), "Severity": (9, CODE),
    "Rule": (6, CODE), "Reason": (62, WRAPPED), "Sheet": (11, PLAIN), "Column": (14, WRAPPED),
    # Submissions (what was sent, SPEC §5)
    "Lines": (60, PLAIN), "Fingerprint": (17, PLAIN), "Frequency": (10, CODE), "Payer Claim Number": (18, PLAIN),
    "File": (22, WRAPPED), "Interchange Control Number": (13, CODE), "Sent": (15, CODE), "Status": (9, CODE),
    "Note": (44, PLAIN),
}
OUTPUT_DEFAULT = (12, PLAIN)
# Where one table has more room than the others.
TABLE_LOOK = {C.SUMMARY: {"Member Name": (22, FIT)}}


# Submissions' Lines and Note don't wrap: their rows are appended with no stored height.
WRAP_HEADERS = ("Reason", "Meaning", "Why", "Rows to Fix")


def output_look(table: str, header: str) -> tuple:
    """(width, kind) of a column of an output or record table. The billing cycle's tables
    (Remittance, Status) take their widths from contract.CYCLE_WIDTHS; a header this module
    does not know is aligned by its number format (numbers right, dates centred, text indented)."""
    if header in TABLE_LOOK.get(table, {}):
        return TABLE_LOOK[table][header]
    base = OUTPUT_LOOK.get(header)
    width = (C.CYCLE_WIDTHS.get(header) if table in C.CYCLE_TABLES else None) or (base or OUTPUT_DEFAULT)[0]
    if header in WRAP_HEADERS:
        return width, WRAPPED
    if base:
        return width, base[1]
    fmt = C.NUMBER_FORMATS.get(table, {}).get(header)
    if fmt in ("0", "0.00", C.MONEY_FORMAT):
        return width, NUMBER
    if fmt in (C.DATE_FORMAT, C.MONTH_FORMAT, C.DATETIME_FORMAT):
        return width, CODE
    return width, PLAIN
OUTPUT_ORIENTATION = {C.SUMMARY: "landscape", C.CLAIM: "landscape", C.EXCEPTIONS: "landscape"}

# -- paper ---------------------------------------------------------------------
PAGE_INCHES = {"portrait": (8.5, 11.0), "landscape": (11.0, 8.5)}
MARGINS = PageMargins(left=0.4, right=0.4, top=0.6, bottom=0.7, header=0.3, footer=0.3)
FOOTER = "&A, page &P of &N"
MAX_ROW = 1048576


def print_setup(ws, orientation: str, *, columns: str | None = None, area: str | None = None,
                title_rows: str | None = None) -> None:
    """Letter paper, one page wide, margins, a footer; print area whole `columns` ('A:J',
    so it grows with the table) or a fixed `area` ('A1:D80'); `title_rows` repeated on every page."""
    ps = ws.page_setup
    ps.orientation = orientation
    ps.paperSize = ws.PAPERSIZE_LETTER
    ps.fitToWidth, ps.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins = MARGINS
    ws.oddFooter.center.text = FOOTER
    ws.oddFooter.center.size = 9
    if title_rows:
        ws.print_title_rows = title_rows
    if columns or area:
        a, b = (area or columns).split(":")
        if columns:      # every row (openpyxl cannot read a whole-column print area); Excel and
            a, b = f"{a}1", f"{b}{MAX_ROW}"      # LibreOffice print only the rows in use
        target = "$" + "$".join(_split(a)) + ":$" + "$".join(_split(b))
        ws.defined_names["_xlnm.Print_Area"] = DefinedName(
            "_xlnm.Print_Area", attr_text=f"'{ws.title}'!{target}")


def _split(cell: str) -> tuple:
    letters = cell.rstrip("0123456789")
    return letters, cell[len(letters):]


def text_height(text: str, width_chars: float, size: int = 11) -> float:
    """Row height (points) that shows `text` wrapped in a column `width_chars` wide
    (the same estimate the writer uses for the rows it writes)."""
    return max(15.0, row_height(wrapped_lines(text, width_chars, size), size))


def header_height(headers, widths) -> float:
    """Height of a table's header row: two lines, or more where a bold header wraps further."""
    need = max((row_height(wrapped_lines(h, w * 0.92)) for h, w in zip(headers, widths)), default=0)
    return max(HEADER_HEIGHT, need)


def usable_height(orientation: str) -> float:
    """Points of a page's height that rows may fill, a little under what Excel and LibreOffice give (4 % spare)."""
    height = PAGE_INCHES[orientation][1] - MARGINS.top - MARGINS.bottom
    return height * 72 * 0.96


def paginate(ws, last_row: int, keep_with_next: set, orientation: str) -> list:
    """Set every page break of a fixed sheet (printed at 100 %) so no row in
    `keep_with_next` (a heading) ends a page. Returns the rows that start a page."""
    page = usable_height(orientation)
    default = ws.sheet_format.defaultRowHeight or 15
    heights = {r: (ws.row_dimensions[r].height or default) for r in range(1, last_row + 1)}
    starts, y = [1], 0.0
    for r in range(1, last_row + 1):
        need = heights[r]
        if r in keep_with_next:
            following = r + 1
            while following <= last_row and following in keep_with_next:
                following += 1
            need = sum(heights[x] for x in range(r, min(following, last_row) + 1))
        if y and y + need > page:
            starts.append(r)
            ws.row_breaks.append(Break(id=r - 1))
            y = 0.0
        y += heights[r]
    return starts


def widths(ws, looks: dict, headers) -> None:
    for col, h in enumerate(headers, start=1):
        ws.column_dimensions[get_column_letter(col)].width = looks[h][0]

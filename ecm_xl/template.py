"""Build the workbook template `templates/ECM_Timesheet.xlsx` from a plan profile.

The template is the interface between the clinic and the code (SPEC §3): sheet
names, table names and header text come from `ecm_xl.contract`; codes, rates,
activities, contacts and places of service come from the plan profile; the
Instructions sheet's rule list comes from `ecm_xl.rules`. Nothing billing-
specific is written here by hand, so rebuilding after a profile change gives a
template that agrees with the engine.

The build is deterministic: the same profile gives the same bytes (document
dates are the profile's effective date, zip entries carry a fixed time).

    from ecm_xl.template import build_template
    build_template("templates/ECM_Timesheet.xlsx")

Not part of the pure core: this module writes files with openpyxl.
"""
from __future__ import annotations

import datetime as dt
import io
import math
import os
import re
import tempfile
import zipfile
from pathlib import Path

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.table import Table, TableColumn, TableFormula, TableStyleInfo

from . import contract as C
from .profile import Profile, load_profile
from .rules import RULES

# -- sizes and places other parts rely on --------------------------------------
TIMESHEET_ROWS = 5000          # validation and number formats cover rows 2..5001
MEMBER_ROWS = 2000             # Members rows 2..2001
STAFF_ROWS = 500               # Staff rows 2..501
SETUP_FIRST_ROW = 4            # Setup: title, note, column headings, then one row per setting
SUMMARY_BLOCK_COLUMN = 12      # "Units by code" starts in column L (K stays empty)

# Helper columns after the SPEC's Timesheet headers: computed for the person typing,
# ignored by the engine (it reads Timesheet by the SPEC headers only).
STAFF_NAME, STAFF_TYPE, MEMBER_NAME, PLAN_CODE, CODE_CHECK = (
    "Staff Name", "Staff Type", "Member Name", "Plan Code", "Code Check")
HELPER_HEADERS = (STAFF_NAME, STAFF_TYPE, MEMBER_NAME, PLAN_CODE, CODE_CHECK)
TIMESHEET_ALL_HEADERS = C.TIMESHEET_HEADERS + HELPER_HEADERS
CHECK_OK, CHECK_DIFFERS = "OK", "Does not match"
NOT_ON_STAFF, NOT_ON_MEMBERS = "(not on Staff)", "(not on Members)"

# Lists sheet: extra columns of the Codes table used for lookups.
CODE_LABEL, CODE_KEY = "Code", "Lookup Key"
CODES_ALL_HEADERS = C.CODE_HEADERS + (CODE_LABEL, CODE_KEY)
CONTACT_HEADERS = ("Contact", "Contact Mode", "Place of Service", "Note")
POS_HEADERS = ("Place of Service", "Description")
SEX_VALUES = (("F", "Female"), ("M", "Male"), ("U", "Unknown"))
YES_NO = ("Yes", "No")

# Drop-down names (workbook-scoped defined names) -> table column they refer to.
LIST_NAMES = {
    "StaffIDList": "Staff[Staff ID]",
    "MemberIDList": "Members[Member ID]",
    "ServiceList": "Services[Service]",
    "ContactList": "Contacts[Contact]",
    "ActivityList": "Activities[Activity]",
    "PlaceOfServiceList": "PlacesOfService[Place of Service]",
    "HCPCSList": "HCPCSCodes[HCPCS]",
    "Modifier1List": "Modifiers1[Modifier 1]",
    "Modifier2List": "Modifiers2[Modifier 2]",
    "StaffTypeList": "StaffTypes[Staff Type]",
    "YesNoList": "YesNo[Yes/No]",
    "SexList": "SexCodes[Sex]",
}

# -- look ----------------------------------------------------------------------
FONT = "Calibri"
TITLE = Font(name=FONT, size=16, bold=True, color="1F3864")
HEADING = Font(name=FONT, size=12, bold=True, color="1F3864")
BOLD = Font(name=FONT, size=11, bold=True)
NOTE = Font(name=FONT, size=10, italic=True, color="595959")
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
WRAP = Alignment(wrap_text=True, vertical="top")
TOP = Alignment(vertical="top")
HEADER_ALIGN = Alignment(wrap_text=True, vertical="center")
TABLE_STYLE = "TableStyleMedium2"
LIST_STYLE = "TableStyleLight9"

TEXT = "@"
TIME_FORMAT = "h:mm AM/PM"
MONTH_LONG = "mmmm yyyy"

# Timesheet: width and number format of each column.
TIMESHEET_LOOK = {
    "Date": (11, C.DATE_FORMAT), "Staff ID": (9, TEXT), "Member ID": (12, TEXT),
    "Service": (17, None), "Contact": (20, None), "Activity": (29, None),
    "Start": (10, TIME_FORMAT), "End": (10, TIME_FORMAT), "Minutes": (9, "0"),
    "Place of Service": (9, TEXT), "HCPCS": (8, TEXT), "Modifier 1": (10, TEXT),
    "Modifier 2": (10, TEXT), "Approved": (10, None), "Notes": (24, None),
    STAFF_NAME: (16, None), STAFF_TYPE: (13, None), MEMBER_NAME: (18, None),
    PLAN_CODE: (13, None), CODE_CHECK: (15, None),
}
STAFF_LOOK = {"Staff ID": (10, TEXT), "Staff Name": (26, None), "Staff Type": (14, None), "NPI": (13, TEXT)}
MEMBER_LOOK = {
    "Member ID": (13, TEXT), "Last Name": (16, None), "First Name": (14, None),
    "Date of Birth": (12, C.DATE_FORMAT), "Sex": (6, None), "ECM Enrollment Date": (13, C.DATE_FORMAT),
    "Eligible From": (12, C.DATE_FORMAT), "Eligible Through": (12, C.DATE_FORMAT),
    "Diagnosis Code": (11, TEXT), "Address": (26, None), "City": (14, None), "State": (7, TEXT),
    "ZIP": (11, TEXT),
}
OUTPUT_WIDTHS = {
    "Month": 11, "Member ID": 12, "Member Name": 20, "HCPCS": 8, "Modifier 1": 9, "Modifier 2": 9,
    "Minutes": 9, "Hours": 8, "Units": 7, "Charge": 11, "Claim ID": 19, "Line": 6,
    "Date of Birth": 11, "From Date": 11, "To Date": 11, "Place of Service": 9, "Rate": 9,
    "Diagnosis Code": 10, "Billing NPI": 12, "Tax ID": 11, "Source Rows": 16, "Row": 6, "Date": 11,
    "Staff ID": 9, "Severity": 9, "Rule": 6, "Reason": 70, "Sheet": 11, "Column": 14,
    "Lines": 60, "Fingerprint": 17, "Frequency": 10, "Payer Claim Number": 18, "File": 22,
    "Interchange Control Number": 13, "Sent": 15, "Status": 9, "Note": 44,
}


# ---------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------
def build_template(path: str | Path, profile: Profile | None = None) -> Path:
    """Write the template for `profile` (default: the shipped one) to `path`, atomically."""
    profile = profile or load_profile()
    path = Path(path)
    data = template_bytes(profile)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".ecm-template-", suffix=".xlsx", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)   # an ordinary file, not mkstemp's owner-only one
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


TEMPLATE_FILE = "ECM_Timesheet.xlsx"


def template_path() -> Path:
    """Where the committed template is in a source checkout. An installed package carries a
    copy in ecm_xl/templates/; `template_bytes()` builds the same bytes for the shipped profile."""
    return Path(__file__).resolve().parent.parent / "templates" / TEMPLATE_FILE


def template_bytes(profile: Profile | None = None) -> bytes:
    """The template as xlsx bytes, the same bytes for the same profile."""
    profile = profile or load_profile()
    wb = template_workbook(profile)
    buf = io.BytesIO()
    wb.save(buf)
    return _fixed_zip(buf.getvalue(), _stamp(profile))


def setup_cells() -> dict:
    """{setting defined name: 'Setup!$B$n'} for every Setup setting."""
    return {s.name: f"{C.SETUP}!$B${SETUP_FIRST_ROW + i}" for i, s in enumerate(C.SETTINGS)}


def template_workbook(profile: Profile | None = None) -> Workbook:
    """The template as an openpyxl Workbook (not yet saved)."""
    profile = profile or load_profile()
    wb = Workbook()
    wb.remove(wb.active)
    stamp = _stamp(profile)
    wb.properties.creator = "ecm-xl"
    wb.properties.title = "ECM Timesheet"
    wb.properties.subject = f"{profile.name} {profile.version}"
    wb.properties.created = stamp
    wb.properties.modified = stamp
    wb.calculation.fullCalcOnLoad = True   # Excel recomputes after a headless close

    instructions = wb.create_sheet(C.INSTRUCTIONS)
    setup = wb.create_sheet(C.SETUP)
    staff = wb.create_sheet(C.STAFF)
    members = wb.create_sheet(C.MEMBERS)
    timesheet = wb.create_sheet(C.TIMESHEET)
    summary = wb.create_sheet(C.SUMMARY)
    claim = wb.create_sheet(C.CLAIM)
    exceptions = wb.create_sheet(C.EXCEPTIONS)
    records = {name: wb.create_sheet(name) for name in C.RECORD_TABLES}   # what was sent (SPEC §5)
    cycle = {name: wb.create_sheet(name) for name in C.CYCLE_TABLES}      # what was paid, what is left
    lists = wb.create_sheet(C.LISTS)

    _lists_sheet(wb, lists, profile)
    _instructions_sheet(instructions, profile)
    _setup_sheet(wb, setup, profile)
    _staff_sheet(staff)
    _members_sheet(members)
    _timesheet_sheet(timesheet)
    _output_sheet(summary, C.SUMMARY)
    _output_sheet(claim, C.CLAIM)
    _output_sheet(exceptions, C.EXCEPTIONS)
    for name, ws in {**records, **cycle}.items():
        _output_sheet(ws, name)
    _summary_block(summary, profile)
    _exceptions_colours(exceptions)

    for name, target in LIST_NAMES.items():
        wb.defined_names[name] = DefinedName(name, attr_text=target)
    wb.active = 0
    return wb


# ---------------------------------------------------------------------------
# Formulas of the Timesheet helper columns (structured references: Excel and
# LibreOffice both compute them, and they are the same in every row)
# ---------------------------------------------------------------------------
def _this(header: str) -> str:
    return f"{C.TIMESHEET}[[#This Row],[{header}]]"


def helper_formulas() -> dict:
    """{helper header: formula} for the Timesheet's calculated columns."""
    sid, mid = _this("Staff ID"), _this("Member ID")
    staff_row = f"MATCH({sid},{C.STAFF}[Staff ID],0)"
    member_row = f"MATCH({mid},{C.MEMBERS}[Member ID],0)"
    last = f'INDEX({C.MEMBERS}[Last Name],{member_row})&""'
    first = f'INDEX({C.MEMBERS}[First Name],{member_row})&""'
    mode = f'INDEX(Contacts[Contact Mode],MATCH({_this("Contact")},Contacts[Contact],0))&""'
    key = f'{_this(STAFF_TYPE)}&"|"&{_this("Service")}&"|"&{mode}'
    code_row = f"MATCH({_this(PLAN_CODE)},{C.CODES}[{CODE_LABEL}],0)"

    def agrees(header):
        typed = _this(header)
        return f'OR({typed}="",{typed}=INDEX({C.CODES}[{header}],{code_row})&"")'

    typed_blank = f'AND({_this("HCPCS")}="",{_this("Modifier 1")}="",{_this("Modifier 2")}="")'
    return {
        STAFF_NAME: f'IF({sid}="","",IFERROR(INDEX({C.STAFF}[Staff Name],{staff_row})&"","{NOT_ON_STAFF}"))',
        STAFF_TYPE: f'IF({sid}="","",IFERROR(INDEX({C.STAFF}[Staff Type],{staff_row})&"",""))',
        MEMBER_NAME: (f'IF({mid}="","",IFERROR({last}&IF(OR({last}="",{first}=""),"",", ")&{first},'
                      f'"{NOT_ON_MEMBERS}"))'),
        PLAN_CODE: f'IFERROR(INDEX({C.CODES}[{CODE_LABEL}],MATCH({key},{C.CODES}[{CODE_KEY}],0))&"","")',
        CODE_CHECK: (f'IF({typed_blank},"",IFERROR(IF(AND({agrees("HCPCS")},{agrees("Modifier 1")},'
                     f'{agrees("Modifier 2")}),"{CHECK_OK}","{CHECK_DIFFERS}"),"{CHECK_DIFFERS}"))'),
    }


def code_formulas() -> dict:
    """{header: formula} for the Codes table's lookup columns."""
    def this(h):
        return f"{C.CODES}[[#This Row],[{h}]]"
    return {
        CODE_LABEL: f'TRIM({this("HCPCS")}&" "&{this("Modifier 1")}&" "&{this("Modifier 2")})',
        CODE_KEY: f'{this("Staff Type")}&"|"&{this("Service")}&"|"&{this("Contact Mode")}',
    }


# ---------------------------------------------------------------------------
# Sheets
# ---------------------------------------------------------------------------
def _instructions_sheet(ws, profile: Profile) -> None:
    widths = {"A": 7, "B": 30, "C": 62, "D": 52}
    for col, w in widths.items():
        ws.column_dimensions[col].width = w
    total = sum(widths.values()) - widths["A"]
    row = 1

    def para(text, font=None, indent=""):
        nonlocal row
        ws.cell(row, 1, indent or None)
        cell = ws.cell(row, 2, text)
        cell.alignment = WRAP
        if font:
            cell.font = font
        ws.merge_cells(start_row=row, start_column=2, end_row=row, end_column=4)
        ws.row_dimensions[row].height = _height(text, total)
        ws.cell(row, 1).alignment = Alignment(horizontal="right", vertical="top")
        row += 1

    def heading(text):
        nonlocal row
        row += 1
        ws.cell(row, 1, text).font = HEADING
        ws.row_dimensions[row].height = 20
        row += 1

    ws.cell(row, 1, "ECM Timesheet: how to fill it in and close the month").font = TITLE
    ws.row_dimensions[row].height = 24
    row += 1
    para(f"Plan profile: {profile.name}, version {profile.version}, effective "
         f"{profile.effective_date:%B} {profile.effective_date.day}, {profile.effective_date.year}.", NOTE)
    para(f"Source: {profile.source}", NOTE)
    para(f"Rates: {profile.rate_note}", NOTE)

    yellow = "Yellow cells are for you to type in; grey cells are worked out for you. "
    heading("Once, before the first month")
    steps = [
        f"{C.SETUP}: fill in every yellow cell: provider name, billing NPI (10 digits), tax ID (9 digits), "
        f"health plan, and the 837P details if you send claim files. " + yellow,
        f"{C.STAFF}: one row per staff member: Staff ID (your own short code, e.g. S01), name, Staff Type "
        f"({' or '.join(profile.staff_types)}) and NPI if they have one. The Staff Type decides the code.",
        f"{C.MEMBERS}: one row per member and eligibility span: Member ID (the Medi-Cal ID), name, date of birth, "
        f"sex, ECM Enrollment Date (leave blank until the member enrolls), Eligible From and Eligible Through "
        f"(blank = still eligible), diagnosis code. A member whose eligibility stopped and restarted gets two rows.",
        f"{C.LISTS}: check the Rate column of the Codes table holds your contract rates. "
        f"The other lists feed the drop-downs; add an activity there if you need one.",
    ]
    for n, text in enumerate(steps, start=1):
        para(text, indent=f"{n}.")

    heading("Every day: the Timesheet")
    steps = [
        "One row per contact with a member, per staff member (team visits: one row for each person). "
        "Pick Staff ID, Member ID, Service, Contact and Activity from the drop-downs.",
        f"Service: {profile.care_service} for care to an enrolled member; {profile.outreach_service} for each "
        f"try to reach a member who has not enrolled yet (one unit per attempt, whatever its minutes).",
        "Contact: " + "; ".join(f"{c.name}" + (f" ({c.note.rstrip('.')})" if c.note else "")
                                for c in profile.contacts) + ".",
        "Time: type Minutes, or Start and End (then Minutes may stay blank). Place of Service may stay blank: "
        "the close uses the usual place for the contact.",
        f"Leave HCPCS and Modifier 1 and 2 blank: the close fills them in from the plan's code table. The grey "
        f"{PLAN_CODE} column shows the code a row will bill. If you type a code and it does not match, "
        f"{CODE_CHECK} says \"{CHECK_DIFFERS}\" and the row turns red.",
        "If Setup says Approval required = Yes, a supervisor marks each row Approved = Yes.",
    ]
    for n, text in enumerate(steps, start=1):
        para(text, indent=f"{n}.")

    heading("Once a month: close the month")
    steps = [
        f"On {C.SETUP}, set Billing month to the first day of the month you are closing (e.g. 10/1/2026).",
        "Press Monthly Close: \"Run main\" on the xlwings add-in's ribbon, or monthly_close in the xlwings Lite "
        "task pane. Without Excel, run: ecm-xl close ECM_Timesheet.xlsx (the results go into a copy, "
        "ECM_Timesheet.closed.xlsx).",
        f"{C.SUMMARY}: units per member and code. {C.CLAIM}: one line per member and code, ready to bill. "
        f"{C.EXCEPTIONS}: every row that was not billed (Error) or should be looked at (Warning), with the rule "
        "below that explains why.",
        f"Fix what {C.EXCEPTIONS} lists and close again: each close rewrites {C.SUMMARY}, {C.CLAIM} and "
        f"{C.EXCEPTIONS} from the Timesheet, so closing twice never bills twice.",
        f"{C.SUBMISSIONS}: each time claims are sent (ecm-xl export), one row per claim: when, in which file, "
        "as an original, a replacement or a void. The next export sends only what is new or changed. "
        "Closing again keeps this record; never edit it by hand.",
        f"{C.REMITTANCE}: what the plan paid and denied, and why in plain words, posted from its 835 file "
        f"(ecm-xl remit). {C.STATUS}: per claim, what is left to do (wait, fix and replace, appeal) and the "
        "rows to fix.",
        f"Units: one unit per {profile.unit_minutes} minutes of care per member, month and code, added up "
        f"across staff and rounded up once at month end; outreach is one unit per attempt.",
    ]
    for n, text in enumerate(steps, start=1):
        para(text, indent=f"{n}.")

    heading(f"What each rule on the {C.EXCEPTIONS} sheet means")
    for col, text in enumerate(("Rule", "Name", "What it means", "What to do"), start=1):
        c = ws.cell(row, col, text)
        c.font, c.fill, c.border, c.alignment = BOLD, HEAD_FILL, BOX, HEADER_ALIGN
    row += 1
    for rule in RULES:
        for col, text in enumerate((rule.number, rule.title, rule.meaning, rule.fix), start=1):
            c = ws.cell(row, col, text)
            c.alignment, c.border = WRAP, BOX
        ws.cell(row, 1).font = BOLD
        ws.row_dimensions[row].height = max(_height(rule.meaning, widths["C"]), _height(rule.fix, widths["D"]),
                                            _height(rule.title, widths["B"]))
        row += 1

    heading("The codes this plan bills")
    for col, text in enumerate(("Code", "Who and how", "Description", "Rate"), start=1):
        c = ws.cell(row, col, text)
        c.font, c.fill, c.border, c.alignment = BOLD, HEAD_FILL, BOX, HEADER_ALIGN
    ws.column_dimensions["A"].width = 13
    row += 1
    for code in profile.codes:
        how = f"{code.staff_type}, {code.service}, {_mode_words(code.contact_mode, profile)}"
        values = (code.label, how, code.description,
                  "See Lists" if code.rate is None else f"{code.rate:,.2f} (example)")
        for col, text in enumerate(values, start=1):
            c = ws.cell(row, col, text)
            c.alignment, c.border = WRAP, BOX
        ws.row_dimensions[row].height = max(_height(how, widths["B"]), _height(code.description, widths["C"]))
        row += 1
    ws.sheet_view.showGridLines = False
    _fit_width(ws, "portrait")


def _fit_width(ws, orientation: str) -> None:
    """Print one page wide, as many pages tall as it takes."""
    ws.page_setup.orientation = orientation
    ws.page_setup.fitToWidth, ws.page_setup.fitToHeight = 1, 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True


def _mode_words(mode: str, profile: Profile) -> str:
    names = [c.name for c in profile.contacts if c.mode == mode]
    return " or ".join(names)


def _setup_sheet(wb, ws, profile: Profile) -> None:
    ws["A1"] = "Setup"
    ws["A1"].font = TITLE
    ws["A2"] = ("Fill in the yellow cells. The close reads each one by its name (column D), "
                "so you may move them, but keep the names.")
    ws["A2"].font = NOTE
    for col, text in enumerate(("Setting", "Value", "What to enter", "Name"), start=1):
        c = ws.cell(SETUP_FIRST_ROW - 1, col, text)
        c.font, c.fill, c.border = BOLD, HEAD_FILL, BOX
    for col, w in zip("ABCD", (28, 36, 66, 22)):
        ws.column_dimensions[col].width = w
    in_person = next((c.place_of_service for c in profile.contacts if c.mode == "in_person"), "")
    defaults = {"UnitMinutes": profile.unit_minutes, "FilingLimitDays": profile.filing_limit_days,
                "ApprovalRequired": "No", "DefaultPlaceOfService": in_person, "HealthPlan": profile.plan}
    for i, s in enumerate(C.SETTINGS):
        r = SETUP_FIRST_ROW + i
        label = ws.cell(r, 1, s.label)
        label.font, label.border, label.alignment = BOLD, BOX, TOP
        value = ws.cell(r, 2, defaults.get(s.name))
        value.fill, value.border, value.alignment = INPUT_FILL, BOX, Alignment(horizontal="left", vertical="top",
                                                                              wrap_text=True)
        value.number_format = {"npi": TEXT, "taxid": TEXT, "pos": TEXT, "dx": TEXT, "month": MONTH_LONG,
                               "int": "0"}.get(s.kind, TEXT if s.name in ("ProviderZip", "ContactPhone") else "General")
        help_text = s.help + (" Needed for the 837P claim file." if s.required_for_837 and s.kind == "text"
                              and s.name not in ("ProviderName", "HealthPlan") else "")
        h = ws.cell(r, 3, help_text)
        h.alignment, h.border, h.font = WRAP, BOX, Font(name=FONT, size=10)
        n = ws.cell(r, 4, s.name)
        n.font, n.border, n.alignment = NOTE, BOX, TOP
        ws.row_dimensions[r].height = max(_height(help_text, 66, size=10), _height(str(value.value or ""), 36))
        wb.defined_names[s.name] = DefinedName(s.name, attr_text=f"{C.SETUP}!$B${r}")
        dv = _setting_validation(s, f"B{r}")
        ws.add_data_validation(dv)
        dv.add(f"B{r}")
    ws.freeze_panes = f"A{SETUP_FIRST_ROW}"
    ws.sheet_view.showGridLines = False
    _fit_width(ws, "portrait")


def _setting_validation(s: C.Setting, cell: str) -> DataValidation:
    kind = s.kind
    if kind == "npi":
        dv = DataValidation(type="custom", formula1=f"AND(LEN({cell})=10,ISNUMBER(VALUE({cell})))")
        err = "An NPI is exactly 10 digits."
    elif kind == "taxid":
        digits = f'SUBSTITUTE({cell},"-","")'
        dv = DataValidation(type="custom", formula1=f"AND(LEN({digits})=9,ISNUMBER(VALUE({digits})))")
        err = "A tax ID is 9 digits (a dash is allowed, e.g. 12-3456789)."
    elif kind == "month":
        dv = DataValidation(type="date", operator="between", formula1="DATE(2000,1,1)", formula2="DATE(2099,12,31)")
        err = "Type the first day of the month, e.g. 10/1/2026."
    elif kind == "int":
        dv = DataValidation(type="whole", operator="greaterThan", formula1="0")
        err = "Type a whole number greater than 0."
    elif kind == "yesno":
        dv = DataValidation(type="list", formula1="YesNoList")
        err = "Pick Yes or No."
    elif kind == "pos":
        dv = DataValidation(type="list", formula1="PlaceOfServiceList")
        err = "Pick a place of service code from the list."
    elif kind == "dx":
        dv = DataValidation(type="textLength", operator="between", formula1="3", formula2="8")
        err = "A diagnosis (ICD-10) code is 3 to 8 characters, e.g. Z71.89."
    else:
        dv = DataValidation()   # any value: the input message still shows
        err = None
    return _messages(dv, s.label, s.help, err)


def _messages(dv: DataValidation, title: str, prompt: str, error: str | None) -> DataValidation:
    dv.allow_blank = True
    dv.promptTitle, dv.prompt, dv.showInputMessage = title[:32], prompt[:255], True
    if error:
        dv.errorTitle, dv.error, dv.showErrorMessage, dv.errorStyle = title[:32], error[:255], True, "stop"
    return dv


def _list_validation(name: str, title: str, prompt: str, error: str) -> DataValidation:
    return _messages(DataValidation(type="list", formula1=name), title, prompt, error)


def _date_validation(title: str, prompt: str) -> DataValidation:
    dv = DataValidation(type="date", operator="between", formula1="DATE(1900,1,1)", formula2="DATE(2099,12,31)")
    return _messages(dv, title, prompt, "Type a date, e.g. 10/14/2026.")


def _input_table(ws, name: str, headers, look: dict, rows: int, formulas: dict | None = None,
                 freeze: str = "A2") -> None:
    """An Excel table of header + one blank row; formats cover `rows` rows below the header."""
    formulas = formulas or {}
    last = get_column_letter(len(headers))
    for col, h in enumerate(headers, start=1):
        _table_header(ws.cell(1, col, h), helper=h in formulas)
        width, fmt = look.get(h, (12, None))
        ws.column_dimensions[get_column_letter(col)].width = width
        if h in formulas:   # the table's one row; Excel extends calculated columns as people type
            cell = ws.cell(2, col, f"={formulas[h]}")
            cell.fill, cell.font = HELPER_FILL, HELPER_FONT
        elif fmt:
            for r in range(3, rows + 2):
                ws.cell(r, col).number_format = fmt
        first = ws.cell(2, col)   # the row a writer copies onto the rows it adds
        first.number_format = fmt or "General"
        first.border = ROW_LINE
        if fmt == TEXT and width < 14:   # short codes and IDs: centred, header too
            first.alignment = Alignment(horizontal="center", vertical="top")
            ws.cell(1, col).alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        else:
            first.alignment = TOP
    table = Table(displayName=name, ref=f"A1:{last}2")
    table.tableStyleInfo = TableStyleInfo(name=TABLE_STYLE, showRowStripes=True)
    table.tableColumns = [
        TableColumn(id=i, name=h, calculatedColumnFormula=TableFormula(attr_text=formulas[h]) if h in formulas else None)
        for i, h in enumerate(headers, start=1)]
    ws.add_table(table)
    ws.row_dimensions[1].height = 32
    ws.freeze_panes = freeze
    _fit_width(ws, "landscape")
    ws.print_title_rows = "1:1"


def _table_header(cell, helper: bool = False) -> None:
    cell.font = HELPER_HEAD_FONT if helper else TABLE_HEAD_FONT
    cell.fill = HELPER_HEAD_FILL if helper else TABLE_HEAD_FILL
    cell.alignment = HEADER_ALIGN


def _col(headers, header) -> str:
    return get_column_letter(headers.index(header) + 1)


def _staff_sheet(ws) -> None:
    h = C.STAFF_HEADERS
    _input_table(ws, C.STAFF, h, STAFF_LOOK, STAFF_ROWS)
    rng = lambda header: f"{_col(h, header)}2:{_col(h, header)}{STAFF_ROWS + 1}"  # noqa: E731
    dvs = [
        (_messages(DataValidation(type="textLength", operator="between", formula1="1", formula2="20"),
                   "Staff ID", "Your own short code for this person, e.g. S01. Each Staff ID once.",
                   "A Staff ID is 1 to 20 characters."), "Staff ID"),
        (_list_validation("StaffTypeList", "Staff Type", "Clinical or Non-clinical: it decides the code.",
                          "Pick a Staff Type from the list."), "Staff Type"),
        (_messages(DataValidation(type="custom", formula1="AND(LEN(D2)=10,ISNUMBER(VALUE(D2)))"),
                   "NPI", "The person's 10-digit NPI, if they have one.", "An NPI is exactly 10 digits."), "NPI"),
    ]
    for dv, header in dvs:
        ws.add_data_validation(dv)
        dv.add(rng(header))


def _members_sheet(ws) -> None:
    h = C.MEMBER_HEADERS
    _input_table(ws, C.MEMBERS, h, MEMBER_LOOK, MEMBER_ROWS, freeze="B2")
    rng = lambda header: f"{_col(h, header)}2:{_col(h, header)}{MEMBER_ROWS + 1}"  # noqa: E731
    dvs = [
        (_messages(DataValidation(type="textLength", operator="between", formula1="1", formula2="30"),
                   "Member ID", "The member's Medi-Cal ID (CIN). One row per eligibility span.",
                   "A Member ID is 1 to 30 characters."), "Member ID"),
        (_date_validation("Date of Birth", "The member's date of birth."), "Date of Birth"),
        (_list_validation("SexList", "Sex", "F, M or U (unknown).", "Pick F, M or U."), "Sex"),
        (_date_validation("ECM Enrollment Date", "The date the member enrolled in ECM. Blank: not yet enrolled "
                                                 "(only outreach attempts bill)."), "ECM Enrollment Date"),
        (_date_validation("Eligible From", "First day of this eligibility span."), "Eligible From"),
        (_date_validation("Eligible Through", "Last day of this eligibility span. Blank: still eligible."),
         "Eligible Through"),
        (_messages(DataValidation(type="textLength", operator="between", formula1="3", formula2="8"),
                   "Diagnosis Code", "ICD-10 code for the claim, e.g. Z59.00. Blank: the Setup default.",
                   "A diagnosis code is 3 to 8 characters."), "Diagnosis Code"),
        (_messages(DataValidation(type="textLength", operator="equal", formula1="2"),
                   "State", "Two-letter state, e.g. CA.", "Type the two-letter state, e.g. CA."), "State"),
    ]
    for dv, header in dvs:
        ws.add_data_validation(dv)
        dv.add(rng(header))


def _timesheet_sheet(ws) -> None:
    h = TIMESHEET_ALL_HEADERS
    formulas = helper_formulas()
    _input_table(ws, C.TIMESHEET, h, TIMESHEET_LOOK, TIMESHEET_ROWS, formulas, freeze="D2")
    last_row = TIMESHEET_ROWS + 1
    rng = lambda header: f"{_col(h, header)}2:{_col(h, header)}{last_row}"  # noqa: E731
    minutes = DataValidation(type="decimal", operator="between", formula1="0.01", formula2="1440")
    time = lambda: DataValidation(type="time", operator="between", formula1="0", formula2="0.999988425925926")  # noqa: E731
    dvs = [
        (_date_validation("Date", "Date of the contact, e.g. 10/14/2026."), "Date"),
        (_list_validation("StaffIDList", "Staff ID", "Who did the work: pick from the Staff sheet.",
                          "This Staff ID is not on the Staff sheet. Add the person there first."), "Staff ID"),
        (_list_validation("MemberIDList", "Member ID", "Which member: pick from the Members sheet.",
                          "This Member ID is not on the Members sheet. Add the member there first."), "Member ID"),
        (_list_validation("ServiceList", "Service", "ECM service (care) or Outreach attempt (before enrollment).",
                          "Pick a Service from the list."), "Service"),
        (_list_validation("ContactList", "Contact", "How the member was reached.",
                          "Pick a Contact from the list."), "Contact"),
        (_list_validation("ActivityList", "Activity", "What the time was for. Some activities never bill.",
                          "Pick an Activity from the list (Lists sheet, Activities)."), "Activity"),
        (_messages(time(), "Start", "Start time, e.g. 9:30 AM. Optional if you type Minutes.",
                   "Type a time, e.g. 9:30 AM."), "Start"),
        (_messages(time(), "End", "End time, e.g. 10:15 AM. Optional if you type Minutes.",
                   "Type a time, e.g. 10:15 AM."), "End"),
        (_messages(minutes, "Minutes", "Minutes spent. Blank: End minus Start.",
                   "Minutes must be more than 0 and at most 1,440."), "Minutes"),
        (_list_validation("PlaceOfServiceList", "Place of Service", "Blank: the usual place for the contact.",
                          "Pick a place of service code from the list."), "Place of Service"),
        (_list_validation("HCPCSList", "HCPCS", "Leave blank: the close fills it in (see Plan Code).",
                          "Pick a HCPCS code from the list, or leave it blank."), "HCPCS"),
        (_list_validation("Modifier1List", "Modifier 1", "Leave blank: the close fills it in.",
                          "Pick a modifier from the list, or leave it blank."), "Modifier 1"),
        (_list_validation("Modifier2List", "Modifier 2", "Leave blank: the close fills it in.",
                          "Pick a modifier from the list, or leave it blank."), "Modifier 2"),
        (_list_validation("YesNoList", "Approved", "Supervisor: Yes when this row is approved.",
                          "Pick Yes or No."), "Approved"),
    ]
    for dv, header in dvs:
        ws.add_data_validation(dv)
        dv.add(rng(header))
    check = _col(h, CODE_CHECK)
    ws.conditional_formatting.add(
        f"A2:{check}{last_row}",
        FormulaRule(formula=[f'${check}2="{CHECK_DIFFERS}"'], fill=BAD_FILL, font=Font(bold=True, color="9C0006")))


def _output_sheet(ws, name: str) -> None:
    headers = C.OUTPUT_TABLES.get(name) or C.RECORD_TABLES.get(name) or C.CYCLE_TABLES[name]
    formats = C.NUMBER_FORMATS.get(name, {})
    for col, h in enumerate(headers, start=1):
        _table_header(ws.cell(1, col, h))
        cell = ws.cell(2, col)
        cell.number_format = formats.get(h, "General")
        # Submissions' Lines and Note don't wrap: their rows are appended with no stored height
        cell.alignment = WRAP if h in ("Reason", "Meaning", "Why", "Rows to Fix") else TOP
        ws.column_dimensions[get_column_letter(col)].width = OUTPUT_WIDTHS.get(h) or C.CYCLE_WIDTHS.get(h, 12)
    table = Table(displayName=name, ref=f"A1:{get_column_letter(len(headers))}2")
    table.tableStyleInfo = TableStyleInfo(name=TABLE_STYLE, showRowStripes=True)
    table.tableColumns = [TableColumn(id=i, name=h) for i, h in enumerate(headers, start=1)]
    ws.add_table(table)
    ws.row_dimensions[1].height = 32
    ws.freeze_panes = "A2"
    _fit_width(ws, "landscape")
    ws.print_title_rows = "1:1"


def _summary_block(ws, profile: Profile) -> None:
    """'Units by code': SUMIFS over the Summary table's columns, and a bar chart of it."""
    h = C.SUMMARY_HEADERS
    units, hcpcs, m1, m2 = (_col(h, x) for x in ("Units", "HCPCS", "Modifier 1", "Modifier 2"))
    c0 = SUMMARY_BLOCK_COLUMN
    label_col, units_col = get_column_letter(c0), get_column_letter(c0 + 1)
    ws.cell(1, c0, "Units by code").font = HEADING
    for i, text in enumerate(("Code", "Units")):
        c = ws.cell(2, c0 + i, text)
        c.font, c.fill, c.border = BOLD, HEAD_FILL, BOX
    ws.column_dimensions[label_col].width = 14
    ws.column_dimensions[units_col].width = 8
    for i, code in enumerate(profile.codes):
        r = 3 + i
        ws.cell(r, c0, code.label).border = BOX
        # "" as a criterion matches blank cells in Excel and LibreOffice alike
        crit = [f'${hcpcs}:${hcpcs},"{code.hcpcs}"', f'${m1}:${m1},"{code.modifier_1}"',
                f'${m2}:${m2},"{code.modifier_2}"']
        cell = ws.cell(r, c0 + 1, f"=SUMIFS(${units}:${units},{','.join(crit)})")
        cell.border, cell.number_format = BOX, "0"
    last = 2 + len(profile.codes)
    total = ws.cell(last + 1, c0, "Total")
    total.font = BOLD
    t = ws.cell(last + 1, c0 + 1, f"=SUM({units_col}3:{units_col}{last})")
    t.font, t.number_format = BOLD, "0"

    chart = BarChart()
    chart.type = "bar"
    chart.style = 10
    chart.title = "Units by code"
    chart.y_axis.title = "Units"
    chart.legend = None
    chart.x_axis.scaling.orientation = "maxMin"     # codes top to bottom, in table order
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.add_data(Reference(ws, min_col=c0 + 1, min_row=2, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=c0, min_row=3, max_row=last))
    chart.height, chart.width = 7.5, 13
    ws.add_chart(chart, f"{label_col}{last + 3}")


def _exceptions_colours(ws) -> None:
    h = C.EXCEPTION_HEADERS
    sev, last = _col(h, "Severity"), get_column_letter(len(h))
    rng = f"A2:{last}{TIMESHEET_ROWS + 1}"
    ws.conditional_formatting.add(rng, FormulaRule(formula=[f'${sev}2="Error"'], fill=BAD_FILL))
    ws.conditional_formatting.add(rng, FormulaRule(formula=[f'${sev}2="Warning"'], fill=WARN_FILL))


def _lists_sheet(wb, ws, profile: Profile) -> None:
    """Side-by-side tables, one empty column between: the code table, activities and every drop-down list."""
    col = 1

    def table(name, headers, rows, widths, formulas=None, formats=None):
        nonlocal col
        formulas, formats = formulas or {}, formats or {}
        for i, h in enumerate(headers):
            _table_header(ws.cell(1, col + i, h), helper=h in formulas)
            ws.column_dimensions[get_column_letter(col + i)].width = widths[i]
        for r, values in enumerate(rows, start=2):
            for i, h in enumerate(headers):
                if h in formulas:
                    cell = ws.cell(r, col + i, f"={formulas[h]}")
                    cell.fill, cell.font = HELPER_FILL, HELPER_FONT
                else:
                    v = values[i]
                    cell = ws.cell(r, col + i, v if v != "" else None)
                if h in formats:
                    cell.number_format = formats[h]
                cell.alignment = TOP
        end = get_column_letter(col + len(headers) - 1)
        t = Table(displayName=name, ref=f"{get_column_letter(col)}1:{end}{max(2, len(rows) + 1)}")
        t.tableStyleInfo = TableStyleInfo(name=LIST_STYLE if name != C.CODES else TABLE_STYLE, showRowStripes=True)
        t.tableColumns = [
            TableColumn(id=i, name=h,
                        calculatedColumnFormula=TableFormula(attr_text=formulas[h]) if h in formulas else None)
            for i, h in enumerate(headers, start=1)]
        ws.add_table(t)
        col += len(headers) + 1
        ws.column_dimensions[get_column_letter(col - 1)].width = 3

    code_rows = [(c.hcpcs, c.modifier_1, c.modifier_2, c.staff_type, c.service, c.contact_mode,
                  c.description, c.rate, None, None) for c in profile.codes]
    table(C.CODES, CODES_ALL_HEADERS, code_rows, (8, 9, 9, 13, 16, 12, 58, 9, 13, 40),
          formulas=code_formulas(), formats={"Rate": C.MONEY_FORMAT, "HCPCS": TEXT, "Modifier 1": TEXT,
                                             "Modifier 2": TEXT})
    table(C.ACTIVITIES, C.ACTIVITY_HEADERS,
          [(a.name, "Yes" if a.billable else "No", a.reason) for a in profile.activities], (30, 9, 44))
    table("Contacts", CONTACT_HEADERS,
          [(c.name, c.mode, c.place_of_service, c.note) for c in profile.contacts], (19, 12, 9, 40),
          formats={"Place of Service": TEXT})
    table("Services", ("Service",), [(s,) for s in profile.services], (18,))
    table("StaffTypes", ("Staff Type",), [(s,) for s in profile.staff_types], (13,))
    table("PlacesOfService", POS_HEADERS, sorted(profile.places_of_service.items()), (9, 34),
          formats={"Place of Service": TEXT})
    table("HCPCSCodes", ("HCPCS",), [(v,) for v in _distinct(c.hcpcs for c in profile.codes)], (8,))
    table("Modifiers1", ("Modifier 1",), [(v,) for v in _distinct(c.modifier_1 for c in profile.codes)], (9,))
    table("Modifiers2", ("Modifier 2",), [(v,) for v in _distinct(c.modifier_2 for c in profile.codes)], (9,))
    table("YesNo", ("Yes/No",), [(v,) for v in YES_NO], (8,))
    table("SexCodes", ("Sex", "Meaning"), SEX_VALUES, (6, 10))
    ws.row_dimensions[1].height = 32
    ws.freeze_panes = "A2"
    _fit_width(ws, "landscape")
    # Activities: "Billable" is a Yes/No drop-down too.
    billable = _col_of(ws, C.ACTIVITIES, "Billable")
    dv = _list_validation("YesNoList", "Billable", "No: the time is recorded but never billed.", "Pick Yes or No.")
    ws.add_data_validation(dv)
    dv.add(f"{billable}2:{billable}200")
    rate = _col_of(ws, C.CODES, "Rate")
    dv = _messages(DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0"), "Rate",
                   "Your contract rate for one unit of this code.", "Type an amount, e.g. 160.00.")
    ws.add_data_validation(dv)
    dv.add(f"{rate}2:{rate}50")


def _col_of(ws, table_name: str, header: str) -> str:
    t = ws.tables[table_name]
    first = re.match(r"[A-Z]+", t.ref).group(0)
    from openpyxl.utils import column_index_from_string
    names = [c.name for c in t.tableColumns]
    return get_column_letter(column_index_from_string(first) + names.index(header))


def _distinct(values) -> list:
    out = []
    for v in values:
        if v and v not in out:
            out.append(v)
    return out


# ---------------------------------------------------------------------------
# Determinism
# ---------------------------------------------------------------------------
def _stamp(profile: Profile) -> dt.datetime:
    d = profile.effective_date
    return dt.datetime(d.year, d.month, d.day)


_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def _fixed_zip(data: bytes, stamp: dt.datetime) -> bytes:
    """Rewrite the package with fixed entry times and document dates."""
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    when = (max(stamp.year, 1980), stamp.month, stamp.day, 0, 0, 0)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = _MODIFIED.sub(rb"\g<1>" + iso + rb"\g<2>", body)
            entry = zipfile.ZipInfo(info.filename, date_time=when)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            dst.writestr(entry, body)
    return out.getvalue()


def _height(text: str, width_chars: float, size: int = 11) -> float:
    """Row height (points) that shows `text` wrapped in a column `width_chars` wide."""
    per_line = max(1.0, width_chars * (1.35 if size <= 10 else 1.2))
    lines = sum(max(1, math.ceil(len(part) / per_line)) for part in str(text).split("\n"))
    return max(15.0, lines * (size + 4.0) + 2)

"""Where things are in the template: sizes, helper columns, drop-down names, formulas.

Other parts of ecm-xl (and the tests) rely on these names; the look of the
sheets is in look.py, the sheets themselves in sheets.py and instructions.py.
"""
from __future__ import annotations

from .. import contract as C

# -- sizes and places other parts rely on --------------------------------------
TIMESHEET_ROWS = 5000          # validation and number formats cover rows 2..5001
MEMBER_ROWS = 2000             # Members rows 2..2001
STAFF_ROWS = 500               # Staff rows 2..501
SETUP_FIRST_ROW = 4            # Setup: title, note, column headings, then one row per setting
SUMMARY_BLOCK_COLUMN = 12      # "By code" starts in column L (K stays empty)
SUMMARY_BLOCK_ROW = 2          # its title; row 1 is the table's header row, repeated on every printed page

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


def setup_cells() -> dict:
    """{setting defined name: 'Setup!$B$n'} for every Setup setting."""
    return {s.name: f"{C.SETUP}!$B${SETUP_FIRST_ROW + i}" for i, s in enumerate(C.SETTINGS)}


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

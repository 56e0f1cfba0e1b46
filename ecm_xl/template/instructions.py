"""The Instructions sheet: how to fill the workbook in and close the month, in plain words.

The text comes from the plan profile (codes, contacts, services, unit minutes)
and ecm_xl.rules (what each rule on Exceptions means and what to do), so it
always agrees with the engine. It prints on letter paper, portrait, at full
size: the columns fit the page's width, every row's height is set from its
text, and the page breaks are set so a heading never ends a page.
"""
from __future__ import annotations

from openpyxl.styles import Alignment

from .. import contract as C
from ..profile import Profile
from ..rules import RULES
from .layout import CHECK_DIFFERS, CODE_CHECK, PLAN_CODE
from .look import BOLD, BOX, HEAD_FILL, HEADER_ALIGN, HEADING, NOTE, TITLE, WRAP, paginate, print_setup, text_height

TITLE_TEXT = "ECM Timesheet: how to fill it in and close the month"
# Portrait letter at 0.4 in side margins holds about 100 characters of Calibri 11.
WIDTHS = {"A": 11, "B": 21, "C": 36, "D": 31}


def instructions_sheet(ws, profile: Profile) -> None:
    widths = WIDTHS
    for col, w in widths.items():
        ws.column_dimensions[col].width = w
    total = sum(widths.values()) - widths["A"]
    row = 1
    keep = set()      # rows that must not end a page: headings and table header rows

    def para(text, font=None, indent=""):
        nonlocal row
        ws.cell(row, 1, indent or None)
        cell = ws.cell(row, 2, text)
        cell.alignment = WRAP
        if font:
            cell.font = font
        ws.merge_cells(start_row=row, start_column=2, end_row=row, end_column=4)
        ws.row_dimensions[row].height = text_height(text, total, 10 if font is NOTE else 11)
        ws.cell(row, 1).alignment = Alignment(horizontal="right", vertical="top")
        row += 1

    def heading(text):
        nonlocal row
        row += 1
        ws.cell(row, 1, text).font = HEADING
        ws.row_dimensions[row].height = 20
        keep.add(row)
        row += 1

    ws.cell(row, 1, TITLE_TEXT).font = TITLE
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
    keep.add(row)
    row += 1
    for rule in RULES:
        for col, text in enumerate((rule.number, rule.title, rule.meaning, rule.fix), start=1):
            c = ws.cell(row, col, text)
            c.alignment, c.border = WRAP, BOX
        ws.cell(row, 1).font = BOLD
        ws.row_dimensions[row].height = max(text_height(rule.meaning, widths["C"]),
                                            text_height(rule.fix, widths["D"]),
                                            text_height(rule.title, widths["B"]))
        row += 1

    heading("The codes this plan bills")
    for col, text in enumerate(("Code", "Who and how", "Description", "Rate"), start=1):
        c = ws.cell(row, col, text)
        c.font, c.fill, c.border, c.alignment = BOLD, HEAD_FILL, BOX, HEADER_ALIGN
    keep.add(row)
    row += 1
    for n, code in enumerate(profile.codes, start=1):
        if n < len(profile.codes):
            keep.add(row)      # the code table is short: it stays on one page with its heading
        how = f"{code.staff_type}, {code.service}, {mode_words(code.contact_mode, profile)}"
        values = (code.label, how, code.description,
                  "See Lists" if code.rate is None else f"{code.rate:,.2f} (example)")
        for col, text in enumerate(values, start=1):
            c = ws.cell(row, col, text)
            c.alignment, c.border = WRAP, BOX
        ws.row_dimensions[row].height = max(text_height(code.label, widths["A"]), text_height(how, widths["B"]),
                                            text_height(code.description, widths["C"]))
        row += 1
    ws.sheet_view.showGridLines = False
    last = row - 1
    print_setup(ws, "portrait", area=f"A1:D{last}")
    paginate(ws, last, keep, "portrait")


def mode_words(mode: str, profile: Profile) -> str:
    names = [c.name for c in profile.contacts if c.mode == mode]
    return " or ".join(names)


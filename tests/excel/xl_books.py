"""Real xlsx workbooks for the Excel-layer tests, laid out as SPEC §3 says.

`contract_workbook` builds one with openpyxl from plain rows: a Setup sheet of
labelled, named cells; Staff, Members and Timesheet tables; the Lists tables
Codes and Activities from the plan profile; and Summary, Claim and Exceptions
tables with a header and one blank row, as the template has them.
"""
from __future__ import annotations

from openpyxl import Workbook
from openpyxl.utils.cell import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.table import Table as XlTable, TableStyleInfo

from ecm_xl import contract as C
from ecm_xl import load_profile


def _put(cell, value):
    """Type a value as text would be typed: '=...' stays text, never a formula."""
    cell.value = value
    if isinstance(value, str) and value.startswith("="):
        cell.data_type = "s"


def _table(ws, name, headers, rows, top=1, left=1):
    for j, h in enumerate(headers):
        ws.cell(top, left + j, h)
    for i, r in enumerate(rows or [{}]):
        for j, h in enumerate(headers):
            v = r.get(h) if isinstance(r, dict) else r[j]
            if v is not None and v != "":
                _put(ws.cell(top + 1 + i, left + j), v)
    n = max(len(rows), 1)
    ref = f"{get_column_letter(left)}{top}:{get_column_letter(left + len(headers) - 1)}{top + n}"
    t = XlTable(displayName=name, ref=ref)
    t.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    ws.add_table(t)


def code_rows(profile=None):
    p = profile or load_profile()
    mode = {"in_person": "In person", "remote": "Phone/Telehealth or Text/Email"}
    return [{"HCPCS": c.hcpcs, "Modifier 1": c.modifier_1, "Modifier 2": c.modifier_2,
             "Staff Type": c.staff_type, "Service": c.service, "Contact Mode": mode.get(c.contact_mode, c.contact_mode),
             "Description": c.description, "Rate": c.rate} for c in p.codes]


def activity_rows(profile=None):
    p = profile or load_profile()
    return [{"Activity": a.name, "Billable": "Yes" if a.billable else "No", "Reason": a.reason}
            for a in p.activities]


def contract_workbook(path, *, settings, staff, members, timesheet, outputs=None, lists=True,
                      timesheet_top=1):
    """Write a workbook at `path`. `outputs` = {table: rows} pre-fills output tables
    (as an earlier close would have); `timesheet_top` moves the Timesheet table down."""
    wb = Workbook()
    ws = wb.active
    ws.title = C.SETUP
    ws["A1"] = "Setting"
    ws["B1"] = "Value"
    for i, s in enumerate(C.SETTINGS, start=2):
        ws.cell(i, 1, s.label)
        v = settings.get(s.name)
        if v is not None:
            ws.cell(i, 2, v)
        wb.defined_names[s.name] = DefinedName(s.name, attr_text=f"{C.SETUP}!$B${i}")
    if lists:
        ls = wb.create_sheet(C.LISTS)
        _table(ls, C.CODES, C.CODE_HEADERS, code_rows())
        _table(ls, C.ACTIVITIES, C.ACTIVITY_HEADERS, activity_rows(), left=len(C.CODE_HEADERS) + 2)
    _table(wb.create_sheet(C.STAFF), C.STAFF, C.STAFF_HEADERS, staff)
    _table(wb.create_sheet(C.MEMBERS), C.MEMBERS, C.MEMBER_HEADERS, members)
    ts = wb.create_sheet(C.TIMESHEET)
    if timesheet_top > 1:
        ts["A1"] = "Timesheet"
    _table(ts, C.TIMESHEET, C.TIMESHEET_HEADERS, timesheet, top=timesheet_top)
    outputs = outputs or {}
    for name, headers in C.OUTPUT_TABLES.items():
        ws = wb.create_sheet(name)
        _table(ws, name, headers, outputs.get(name, []))
        for j, h in enumerate(headers, start=1):   # row 2 carries the formats, as in the template
            fmt = C.NUMBER_FORMATS[name].get(h)
            if fmt:
                ws.cell(2, j).number_format = fmt
    wb.save(path)
    return path


def fill_template(template, path, *, settings, staff, members, timesheet, outputs=None):
    """A copy of the real template at `path` with rows typed into its tables (openpyxl).

    Formula cells of the copy have no cached values (no spreadsheet application
    saved it), so the Timesheet's helper columns read as blank; the engine
    reads the SPEC headers only.
    """
    from openpyxl import load_workbook

    wb = load_workbook(template)
    for name, value in settings.items():
        dn = wb.defined_names.get(name)
        if dn is None or value is None:
            continue
        (sheet, ref), = dn.destinations
        wb[sheet][ref.replace("$", "")].value = value
    tables = {C.STAFF: staff, C.MEMBERS: members, C.TIMESHEET: timesheet, **(outputs or {})}
    for ws in wb.worksheets:
        for t in ws.tables.values():
            if t.displayName in tables:
                _put_rows(ws, t, tables[t.displayName])
    wb.save(path)
    return path


def _put_rows(ws, t, rows):
    from openpyxl.utils.cell import range_boundaries

    c1, r1, c2, r2 = range_boundaries(t.ref)
    headers = [ws.cell(r1, c).value for c in range(c1, c2 + 1)]
    for i, r in enumerate(rows):
        for j, h in enumerate(headers):
            v = r.get(h) if isinstance(r, dict) else (r[j] if j < len(r) else None)
            if v is not None and v != "":
                _put(ws.cell(r1 + 1 + i, c1 + j), v)
    last = r1 + max(len(rows), 1)
    t.ref = f"{get_column_letter(c1)}{r1}:{get_column_letter(c2)}{last}"
    if t.autoFilter is not None:
        t.autoFilter.ref = t.ref


def table_rows(path_or_wb, name):
    """(headers, rows) of the table `name` in an xlsx file (or loaded openpyxl workbook)."""
    from openpyxl import load_workbook
    from openpyxl.utils.cell import range_boundaries

    wb = load_workbook(path_or_wb) if not hasattr(path_or_wb, "worksheets") else path_or_wb
    for ws in wb.worksheets:
        t = ws.tables.get(name)
        if t is None:
            continue
        c1, r1, c2, r2 = range_boundaries(t.ref)
        grid = [[c.value for c in row] for row in ws.iter_rows(min_row=r1, max_row=r2, min_col=c1, max_col=c2)]
        return grid[0], grid[1:]
    raise KeyError(name)

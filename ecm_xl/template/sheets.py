"""The template's sheets, one builder each (Instructions is in instructions.py).

Tables are real Excel tables with the header in row 1 from column A and one
blank data row; that row carries each column's look (number format,
alignment, row line), which the headless writer copies onto every row it
writes.
"""
from __future__ import annotations

import re

from openpyxl.chart import BarChart, Reference
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Font
from openpyxl.utils import column_index_from_string, get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.table import Table, TableColumn, TableFormula, TableStyleInfo

from .. import contract as C
from ..profile import Profile
from .layout import (CHECK_DIFFERS, CODE_CHECK, CODES_ALL_HEADERS, CONTACT_HEADERS, MEMBER_ROWS, POS_HEADERS,
                     SETUP_FIRST_ROW, SEX_VALUES, STAFF_ROWS, SUMMARY_BLOCK_COLUMN, SUMMARY_BLOCK_ROW,
                     TIMESHEET_ALL_HEADERS, TIMESHEET_ROWS, YES_NO, code_formulas, helper_formulas)
from .look import (BAD_FILL, BOLD, BOX, HEAD_FILL, HEADER_ALIGN, HEADER_HEIGHT, HEADING, HELPER_FILL, HELPER_FONT,
                   HELPER_HEAD_FILL, HELPER_HEAD_FONT, INPUT_FILL, LIST_STYLE, MEMBER_LOOK, MONTH_LONG, NOTE,
                   NUMBER, OUTPUT_ORIENTATION, ROW_LINE, SMALL, STAFF_LOOK,
                   TABLE_HEAD_FILL, TABLE_HEAD_FONT, TABLE_STYLE, TEXT, TIMESHEET_LOOK, TITLE, TOP, TOTAL_LINE,
                   WARN_FILL, WRAP, align, head_align, header_height, output_look, print_setup, text_height)
from .validation import (list_validation, member_validations, messages, setting_validation, staff_validations,
                         timesheet_validations)

SETUP_WIDTHS = (26, 32, 56, 21)


def col(headers, header) -> str:
    return get_column_letter(headers.index(header) + 1)


def table_header(cell, helper: bool = False, kind: str | None = None) -> None:
    cell.font = HELPER_HEAD_FONT if helper else TABLE_HEAD_FONT
    cell.fill = HELPER_HEAD_FILL if helper else TABLE_HEAD_FILL
    cell.alignment = head_align(kind) if kind else HEADER_ALIGN


# -- Setup ---------------------------------------------------------------------------
def setup_sheet(wb, ws, profile: Profile) -> None:
    ws["A1"] = "Setup"
    ws["A1"].font = TITLE
    ws["A2"] = ("Fill in the yellow cells. The close reads each one by its name (column D), "
                "so you may move them, but keep the names.")
    ws["A2"].font = NOTE
    for c, text in enumerate(("Setting", "Value", "What to enter", "Name"), start=1):
        cell = ws.cell(SETUP_FIRST_ROW - 1, c, text)
        cell.font, cell.fill, cell.border = BOLD, HEAD_FILL, BOX
    for letter, w in zip("ABCD", SETUP_WIDTHS):
        ws.column_dimensions[letter].width = w
    in_person = next((c.place_of_service for c in profile.contacts if c.mode == "in_person"), "")
    defaults = {"UnitMinutes": profile.unit_minutes, "FilingLimitDays": profile.filing_limit_days,
                "ApprovalRequired": "No", "DefaultPlaceOfService": in_person, "HealthPlan": profile.plan}
    for i, s in enumerate(C.SETTINGS):
        r = SETUP_FIRST_ROW + i
        label = ws.cell(r, 1, s.label)
        label.font, label.border, label.alignment = BOLD, BOX, WRAP
        value = ws.cell(r, 2, defaults.get(s.name))
        value.fill, value.border = INPUT_FILL, BOX
        value.alignment = Alignment(horizontal="left", vertical="top", wrap_text=True, indent=1)
        value.number_format = {"npi": TEXT, "taxid": TEXT, "pos": TEXT, "dx": TEXT, "month": MONTH_LONG,
                               "int": "0"}.get(s.kind, TEXT if s.name in ("ProviderZip", "ContactPhone") else "General")
        help_text = s.help + (" Needed for the 837P claim file." if s.required_for_837 and s.kind == "text"
                              and s.name not in ("ProviderName", "HealthPlan") else "")
        h = ws.cell(r, 3, help_text)
        h.alignment, h.border, h.font = WRAP, BOX, SMALL
        n = ws.cell(r, 4, s.name)
        n.font, n.border, n.alignment = NOTE, BOX, TOP
        ws.row_dimensions[r].height = max(text_height(help_text, SETUP_WIDTHS[2], size=10),
                                          text_height(str(value.value or ""), SETUP_WIDTHS[1] - 3),
                                          text_height(s.label, SETUP_WIDTHS[0]),
                                          # room for a long name or address typed later (it wraps)
                                          text_height("x " * 40, SETUP_WIDTHS[1] - 3) if s.kind == "text" else 0)
        wb.defined_names[s.name] = DefinedName(s.name, attr_text=f"{C.SETUP}!$B${r}")
        dv = setting_validation(s, f"B{r}")
        ws.add_data_validation(dv)
        dv.add(f"B{r}")
    ws.freeze_panes = f"A{SETUP_FIRST_ROW}"
    ws.sheet_view.showGridLines = False
    last = SETUP_FIRST_ROW + len(C.SETTINGS) - 1
    print_setup(ws, "landscape", area=f"A1:D{last}", title_rows=f"{SETUP_FIRST_ROW - 1}:{SETUP_FIRST_ROW - 1}")


# -- Staff, Members, Timesheet -----------------------------------------------------------
def input_table(ws, name: str, headers, looks: dict, rows: int, formulas: dict | None = None,
                freeze: str = "A2") -> None:
    """An Excel table of header + one styled blank row; formats and alignment cover `rows` rows."""
    formulas = formulas or {}
    last = get_column_letter(len(headers))
    for c, h in enumerate(headers, start=1):
        width, fmt, kind = looks.get(h, (12, None, "text"))
        table_header(ws.cell(1, c, h), helper=h in formulas, kind=kind)
        ws.column_dimensions[get_column_letter(c)].width = width
        if h in formulas:   # the table's one row; Excel extends calculated columns as people type
            cell = ws.cell(2, c, f"={formulas[h]}")
            cell.fill, cell.font = HELPER_FILL, HELPER_FONT
        elif fmt:
            for r in range(3, rows + 2):   # typed rows keep the format and alignment; the row
                below = ws.cell(r, c)      # line comes with the rows the writer adds
                below.number_format, below.alignment = fmt, align(kind)
        first = ws.cell(2, c)   # the row a writer copies onto the rows it adds
        first.number_format = fmt or "General"
        first.border = ROW_LINE
        first.alignment = align(kind)
    table = Table(displayName=name, ref=f"A1:{last}2")
    table.tableStyleInfo = TableStyleInfo(name=TABLE_STYLE, showRowStripes=True)
    table.tableColumns = [
        TableColumn(id=i, name=h, calculatedColumnFormula=TableFormula(attr_text=formulas[h]) if h in formulas else None)
        for i, h in enumerate(headers, start=1)]
    ws.add_table(table)
    ws.row_dimensions[1].height = header_height(headers, [looks.get(h, (12,))[0] for h in headers])
    ws.freeze_panes = freeze
    print_setup(ws, "landscape", columns=f"A:{last}", title_rows="1:1")


def _validate(ws, headers, validations, last_row: int) -> None:
    for dv, header in validations:
        ws.add_data_validation(dv)
        dv.add(f"{col(headers, header)}2:{col(headers, header)}{last_row}")


def staff_sheet(ws) -> None:
    input_table(ws, C.STAFF, C.STAFF_HEADERS, STAFF_LOOK, STAFF_ROWS)
    _validate(ws, C.STAFF_HEADERS, staff_validations(), STAFF_ROWS + 1)


def members_sheet(ws) -> None:
    input_table(ws, C.MEMBERS, C.MEMBER_HEADERS, MEMBER_LOOK, MEMBER_ROWS, freeze="B2")
    _validate(ws, C.MEMBER_HEADERS, member_validations(), MEMBER_ROWS + 1)


def timesheet_sheet(ws) -> None:
    h = TIMESHEET_ALL_HEADERS
    input_table(ws, C.TIMESHEET, h, TIMESHEET_LOOK, TIMESHEET_ROWS, helper_formulas(), freeze="D2")
    last_row = TIMESHEET_ROWS + 1
    _validate(ws, h, timesheet_validations(), last_row)
    check = col(h, CODE_CHECK)
    ws.conditional_formatting.add(
        f"A2:{check}{last_row}",
        FormulaRule(formula=[f'${check}2="{CHECK_DIFFERS}"'], fill=BAD_FILL, font=Font(bold=True, color="9C0006")))


# -- Summary, Claim, Exceptions -----------------------------------------------------------
def output_sheet(ws, name: str, headers=None, print_columns: str | None = None) -> None:
    """An output table: header, one blank row with each column's number format and alignment."""
    headers = headers or C.OUTPUT_TABLES.get(name) or C.RECORD_TABLES.get(name) or C.CYCLE_TABLES[name]
    formats = C.NUMBER_FORMATS.get(name, {})
    for c, h in enumerate(headers, start=1):
        width, kind = output_look(name, h)
        table_header(ws.cell(1, c, h), kind=kind)
        cell = ws.cell(2, c)
        cell.number_format = formats.get(h, "General")
        cell.alignment = align(kind)
        cell.border = ROW_LINE
        ws.column_dimensions[get_column_letter(c)].width = width
    last = get_column_letter(len(headers))
    table = Table(displayName=name, ref=f"A1:{last}2")
    table.tableStyleInfo = TableStyleInfo(name=TABLE_STYLE, showRowStripes=True)
    table.tableColumns = [TableColumn(id=i, name=h) for i, h in enumerate(headers, start=1)]
    ws.add_table(table)
    ws.row_dimensions[1].height = header_height(headers, [output_look(name, h)[0] for h in headers])
    ws.freeze_panes = "A2"
    print_setup(ws, OUTPUT_ORIENTATION.get(name, "landscape"), columns=print_columns or f"A:{last}",
                title_rows="1:1")


BLOCK_TITLE = "Units and charge by code"
BLOCK_HEADERS = ("Code", "Units", "Charge")
BLOCK_WIDTHS = (14, 9, 13)


def summary_block(ws, profile: Profile) -> None:
    """'Units and charge by code' beside the Summary table: SUMIFS per code, a Total of the
    whole Units and Charge columns (so it equals the Summary's and the Claim's totals),
    and a bar chart of the units. It starts below row 1, which prints on every page."""
    h = C.SUMMARY_HEADERS
    units, charge, hcpcs, m1, m2 = (col(h, x) for x in ("Units", "Charge", "HCPCS", "Modifier 1", "Modifier 2"))
    c0, r0 = SUMMARY_BLOCK_COLUMN, SUMMARY_BLOCK_ROW
    letters = [get_column_letter(c0 + i) for i in range(len(BLOCK_HEADERS))]
    ws.cell(r0, c0, BLOCK_TITLE).font = HEADING
    for i, text in enumerate(BLOCK_HEADERS):
        cell = ws.cell(r0 + 1, c0 + i, text)
        cell.font, cell.fill, cell.border = BOLD, HEAD_FILL, BOX
        cell.alignment = head_align("text" if i == 0 else NUMBER)
        ws.column_dimensions[letters[i]].width = BLOCK_WIDTHS[i]
    first = r0 + 2
    for i, code in enumerate(profile.codes):
        r = first + i
        ws.cell(r, c0, code.label).border = BOX
        # "" as a criterion matches blank cells in Excel and LibreOffice alike
        crit = ",".join((f'${hcpcs}:${hcpcs},"{code.hcpcs}"', f'${m1}:${m1},"{code.modifier_1}"',
                         f'${m2}:${m2},"{code.modifier_2}"'))
        for j, (column, fmt) in enumerate(((units, "0"), (charge, C.MONEY_FORMAT)), start=1):
            cell = ws.cell(r, c0 + j, f"=SUMIFS(${column}:${column},{crit})")
            cell.border, cell.number_format = BOX, fmt
    last = first + len(profile.codes) - 1
    total = last + 1
    ws.cell(total, c0, "Total").font = BOLD
    for j, (column, fmt) in enumerate(((units, "0"), (charge, C.MONEY_FORMAT)), start=1):
        cell = ws.cell(total, c0 + j, f"=SUM(${column}:${column})")
        cell.font, cell.number_format = BOLD, fmt
    for j in range(len(BLOCK_HEADERS)):
        ws.cell(total, c0 + j).border = TOTAL_LINE

    chart = BarChart()
    chart.type = "bar"
    chart.style = 10
    chart.title = "Units by code"
    chart.y_axis.title = "Units"
    chart.legend = None
    chart.x_axis.scaling.orientation = "maxMin"     # codes top to bottom, in table order
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.add_data(Reference(ws, min_col=c0 + 1, min_row=r0 + 1, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=c0, min_row=first, max_row=last))
    chart.height, chart.width = 7.5, 6.9       # cm: within the block's three columns, inside the print area
    ws.add_chart(chart, f"{letters[0]}{total + 2}")


def exceptions_colours(ws) -> None:
    h = C.EXCEPTION_HEADERS
    sev, last = col(h, "Severity"), get_column_letter(len(h))
    rng = f"A2:{last}{TIMESHEET_ROWS + 1}"
    ws.conditional_formatting.add(rng, FormulaRule(formula=[f'${sev}2="Error"'], fill=BAD_FILL))
    ws.conditional_formatting.add(rng, FormulaRule(formula=[f'${sev}2="Warning"'], fill=WARN_FILL))


# -- Lists -------------------------------------------------------------------------------
CODES_WIDTHS = (8, 9, 9, 13, 16, 13, 44, 9, 13, 34)


def lists_sheet(wb, ws, profile: Profile) -> None:
    """Side-by-side tables, one empty column between: the code table, activities and every drop-down list."""
    at = 1

    def table(name, headers, rows, widths, formulas=None, formats=None, wrap=()):
        nonlocal at
        formulas, formats = formulas or {}, formats or {}
        for i, h in enumerate(headers):
            table_header(ws.cell(1, at + i, h), helper=h in formulas)
            ws.column_dimensions[get_column_letter(at + i)].width = widths[i]
        for r, values in enumerate(rows, start=2):
            height = 15.0
            for i, h in enumerate(headers):
                if h in formulas:
                    cell = ws.cell(r, at + i, f"={formulas[h]}")
                    cell.fill, cell.font = HELPER_FILL, HELPER_FONT
                else:
                    v = values[i]
                    cell = ws.cell(r, at + i, v if v != "" else None)
                if h in formats:
                    cell.number_format = formats[h]
                cell.alignment = WRAP if h in wrap else TOP
                if h in wrap and cell.value:
                    height = max(height, text_height(str(cell.value), widths[i]))
            if height > 15 and height > (ws.row_dimensions[r].height or 0):
                ws.row_dimensions[r].height = height
        end = get_column_letter(at + len(headers) - 1)
        t = Table(displayName=name, ref=f"{get_column_letter(at)}1:{end}{max(2, len(rows) + 1)}")
        t.tableStyleInfo = TableStyleInfo(name=LIST_STYLE if name != C.CODES else TABLE_STYLE, showRowStripes=True)
        t.tableColumns = [
            TableColumn(id=i, name=h,
                        calculatedColumnFormula=TableFormula(attr_text=formulas[h]) if h in formulas else None)
            for i, h in enumerate(headers, start=1)]
        ws.add_table(t)
        at += len(headers) + 1
        ws.column_dimensions[get_column_letter(at - 1)].width = 3

    code_rows = [(c.hcpcs, c.modifier_1, c.modifier_2, c.staff_type, c.service, c.contact_mode,
                  c.description, c.rate, None, None) for c in profile.codes]
    table(C.CODES, CODES_ALL_HEADERS, code_rows, CODES_WIDTHS,
          formulas=code_formulas(), formats={"Rate": C.MONEY_FORMAT, "HCPCS": TEXT, "Modifier 1": TEXT,
                                             "Modifier 2": TEXT}, wrap=("Description",))
    codes_end = get_column_letter(at - 2)
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
    ws.row_dimensions[1].height = HEADER_HEIGHT
    ws.freeze_panes = "A2"
    # What a clerk prints from Lists is the code table with its rates; the rest feeds drop-downs.
    print_setup(ws, "landscape", columns=f"A:{codes_end}", title_rows="1:1")
    # Activities: "Billable" is a Yes/No drop-down too.
    billable = _col_of(ws, C.ACTIVITIES, "Billable")
    dv = list_validation("YesNoList", "Billable", "No: the time is recorded but never billed.", "Pick Yes or No.")
    ws.add_data_validation(dv)
    dv.add(f"{billable}2:{billable}200")
    rate = _col_of(ws, C.CODES, "Rate")
    dv = messages(DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0"), "Rate",
                  "Your contract rate for one unit of this code.", "Type an amount, e.g. 160.00.")
    ws.add_data_validation(dv)
    dv.add(f"{rate}2:{rate}50")


def _col_of(ws, table_name: str, header: str) -> str:
    t = ws.tables[table_name]
    first = re.match(r"[A-Z]+", t.ref).group(0)
    names = [c.name for c in t.tableColumns]
    return get_column_letter(column_index_from_string(first) + names.index(header))


def _distinct(values) -> list:
    out = []
    for v in values:
        if v and v not in out:
            out.append(v)
    return out

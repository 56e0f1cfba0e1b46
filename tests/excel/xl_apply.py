"""Carry out xlwings remote actions on an openpyxl workbook, the way Excel would.

Test code standing in for the Excel client that receives `book.json()`:
setValues, rangeClearContents, setNumberFormat, resizeTable, activateSheet
and alert. Any other action fails the test, since the Excel layer promises
to send only these.

A setValues or clear that lands on a formula cell fails: the template's
formulas must survive every close. setValues treats text like typed input, as Excel does with values set
through Office.js or COM: in a cell formatted as Text ("@") text stays text;
elsewhere "2026-10-05" becomes a date, "12.5" a number, and a leading
apostrophe marks text (the apostrophe itself is not stored).
"""
from __future__ import annotations

import datetime as dt
import re

from openpyxl.utils.cell import get_column_letter, range_boundaries
from openpyxl.worksheet.table import TableColumn

SUPPORTED = {"setValues", "rangeClearContents", "setNumberFormat", "resizeTable", "activateSheet", "alert"}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def typed(value, number_format: str):
    """What Excel stores when `value` is set into a cell with `number_format`."""
    if value == "" or value is None:
        return None
    if not isinstance(value, str):
        return value
    if value.startswith("'"):
        return value[1:]
    if number_format == "@":
        return value
    if _DATE.match(value):
        return dt.datetime.strptime(value, "%Y-%m-%d")
    if _DATETIME.match(value):
        return dt.datetime.strptime(value, "%Y-%m-%d %H:%M:%S")
    if _NUMBER.match(value):
        f = float(value)
        return int(f) if f.is_integer() and "." not in value else f
    if value.startswith("="):
        raise AssertionError(f"a formula reached Excel: {value!r}")
    return value


def _cells(ws, a):
    """The cells an action covers. Overwriting a formula of the template fails the test:
    formulas live in the template, and the Excel layer must leave them alone."""
    r0, c0 = a["start_row"] + 1, a["start_column"] + 1
    for i in range(a["row_count"]):
        for j in range(a["column_count"]):
            cell = ws.cell(r0 + i, c0 + j)
            if a["func"] != "setNumberFormat" and (cell.data_type == "f" or _is_formula(cell.value)):
                raise AssertionError(f"{a['func']} would overwrite the formula in {ws.title}!{cell.coordinate}")
            yield i, j, cell


def _is_formula(value) -> bool:
    return type(value).__name__ in ("ArrayFormula", "DataTableFormula")


def apply_actions(wb, actions) -> list:
    """Apply the actions to `wb` in order; returns the alert texts."""
    alerts = []
    for a in actions:
        func = a["func"]
        if func not in SUPPORTED:
            raise AssertionError(f"action {func!r} is not one every xlwings client carries out")
        if func == "alert":
            alerts.append(a["args"][0])
            continue
        if func == "activateSheet":
            wb.active = a["args"][0]
            continue
        ws = wb.worksheets[a["sheet_position"]]
        if func == "setValues":
            values = a["values"]
            assert len(values) == a["row_count"] and all(len(r) == a["column_count"] for r in values)
            for i, j, cell in _cells(ws, a):
                cell.value = typed(values[i][j], cell.number_format)
        elif func == "rangeClearContents":
            for _, _, cell in _cells(ws, a):
                cell.value = None
        elif func == "setNumberFormat":
            for _, _, cell in _cells(ws, a):
                cell.number_format = a["args"][0]
        elif func == "resizeTable":
            ix, address = a["args"]
            table = list(ws.tables.values())[ix]
            _resize(ws, table, address.replace("$", ""))
    return alerts


def _resize(ws, table, ref):
    old_c1, old_r1, old_c2, _ = range_boundaries(table.ref)
    c1, r1, c2, r2 = range_boundaries(ref)
    assert (c1, r1) == (old_c1, old_r1), "a table keeps its header row where it is"
    names = [c.name for c in table.tableColumns]
    width = c2 - c1 + 1
    if width < len(names):
        table.tableColumns = table.tableColumns[:width]
    for k in range(len(names), width):
        head = ws.cell(r1, c1 + k).value or f"Column{k + 1}"
        table.tableColumns.append(TableColumn(id=k + 1, name=str(head)))
    table.ref = f"{get_column_letter(c1)}{r1}:{get_column_letter(c2)}{r2}"
    if table.autoFilter is not None:
        table.autoFilter.ref = table.ref

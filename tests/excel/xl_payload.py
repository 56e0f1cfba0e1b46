"""The JSON an xlwings client sends (what `xw.Book(json=...)` takes), built from a real xlsx.

Shaped like the payload of xlwings' Office Scripts client (js/xlwings.ts in
the xlwings wheel): every sheet's values from A1 to its last used cell, dates
and times as ISO text ending in "Z" (the client converts cells whose number
format is a date or time), empty cells as "", numbers as floats, plus the
sheets' tables and the book's defined names. Values are the cached ones
(openpyxl data_only), so formula cells of a file no spreadsheet application
has saved read as blank.
"""
from __future__ import annotations

import copy
import datetime as dt
import os
import re

import openpyxl
from openpyxl.utils.cell import get_column_letter, range_boundaries

EPOCH = dt.datetime(1899, 12, 30)
VISIBILITY = {"visible": "Visible", "hidden": "Hidden", "veryHidden": "VeryHidden"}


def wire_value(v):
    """A cell value as the client puts it on the wire."""
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        return v.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"
    if isinstance(v, dt.date):
        return dt.datetime(v.year, v.month, v.day).isoformat(timespec="milliseconds") + "Z"
    if isinstance(v, dt.time):
        return dt.datetime.combine(EPOCH.date(), v.replace(tzinfo=None)).isoformat(timespec="milliseconds") + "Z"
    if isinstance(v, dt.timedelta):
        return v.total_seconds() / 86400
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return float(v)
    return v


def _address(c1, r1, c2, r2):
    return f"{get_column_letter(c1)}{r1}:{get_column_letter(c2)}{r2}"


def _table(t) -> dict:
    c1, r1, c2, r2 = range_boundaries(t.ref)
    heads = 1 if t.headerRowCount is None else int(t.headerRowCount)
    totals = int(t.totalsRowCount or 0)
    style = t.tableStyleInfo
    return {
        "name": t.displayName or t.name,
        "range_address": _address(c1, r1, c2, r2),
        "header_row_range_address": _address(c1, r1, c2, r1) if heads else None,
        "data_body_range_address": _address(c1, r1 + heads, c2, r2 - totals),
        "total_row_range_address": _address(c1, r2, c2, r2) if totals else None,
        "show_headers": bool(heads),
        "show_totals": bool(totals),
        "table_style": (style.name if style is not None and style.name else ""),
        "show_autofilter": t.autoFilter is not None,
        "row_count": r2 - r1 + 1,
        "column_count": c2 - c1 + 1,
        "columns": [c.name for c in t.tableColumns],
        "show_table_style_first_column": bool(style and style.showFirstColumn),
        "show_table_style_last_column": bool(style and style.showLastColumn),
        "show_table_style_row_stripes": bool(style and style.showRowStripes),
        "show_table_style_column_stripes": bool(style and style.showColumnStripes),
    }


_STRUCTURED = re.compile(r"^([A-Za-z_][\w.]*)\[([^\[\]]+)\]$")


def _destination(dn, tables):
    """(sheet, address) a name refers to, as the client reports it; None for constants."""
    if dn.type != "RANGE":
        return None
    m = _STRUCTURED.match(dn.attr_text.strip())
    if m:  # Table[Column]: the column's data body, as Excel resolves it
        found = tables.get(m.group(1))
        if found is None:
            return None
        sheet, t = found
        c1, r1, c2, r2 = range_boundaries(t.ref)
        names = [c.name for c in t.tableColumns]
        if m.group(2) not in names:
            return None
        col = get_column_letter(c1 + names.index(m.group(2)))
        return sheet, f"{col}{r1 + 1}:{col}{r2}"
    try:
        dests = list(dn.destinations)
    except AttributeError:
        return None
    return dests[0] if len(dests) == 1 else None


def _names(defined, sheet_ix, tables, scope=None, scope_ix=None) -> list:
    out = []
    for name, dn in defined.items():
        if name.startswith("_xlnm.") or dn.hidden:
            continue
        entry = {"name": name, "sheet_index": None, "address": None, "book_scope": scope is None,
                 "scope_sheet_name": scope, "scope_sheet_index": scope_ix, "refers_to": "=" + dn.attr_text}
        dest = _destination(dn, tables)
        if dest is not None and dest[0] in sheet_ix:
            sheet, ref = dest
            entry["sheet_index"] = sheet_ix[sheet]
            entry["address"] = ref.replace("$", "")
        out.append(entry)
    return out


def payload_from_xlsx(path, *, client="Microsoft Office Scripts") -> dict:
    import xlwings

    wb = openpyxl.load_workbook(path, data_only=True)
    sheet_ix = {ws.title: i for i, ws in enumerate(wb.worksheets)}
    tables = {t.displayName: (ws.title, t) for ws in wb.worksheets for t in ws.tables.values()}
    names = _names(wb.defined_names, sheet_ix, tables)
    sheets = []
    for i, ws in enumerate(wb.worksheets):
        names += _names(ws.defined_names, sheet_ix, tables, ws.title, i)
        if ws.max_row == 1 and ws.max_column == 1 and ws["A1"].value is None:
            values, used = [[]], None
        else:
            values = [[wire_value(v) for v in row]
                      for row in ws.iter_rows(min_row=1, max_row=ws.max_row, min_col=1,
                                              max_col=ws.max_column, values_only=True)]
            used = f"A1:{get_column_letter(ws.max_column)}{ws.max_row}"
        sheets.append({"name": ws.title, "visibility": VISIBILITY.get(ws.sheet_state, "Visible"),
                       "values": values, "used_range_address": used, "pictures": [], "shapes": [],
                       "charts": [], "notes": [], "print_area": None,
                       "tables": [_table(t) for t in ws.tables.values()]})
    return {
        "client": client,
        "version": xlwings.__version__,
        "book": {"name": os.path.basename(path), "active_sheet_index": wb.index(wb.active),
                 "selection": "A1"},
        "names": names,
        "sheets": sheets,
    }


def make_book(payload: dict):
    """A fresh remote-engine Book from a payload (the engine mutates what it is given)."""
    import xlwings as xw

    return xw.Book(json=copy.deepcopy(payload))


def actions(book) -> list:
    return book.json()["actions"]

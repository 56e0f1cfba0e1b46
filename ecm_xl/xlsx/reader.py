"""Read a workbook's tables and Setup named cells, headless and fast.

Cell values come from python-calamine, one bulk read per sheet that holds a
table or a Setup cell. Where the tables are and what their headers are comes
from the small XML parts (workbook.xml, relationships, xl/tables/*.xml),
parsed with ElementTree only after `Package` has checked the zip and every
XML prolog.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from operator import itemgetter
from typing import NamedTuple

from .. import contract as C
from ..data import Columns, Table
from .package import Package, WorkbookError, rels_path, resolve

REL_OFFICE_DOC = "/officeDocument"
REL_WORKSHEET = "/worksheet"
REL_TABLE = "/table"


class WorkbookInput(NamedTuple):
    path: str
    setup: dict      # setting defined-name -> cell value (single-cell names that exist)
    tables: dict     # table name -> Table(rows=[{header: value}], first_row=...)
    headers: dict    # table name -> tuple of header texts in column order
    sheets: dict     # table name -> sheet name it lives on


class SheetInfo(NamedTuple):
    name: str
    part: str        # e.g. xl/worksheets/sheet3.xml (None when not a worksheet)
    state: str


class TableInfo(NamedTuple):
    name: str                # displayName, the name Excel shows and formulas use
    part: str                # xl/tables/table1.xml
    sheet: str               # sheet name
    sheet_part: str
    ref: tuple               # (col1, row1, col2, row2), 1-based
    header_rows: int
    totals_rows: int
    headers: tuple
    formulas: dict           # header -> calculatedColumnFormula text
    rid: str                 # relationship id of the table on its sheet

    @property
    def data_top(self) -> int:
        return self.ref[1] + self.header_rows

    @property
    def data_bottom(self) -> int:
        return self.ref[3] - self.totals_rows


class Structure(NamedTuple):
    workbook_part: str
    sheets: list             # of SheetInfo, in workbook order
    names: list              # of (name, local_sheet_id or None, text)
    tables: dict             # name -> TableInfo


# -- small helpers --------------------------------------------------------------
def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def attr(el, name: str):
    """An attribute by local name (relationship ids are namespaced r:id)."""
    v = el.get(name)
    if v is not None:
        return v
    for k, v in el.attrib.items():
        if local(k) == name:
            return v
    return None


_X_ESC = re.compile(r"_x([0-9A-Fa-f]{4})_")


def unescape_ooxml(s: str) -> str:
    return _X_ESC.sub(lambda m: chr(int(m.group(1), 16)), s) if "_x" in s else s


def col_number(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def col_letters(n: int) -> str:
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


_CELL = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d+)$")


def parse_ref(ref: str) -> tuple:
    """'B3:K20' -> (2, 3, 11, 20); 'B3' -> (2, 3, 2, 3)."""
    parts = ref.split(":")
    a = _CELL.match(parts[0].strip())
    b = _CELL.match(parts[-1].strip())
    if not a or not b:
        raise ValueError(ref)
    c1, r1, c2, r2 = col_number(a.group(1)), int(a.group(2)), col_number(b.group(1)), int(b.group(2))
    return (min(c1, c2), min(r1, r2), max(c1, c2), max(r1, r2))


def format_ref(c1, r1, c2, r2) -> str:
    if (c1, r1) == (c2, r2):
        return f"{col_letters(c1)}{r1}"
    return f"{col_letters(c1)}{r1}:{col_letters(c2)}{r2}"


def _xml(pkg: Package, part: str):
    try:
        return ET.fromstring(pkg.read_xml(part))
    except ET.ParseError:
        raise WorkbookError(pkg.path, f"is damaged: part {part} is not well-formed XML") from None


def _rels(pkg: Package, part: str) -> dict:
    """{rId: (type, target part)} of a part; {} when it has none."""
    rp = rels_path(part)
    if not pkg.has(rp):
        return {}
    out = {}
    for el in _xml(pkg, rp):
        if local(el.tag) != "Relationship" or el.get("TargetMode") == "External":
            continue
        out[el.get("Id")] = (el.get("Type") or "", resolve(part, el.get("Target") or ""))
    return out


# -- structure --------------------------------------------------------------------
def read_structure(pkg: Package) -> Structure:
    """Sheets, defined names and tables of a checked package."""
    wb_part = None
    if pkg.has("_rels/.rels"):
        for typ, target in _rels(pkg, "").values():
            if typ.endswith(REL_OFFICE_DOC):
                wb_part = target
                break
    if wb_part is not None and wb_part.endswith(".bin"):
        raise WorkbookError(pkg.path, "is an Excel binary workbook (.xlsb); open it in Excel and "
                                      "save it as .xlsx (Excel Workbook)")
    if wb_part is None or not pkg.has(wb_part):
        if pkg.has("xl/workbook.xml"):
            wb_part = "xl/workbook.xml"
        elif pkg.has("mimetype") and b"opendocument" in pkg.read("mimetype")[:200]:
            raise WorkbookError(pkg.path, "is an OpenDocument spreadsheet (.ods); save it as .xlsx "
                                          "(Excel Workbook) and try again")
        else:
            raise WorkbookError(pkg.path, "is not an Excel workbook: it has no workbook part "
                                          "(xl/workbook.xml)")
    root = _xml(pkg, wb_part)
    wb_rels = _rels(pkg, wb_part)
    sheets, names = [], []
    for el in root.iter():
        tag = local(el.tag)
        if tag == "sheet":
            rid = attr(el, "id")
            typ, target = wb_rels.get(rid, ("", None))
            part = target if typ.endswith(REL_WORKSHEET) else None
            sheets.append(SheetInfo(el.get("name") or "", part, el.get("state") or "visible"))
        elif tag == "definedName":
            lsid = el.get("localSheetId")
            names.append((el.get("name") or "", int(lsid) if lsid and lsid.isdigit() else None,
                          (el.text or "").strip()))
    tables = {}
    for sh in sheets:
        if sh.part is None:
            continue
        if not pkg.has(sh.part):
            raise WorkbookError(pkg.path, f"is damaged: sheet {sh.name!r} is listed but its part "
                                          f"{sh.part} is missing")
        for rid, (typ, target) in _rels(pkg, sh.part).items():
            if not typ.endswith(REL_TABLE):
                continue
            if not pkg.has(target):
                raise WorkbookError(pkg.path, f"is damaged: a table on sheet {sh.name!r} points to "
                                              f"missing part {target}")
            t = _table_info(pkg, target, sh, rid)
            tables[t.name] = t
    return Structure(wb_part, sheets, names, tables)


def _table_info(pkg: Package, part: str, sheet: SheetInfo, rid: str) -> TableInfo:
    root = _xml(pkg, part)
    name = root.get("displayName") or root.get("name") or part
    try:
        ref = parse_ref(root.get("ref") or "")
    except ValueError:
        raise WorkbookError(pkg.path, f"the {name} table has no valid range") from None
    hrc = root.get("headerRowCount")
    trc = root.get("totalsRowCount")
    headers, formulas = [], {}
    for el in root.iter():
        if local(el.tag) == "tableColumn":
            h = unescape_ooxml(el.get("name") or "")
            headers.append(h)
            for sub in el:
                if local(sub.tag) == "calculatedColumnFormula" and sub.text and sub.get("array") != "1":
                    formulas[h] = sub.text
    return TableInfo(name, part, sheet.name, sheet.part, ref,
                     int(hrc) if hrc is not None else 1, int(trc) if trc else 0,
                     tuple(headers), formulas, rid)


_NAME_REF = re.compile(r"^=?(?:'((?:[^']|'')+)'|([^'!]+))!\$?([A-Za-z]{1,3})\$?(\d+)$")


def setup_cells(structure: Structure) -> dict:
    """{setting name: (sheet name, row, col)} for single-cell defined names of SETTINGS."""
    wanted = set(C.SETTING_NAMES)
    out, local_scope = {}, {}
    for name, lsid, text in structure.names:
        if name not in wanted:
            continue
        m = _NAME_REF.match(text)
        if not m:
            continue
        sheet = m.group(1).replace("''", "'") if m.group(1) is not None else m.group(2)
        cell = (sheet, int(m.group(4)), col_number(m.group(3)))
        (out if lsid is None else local_scope).setdefault(name, cell)
    for k, v in local_scope.items():
        out.setdefault(k, v)
    return out


# -- values -----------------------------------------------------------------------
def _load_grids(pkg: Package, sheet_names) -> dict:
    """{sheet name: (grid, start_row0, start_col0)} read by calamine, one bulk read each."""
    try:
        from python_calamine import CalamineWorkbook
    except ImportError as e:  # pragma: no cover - a dependency of the package
        raise RuntimeError("python-calamine is required to read workbooks") from e
    grids = {}
    try:
        wb = CalamineWorkbook.from_path(pkg.path)
        try:
            for name in sheet_names:
                sh = wb.get_sheet_by_name(name)
                grid = sh.to_python(skip_empty_area=True)
                start = sh.start or (0, 0)
                grids[name] = (grid, start[0], start[1]) if grid else ([], 0, 0)
        finally:
            wb.close()
    except WorkbookError:
        raise
    except Exception as e:   # calamine raises its own error types for damaged parts
        what = " ".join(str(e).split())[:160] or type(e).__name__
        raise WorkbookError(pkg.path, f"cannot be read ({what})") from None
    return grids


def _cell(grids, sheet: str, row: int, col: int):
    grid, r0, c0 = grids.get(sheet, ([], 0, 0))
    i, j = row - 1 - r0, col - 1 - c0
    if 0 <= i < len(grid) and 0 <= j < len(grid[i]):
        v = grid[i][j]
        return None if v == "" else v
    return None


def _table_rows(grids, t: TableInfo) -> Columns:
    """The table's data rows, one per Excel row: they read as dicts keyed by
    header ('' read as None) and give the engine whole columns."""
    grid, r0, c0 = grids.get(t.sheet, ([], 0, 0))
    headers = t.headers
    width = len(headers)
    c1 = t.ref[0]
    lpad = max(0, c0 - (c1 - 1))          # table columns left of the grid (all empty there)
    a = max(0, c1 - 1 - c0)
    b = a + width - lpad
    i0, i1 = t.data_top - 1 - r0, t.data_bottom - r0      # grid indices [i0, i1)
    above = min(max(0, -i0), t.data_bottom - t.data_top + 1)
    body = grid[max(i0, 0):max(i1, 0)]
    below = (t.data_bottom - t.data_top + 1) - above - len(body)
    if body and (lpad or min(map(len, body)) < b):
        # the table reaches past the sheet's used cells: pad each row to the table's width
        left = [None] * lpad
        body = [(left + r[a:b] + [None] * width)[:width] for r in body]
    elif body and (a or len(body[0]) > b or max(map(len, body)) > b):
        body = list(map(itemgetter(slice(a, b)), body))
    empty = [None] * width
    return Columns(headers, [empty] * above + body + [empty] * below)


def read_workbook(path, *, required=(C.STAFF, C.MEMBERS, C.TIMESHEET), tables=None) -> WorkbookInput:
    """Every table and Setup named cell of the workbook at `path`.

    tables: the names of the tables whose rows to read (those the workbook has);
    None reads every table. A sheet holding none of them and no Setup cell is not
    read at all, so a close skips the Summary and Claim rows of an earlier close.
    `headers` and `sheets` always cover every table.

    Raises WorkbookError (one line naming the file) for a bad file, a missing
    required table, or a required table missing a header of contract.REQUIRED.
    """
    only = None if tables is None else {tables} if isinstance(tables, str) else set(tables)
    with Package(path) as pkg:
        pkg.check_all_xml()
        st = read_structure(pkg)
        sheet_names = {s.name for s in st.sheets}
        for name in required:
            t = st.tables.get(name)
            if t is None:
                sheet = C.INPUT_SHEETS.get(name, name)
                if sheet not in sheet_names:
                    raise WorkbookError(path, f"has no {sheet} sheet and no table named {name}")
                raise WorkbookError(path, f"the {sheet} sheet has no table named {name} "
                                          "(select the data and use Insert > Table, named "
                                          f"{name})")
            missing = [h for h in C.REQUIRED.get(name, ()) if h not in t.headers]
            if missing:
                cols = ", ".join(repr(h) for h in missing)
                word = "column" if len(missing) == 1 else "columns"
                raise WorkbookError(path, f"the {name} table has no {cols} {word}")
        cells = setup_cells(st)
        cells = {k: v for k, v in cells.items() if v[0] in sheet_names}
        read = [t for name, t in st.tables.items() if only is None or name in only]
        wanted = [s.name for s in st.sheets
                  if s.part and (any(t.sheet == s.name for t in read)
                                 or any(c[0] == s.name for c in cells.values()))]
        grids = _load_grids(pkg, wanted)
    setup = {k: _cell(grids, *v) for k, v in cells.items()}
    rows = {t.name: Table(_table_rows(grids, t), t.data_top) for t in read}
    headers = {name: t.headers for name, t in st.tables.items()}
    sheets = {name: t.sheet for name, t in st.tables.items()}
    return WorkbookInput(str(path), setup, rows, headers, sheets)

"""Read a workbook's tables and Setup named cells, headless and fast.

Cell values come from python-calamine, one bulk read per sheet that holds a
table or a Setup cell. Where the tables are and what their headers are comes
from the small XML parts (workbook.xml, relationships, xl/tables/*.xml),
parsed with ElementTree only after `Package` has checked the zip and every
XML prolog.
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import xml.etree.ElementTree as ET
from operator import itemgetter
from typing import NamedTuple

from .. import contract as C
from ..data import Columns, Table
from .package import MAX_COL, MAX_ROW, Package, WorkbookError, is_xml_part, rels_path, resolve
from .aside import run_beside
from .partcheck import MAX_GRID_CELLS

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
    a = _CELL.match(parts[0])        # no spaces: Excel writes none, and other readers refuse them
    b = _CELL.match(parts[-1])
    if not a or not b:
        raise ValueError(ref)
    if max(len(a.group(2)), len(b.group(2))) > 7:
        raise ValueError(ref)
    c1, r1, c2, r2 = col_number(a.group(1)), int(a.group(2)), col_number(b.group(1)), int(b.group(2))
    if not (0 < r1 <= MAX_ROW and 0 < r2 <= MAX_ROW and c1 <= MAX_COL and c2 <= MAX_COL):
        raise ValueError(ref)
    return (min(c1, c2), min(r1, r2), max(c1, c2), max(r1, r2))


def format_ref(c1, r1, c2, r2) -> str:
    if (c1, r1) == (c2, r2):
        return f"{col_letters(c1)}{r1}"
    return f"{col_letters(c1)}{r1}:{col_letters(c2)}{r2}"


def _xml(pkg: Package, part: str):
    try:
        return ET.fromstring(pkg.read_xml(part))
    except (ET.ParseError, ValueError, LookupError):
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
    """Sheets, defined names and tables of a checked package (read once per package:
    its views share it, as they share the bytes)."""
    got = pkg.flags.get("structure")
    if got is None:
        got = pkg.flags["structure"] = _read_structure(pkg)
    return got


def _read_structure(pkg: Package) -> Structure:
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
    check_names(pkg, root, wb_part)
    wb_rels = _rels(pkg, wb_part)
    sheets, names, sheet_els = [], [], []
    for el in root.iter():
        tag = local(el.tag)
        if tag == "sheet":
            rid = attr(el, "id")
            typ, target = wb_rels.get(rid, ("", None))
            part = target if typ.endswith(REL_WORKSHEET) else None
            sheets.append(SheetInfo(el.get("name") or "", part, el.get("state") or "visible"))
            sheet_els.append(el)
        elif tag == "definedName":
            lsid = el.get("localSheetId")
            names.append((el.get("name") or "", int(lsid) if lsid and lsid.isdigit() else None,
                          (el.text or "").strip()))
    types = content_types(pkg)
    _need_type(pkg, types, wb_part, "workbook")
    seen = {}
    for el, sh in zip(sheet_els, sheets):
        folded = sh.name.casefold()
        if folded in seen:
            raise WorkbookError(pkg.path, f"is damaged: two sheets are named {sh.name!r}; Excel allows "
                                          "one, so rename one of them in Excel and save")
        seen[folded] = sh
        rid = attr(el, "id")
        if rid not in wb_rels:
            raise WorkbookError(pkg.path, f"is damaged: sheet {sh.name!r} has lost its link to its part")
    for el, sh in zip(sheet_els, sheets):
        typ, target = wb_rels[attr(el, "id")]
        kind = typ.rsplit("/", 1)[-1].lower()
        if sh.part is None and target and pkg.has(target) \
                and kind not in _need_type(pkg, types, target, f"sheet {sh.name!r}").lower():
            raise WorkbookError(pkg.path, f"is damaged: sheet {sh.name!r} is linked as a {kind} but its "
                                          f"part {target} is not one")
    tables = {}
    for sh in sheets:
        if sh.part is None:
            continue
        if not pkg.has(sh.part):
            raise WorkbookError(pkg.path, f"is damaged: sheet {sh.name!r} is listed but its part "
                                          f"{sh.part} is missing")
        if "worksheet" not in _need_type(pkg, types, sh.part, f"sheet {sh.name!r}").lower():
            raise WorkbookError(pkg.path, f"is damaged: sheet {sh.name!r} is linked as a worksheet but "
                                          f"its part {sh.part} is not one")
        sheet_rels = _rels(pkg, sh.part)
        for rid, (typ, target) in sheet_rels.items():
            if not typ.endswith(REL_TABLE):
                continue
            if not pkg.has(target):
                raise WorkbookError(pkg.path, f"is damaged: a table on sheet {sh.name!r} points to "
                                              f"missing part {target}")
            _need_type(pkg, types, target, f"a table on sheet {sh.name!r}")
            t = _table_info(pkg, target, sh, rid)
            if t.name.casefold() in {n.casefold() for n in tables}:
                raise WorkbookError(pkg.path, f"is damaged: two tables are named {t.name!r}")
            tables[t.name] = t
    return Structure(wb_part, sheets, names, tables)


def rel_ids(pkg: Package, part: str) -> set:
    """Every relationship id of a part (external links too)."""
    rp = rels_path(part)
    if not pkg.has(rp):
        return set()
    return {el.get("Id") for el in _xml(pkg, rp) if local(el.tag) == "Relationship"}


def check_package(pkg: Package, structure: Structure):
    """Every XML part checked whole (`Package.check_all_xml`) and every link resolved
    (`check_links`): what a command does before it trusts or rewrites a workbook."""
    if settle(pkg):             # checked already, or by a check left running beside a read
        return
    pkg.check_all_xml()
    check_links(pkg, structure)
    pkg.flags["checked"] = True


def settle(pkg: Package) -> bool:
    """Wait for a whole-package check still running beside an earlier read
    (`read_workbook(..., settle_later=True)`): raises its WorkbookError, or says True
    when the package is checked. False when no check was left running."""
    pending = pkg.flags.pop("pending", None)
    if pending is None:
        return bool(pkg.flags.get("checked"))
    pending()
    pkg.flags["checked"] = True
    return True


def check_links(pkg: Package, structure: Structure | None = None):
    """Every r:id an XML part uses (images, charts, tables) is in its relationships part."""
    sheet_of = {s.part: s.name for s in structure.sheets if s.part} if structure else {}
    for name in pkg.infos:
        if not is_xml_part(name) or name.endswith(".rels"):
            continue
        rids = pkg.scan(name).rids
        missing = rids - rel_ids(pkg, name) if rids else ()
        if missing and name in sheet_of:
            raise WorkbookError(pkg.path, f"is damaged: sheet {sheet_of[name]!r} refers to {len(missing)} "
                                          "link(s) (tables, drawings) that its relationships part lacks")
        if missing:
            raise WorkbookError(pkg.path, f"is damaged: part {name} refers to links (images, charts, "
                                          "tables) that its relationships part lacks")
        if pkg.has(rels_path(name)):
            for typ, target in _rels(pkg, name).values():
                if target and not pkg.has(target) and not typ.endswith("/hyperlink"):
                    raise WorkbookError(pkg.path, f"is damaged: part {name} links to part {target}, "
                                                  "which is missing")


def check_names(pkg: Package, root, part: str):
    """Attribute and element names as SpreadsheetML writes them (camelCase, lower first):
    a part whose names lost their case is one Excel and other readers refuse."""
    for el in root.iter():
        tag = local(el.tag)
        if el.tag.startswith("{") and "spreadsheetml" not in el.tag:
            continue
        if tag[:1].isupper():
            raise WorkbookError(pkg.path, f"is damaged: part {part} has an element Excel does not know "
                                          f"({tag[:40]!r})")
        for k in el.attrib:
            if not k.startswith("{") and k[:1].isupper():
                raise WorkbookError(pkg.path, f"is damaged: part {part} has an attribute Excel does not "
                                              f"know ({k[:40]!r})")


def content_types(pkg: Package) -> tuple:
    """({extension: type}, {part: type}) from [Content_Types].xml; refused when it is missing."""
    name = "[Content_Types].xml"
    if not pkg.has(name):
        raise WorkbookError(pkg.path, "is damaged: it has no [Content_Types].xml, the list of what "
                                      "each part is (Excel will not open it either)")
    defaults, overrides = {}, {}
    for el in _xml(pkg, name):
        tag = local(el.tag)
        if tag == "Default":
            defaults[(el.get("Extension") or "").lower()] = el.get("ContentType") or ""
        elif tag == "Override":
            overrides[(el.get("PartName") or "").lstrip("/").lower()] = el.get("ContentType") or ""
    return defaults, overrides


def _need_type(pkg: Package, types: tuple, part: str, what: str) -> str:
    defaults, overrides = types
    typ = overrides.get(part.lower()) or defaults.get(part.rsplit(".", 1)[-1].lower())
    if not typ:
        raise WorkbookError(pkg.path, f"is damaged: [Content_Types].xml does not say what part {part} "
                                      f"({what}) is")
    return typ


def _table_info(pkg: Package, part: str, sheet: SheetInfo, rid: str) -> TableInfo:
    root = _xml(pkg, part)
    name = root.get("displayName") or root.get("name") or part
    if local(root.tag) != "table":
        raise WorkbookError(pkg.path, f"is damaged: table part {part} holds no table")
    check_names(pkg, root, part)
    for el in root.iter():
        if local(el.tag) == "tableColumn" and (not el.get("id") or el.get("name") is None):
            raise WorkbookError(pkg.path, f"is damaged: a column of the {name} table has no id or name")
    try:
        ref = parse_ref(root.get("ref") or "")
    except ValueError:
        raise WorkbookError(pkg.path, f"the {name} table has no valid range (it says "
                                      f"{(root.get('ref') or 'nothing')[:24]!r}); the workbook is damaged") from None
    hrc = _count_attr(pkg, root, "headerRowCount", 1, name)
    trc = _count_attr(pkg, root, "totalsRowCount", 0, name)
    headers, formulas = [], {}
    for el in root.iter():
        if local(el.tag) == "tableColumn":
            h = unescape_ooxml(el.get("name") or "")
            headers.append(h)
            for sub in el:
                if local(sub.tag) == "calculatedColumnFormula" and sub.text and sub.get("array") != "1":
                    formulas[h] = sub.text
    width = ref[2] - ref[0] + 1
    if len(headers) != width:
        raise WorkbookError(pkg.path, f"is damaged: the {name} table lists {len(headers)} columns but "
                                      f"its range {format_ref(*ref)} is {width} wide, so every column "
                                      "after the gap would be misread")
    if len({fold_header(h) for h in headers}) != len(headers):
        raise WorkbookError(pkg.path, f"is damaged: the {name} table has two columns with one name")
    if ref[1] + hrc > ref[3] - trc + 1:
        raise WorkbookError(pkg.path, f"is damaged: the {name} table's range {format_ref(*ref)} is "
                                      "shorter than its header and totals rows")
    return TableInfo(name, part, sheet.name, sheet.part, ref, hrc, trc,
                     tuple(headers), formulas, rid)


def fold_header(h: str) -> str:
    return " ".join(h.split()).casefold()


def _count_attr(pkg: Package, root, attr_name: str, default: int, table: str) -> int:
    """headerRowCount / totalsRowCount: 0 or 1 as Excel writes them (absent: default)."""
    v = root.get(attr_name)
    if v is None:
        return default
    if v.strip() not in ("0", "1"):
        raise WorkbookError(pkg.path, f"is damaged: the {table} table's {attr_name} is not 0 or 1")
    return int(v)


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
# A sheet's cells must fit a grid of MAX_GRID_CELLS (or be at least a quarter full): a stray
# cell at XFD1048576 would make the reader allocate 17 billion cells (512 GiB) and abort.
MAX_BLANK_TAIL = 10_000      # blank table rows kept past a sheet's last cell


def check_extent(pkg: Package, sheet: SheetInfo):
    """Refuse a sheet whose cells reach so far that reading it would exhaust memory."""
    scan = pkg.extent(sheet.part)
    area = scan.max_row * scan.max_col
    if area > MAX_GRID_CELLS and area > 4 * scan.cells:
        raise WorkbookError(pkg.path, f"sheet {sheet.name!r} has a cell at {scan.far or 'the far end'}, "
                                      f"far beyond its {scan.cells:,} cells; reading it would take "
                                      f"{area / 1e6:,.0f} million cells. Delete the rows and columns "
                                      "past your data in Excel and save")


@contextlib.contextmanager
def _native_stderr_muted():
    """Keep a native library's panic text (a Rust backtrace) off the terminal: a failure
    is reported as one line naming the file instead."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _load_grids(pkg: Package, sheets, structure: Structure | None = None, settle_later: bool = False) -> dict:
    """{sheet name: (grid, start_row0, start_col0)} read by calamine, one bulk read each,
    from the bytes already read (never the file again).

    Each sheet's reach is checked first (`check_extent`). With `structure`, the
    whole package is checked (`check_package`) at the same time as calamine
    reads, on the other CPU (see `aside`); a damaged package is reported before
    anything calamine says.

    Every failure inside calamine, a Rust panic included (it is a BaseException),
    is one line naming the file and sheet; calamine's own words are not shown,
    as they may quote a cell."""
    try:
        from python_calamine import CalamineWorkbook
    except ImportError as e:  # pragma: no cover - a dependency of the package
        raise RuntimeError("python-calamine is required to read workbooks") from e
    for sheet in sheets:
        check_extent(pkg, sheet)
    where = {"sheet": None}

    def read():
        grids = {}
        wb = CalamineWorkbook.from_filelike(io.BytesIO(pkg.data))
        try:
            for sheet in sheets:
                where["sheet"] = sheet.name
                sh = wb.get_sheet_by_name(sheet.name)
                grid = sh.to_python(skip_empty_area=True)
                start = sh.start or (0, 0)
                grids[sheet.name] = (grid, start[0], start[1]) if grid else ([], 0, 0)
        finally:
            wb.close()
        return grids

    try:
        with _native_stderr_muted():
            if structure is None or pkg.flags.get("checked"):
                return read()
            later = [] if settle_later else None
            grids = run_beside(lambda: check_package(pkg, structure), read, pkg.xml_size(), later)
            if later:
                pkg.flags["pending"] = later[0]
            else:
                pkg.flags["checked"] = True
            return grids
    except (WorkbookError, KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except BaseException as e:   # calamine's errors, and its panics (pyo3 PanicException)
        at = f"sheet {where['sheet']!r}" if where["sheet"] else "it"
        kind = "stopped on a value it cannot hold (a date or number out of range)" \
            if type(e).__name__ == "PanicException" else "found a cell it cannot read"
        raise WorkbookError(pkg.path, f"cannot be read: the spreadsheet reader {kind} in {at}; "
                                      "open the workbook in Excel, check that sheet and save") from None


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
    # Rows past the sheet's last cell are blank: at most MAX_BLANK_TAIL of them are made, so
    # a table reaching row 1,048,576 over 400 rows of data costs no more than a small one.
    below = min(MAX_BLANK_TAIL, (t.data_bottom - t.data_top + 1) - above - len(body))
    if body and (lpad or min(map(len, body)) < b):
        # the table reaches past the sheet's used cells: pad each row to the table's width
        left = [None] * lpad
        body = [(left + r[a:b] + [None] * width)[:width] for r in body]
    elif body and (a or len(body[0]) > b or max(map(len, body)) > b):
        body = list(map(itemgetter(slice(a, b)), body))
    empty = [None] * width
    return Columns(headers, [empty] * above + body + [empty] * below)


def read_workbook(path, *, required=(C.STAFF, C.MEMBERS, C.TIMESHEET), tables=None,
                  whole: bool = True, settle_later: bool = False) -> WorkbookInput:
    """Every table and Setup named cell of the workbook at `path`.

    tables: the names of the tables whose rows to read (those the workbook has);
    None reads every table. A sheet holding none of them and no Setup cell is not
    read at all, so a close skips the Summary and Claim rows of an earlier close.
    `headers` and `sheets` always cover every table.

    whole=False leaves out the check of the whole package (every part, every
    link): only the structure and the sheets read are checked. It is for a
    look ahead that decides nothing about money (which workbooks a batch
    closes together); the command that then reads the workbook checks it whole.

    settle_later=True (with `path` a Package the caller keeps open): a check of
    the whole package still running in a child process when the sheets are read
    is left running; the caller calls `settle(pkg)` before it writes or reports
    anything (`write_tables` does), so the engine can bill meanwhile.

    Raises WorkbookError (one line naming the file) for a bad file, a missing
    required table, or a required table missing a header of contract.REQUIRED.
    """
    only = None if tables is None else {tables} if isinstance(tables, str) else set(tables)
    with Package(path) as pkg:
        st = read_structure(pkg)      # what the package is (a workbook at all) comes first
        sheet_names = {s.name for s in st.sheets}
        for name in required:
            t = st.tables.get(name)
            if t is None:
                check_package(pkg, st)    # damage (a lost link) explains a missing table best
                sheet = C.INPUT_SHEETS.get(name, C.LISTS if name == C.CODES else name)
                if sheet not in sheet_names:
                    raise WorkbookError(pkg.path, f"has no {sheet} sheet and no table named {name}"
                                        + _RENAMED.get(name, ""))
                raise WorkbookError(pkg.path, f"the {sheet} sheet has no table named {name} "
                                              "(select the data and use Insert > Table, named "
                                              f"{name})" + _RENAMED.get(name, ""))
            missing = [h for h in C.REQUIRED.get(name, ()) if h not in t.headers]
            if missing:
                cols = ", ".join(repr(h) for h in missing)
                word = "column" if len(missing) == 1 else "columns"
                raise WorkbookError(pkg.path, f"the {name} table has no {cols} {word}")
        cells = setup_cells(st)
        cells = {k: v for k, v in cells.items() if v[0] in sheet_names}
        read = [t for name, t in st.tables.items() if only is None or name in only]
        wanted = [s for s in st.sheets
                  if s.part and (any(t.sheet == s.name for t in read)
                                 or any(c[0] == s.name for c in cells.values()))]
        grids = _load_grids(pkg, wanted, st if whole else None, settle_later)
        for t in read:
            _check_header_row(pkg, grids, t)
    setup = {k: _cell(grids, *v) for k, v in cells.items()}
    rows = {t.name: Table(_table_rows(grids, t), t.data_top) for t in read}
    headers = {name: t.headers for name, t in st.tables.items()}
    sheets = {name: t.sheet for name, t in st.tables.items()}
    return WorkbookInput(str(pkg.path), setup, rows, headers, sheets)


_RENAMED = {C.CODES: "; it holds your contract rates, and without it nothing is priced. If it was "
                     "renamed in Excel, name it Codes again (Table Design > Table Name)"}


def _check_header_row(pkg: Package, grids, t: TableInfo):
    """The table's header cells must read as its column names (Excel keeps them equal).

    When they don't, the cells did not read as the table says they lie (a part in
    an encoding the reader misreads, a sheet mixed up with another), and the
    rows would be wrong or missing: refused rather than read as an empty month."""
    if t.header_rows != 1:
        return
    row = t.ref[1]
    got = [_cell(grids, t.sheet, row, t.ref[0] + j) for j in range(len(t.headers))]
    if all(v is None for v in got) and not any(h.strip() for h in t.headers):
        return
    for j, (h, v) in enumerate(zip(t.headers, got)):
        if v is None and not h.strip():
            continue
        text = v if isinstance(v, str) else ("" if v is None else str(v))
        if fold_header(text) != fold_header(h) and not (isinstance(v, float) and _same_number(h, v)):
            cell = f"{col_letters(t.ref[0] + j)}{row}"
            raise WorkbookError(pkg.path, f"the {t.name} table's header cell {cell} on sheet {t.sheet!r} "
                                          f"does not read as its column {h!r}: the sheet's cells did not "
                                          "read as the table says; open the workbook in Excel and save it")


def _same_number(h: str, v: float) -> bool:
    try:
        return float(h) == v
    except ValueError:
        return False

"""Checking one XML part of a workbook as it inflates, before anything trusts it.

`scan_part` reads a part in pieces (never whole) and refuses, in one line naming
the file and part: a DOCTYPE or ENTITY (an entity bomb), an encoding other than
UTF-8 (by name), XML that is not well-formed (expat, with namespaces, as Excel
reads it), an element or attribute name whose case is wrong, a cell or row
outside Excel's grid, and a number, date or true/false cell whose value is not
one. It says how far the part's cells reach (`PartScan`), which is what keeps a
reader from allocating a grid for a stray cell at XFD1048576.

`extent_only=True` does only the prolog, encoding and reach checks: the part a
spreadsheet reader is about to read needs them first; the rest can run while
that reader works.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from typing import NamedTuple
from xml.parsers import expat

from .errors import WorkbookError

PROLOG_LIMIT = 64 * 1024           # bytes of XML read before the root element must start
SCAN_CHUNK = 1 << 20               # XML parts are checked in pieces this big, never whole
MAX_ROW, MAX_COL = 1_048_576, 16_384      # Excel's grid: XFD1048576 is its last cell


class PartScan(NamedTuple):
    """What checking one XML part found (see scan_part)."""
    max_row: int            # highest row a cell or row element claims (0: none)
    max_col: int            # highest column a cell claims (at least 26 once it has cells)
    far: str                # the cell reference that reaches furthest, for messages
    cells: int              # how many cells it holds
    rids: frozenset         # relationship ids it refers to (r:id="...")



def is_xml_part(name: str) -> bool:
    # VML (legacy drawings for comments) is not XML Excel keeps well-formed: its prolog is checked only.
    return name.lower().endswith((".xml", ".rels"))


# Excel writes every cell as <c r="B5" ...> and every row as <row r="5" ...>: these
# find the few cells that reach past column Z or row 99,999 without looking at the rest.
_ROW_R = re.compile(rb'<row r="(\d+)"')
_FAR_CELL = re.compile(rb'<c r="([A-Za-z]{2,}|[A-Za-z](?=\d{6}))(\d*)"')
# Before a reader reads a sheet, only its reach matters: a piece of XML in which every
# cell starts <c r="A1".."Z99999" and every row <row r="1".."99999" reaches no further
# than Z99999, whatever else it holds; one regex pass each says so (see _near_only).
_CELL_NOT_NEAR = re.compile(rb'<c(?=[\s>/])(?! r="[A-Z][1-9][0-9]{0,4}")')
_ROW_NOT_NEAR = re.compile(rb'<row(?=[\s>/])(?! r="[1-9][0-9]{0,4}")')
_PREFIXED_CELL = re.compile(rb':(?:c|row)[\s>/]')
NEAR_ROWS, NEAR_COLS = 99_999, 26
MAX_GRID_CELLS = 5_000_000         # a sheet read must fit a grid this big (or be a quarter full)
_ANY_ROW = re.compile(rb'<(?:[\w.-]+:)?row\b[^>]*?\sr\s*=\s*["\']([^"\']*)')
_ANY_CELL = re.compile(rb'<(?:[\w.-]+:)?c\b[^>]*?\sr\s*=\s*["\']([A-Za-z]*)(\d*)')
# SpreadsheetML names start lower case: an unprefixed element, or an attribute of an
# unprefixed element, starting upper case is a damaged name (mc:Choice Requires= is prefixed).
# Looked for in a copy whose capitals are all "A", whitespace " " and quotes '"', so each
# pattern starts with a literal and the search runs at memchr speed; a hit is then checked
# to lie inside a tag of an unprefixed element (text and formulas may say " A1=").
_FOLD_NAMES = bytes.maketrans(bytes(range(65, 91)) + b"\t\r\n'", b"A" * 26 + b'   "')
_UPPER_ATTRS = (re.compile(rb' A[\w.-]* *= *"'), re.compile(rb'"A[\w.-]* *= *"'))
_PLAIN_TAG = re.compile(rb'<[a-z][\w.-]*\s')
_RID = re.compile(rb' r:(?:id|embed|link|pict)="([^"]*)"')
# A value with more than digits, sign, point and exponent; its cell's type says if that is wrong.
# (A plain number with a 3-digit exponent is looked at too: 1e309 overflows to infinity.)
_ODD_VALUE = re.compile(rb'<v>(?:[0-9.eE+\-]*[^0-9.eE+\-<][^<]*|[0-9.+\-]*[eE]\+?0*[0-9]{3,}|[0-9.]+-[^<]*)</v>')
_CELL_TAG = re.compile(rb'<(?:[\w.-]+:)?c\b([^>]*)>\s*(?:<(?:[\w.-]+:)?f\b[^>]*(?:/>|>[^<]*</(?:[\w.-]+:)?f>)\s*)?$')
_ATTR_R = re.compile(rb'\sr\s*=\s*["\']([^"\']*)')
_ATTR_T = re.compile(rb'\st\s*=\s*["\']([^"\']*)')


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
    return n


class _ScanState:
    def __init__(self):
        self.max_row = 0
        self.max_col = 0
        self.far = ""
        self.cells = 0
        self.rows = 0
        self.rids = set()
        self.near = False       # some piece was only bounded (rows <= NEAR_ROWS), not counted
        self.irregular = False  # some piece placed cells or rows by position (no r="...")

    def _cell(self, path, part, letters: bytes, digits: bytes):
        row = int(digits) if digits and len(digits) < 12 else (MAX_ROW + 1 if digits else 0)
        col = _col_number(letters) if len(letters) <= 4 else MAX_COL + 1
        if col > MAX_COL or row > MAX_ROW:
            ref = (letters + digits)[:16].decode("ascii", "replace")
            raise WorkbookError(path, f"is damaged: part {part} has a cell at {ref}, outside Excel's grid "
                                      "(XFD1048576 is the last cell)")
        if row > self.max_row or col > self.max_col:
            self.far = (letters + digits).decode("ascii").upper()
        self.max_row = max(self.max_row, row)
        self.max_col = max(self.max_col, col)

    def feed(self, path, part, text: bytes, extent_only: bool = False, quick: bool = False,
             reach: PartScan | None = None):
        if not text:
            return
        if not extent_only:
            self.rids.update(m.decode("utf-8", "replace") for m in _RID.findall(text))
        if reach is not None:           # how far its cells reach is known (see scan_part)
            grid = b"<c" in text or b"<row" in text or b":c " in text or b":row" in text
            if grid and _ROW_NOT_NEAR.search(text) is not None:
                self._reach(path, part, text)      # the rows' own numbers: inside the grid?
        elif quick and _near_only(text, rows=not extent_only):
            cells, rows = b'<c r="' in text, b'<row r="' in text
            if cells:
                self.max_col = max(self.max_col, NEAR_COLS)
            self.near = self.near or rows
            grid = cells or rows
        else:
            grid = self._reach(path, part, text)
        if extent_only or not grid:      # values and names are checked where cells are
            return
        for m in _ODD_VALUE.finditer(text):
            _check_value(path, part, text, m)
        if _odd_name(text):
            raise WorkbookError(path, f"is damaged: part {part} has an element or attribute name Excel does "
                                      "not know (its letters' case is wrong)")

    def _reach(self, path, part, text: bytes) -> bool:
        """Count the cells and rows of a piece and find how far they reach (False: none)."""
        n_cells = text.count(b"<c ") + text.count(b"<c>")
        n_rows = text.count(b"<row ") + text.count(b"<row>")
        if not n_cells and not n_rows and b":c " not in text and b":row" not in text:
            return False
        self.cells += n_cells
        self.rows += n_rows
        regular = (n_cells == text.count(b'<c r="') and n_rows == text.count(b'<row r="')
                   and b":c " not in text and b":row " not in text)
        if regular:
            for digits in _ROW_R.findall(text):
                self._row(path, part, digits)
            for letters, digits in _FAR_CELL.findall(text):
                self._cell(path, part, letters, digits)
            if n_cells:
                # Columns up to Z and rows up to 99,999 are not looked at: cells there can
                # reach no further than Z99999, which a reader holds in a few MB.
                self.max_col = max(self.max_col, 26)
        else:   # another writer's XML (prefixes, attribute order, cells without r): look at each
            self.irregular = True
            for digits in _ANY_ROW.findall(text):
                self._row(path, part, digits)
            for letters, digits in _ANY_CELL.findall(text):
                if not letters or not digits:
                    continue       # placed by position; counted below
                self._cell(path, part, letters, digits)
            self.cells += text.count(b":c ") + text.count(b":c>")
            self.max_col = max(self.max_col, 26, n_cells)   # cells without r sit side by side
            self.max_row = max(self.max_row, self.rows)
        return True

    def _row(self, path, part, digits: bytes):
        if not digits.isdigit() or len(digits) > 11 or not 0 < int(digits) <= MAX_ROW:
            what = "beyond Excel's last row, 1048576" if digits.isdigit() and int(digits[:12]) else \
                "with something that is not a row number"
            raise WorkbookError(path, f"is damaged: part {part} numbers a row {what}")
        n = int(digits)
        if n > self.max_row:
            self.max_row = n

    def result(self) -> PartScan:
        rows = max(self.max_row, NEAR_ROWS) if self.near else self.max_row
        return PartScan(rows, self.max_col, self.far, self.cells, frozenset(self.rids))


def _near_only(text: bytes, rows: bool = True) -> bool:
    """No cell (and, with rows, no row) in this piece reaches past Z99999 or is placed by
    position. For the reach alone the rows' own numbers don't matter: a reader places
    a cell that carries r="..." by that reference (a cell without one is not near)."""
    return (_CELL_NOT_NEAR.search(text) is None and _PREFIXED_CELL.search(text) is None
            and (not rows or _ROW_NOT_NEAR.search(text) is None))


def _check_value(path, part, text: bytes, m):
    """A <v> holding more than a plain number: wrong only in a number, true/false or date cell."""
    start = text.rfind(b"<", 0, m.start())
    start = text.rfind(b"<", 0, start) if text.startswith(b"</", start) else start   # after </f>
    while start > 0 and not re.match(rb"<(?:[\w.-]+:)?c\b", text[start:start + 40]):
        start = text.rfind(b"<", 0, start)
        if m.start() - start > 70_000:         # no cell tag near: not a cell's value
            return
    tag = _CELL_TAG.match(text, start, m.start())
    if start < 0 or tag is None:
        return
    t = _ATTR_T.search(tag.group(1))
    kind = t.group(1) if t else b"n"
    if kind not in (b"n", b"b", b"d"):
        return                                 # text, shared string, error or formula text
    r = _ATTR_R.search(tag.group(1))
    ref = r.group(1)[:16].decode("ascii", "replace").upper() if r else "?"
    value = m.group(0)[3:-4].decode("utf-8", "replace").strip()
    if kind == b"d":
        try:
            dt.datetime.fromisoformat(value)
            return
        except ValueError:
            what = "a date cell whose value is not a date"
    elif kind == b"b":
        what = "a true/false cell whose value is neither"
    else:
        try:
            if math.isfinite(float(value)):
                return
            what = "a number cell whose value is not a finite number"
        except ValueError:
            what = "a number cell whose value is not a number"
    raise WorkbookError(path, f"is damaged: part {part}, cell {ref}, is {what} (Excel never writes one); "
                              "open the workbook in Excel, retype that cell and save")


def _odd_name(text: bytes) -> bool:
    """An unprefixed element or attribute whose name starts with a capital (see _FOLD_NAMES)."""
    folded = text.translate(_FOLD_NAMES)
    if folded.find(b"<A") >= 0:       # '<' is never raw in text: this is a tag
        return True
    for rx in _UPPER_ATTRS:
        for m in rx.finditer(folded):
            lt = text.rfind(b"<", 0, m.start())
            if lt >= 0 and text.find(b">", lt, m.start()) < 0 and _PLAIN_TAG.match(text, lt):
                return True
    return False


def scan_part(path, name: str, open_part, *, extent_only: bool = False,
              reach: PartScan | None = None) -> PartScan:
    """Check one XML part, read in pieces from `open_part()` (a fresh file object each
    call), as the module's doc says.

    extent_only: only the prolog, the encoding and how far the cells reach (the
    rest, `rids` included, is left empty). Pieces that reach no further than
    Z99999 are only bounded, not counted; when that bound is not enough to show
    the part fits MAX_GRID_CELLS (or other pieces place rows by position), the
    part is read again and counted.
    reach: the part's extent_only result, when known: its reach is not sought again.
    """
    with open_part() as f:
        state = _scan_part(path, name, f, extent_only, True, reach)
    if reach is not None:
        return reach._replace(rids=frozenset(state.rids))
    result = state.result()
    if state.near and (state.irregular or result.max_row * result.max_col > MAX_GRID_CELLS):
        with open_part() as f:
            result = _scan_part(path, name, f, extent_only, False).result()
    return result


def _scan_part(path, name: str, f, extent_only: bool, quick: bool, reach=None) -> _ScanState:
    parser = None if extent_only else expat.ParserCreate(namespace_separator=" ")
    state = _ScanState()
    carry = b""
    first = True
    try:
        while True:
            chunk = f.read(SCAN_CHUNK)
            if first:
                check_prolog(path, name, chunk, complete=len(chunk) < SCAN_CHUNK)
                check_encoding(path, name, chunk)
                first = False
            if not chunk:
                break
            if parser is not None:
                parser.Parse(chunk, False)
            text = carry + chunk
            cut = text.rfind(b">") + 1
            state.feed(path, name, text[:cut], extent_only, quick, reach)
            carry = text[cut:]
            if len(carry) > SCAN_CHUNK:      # a text node this long holds no tags
                carry = carry[-256:]
        if parser is not None:
            parser.Parse(b"", True)
    except expat.ExpatError as e:
        raise WorkbookError(path, f"is damaged: part {name} is not well-formed XML "
                                  f"(line {e.lineno}: {expat.ErrorString(e.code)})") from None
    return state


_DECL_ENCODING = re.compile(rb'^\s*<\?xml[^>]*?\sencoding\s*=\s*["\']([^"\']*)["\']')
UTF8_NAMES = {"utf-8", "utf8", "us-ascii", "ascii"}


def check_encoding(path, name: str, head: bytes):
    """Refuse an XML part that is not UTF-8 (what Excel writes), saying which encoding it is."""
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")) or head[:4] in (b"<\x00\x00\x00", b"\x00\x00\x00<"):
        enc = "UTF-32"
    elif head.startswith((b"\xff\xfe", b"\xfe\xff")) or head[:2] in (b"<\x00", b"\x00<"):
        enc = "UTF-16"
    else:
        m = _DECL_ENCODING.match(head[:512])
        if m is None:
            return
        enc = m.group(1).decode("ascii", "replace")[:40]
        if enc.lower() in UTF8_NAMES:
            return
    raise WorkbookError(path, f"part {name} is saved as {enc!r}, not UTF-8 as Excel saves it; "
                              "open the workbook in Excel and save it again")


def check_prolog(path, name: str, data: bytes, complete: bool = True):
    """Refuse XML whose prolog (before the root element) holds a DOCTYPE or ENTITY."""
    head = data[:PROLOG_LIMIT]
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            head = head.decode("utf-16").encode("utf-8", "replace")
        except UnicodeDecodeError:
            head = head.decode("utf-16", "replace").encode("utf-8", "replace")
    pos, n = 0, len(head)
    while True:
        while pos < n and head[pos] in b" \t\r\n":
            pos += 1
        if pos >= n:
            if not complete or n >= PROLOG_LIMIT:
                raise WorkbookError(path, f"part {name} has an unusually long XML prolog; refused")
            return
        if head.startswith(b"<?", pos):
            end = head.find(b"?>", pos)
            if end < 0:
                raise WorkbookError(path, f"part {name} has an unusually long XML prolog; refused")
            pos = end + 2
        elif head.startswith(b"<!--", pos):
            end = head.find(b"-->", pos)
            if end < 0:
                raise WorkbookError(path, f"part {name} has an unusually long XML prolog; refused")
            pos = end + 3
        elif head.startswith(b"<!", pos):
            raise WorkbookError(path, f"part {name} declares a DOCTYPE or ENTITY (possible entity "
                                      "bomb); Excel never writes one, refused")
        else:
            return


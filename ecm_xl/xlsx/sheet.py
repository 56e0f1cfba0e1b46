"""A worksheet part as the parser sees it: where each row is, and what may change.

`SheetXml` parses the whole part with expat (xmlparts) in one pass and keeps
only positions: the sheet's elements outside sheetData (dimension, column
styles, validation and conditional-format ranges, the x14 ones in extLst too)
and, for every row of sheetData, its number, attributes and byte span. A row's
cells are read only when a write needs them, by parsing that row's bytes again
(`cells`). So a 100k-row Timesheet is never held as a tree, only as its bytes
and one small record per row.

Inside a row the parser runs without a start handler and with an end handler
that waits for the row's end tag: the cheapest way to cross 100k rows with
Python callbacks. A row nested in a row, which no program writes, shows up as
a mismatched end tag and is refused.

Writes are recorded as edits (replace a row, insert rows before a position,
set an attribute) and `chunks()` splices them into the original bytes, so
everything not edited is copied byte for byte.
"""
from __future__ import annotations

import re
from typing import NamedTuple

from .cells import esc
from .package import WorkbookError
from .reader import col_number, format_ref, parse_ref
from .xmlparts import (
    MAIN_NS,
    XML_NS,
    declared,
    element_end,
    get_attr,
    parse,
    parser,
    split_qname,
    start_tag,
    with_attr,
)

_REF = re.compile(r"([A-Za-z]{1,3})(\d+)$")


class Row(NamedTuple):
    num: int
    start: int               # offset of '<' of the row element
    end: int                 # offset just past it
    attrs: list              # flat, ordered attributes as written
    qname: str               # 'row' or e.g. 'x:row'


class Cell(NamedTuple):
    col: int
    style: int
    start: int               # absolute offsets in the sheet part
    end: int
    formula: bool            # holds an <f>
    value: bool              # holds a typed value (non-blank <v> or text), formulas aside
    content: bool            # holds anything at all (it is not <c .../>)


class SheetData(NamedTuple):
    qname: str
    attrs: list
    start: int
    tag_end: int
    content_end: int         # offset of its end tag (tag_end when it is <sheetData/>)
    end: int


class Ranged(NamedTuple):
    """An element outside sheetData that names cell ranges: a sqref attribute, or an
    x14 <xm:sqref> element whose text is the ranges."""
    qname: str
    attrs: list
    start: int
    tag_end: int
    end: int
    text: str | None         # the <sqref> element's text; None for an attribute


class SheetXml:
    """An owned sheet part: its bytes, its rows' positions and the edits a write makes."""

    def __init__(self, pkg, part: str, data: bytes | None = None):
        self.pkg, self.part = pkg, part
        self.data = data = pkg.read_xml(part) if data is None else data
        self.edits = []                      # (start, end, bytes or str pieces)
        self.written = {}                    # row number -> (first col, last col) or None, rows made
        self.replaced = set()                # row numbers of existing rows that were rebuilt or dropped
        self.rows = []
        self.cols = []                       # (min, max, attributes) of <col> elements
        self.ranged = []                     # Ranged elements (validations, conditional formats)
        self.dimension_el = None             # (qname, attrs, start, tag_end, end)
        self.sheet_data = None               # SheetData
        self._cells = {}
        self._scan(data)
        if self.sheet_data is None:
            raise WorkbookError(pkg.path, f"part {part} has no cell data (sheetData)")
        qname = self.sheet_data.qname
        self.prefix = qname[:-len("sheetData")]
        # Cells are written unprefixed: where the main namespace is not the default one
        # in sheetData (a prefixed sheet), each row written declares it.
        self.main_ns = self.sd_scope.get(self.prefix[:-1], "")
        self.row_ns = "" if self.sd_scope.get("") in MAIN_NS else f' xmlns="{self.main_ns}"'

    # -- the parse -------------------------------------------------------------------
    def _scan(self, data: bytes):
        pkg, part = self.pkg, self.part
        p = parser(pkg.path, part)
        stack = []              # [qname, scope, start, attrs, kind] of open elements outside rows
        rows = self.rows
        ends = []               # (record, end event index, text) resolved after the parse
        state = {"sd": None, "seen": False, "last": 0, "row": None, "rowq": None, "text": None}

        def outer_start(qname, attrs):
            depth = len(stack)
            if depth == state["sd"] and qname == state["rowq"] and not _declares(attrs):
                local, main = "row", True              # a row as sheetData's own prefix names it
            else:
                scope = stack[-1][1] if stack else {"xml": XML_NS}
                if attrs:
                    scope = declared(attrs, scope)
                prefix, local = split_qname(qname)
                main = scope.get(prefix, "") in MAIN_NS
            pos = p.CurrentByteIndex
            if depth == state["sd"] and local == "row" and main:
                r = attrs[1] if attrs and attrs[0] == "r" else get_attr(attrs, "r")
                num = int(r) if r and r.isdigit() else state["last"] + 1
                if num <= state["last"]:
                    raise WorkbookError(pkg.path, f"is damaged: part {part} has row {num} after row "
                                                  f"{state['last']} (rows out of order)")
                state["last"] = num
                rows.append([num, pos, 0, attrs, qname])
                state["row"] = qname
                p.StartElementHandler = None         # a row's cells cost no call on the way in
                p.EndElementHandler = in_row_end
                return
            kind = None
            if main and depth == 1 and local == "sheetData" and not state["seen"]:
                kind = "sd"
                state["sd"], state["seen"] = 2, True
                state["rowq"] = qname[:-len("sheetData")] + "row"
                self.sd_scope = scope
            elif main and depth == 1 and local == "dimension":
                kind = "dim"
            elif main and depth == 2 and local == "col" and stack[-1][4] == "cols":
                lo, hi = get_attr(attrs, "min"), get_attr(attrs, "max")
                if lo and hi and lo.isdigit() and hi.isdigit():
                    self.cols.append((int(lo), min(int(hi), int(lo) + 16384), attrs))
            elif main and depth == 1 and local == "cols":
                kind = "cols"
            elif main and local in ("dataValidation", "conditionalFormatting") \
                    and get_attr(attrs, "sqref") is not None and state["sd"] is None:
                kind = "ranged"
            elif local == "sqref" and state["sd"] is None:     # x14: <xm:sqref>ranges</xm:sqref>
                kind = "sqref"
                state["text"] = []
                p.CharacterDataHandler = state["text"].append
            stack.append([qname, scope, pos, attrs, kind])

        def outer_end(qname):
            if not stack or stack[-1][0] != qname:
                raise WorkbookError(pkg.path, f"is damaged: part {part} has a row inside a row")
            rec = stack.pop()
            kind = rec[4]
            if kind is None or kind == "cols":
                return
            pos = p.CurrentByteIndex
            if kind == "sd":
                te, end = element_end(data, rec[2], pos)
                self.sheet_data = SheetData(rec[0], rec[3], rec[2], te, pos if end != te else te, end)
                state["sd"] = None
            elif kind == "dim":
                te, end = element_end(data, rec[2], pos)
                self.dimension_el = (rec[0], rec[3], rec[2], te, end)
            elif kind == "ranged":
                ends.append((rec, pos, None))
            else:
                ends.append((rec, pos, "".join(state["text"])))
                state["text"] = None
                p.CharacterDataHandler = None

        def in_row_end(qname, state=state):
            if qname is state["row"] or qname == state["row"]:      # (expat interns names)
                rows[-1][2] = p.CurrentByteIndex
                p.StartElementHandler = outer_start
                p.EndElementHandler = outer_end

        p.StartElementHandler, p.EndElementHandler = outer_start, outer_end
        parse(p, data, pkg.path, part)
        self.rows = [Row(num, start, _row_end(data, start, end, qname), attrs, qname)
                     for num, start, end, attrs, qname in rows]
        for rec, end_event, text in ends:
            te, end = element_end(data, rec[2], end_event)
            self.ranged.append(Ranged(rec[0], rec[3], rec[2], te, end, text))

    # -- reading ---------------------------------------------------------------------
    def row_map(self) -> dict:
        return {r.num: r for r in self.rows}

    def cells(self, row: Row) -> list:
        """The row's cells in document order, from a parse of the row's own bytes."""
        got = self._cells.get(row.start)
        if got is not None:
            return got
        frag = self.data[row.start:row.end]
        p = parser(self.pkg.path, self.part)
        out, cur, texts = [], [], []
        st = {"depth": 0, "text": False}

        def start(qname, attrs):
            st["depth"] += 1
            depth = st["depth"]
            local = qname.rpartition(":")[2]
            if depth == 2 and local == "c":
                r = get_attr(attrs, "r")
                m = _REF.match(r) if r else None
                col = col_number(m.group(1)) if m else (out[-1][0] + 1 if out else 1)
                s = get_attr(attrs, "s")
                cur[:] = [col, int(s) if s and s.isdigit() else 0, p.CurrentByteIndex, 0, False, False, False]
            elif depth > 2 and cur:
                cur[6] = True
                if local == "f":
                    cur[4] = True
                elif local in ("v", "t"):
                    texts.clear()
                    st["text"] = True
                    p.CharacterDataHandler = texts.append

        def end(_qname):
            depth = st["depth"]
            if depth == 2 and cur:
                cur[3] = p.CurrentByteIndex
                out.append(cur[:])
                cur.clear()
            elif st["text"]:
                if "".join(texts).strip():
                    cur[5] = True
                st["text"] = False
                p.CharacterDataHandler = None
            st["depth"] -= 1

        p.StartElementHandler, p.EndElementHandler = start, end
        parse(p, frag, self.pkg.path, self.part)
        base = row.start
        cells = []
        for col, style, start_, end_event, formula, value, content in out:
            end_ = element_end(frag, start_, end_event)[1]
            cells.append(Cell(col, style, base + start_, base + end_, formula, value and not formula, content))
        self._cells[row.start] = cells
        return cells

    def cell_xml(self, cell: Cell) -> str:
        return self.data[cell.start:cell.end].decode("utf-8")

    def only_cells_in(self, row: Row, letters: set) -> bool:
        """True when every cell of the row is in one of these columns, given as ASCII
        bytes (b"A", b"B"...) (False: look closer).

        A quick, one-sided answer for rows as Excel and this module write them: the
        row's span comes from the parser, and when it holds no comment, processing
        instruction or CDATA, every '<c r="X' in it is a cell's start tag.
        """
        raw = self.data[row.start:row.end]
        if b"<!" in raw or b"<?" in raw or b":c" in raw:
            return False
        cols = _PLAIN_CELL_COLUMN.findall(raw)
        return raw.count(b"<c") == len(cols) and letters.issuperset(cols)

    def extent(self, row: Row):
        """(first col, last col) of the row's cells, or None when it has none."""
        raw = self.data[row.start:row.end]
        if not (b"<!" in raw or b"<?" in raw or b":c" in raw):
            cols = _PLAIN_CELL_COLUMN.findall(raw)
            if raw.count(b"<c") == len(cols):
                if not cols:
                    return None
                nums = [col_number(c.decode()) for c in set(cols)]
                return min(nums), max(nums)
        cols = [c.col for c in self.cells(row)]
        return (min(cols), max(cols)) if cols else None

    def first_row_styles(self, t) -> dict:
        """{col: style} from the table's first data row, else the <cols> style."""
        styles = {}
        for lo, hi, attrs in self.cols:
            st = get_attr(attrs, "style")
            if st and st.isdigit():
                for c in range(max(lo, t.ref[0]), min(hi, t.ref[2]) + 1):
                    styles[c] = int(st)
        row = self.row_map().get(t.data_top)
        if row is not None:
            for cell in self.cells(row):
                if t.ref[0] <= cell.col <= t.ref[2]:
                    styles[cell.col] = cell.style
        return styles

    def column_widths(self) -> dict:
        """{column number: width in characters} from the sheet's <cols> (others absent)."""
        out = {}
        for lo, hi, attrs in self.cols:
            try:
                width = float(get_attr(attrs, "width"))
            except (TypeError, ValueError):
                continue
            for c in range(lo, hi + 1):
                out[c] = width
        return out

    def dimension(self):
        if self.dimension_el is None:
            return None
        try:
            return parse_ref(get_attr(self.dimension_el[1], "ref") or "")
        except ValueError:
            return None

    # -- writing -------------------------------------------------------------------------
    def row_tag(self, num: int, row: Row | None, height=None) -> tuple:
        """(start tag without its '>', end tag) of a row written as row `num`: the old
        row's attributes (its height, style) with r set and spans dropped (stale now).

        height: None keeps the row's stored height as it is; 0 removes it; points set it.
        """
        hattrs = ["ht", f"{height:g}", "customHeight", "1"] if height else []
        if row is None:
            if not height:
                return f'<{self.prefix}row r="{num}"{self.row_ns}', f"</{self.prefix}row>"
            qname, a = f"{self.prefix}row", ["r", str(num)]
        else:
            a, qname = row.attrs, row.qname
            if height is None and a[0::2] in (["r"], ["r", "spans"]):      # the usual row
                return f'<{qname} r="{num}"{self.row_ns}', f"</{qname}>"
        drop = ("spans",) if height is None else ("spans", "ht", "customHeight")
        attrs = with_attr([x for k in range(0, len(a), 2) if a[k] not in drop for x in a[k:k + 2]],
                          "r", str(num), first=True) + hattrs
        if self.row_ns:
            attrs = with_attr(attrs, "xmlns", self.main_ns)
        return start_tag(qname, attrs)[:-1], f"</{qname}>"

    def make_row(self, num: int, row: Row | None, cells: list, span=None, height=None) -> str | None:
        """A row's XML with these cells (XML strings); None for a row that can go
        (no cells and nothing of its own: no height, no style). height: as row_tag."""
        head, tail = self.row_tag(num, row, height)
        body = "".join(cells)
        if not body:
            if (row is not None and any(row.attrs[k] not in ("r", "spans") for k in range(0, len(row.attrs), 2))) \
                    or height:
                self.written[num] = None
                return head + "/>"
            return None
        self.written[num] = span
        return f"{head}>{body}{tail}"

    def replace_rows(self, lo: int, hi: int, build, fresh=None):
        """Rebuild rows lo..hi: build(num, Row or None) -> row XML or None (no row).

        fresh, when given, makes the rows the sheet lacks all at once:
        fresh(row numbers) -> [(num, XML, span)] (as build(num, None) for each, Nones
        left out).
        A new row goes before the first existing row below it, or right after the
        last row; what sits between rows (whitespace, comments) stays where it was.
        """
        rows = self.rows
        existing = [r for r in rows if lo <= r.num <= hi]
        have = {r.num for r in existing}
        for r in existing:
            self.replaced.add(r.num)
            xml = build(r.num, r)
            self.edits.append((r.start, r.end, xml or ""))
        missing = [num for num in range(lo, hi + 1) if num not in have]
        if not missing:
            return
        if fresh is not None:
            made = []
            for num, xml, span in fresh(missing):
                self.written[num] = span
                made.append((num, xml))
        else:
            made = [(num, x) for num in missing for x in (build(num, None),) if x is not None]
        if not made:
            return
        # group the new rows by the existing row they go before (or the end of sheetData)
        anchors = [r for r in rows if r.num > lo]
        j, group, at = 0, [], None
        for num, xml in made:
            while j < len(anchors) and anchors[j].num < num:
                j += 1
            pos = anchors[j].start if j < len(anchors) else None
            if group and pos != at:
                self._insert(at, group)
                group = []
            at = pos
            group.append(xml)
        if group:
            self._insert(at, group)

    def _insert(self, pos, pieces: list):
        sd = self.sheet_data
        if pos is None and self.rows:
            pos = self.rows[-1].end            # after the last row (before what follows it)
        if pos is None:
            if sd.tag_end == sd.end:           # <sheetData/>: open it
                self.edits.append((sd.start, sd.end, [start_tag(sd.qname, sd.attrs)] + pieces
                                   + [f"</{sd.qname}>"]))
                return
            pos = sd.content_end
        self.edits.append((pos, pos, pieces))

    def set_dimension(self, ref: str):
        if self.dimension_el is None:
            return
        qname, attrs, start, te, end = self.dimension_el
        new = start_tag(qname, with_attr(attrs, "ref", ref), empty=te == end)
        self.edits.append((start, te, new))

    def used_range(self):
        """The bounding box of every cell once the edits are made (exact)."""
        box = None
        for r in self.rows:
            if r.num in self.replaced:
                continue
            ext = self.extent(r)
            if ext is not None:
                box = _grow(box, ext, r.num)
        for num, span in self.written.items():
            if span is not None:
                box = _grow(box, span, num)
        return box

    def extend_ranges(self, c1: int, c2: int, old_bottom: int, new_bottom: int):
        """Grow every validation / conditional format range (plain and x14) that
        reached the table's old last row down to its new one."""
        for el in self.ranged:
            if el.text is None:
                sqref = get_attr(el.attrs, "sqref")
                new = _extend_sqref(sqref, c1, c2, old_bottom, new_bottom)
                if new != sqref:
                    self.edits.append((el.start, el.tag_end,
                                       start_tag(el.qname, with_attr(el.attrs, "sqref", new),
                                                 empty=el.tag_end == el.end)))
            else:
                new = _extend_sqref(el.text, c1, c2, old_bottom, new_bottom)
                if new != el.text:
                    self.edits.append((el.start, el.end, start_tag(el.qname, el.attrs) + esc(new)
                                       + f"</{el.qname}>"))

    def chunks(self, batch: int = 2000):
        """The new part as UTF-8 pieces: the old bytes with the edits spliced in."""
        data = self.data
        view = memoryview(data)
        pos = 0
        edits = sorted(self.edits, key=lambda e: (e[0], e[1]))
        pending = []
        for start, end, new in edits:
            if start < pos:
                raise AssertionError("overlapping sheet edits")
            if start > pos:
                if pending:
                    yield "".join(pending).encode("utf-8")
                    pending = []
                yield view[pos:start]
            if isinstance(new, str):
                pending.append(new)
            elif isinstance(new, (bytes, bytearray)):
                if pending:
                    yield "".join(pending).encode("utf-8")
                    pending = []
                yield new
            else:
                for i in range(0, len(new), batch):
                    pending.extend(new[i:i + batch])
                    yield "".join(pending).encode("utf-8")
                    pending = []
            if len(pending) >= batch:
                yield "".join(pending).encode("utf-8")
                pending = []
            pos = end
        if pending:
            yield "".join(pending).encode("utf-8")
        yield view[pos:]


_PLAIN_CELL_COLUMN = re.compile(rb'<c r="([A-Z]{1,3})\d')


def _declares(attrs: list) -> bool:
    """Whether these attributes declare a namespace."""
    for k in range(0, len(attrs), 2):
        if attrs[k][:5] == "xmlns":
            return True
    return False


def _row_end(data: bytes, start: int, end_event: int, qname: str) -> int:
    """The offset just past a row that the parser saw start at `start` and end at `end_event`.

    A row with content ends in its own end tag, which starts at end_event. After an
    empty row (<row r="3"/>) expat reports its end just past the tag, where the
    next sibling, sheetData's end tag or a comment begins, never a '</row'.
    """
    close = b"</" + qname.encode("utf-8")
    k = end_event + len(close)
    if data.startswith(close, end_event) and data[k:k + 1] in (b">", b" ", b"\t", b"\r", b"\n"):
        return data.index(b">", k) + 1
    return element_end(data, start, end_event)[1]


def _grow(box, span, num):
    a, b = span
    if box is None:
        return (a, num, b, num)
    return (min(box[0], a), min(box[1], num), max(box[2], b), max(box[3], num))


def _extend_sqref(sqref: str, c1: int, c2: int, old_bottom: int, new_bottom: int) -> str:
    out, changed = [], False
    for tok in sqref.split():
        try:
            a, r1, b, r2 = parse_ref(tok)
        except ValueError:
            out.append(tok)
            continue
        if a <= c2 and b >= c1 and r1 <= old_bottom <= r2 < new_bottom:
            out.append(format_ref(a, r1, b, new_bottom))
            changed = True
        else:
            out.append(tok)
    return " ".join(out) if changed else sqref


__all__ = ["Cell", "Row", "SheetXml"]

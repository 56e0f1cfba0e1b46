"""Write tables into a workbook at the xlsx package level, losing nothing.

Only the parts a write owns change: the XML of the sheets that hold the
tables written, those tables' parts (xl/tables/*.xml), and workbook.xml (its
calcPr asks Excel to recalculate on open). Every other zip member is copied as
its raw compressed bytes (see package.write_package). Inside an owned sheet,
rows outside the table and cells outside the table's columns are kept as they
were, byte for byte.

Cells are written as numbers, booleans or inline strings; text that starts
with '=' is a string cell, which Excel never evaluates. Dates become Excel
serial numbers in the cell style of the table's first data row for that
column (the template gives row 2 of each output table its number format).
A written row whose wrapping cells (Exceptions `Reason`) need more than one
line stores its height (see heights.py); rows a table grows into get the
first data row's cell styles.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal
from itertools import compress, repeat
from operator import attrgetter, is_, itemgetter

from .heights import DEFAULT_WIDTH, WrapStyles, column_widths, row_height, wrapped_lines
from .package import Package, WorkbookError, write_package
from .reader import TableInfo, col_letters, col_number, format_ref, parse_ref, read_structure, setup_cells

EPOCH = dt.datetime(1899, 12, 30)
MAX_TEXT = 32767                      # Excel's limit for one cell

_ROW = re.compile(r"<(?:[\w.-]+:)?row\b([^>]*?)(?:/>|>(.*?)</(?:[\w.-]+:)?row>)", re.S)
_CELL = re.compile(r"<(?:[\w.-]+:)?c\b([^>]*?)(?:/>|>(.*?)</(?:[\w.-]+:)?c>)", re.S)
_R_ATTR = re.compile(r"""(?<![\w:.-])r\s*=\s*(["'])(.*?)\1""")
_S_ATTR = re.compile(r"""(?<![\w:.-])s\s*=\s*(["'])(\d+)\1""")
_SPANS = re.compile(r"""\s(?<![\w:.-])spans\s*=\s*(["']).*?\1""")
_CELL_REF = re.compile(r"([A-Za-z]{1,3})(\d+)")
_VALUE = re.compile(r"<(?:[\w.-]+:)?v\b[^>]*>([^<]+)<", re.S)
_TEXT = re.compile(r"<(?:[\w.-]+:)?t\b[^>]*>([^<]+)<", re.S)
_FORMULA = re.compile(r"<(?:[\w.-]+:)?f\b")
_CELL_COLS = re.compile(r"""<(?:[\w.-]+:)?c\b[^>]*?(?<![\w:.-])r\s*=\s*["']([A-Za-z]{1,3})\d+""")
_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_X_ESCAPE = re.compile(r"_(x[0-9A-Fa-f]{4}_)")


# -- cell XML ---------------------------------------------------------------------
def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def text_xml(s: str) -> str:
    s = _BAD_CHARS.sub("", s)
    if len(s) > MAX_TEXT:
        s = s[:MAX_TEXT]
    if "_x" in s:
        s = _X_ESCAPE.sub(r"_x005F_\1", s)
    s = _esc(s)
    if s != s.strip() or "\n" in s:
        return f'<is><t xml:space="preserve">{s}</t></is>'
    return f"<is><t>{s}</t></is>"


def serial(value) -> float | int:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.replace(tzinfo=None)
        d = value - EPOCH
        return d.days + d.seconds / 86400 + d.microseconds / 86_400_000_000
    if isinstance(value, dt.date):
        return (value - EPOCH.date()).days
    if isinstance(value, dt.time):
        return (value.hour * 3600 + value.minute * 60 + value.second + value.microsecond / 1e6) / 86400
    raise TypeError(value)


def _num(x) -> str | None:
    if isinstance(x, int):
        return str(x)
    x = float(x)
    if math.isnan(x) or math.isinf(x):
        return None
    if x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return repr(x)


_NOT_PLAIN = re.compile(r"[&<>\x00-\x1f\ufffe\uffff\ud800-\udfff]|_x|^\s|\s$")
_INF = (math.inf, -math.inf)
_DATE = dt.date
_EPOCH_ORDINAL = EPOCH.toordinal()


def value_xml(head: str, styled, value) -> str:
    """The rest of a <c> element whose start `head` is '<c r="B5" s="3"' (no '>')."""
    t = type(value)
    if t is str:
        if not value:
            return head + "/>" if styled else ""
        if len(value) <= MAX_TEXT and _NOT_PLAIN.search(value) is None:
            return f'{head} t="inlineStr"><is><t>{value}</t></is></c>'
        return f'{head} t="inlineStr">{text_xml(value)}</c>'
    if t is float:
        if value != value or value in _INF:
            return head + "/>" if styled else ""
        r = repr(value)
        if r.endswith(".0"):
            r = r[:-2]
        return f"{head}><v>{r}</v></c>"
    if value is None:
        return head + "/>" if styled else ""
    if t is _DATE:
        return f"{head}><v>{value.toordinal() - _EPOCH_ORDINAL}</v></c>"
    if t is int:
        return f"{head}><v>{value}</v></c>"
    if t is bool:
        return f"{head} t=\"b\"><v>{int(value)}</v></c>"
    if isinstance(value, str):
        return value_xml(head, styled, str(value))
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        v = _num(value)
        return f"{head}><v>{v}</v></c>" if v is not None else (head + "/>" if styled else "")
    if isinstance(value, (dt.date, dt.time)):
        return f"{head}><v>{_num(serial(value))}</v></c>"
    return value_xml(head, styled, str(value))


def cell_xml(ref: str, style: int, value, formula: str | None = None) -> str:
    """One <c> element. Text is always a string cell, never a formula."""
    head = f'<c r="{ref}" s="{style}"' if style else f'<c r="{ref}"'
    if formula is not None:
        return f"{head}><f>{_esc(formula)}</f></c>"
    return value_xml(head, style, value)


# A cell rendered before its row is known holds ROW_MARK where the row number goes.
# No cell XML can hold it otherwise: text drops control characters, and formulas
# come from XML parts, where NUL cannot appear.
ROW_MARK = "\x00"
_ONE_RENDERING = {str, type(None), _DATE}     # types whose equal values render alike
_NUMBERS = {int, float, bool}                 # equal across types (1 == 1.0 == True), rendered apart


def column_cells(values: list, head: str, styled) -> list:
    """The <c> element of each value of one table column ('' for an omitted blank).

    head is '<c r="B' + ROW_MARK + '" s="3"' (the row number is put in per row).
    A column repeats its values (months, codes, IDs, names, dates), so each
    distinct value is rendered once, as value_xml renders it, and the rest is a
    lookup in C. Where equal values would be written differently (True == 1,
    1e16 == 10**16, 0.0 == -0.0) or a type is not one of the usual ones, the
    column is rendered cell by cell.
    """
    kinds = set(map(type, values))
    numbers = kinds & _NUMBERS
    if kinds - _ONE_RENDERING - numbers or not _numbers_render_alike(numbers, values):
        return [value_xml(head, styled, v) for v in values]
    distinct = set(values)
    if float in numbers and 0.0 in distinct and \
            len({math.copysign(1.0, v) for v in values if v == 0.0}) > 1:
        return [value_xml(head, styled, v) for v in values]
    memo = _plain_texts(distinct, head) if kinds <= _TEXT_KINDS else None
    if memo is None:
        memo = {v: value_xml(head, styled, v) for v in distinct}
    else:
        blank = value_xml(head, styled, None)
        memo.update((v, blank) for v in (None, "") if v in distinct)
    return list(map(memo.__getitem__, values))


def _numbers_render_alike(numbers: set, values: list) -> bool:
    """Whether equal numbers of these types are written alike (so one rendering serves)."""
    if len(numbers) <= 1:
        return True
    if numbers != {int, float}:
        return False        # True == 1 == 1.0, but True is written as a boolean
    # an int and an equal float are both written as digits while below 1e16
    return max(map(abs, [v for v in values if v.__class__ is int])) < 10 ** 15


_TEXT_KINDS = {str, type(None)}
_NOT_PLAIN_CHARS = re.compile("[&<>\x00-\x1f\ufffe\uffff\ud800-\udfff]")


def _plain_texts(distinct: set, head: str):
    """{text: its string cell} when no text needs what text_xml does, else None.

    The texts are checked at once (for what _NOT_PLAIN finds in one), so each is
    then only wrapped; otherwise value_xml renders each.
    """
    texts = [v for v in distinct if v]
    if not texts:
        return {}
    joined = "".join(texts)
    if _NOT_PLAIN_CHARS.search(joined) is not None or "_x" in joined \
            or max(map(len, texts)) > MAX_TEXT or list(map(str.strip, texts)) != texts:
        return None     # (a text ending in '_' before one starting with 'x' only costs the fast path)
    start = f'{head} t="inlineStr"><is><t>'
    return dict(zip(texts, map(start.__add__, map(str.__add__, texts, repeat("</t></is></c>")))))


def table_bodies(rows: list, heads, start: str = "", end: str = "") -> list:
    """Each row's cells as one string, between start and end, with ROW_MARK for its row number.

    heads: per table column (letters, ' s="N"' or '', style, index into each row's
    values or None for a column the values lack, escaped formula or None).
    Built column by column (see column_cells), then joined row by row in C.
    """
    n = len(rows)
    cols = [repeat(start, n)]
    for letters, sa, styled, idx, f in heads:
        head = f'<c r="{letters}{ROW_MARK}"{sa}'
        if f is not None:
            cols.append(repeat(f"{head}><f>{f}</f></c>", n))
        elif idx is None:
            cols.append(repeat(value_xml(head, styled, None), n))
        else:
            cols.append(column_cells(list(map(itemgetter(idx), rows)), head, styled))
    cols.append(repeat(end, n))
    return list(map("".join, zip(*cols)))


# -- sheet XML ----------------------------------------------------------------------
class Row:
    """One <row> of sheetData: its number, attributes and XML (cells are parsed on demand)."""

    __slots__ = ("num", "attrs", "raw", "span")

    def __init__(self, num, attrs, raw, span=None):
        self.num, self.attrs, self.raw = num, attrs, raw
        self.span = span       # (first col, last col) when known, for the dimension

    @property
    def inner(self) -> str | None:
        """The row's cells as XML (derived from raw, so a big sheet is held once)."""
        m = _ROW.match(self.raw)
        return m.group(2) if m else None


_ROW_NUM, _ROW_RAW, _ROW_SPAN = attrgetter("num"), attrgetter("raw"), attrgetter("span")


def _cells(inner: str | None, rownum: int) -> list:
    """[(col, attrs, inner_or_None, raw)] of one row's cells, in document order."""
    out, col = [], 0
    if not inner:
        return out
    for m in _CELL.finditer(inner):
        a = m.group(1)
        r = _R_ATTR.search(a)
        if r:
            cm = _CELL_REF.match(r.group(2))
            col = col_number(cm.group(1)) if cm else col + 1
        else:
            col += 1
        out.append((col, a, m.group(2), m.group(0)))
    return out


_PLAIN_CELL_COLUMN = re.compile(r'<c r="([A-Z]{1,3})\d')


def _only_cells_in(raw: str, letters: set) -> bool:
    """True when every cell of a row's XML is in one of these columns (False: look closer).

    Quick and one-sided: only cells written as Excel and this module write them
    (unprefixed, r first) are placed; anything else answers False.
    """
    if ":c" in raw:
        return False             # maybe a prefixed cell
    cols = _PLAIN_CELL_COLUMN.findall(raw)
    return raw.count("<c") == len(cols) and letters.issuperset(cols)


def _style(attrs: str) -> int:
    m = _S_ATTR.search(attrs)
    return int(m.group(2)) if m else 0


def _has_value(inner: str | None) -> bool:
    """True for a cell holding a typed value (not a formula, not empty)."""
    if not inner or _FORMULA.search(inner):
        return False
    m = _VALUE.search(inner)
    if m and m.group(1).strip():
        return True
    m = _TEXT.search(inner)
    return bool(m and m.group(1).strip())


_SHEET_DATA_END = re.compile(r"</(?:[\w.-]+:)?sheetData\s*>")


def _sheet_data_end(text: str, pos: int):
    """(start, end) of the first sheetData end tag after pos, or None."""
    k = text.find("sheetData", pos)
    if k >= pos + 2 and text.startswith("</", k - 2) and text.startswith(">", k + 9):
        return k - 2, k + 10          # the first mention is a plain end tag: what the pattern finds
    m = _SHEET_DATA_END.search(text, pos)
    return (m.start(), m.end()) if m else None


def _split_rows(body: str):
    """[(attrs, row XML)] of unprefixed rows, as _ROW.finditer finds them, by plain string search.

    None (use _ROW) where that could differ: a prefixed tag, or a row start
    without its end.
    """
    if ":row" in body:
        return None
    out = []
    append, find, n = out.append, body.find, len(body)
    pos = 0
    while True:
        i = find("<row", pos)
        if i < 0:
            return out
        j = i + 4
        if j < n and (body[j].isalnum() or body[j] == "_"):
            pos = j                   # '<rowX': not a row tag (the pattern wants a word boundary)
            continue
        k = find(">", j)
        if k < 0:
            return None
        if body[k - 1] == "/" and k - 1 >= j:
            append((body[j:k - 1], body[i:k + 1]))
            pos = k + 1
            continue
        e = find("</row>", k + 1)
        if e < 0:
            return None
        append((body[j:k], body[i:e + 6]))
        pos = e + 6


class SheetXml:
    """An owned sheet part: head, parsed rows, tail."""

    def __init__(self, pkg: Package, part: str):
        self.pkg, self.part = pkg, part
        raw = pkg.read_xml(part)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise WorkbookError(pkg.path, f"part {part} is not UTF-8 XML; save the workbook "
                                          "again in Excel") from None
        m = re.search(r"<(?:[\w.-]+:)?sheetData\b[^>]*?(/?)>", text)
        if not m:
            raise WorkbookError(pkg.path, f"part {part} has no cell data (sheetData)")
        if m.group(1):
            tag = m.group(0)
            prefix = tag[1:tag.index("sheetData")]
            self.head = text[:m.start()] + f"<{prefix}sheetData>"
            self.close = f"</{prefix}sheetData>"
            self.tail = text[m.end():]
            body = ""
        else:
            end = _sheet_data_end(text, m.end())
            if not end:
                raise WorkbookError(pkg.path, f"is damaged: part {part} has unclosed cell data")
            self.head = text[:m.end()]
            self.close = text[end[0]:end[1]]
            self.tail = text[end[1]:]
            body = text[m.end():end[0]]
        self.prefix = re.match(r"<([\w.-]+:)?", m.group(0)).group(1) or ""
        # Cells are written unprefixed; under a prefixed main namespace (some non-Excel
        # writers) the rows written declare it as their default namespace.
        self.row_ns = ""
        if self.prefix:
            ns = re.search(r"""xmlns:%s\s*=\s*["']([^"']+)""" % re.escape(self.prefix[:-1]), text)
            if ns:
                self.row_ns = f' xmlns="{ns.group(1)}"'
        self.rows = []
        num = 0
        found = _split_rows(body) if not self.prefix else None
        if found is None:
            found = ((rm.group(1), rm.group(0)) for rm in _ROW.finditer(body))
        for attrs, xml in found:
            r = _R_ATTR.search(attrs)
            num = int(r.group(2)) if r and r.group(2).isdigit() else num + 1
            self.rows.append(Row(num, attrs, xml))

    def make_row(self, num: int, attrs: str | None, cells: list, span=None):
        return make_row(num, attrs, cells, span, self.prefix, self.row_ns)

    def row_map(self) -> dict:
        return {r.num: r for r in self.rows}

    def first_row_styles(self, t: TableInfo) -> dict:
        """{col: style} from the table's first data row, else the <cols> style."""
        styles = {}
        for m in re.finditer(r"<(?:[\w.-]+:)?col\b([^>]*?)/?>", self.head + self.tail):
            a = m.group(1)
            lo = re.search(r'\bmin="(\d+)"', a)
            hi = re.search(r'\bmax="(\d+)"', a)
            st = re.search(r'\bstyle="(\d+)"', a)
            if lo and hi and st:
                for c in range(max(int(lo.group(1)), t.ref[0]), min(int(hi.group(1)), t.ref[2]) + 1):
                    styles[c] = int(st.group(1))
        row = self.row_map().get(t.data_top)
        if row is not None:
            for col, a, _inner, _raw in _cells(row.inner, row.num):
                if t.ref[0] <= col <= t.ref[2]:
                    styles[col] = _style(a)
        return styles

    def replace_rows(self, lo: int, hi: int, build, fresh=None):
        """Rebuild rows lo..hi: build(rownum, Row or None) -> Row or None (drops it).

        fresh, when given, makes the rows the sheet lacks all at once:
        fresh(row numbers) -> Rows (the same as build(num, None) for each, Nones left out).
        """
        out, i, n = [], 0, len(self.rows)
        rows = self.rows
        while i < n and rows[i].num < lo:
            out.append(rows[i])
            i += 1
        existing = {}
        while i < n and rows[i].num <= hi:
            existing[rows[i].num] = rows[i]
            i += 1
        if fresh is None:
            for num in range(lo, hi + 1):
                row = build(num, existing.get(num))
                if row is not None:
                    out.append(row)
        else:
            for num, old in existing.items():
                row = build(num, old)
                if row is not None:
                    out.append(row)
            out.extend(fresh([num for num in range(lo, hi + 1) if num not in existing]))
        out.extend(rows[i:])
        out.sort(key=_ROW_NUM)
        self.rows = out

    def chunks(self, batch: int = 2000):
        """The sheet's XML as UTF-8 pieces, so a long sheet is never held twice more."""
        yield self.head.encode("utf-8")
        rows = self.rows
        for i in range(0, len(rows), batch):
            yield "".join(map(_ROW_RAW, rows[i:i + batch])).encode("utf-8")
        yield (self.close + self.tail).encode("utf-8")

    def set_dimension(self, ref: str):
        self.head = re.sub(r"""(<(?:[\w.-]+:)?dimension\b[^>]*?\bref\s*=\s*)(["']).*?\2""",
                           lambda m: f'{m.group(1)}"{ref}"', self.head, count=1)

    def dimension(self):
        m = re.search(r"""<(?:[\w.-]+:)?dimension\b[^>]*?\bref\s*=\s*(["'])(.*?)\1""", self.head)
        if not m:
            return None
        try:
            return parse_ref(m.group(2))
        except ValueError:
            return None

    def used_range(self):
        """The bounding box of every cell (exact)."""
        rows = self.rows
        spans = list(map(_ROW_SPAN, rows))     # known for the rows a write made
        letters, filled = set(), []            # other rows: read their cells' columns
        for i in compress(range(len(rows)), map(is_, spans, repeat(None))):
            raw = rows[i].raw
            if "<" in raw[1:]:
                cs = _CELL_COLS.findall(raw)
                if cs:
                    letters.update(cs)
                    filled.append(i)
        boxes = set(spans)
        boxes.discard(None)
        first, last = filled[:1], filled[-1:]
        if boxes:
            first.append(next(i for i, x in enumerate(spans) if x is not None))
            last.append(len(rows) - 1 - next(i for i, x in enumerate(reversed(spans)) if x is not None))
        if not first:
            return None
        cols = [col_number(x) for x in letters] + [a for a, _b in boxes] + [b for _a, b in boxes]
        return (min(cols), rows[min(first)].num, max(cols), rows[max(last)].num)


def make_row(num: int, attrs: str | None, cells: list, span=None, prefix: str = "", ns: str = ""):
    """A Row of the given cells (XML strings), keeping the row's own attributes."""
    if attrs is None:
        attrs = f' r="{num}"'
    else:
        attrs = _SPANS.sub("", attrs)
    if ns and "xmlns=" not in attrs:
        attrs += ns
    body = "".join(cells)
    p = prefix
    if not body:
        if _R_ATTR.sub("", attrs).strip():      # the row has its own height or style: keep it
            return Row(num, attrs, f"<{p}row{attrs}/>")
        return None
    return Row(num, attrs, f"<{p}row{attrs}>{body}</{p}row>", span)


# -- table part -----------------------------------------------------------------------
def _set_attr(tag: str, name: str, value: str) -> str:
    pat = re.compile(r"""(\s%s\s*=\s*)(["']).*?\2""" % re.escape(name))
    if pat.search(tag):
        return pat.sub(lambda m: f'{m.group(1)}"{value}"', tag, count=1)
    end = tag.rstrip(">").rstrip("/")
    closing = tag[len(end):]
    return f'{end} {name}="{value}"{closing}'


def _update_table_part(xml: bytes, t: TableInfo, bottom: int) -> bytes:
    text = xml.decode("utf-8")
    c1, r1, c2, _ = t.ref
    ref = format_ref(c1, r1, c2, bottom + t.totals_rows)
    m = re.search(r"<(?:[\w.-]+:)?table\b[^>]*>", text)
    text = text[:m.start()] + _set_attr(m.group(0), "ref", ref) + text[m.end():]
    m = re.search(r"<(?:[\w.-]+:)?autoFilter\b[^>]*>", text)
    if m:
        text = text[:m.start()] + _set_attr(m.group(0), "ref", format_ref(c1, r1, c2, bottom)) + text[m.end():]
    m = re.search(r"<(?:[\w.-]+:)?sortState\b[^>]*>", text)
    if m:
        rm = re.search(r"""\sref\s*=\s*(["'])(.*?)\1""", m.group(0))
        try:
            sc1, sr1, sc2, _ = parse_ref(rm.group(2))
            new = format_ref(sc1, sr1, sc2, bottom)
            text = text[:m.start()] + _set_attr(m.group(0), "ref", new) + text[m.end():]
        except (ValueError, AttributeError):
            pass
    return text.encode("utf-8")


def _set_full_calc(xml: bytes) -> bytes:
    text = xml.decode("utf-8")
    m = re.search(r"<((?:[\w.-]+:)?)calcPr\b[^>]*?/?>", text)
    if m:
        tag = _set_attr(m.group(0), "fullCalcOnLoad", "1")
        text = text[:m.start()] + tag + text[m.end():]
    else:
        root = re.search(r"<((?:[\w.-]+:)?)workbook\b", text)
        p = root.group(1) if root else ""
        after = ("oleSize", "customWorkbookViews", "pivotCaches", "smartTagPr", "smartTagTypes",
                 "webPublishing", "fileRecoveryPr", "webPublishObjects", "extLst")
        pos = None
        for name in after:
            mm = re.search(r"<%s%s\b" % (re.escape(p), name), text)
            if mm:
                pos = mm.start()
                break
        if pos is None:
            pos = text.rfind(f"</{p}workbook")
        text = text[:pos] + f'<{p}calcPr fullCalcOnLoad="1"/>' + text[pos:]
    return text.encode("utf-8")


def _norm(h: str) -> str:
    return "".join(str(h).split()).casefold()


def _column_map(t: TableInfo, headers) -> list:
    """For each table column, the index into `headers` (or None)."""
    exact = {h: i for i, h in enumerate(headers)}
    loose = {}
    for i, h in enumerate(headers):
        loose.setdefault(_norm(h), i)
    return [exact.get(h, loose.get(_norm(h))) for h in t.headers]


def _check_room(pkg, st, t: TableInfo, sheet: SheetXml, old_bottom: int, new_bottom: int):
    """New rows below the table must not run into another table or typed cells."""
    if new_bottom <= old_bottom:
        return
    for o in st.tables.values():
        if o.name != t.name and o.sheet_part == t.sheet_part:
            oc1, or1, oc2, or2 = o.ref
            if oc1 <= t.ref[2] and oc2 >= t.ref[0] and or1 <= new_bottom and or2 > old_bottom:
                raise WorkbookError(pkg.path, f"the {t.name} table needs rows down to {new_bottom}, "
                                              f"but the {o.name} table is in the way; move it")
    for r in sheet.rows:
        if old_bottom < r.num <= new_bottom:
            for col, _a, inner, _raw in _cells(r.inner, r.num):
                if t.ref[0] <= col <= t.ref[2] and (_has_value(inner) or (inner and _FORMULA.search(inner))):
                    raise WorkbookError(pkg.path, f"the {t.name} table needs rows down to {new_bottom}, "
                                                  f"but cell {col_letters(col)}{r.num} below it is in use")


def _writable_table(src, st, name: str, purpose: str) -> TableInfo:
    t = st.tables.get(name)
    if t is None:
        raise WorkbookError(src, f"has no table named {name} {purpose}")
    if t.totals_rows:
        raise WorkbookError(src, f"the {name} table has a totals row; turn it off "
                                 "(Table Design > Total Row) so rows can be written")
    return t


def _owned_sheet(pkg, sheets: dict, part: str) -> SheetXml:
    if part not in sheets:
        sheets[part] = SheetXml(pkg, part)
    return sheets[part]


_HEIGHT_ATTRS = re.compile(r"""\s(?:ht|customHeight)\s*=\s*(["']).*?\1""")


def _with_height(row: Row, height) -> Row:
    """The row with its stored height set to `height` points (None: no stored height)."""
    end = row.raw.index(">")
    head, rest = row.raw[:end], row.raw[end + 1:]
    closed = head.endswith("/")
    head = _HEIGHT_ATTRS.sub("", head[:-1] if closed else head)
    if height:
        head += f' ht="{height:g}" customHeight="1"'
    attrs = head[head.index("row") + 3:]
    return Row(row.num, attrs, head + ("/>" if closed else ">") + rest, row.span)


def _set_heights(sheet: SheetXml, rows: list, columns: list, wraps: WrapStyles, top: int, bottom: int):
    """Store on each written row the height its wrapping cells need (see heights.py).

    columns: (column number, index into each row's values or None, cell style).
    A row whose text fits one line gets no stored height (an old one is removed).
    Only tables with a wrapping column are touched.
    """
    widths = None
    wrapping = []
    for col, idx, style in columns:
        w = wraps.get(style)
        if idx is not None and w is not None:
            if widths is None:
                widths = column_widths(sheet.head)
            wrapping.append((idx, widths.get(col, DEFAULT_WIDTH), w[0], w[1]))
    if not wrapping:
        return
    want = {}
    for k, values in enumerate(rows):
        h = 0.0
        for idx, width, size, indent in wrapping:
            v = values[idx]
            if v is not None and v != "":
                lines = wrapped_lines(v, width, size, indent)
                if lines > 1:
                    h = max(h, row_height(lines, size))
        if h:
            want[top + k] = h
    out = sheet.rows
    for i, row in enumerate(out):
        if top <= row.num <= bottom:
            h = want.get(row.num)
            if h or "ht=" in row.raw[:row.raw.index(">")]:
                out[i] = _with_height(row, h)


# -- public ------------------------------------------------------------------------
def owned_parts(src, table_names) -> set:
    """The zip parts a write of these tables may change; all others are copied as they are."""
    with Package(src) as pkg:
        st = read_structure(pkg)
        out = {st.workbook_part}
        for name in table_names:
            t = st.tables.get(name)
            if t is not None:
                out.update((t.part, t.sheet_part))
        return out


def write_tables(src, dst, tables: dict) -> None:
    """Copy src to dst atomically with the data rows of each named table replaced.

    tables: {table name: (headers, rows)}, rows as lists of plain values in the
    order of headers. Columns are matched to the table by header text; table
    columns with no match are left blank (a calculated column gets its
    formula). Rows left over from a longer earlier write are cleared.
    """
    with Package(src) as pkg:
        pkg.check_all_xml()
        st = read_structure(pkg)
        sheets, parts = {}, {}
        wraps = None
        for name, (headers, rows) in tables.items():
            t = _writable_table(src, st, name, "to write the results to")
            cmap = _column_map(t, headers)
            if all(i is None for i in cmap):
                raise WorkbookError(src, f"the {name} table has none of the columns "
                                         f"{', '.join(headers[:3])}...")
            sheet = _owned_sheet(pkg, sheets, t.sheet_part)
            top, old_bottom = t.data_top, t.data_bottom
            new_bottom = top + max(len(rows), 1) - 1
            _check_room(pkg, st, t, sheet, old_bottom, new_bottom)
            styles = sheet.first_row_styles(t)
            c1, c2 = t.ref[0], t.ref[2]
            cols = list(range(c1, c2 + 1))
            letters = [col_letters(c) for c in cols]
            col_styles = [styles.get(c, 0) for c in cols]
            formulas = [t.formulas.get(h) if i is None else None for h, i in zip(t.headers, cmap)]
            rows = list(rows)

            width = len(headers)
            heads = [(letters[j], f' s="{col_styles[j]}"' if col_styles[j] else "", col_styles[j],
                      idx, _esc(formulas[j]) if formulas[j] else None)
                     for j, idx in enumerate(cmap)]
            short = [k for k, r in enumerate(rows) if len(r) < width]
            if short:
                raise ValueError(f"{name} row {short[0] + 1} has fewer values than its {width} headers")
            lo_span = (c1, c2)
            prefix, row_ns = sheet.prefix, sheet.row_ns
            table_letters = set(letters)
            # each row's whole XML, ROW_MARK for its number: one replace makes it
            start, end = f'<{prefix}row r="{ROW_MARK}"{row_ns}>', f'</{prefix}row>'
            wrapped = table_bodies(rows, heads, start, end) if rows else \
                table_bodies([[None] * width], [h[:4] + (None,) for h in heads], start, end)
            empty, cut = start + end, len(start)

            def build(num, row, wrapped=wrapped):
                # rows past the result are cleared; an empty result keeps one blank row
                # with the styles (its body was built from one row of blanks, no formulas)
                xml = wrapped[num - top] if num <= new_bottom else empty
                if row is None:
                    return None if xml == empty else Row(num, None, xml.replace(ROW_MARK, str(num)), lo_span)
                body = xml[cut:len(xml) - len(end)].replace(ROW_MARK, str(num))
                if not _only_cells_in(row.raw, table_letters):
                    # a cell beside the table (or one this check cannot place): keep those
                    cells = _cells(row.inner, num)
                    left = [raw for col, _a, _i, raw in cells if col < c1]
                    right = [raw for col, _a, _i, raw in cells if col > c2]
                    if left or right:
                        return sheet.make_row(num, row.attrs, left + [body] + right)
                return sheet.make_row(num, row.attrs, [body], lo_span if body else None)

            def fresh(nums, wrapped=wrapped):
                out = []
                for num in nums:
                    if num <= new_bottom:
                        xml = wrapped[num - top]
                        if xml != empty:
                            out.append(Row(num, None, xml.replace(ROW_MARK, str(num)), lo_span))
                return out

            sheet.replace_rows(top, max(old_bottom, new_bottom), build, fresh)
            if wraps is None:
                wraps = WrapStyles.of(pkg, st.workbook_part)
            _set_heights(sheet, rows, [(c, i, col_styles[j]) for j, (c, i) in enumerate(zip(cols, cmap))],
                         wraps, top, max(old_bottom, new_bottom))
            parts[t.part] = _update_table_part(pkg.read_xml(t.part), t, new_bottom)
        for part, sheet in sheets.items():
            used = sheet.used_range()
            sheet.set_dimension(format_ref(*used) if used else "A1")
            parts[part] = sheet.chunks()
        parts[st.workbook_part] = _set_full_calc(pkg.read_xml(st.workbook_part))
        write_package(pkg, dst, parts)


_SQREF_ATTR = re.compile(r"""(<(?:[\w.-]+:)?(?:dataValidation|conditionalFormatting)\b[^>]*?\ssqref\s*=\s*)(["'])(.*?)\2""", re.S)
_SQREF_EL = re.compile(r"(<(?:[\w.-]+:)?sqref\b[^>]*>)(.*?)(</(?:[\w.-]+:)?sqref>)", re.S)


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


def _extend_ranges(xml: str, t: TableInfo, old_bottom: int, new_bottom: int) -> str:
    c1, c2 = t.ref[0], t.ref[2]
    xml = _SQREF_ATTR.sub(lambda m: f"{m.group(1)}{m.group(2)}"
                          f"{_extend_sqref(m.group(3), c1, c2, old_bottom, new_bottom)}{m.group(2)}", xml)
    return _SQREF_EL.sub(lambda m: m.group(1) + _extend_sqref(m.group(2), c1, c2, old_bottom, new_bottom)
                         + m.group(3), xml)


_SHARED_SI = re.compile(r"""<(?:[\w.-]+:)?f\b[^>]*?\bsi\s*=\s*["'](\d+)""")


def _calculated_cells(sheet: SheetXml, t: TableInfo, rows, written, parsed) -> dict:
    """{(col, row): <f> element} for the calculated-column cells an append writes.

    A formula goes where the row was given no value for that column and holds no
    formula already. Runs of such cells share one formula (t="shared"), as Excel
    stores a calculated column, so 100k appended rows do not repeat it 100k times.
    """
    out = {}
    if not t.formulas:
        return out
    ids = set()                 # shared formula group ids in use (a long sheet repeats a few)
    for r in sheet.rows:
        if "si=" in r.raw:
            ids.update(_SHARED_SI.findall(r.raw))
    si = 1 + max(map(int, ids), default=-1)
    start = written[0]
    for k, h in enumerate(t.headers):
        f = t.formulas.get(h)
        if f is None:
            continue
        col = t.ref[0] + k
        letter = col_letters(col)
        run = []
        for num in written + [None]:
            if num is not None and h not in rows[num - start]:
                old = parsed.get(num, {}).get(col)
                if not (old and old[1] and _FORMULA.search(old[1])):
                    run.append(num)
                    continue
            if run:
                text = _esc(_formula_at(f, letter, t.data_top, run[0]))
                if len(run) == 1:
                    out[col, run[0]] = f"<f>{text}</f>"
                else:
                    out[col, run[0]] = f'<f t="shared" ref="{letter}{run[0]}:{letter}{run[-1]}" si="{si}">{text}</f>'
                    for n in run[1:]:
                        out[col, n] = f'<f t="shared" si="{si}"/>'
                    si += 1
                run = []
    return out


def _formula_at(formula: str, letter: str, first_row: int, row: int) -> str:
    """A calculated column's formula for another row (it is stored for the first data row).

    Structured references ([#This Row]) are the same on every row; plain A1
    references are moved with openpyxl's translator.
    """
    if row == first_row or "[" in formula or not re.search(r"\$?[A-Za-z]{1,3}\$?\d", formula):
        return formula
    from openpyxl.formula.translate import Translator
    try:
        return Translator("=" + formula, origin=f"{letter}{first_row}").translate_formula(
            f"{letter}{row}")[1:]
    except Exception:       # a formula the translator cannot parse stays as written
        return formula


def append_table_rows(src, dst, table: str, rows: list) -> list:
    """Append rows ({exact header: value}) to a table after its last non-blank data row.

    Blank table rows are reused first; the table, its autoFilter and the data
    validations / conditional formats that reach the table's old end grow with
    it. Calculated columns get their formula. Every cell of a row the table
    grows into gets the style of the table's first data row (borders and
    alignment too, not only a number format left on the blank cells below);
    reused rows keep theirs. Returns the Excel row numbers written.
    """
    with Package(src) as pkg:
        pkg.check_all_xml()
        st = read_structure(pkg)
        t = _writable_table(src, st, table, "to add rows to")
        unknown = sorted({k for r in rows for k in r} - set(t.headers))
        if unknown:
            raise WorkbookError(src, f"the {table} table has no {unknown[0]!r} column")
        sheet = SheetXml(pkg, t.sheet_part)
        c1, c2 = t.ref[0], t.ref[2]
        top, old_bottom = t.data_top, t.data_bottom
        calc_cols = {c1 + k for k, h in enumerate(t.headers) if h in t.formulas}
        last = top - 1
        for r in reversed(sheet.rows):     # the last row in the sheet holding a typed value
            if top <= r.num <= old_bottom and "<" in r.raw[1:] and any(
                    c1 <= col <= c2 and col not in calc_cols and _has_value(inner)
                    for col, _a, inner, _raw in _cells(r.inner, r.num)):
                last = r.num
                break
        start = last + 1
        written = list(range(start, start + len(rows)))
        if not rows:
            return []
        new_bottom = max(old_bottom, written[-1])
        _check_room(pkg, st, t, sheet, old_bottom, new_bottom)
        styles = sheet.first_row_styles(t)
        cols = list(range(c1, c2 + 1))
        letters = {c: col_letters(c) for c in cols}
        header_of = {c1 + k: h for k, h in enumerate(t.headers)}
        parsed = {r.num: {col: (a, inner, raw) for col, a, inner, raw in _cells(r.inner, r.num)}
                  for r in sheet.rows if start <= r.num <= written[-1]}
        formulas = _calculated_cells(sheet, t, rows, written, parsed)

        def build(num, row):
            values = rows[num - start]
            existing = parsed.get(num, {})
            sn = str(num)
            out = []
            grown = num > old_bottom
            for col in cols:
                h = header_of[col]
                old = existing.get(col)
                # a row the table grows into looks like its first data row, as in Excel;
                # rows already in the table keep their own cell styles
                if old is not None and not (grown and styles.get(col)):
                    style = _style(old[0])
                else:
                    style = styles.get(col, 0)
                head = f'<c r="{letters[col]}{sn}" s="{style}"' if style else f'<c r="{letters[col]}{sn}"'
                if h in values:
                    x = value_xml(head, style, values[h])
                elif (col, num) in formulas:
                    x = f"{head}>{formulas[col, num]}</c>"
                elif old is not None and (not grown or old[1]):
                    x = old[2]                   # a formula or a styled blank already there
                else:
                    x = value_xml(head, style, None)
                if x:
                    out.append(x)
            left = [v[2] for col, v in existing.items() if col < c1]
            right = [v[2] for col, v in existing.items() if col > c2]
            span = None if left or right else ((c1, c2) if out else None)
            return sheet.make_row(num, row.attrs if row is not None else None, left + out + right, span)

        sheet.replace_rows(start, written[-1], build)
        parts = {}
        if new_bottom > old_bottom:
            parts[t.part] = _update_table_part(pkg.read_xml(t.part), t, new_bottom)
            sheet.head = _extend_ranges(sheet.head, t, old_bottom, new_bottom)
            sheet.tail = _extend_ranges(sheet.tail, t, old_bottom, new_bottom)
        dim = sheet.dimension()
        box = (c1, t.ref[1], c2, new_bottom)
        if dim:
            box = (min(dim[0], box[0]), min(dim[1], box[1]), max(dim[2], box[2]), max(dim[3], box[3]))
        sheet.set_dimension(format_ref(*box))
        parts[t.sheet_part] = sheet.chunks()
        parts[st.workbook_part] = _set_full_calc(pkg.read_xml(st.workbook_part))
        write_package(pkg, dst, parts)
        return written


def write_named_cells(src, dst, values: dict) -> None:
    """Set single-cell defined names (Setup settings) to values, copying all else byte for byte.

    Only the sheets holding the cells and workbook.xml change; each cell keeps
    its style (its number format). The cells must exist in the sheet XML, as
    they do in the template (every Setup value cell is styled).
    """
    with Package(src) as pkg:
        st = read_structure(pkg)
        where = setup_cells(st)
        missing = [k for k in values if k not in where]
        if missing:
            raise WorkbookError(src, f"has no Setup cell named {missing[0]}")
        part_of = {s.name: s.part for s in st.sheets}
        texts: dict = {}
        for name, value in values.items():
            sheet, row, col = where[name]
            part = part_of[sheet]
            if part not in texts:
                texts[part] = pkg.read_xml(part).decode("utf-8")
            ref = f"{col_letters(col)}{row}"
            cell = re.compile(r"<((?:[\w.-]+:)?)c\b([^>]*?\br\s*=\s*[\"']%s[\"'][^>]*?)(?:/>|>.*?</\1c>)" % ref, re.S)
            m = cell.search(texts[part])
            if not m:
                raise WorkbookError(src, f"the {sheet} sheet has no cell {ref} for {name}")
            style = re.search(r"""\bs\s*=\s*["'](\d+)["']""", m.group(2))
            xml = cell_xml(ref, int(style.group(1)) if style else 0, value) or f'<c r="{ref}"/>'
            if m.group(1):
                xml = xml.replace("<c ", f"<{m.group(1)}c ", 1).replace("</c>", f"</{m.group(1)}c>")
            texts[part] = texts[part][:m.start()] + xml + texts[part][m.end():]
        parts = {part: text.encode("utf-8") for part, text in texts.items()}
        write_package(pkg, dst, parts)

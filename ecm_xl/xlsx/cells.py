"""Cell XML: how a Python value is written as one <c> element of a sheet.

The serializer side of the writer. Values become numbers, booleans or inline
strings; text is escaped, stripped of characters XML cannot hold, protected
against Excel's `_xHHHH_` escapes and cut at Excel's 32,767 characters. Text is
never a formula: `=1+2` is a string cell, which Excel never evaluates. Dates
and times become Excel serial numbers.

A table column is rendered at once (`column_cells`, `table_bodies`): each
distinct value once, the rest looked up in C, with ROW_MARK where the row
number goes, so 50k output rows cost little.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal
from itertools import repeat
from operator import itemgetter

EPOCH = dt.datetime(1899, 12, 30)
MAX_TEXT = 32767                      # Excel's limit for one cell

_BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_X_ESCAPE = re.compile(r"_(x[0-9A-Fa-f]{4}_)")


# -- cell XML ---------------------------------------------------------------------
def esc(s: str) -> str:
    """Text content escaped for XML."""
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def attr_esc(s: str) -> str:
    """An attribute value escaped for a double-quoted XML attribute; tabs and line
    breaks as character references, so a parser reads them back unchanged."""
    s = esc(s).replace('"', "&quot;")
    if "\t" in s or "\n" in s or "\r" in s:
        s = s.replace("\t", "&#9;").replace("\n", "&#10;").replace("\r", "&#13;")
    return s


def text_xml(s: str) -> str:
    s = _BAD_CHARS.sub("", s)
    if len(s) > MAX_TEXT:
        s = s[:MAX_TEXT]
    if "_x" in s:
        s = _X_ESCAPE.sub(r"_x005F_\1", s)
    s = esc(s)
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
        return f"{head}><f>{esc(formula)}</f></c>"
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

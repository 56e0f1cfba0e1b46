"""Row heights for table rows whose text wraps, set by the writer (never left to a viewer).

Excel keeps a stored row height when it opens a file, and LibreOffice draws
wrapped text over the next row when the row is one line tall. So a writer
that puts a long text into a wrapping cell (Exceptions `Reason`, Claim
`Source Rows`) must store the height itself: lines x line height, where the
lines come from wrapping the text at word breaks in the column's width.

Which cells wrap, and at what font size, is read from the workbook's own
styles (the cell style of the table's first data row), and the column width
from the sheet's `<cols>` (as the parsed sheet gives it, sheet.SheetXml): a
clinic that widens `Reason` gets shorter rows.

    from ecm_xl.xlsx.heights import WrapStyles, wrapped_lines, row_height
"""
from __future__ import annotations

import math
import xml.etree.ElementTree as ET

from .package import Package
from .reader import local

DEFAULT_WIDTH = 8.43          # Excel's default column width (characters)
DEFAULT_SIZE = 11.0           # points: Calibri 11, the template's font
LINE_POINTS = 15.0            # one line of 11 pt text (Excel's default row height)
# Characters of average text per unit of column width (a unit is one '0' of the
# default font; running text is narrower than digits). A little under what the
# fonts measure, so a line never holds more than the estimate allows.
CHARS_PER_UNIT = 1.05
CELL_PADDING = 1.5            # units lost to the cell's margins
INDENT_UNITS = 3.0            # one indent level is three characters wide


class WrapStyles:
    """For each cell style (xf index) of a workbook: whether it wraps, its font size and indent."""

    def __init__(self, wraps: dict):
        self.wraps = wraps        # {xf index: (font size, indent)} for the styles that wrap

    @classmethod
    def of(cls, pkg: Package, workbook_part: str) -> WrapStyles:
        part = _styles_part(pkg, workbook_part)
        if part is None:
            return cls({})
        try:
            root = ET.fromstring(pkg.read_xml(part))
        except ET.ParseError:
            return cls({})     # heights are a nicety: a damaged styles part costs only them
        sizes = []
        for el in root:
            if local(el.tag) == "fonts":
                for font in el:
                    size = DEFAULT_SIZE
                    for prop in font:
                        if local(prop.tag) == "sz":
                            try:
                                size = float(prop.get("val"))
                            except (TypeError, ValueError):
                                pass
                    sizes.append(size)
        wraps = {}
        for el in root:
            if local(el.tag) != "cellXfs":
                continue
            for i, xf in enumerate(el):
                for a in xf:
                    if local(a.tag) == "alignment" and a.get("wrapText") in ("1", "true"):
                        try:
                            font = sizes[int(xf.get("fontId") or 0)]
                        except (IndexError, ValueError):
                            font = DEFAULT_SIZE
                        try:
                            indent = int(a.get("indent") or 0)
                        except ValueError:
                            indent = 0
                        wraps[i] = (font, indent)
        return cls(wraps)

    def get(self, style: int):
        """(font size, indent) when the style wraps its text, else None."""
        return self.wraps.get(style)


def _styles_part(pkg: Package, workbook_part: str):
    from .reader import _rels
    for typ, target in _rels(pkg, workbook_part).values():
        if typ.endswith("/styles") and pkg.has(target):
            return target
    return "xl/styles.xml" if pkg.has("xl/styles.xml") else None


def wrapped_lines(text, width: float, size: float = DEFAULT_SIZE, indent: int = 0) -> int:
    """How many lines `text` takes wrapped at word breaks in a column `width` characters wide."""
    if text is None:
        return 1
    text = str(text)
    room = (width - CELL_PADDING - indent * INDENT_UNITS) * CHARS_PER_UNIT * DEFAULT_SIZE / size
    room = max(1, int(room))
    if len(text) <= room and "\n" not in text:
        return 1
    lines = 0
    for para in text.split("\n"):
        lines += 1
        used = 0
        for word in para.split(" "):
            n = len(word)
            if used and used + 1 + n <= room:
                used += 1 + n
                continue
            if used:
                lines += 1
            # a word longer than the line breaks where the line ends
            extra = max(0, math.ceil(n / room) - 1)
            lines += extra
            used = n - extra * room
    return lines


def row_height(lines: int, size: float = DEFAULT_SIZE) -> float:
    """Row height in points for `lines` lines of text at `size` points."""
    return round(lines * LINE_POINTS * size / DEFAULT_SIZE + 1.5, 2)

"""Where text landed on a PDF's pages (poppler's `pdftotext -bbox-layout`), and what is wrong with it.

    from pdf_layout import read_pages, overlaps, off_page, touching
    pages = read_pages("book.pdf")          # [Page(number, width, height, sheet, words)]
    assert not overlaps(pages[0])           # no two words print over each other
    assert not off_page(pages[0])           # nothing runs off the paper

Each page's sheet is read from the footer the template prints ("Claim, page 3 of 20").
Needs poppler-utils (pdftotext).
"""
from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import NamedTuple


class Word(NamedTuple):
    text: str
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def height(self) -> float:
        return self.y1 - self.y0


class Page(NamedTuple):
    number: int
    width: float
    height: float
    sheet: str | None
    words: list
    lines: list          # [[Word]] as pdftotext groups them, left to right


FOOTER = re.compile(r"^(?P<sheet>.+), page (?P<page>\d+) of (?P<pages>\d+)$")


def find_pdftotext() -> str | None:
    return shutil.which("pdftotext")


def read_pages(pdf: str | Path) -> list:
    """Every page of `pdf` with its words' boxes (points, origin top left)."""
    exe = find_pdftotext()
    if exe is None:
        raise RuntimeError("pdftotext (poppler-utils) is not installed")
    out = subprocess.run([exe, "-bbox-layout", str(pdf), "-"], capture_output=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"{Path(pdf).name}: pdftotext failed: {out.stderr.decode(errors='replace')[:200]}")
    root = ET.fromstring(out.stdout)
    pages = []
    for n, page in enumerate((el for el in root.iter() if _local(el.tag) == "page"), start=1):
        lines = []
        for line in (el for el in page.iter() if _local(el.tag) == "line"):
            words = [Word(w.text or "", *(float(w.get(k)) for k in ("xMin", "yMin", "xMax", "yMax")))
                     for w in line if _local(w.tag) == "word"]
            if words:
                lines.append(words)
        words = [w for line in lines for w in line]
        pages.append(Page(n, float(page.get("width")), float(page.get("height")), _sheet(lines), words, lines))
    return pages


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _sheet(lines) -> str | None:
    for line in reversed(lines):
        m = FOOTER.match(" ".join(w.text for w in line))
        if m:
            return m.group("sheet")
    return None


def overlaps(page: Page, min_x: float = 0.5, share: float = 0.25) -> list:
    """Pairs of words whose boxes cover each other, across by more than min_x points and down by
    more than `share` of the smaller word's height: text printed over other text (a wrapped cell
    taller than its row, a cell running into the next). The lines of one wrapped cell touch
    (a box holds ascent and descent) but never cover a quarter of each other."""
    found = []
    words = sorted(page.words, key=lambda w: w.y0)
    for i, a in enumerate(words):
        for b in words[i + 1:]:
            if b.y0 >= a.y1:
                break
            dy = min(a.y1, b.y1) - max(a.y0, b.y0)
            dx = min(a.x1, b.x1) - max(a.x0, b.x0)
            if dx > min_x and dy > share * min(a.height, b.height):
                found.append((a, b))
    return found


def off_page(page: Page) -> list:
    """Words not wholly on the paper."""
    return [w for w in page.words if w.x0 < 0 or w.y0 < 0 or w.x1 > page.width or w.y1 > page.height]


def touching(page: Page, boundaries: set, inside: set, min_gap: float = 0.35, words: set = frozenset()) -> list:
    """Pairs of neighbouring words on one line that are the end of one cell and the start of
    the next (`boundaries`: (last word, first word) pairs, never also seen inside one cell,
    `inside`) and stand closer than min_gap x the text's height: a word space, not a cell's padding.
    Also words that are such a pair run together, unless a cell holds that word itself (`words`)."""
    found = []
    pairs = boundaries - inside
    for line in page.lines:
        for a, b in zip(line, line[1:]):
            if (a.text, b.text) in pairs and b.x0 - a.x1 < min_gap * min(a.height, b.height):
                found.append((a, b))
    glued = {x + y for x, y in pairs} - set(words)
    found += [(w, w) for w in page.words if w.text in glued]
    return found


def rows_of(page: Page, tolerance: float = 1.5) -> list:
    """The page's words grouped by baseline (one printed row across every cell), left to right."""
    rows = []
    for w in sorted(page.words, key=lambda w: (w.y1, w.x0)):
        if rows and abs(rows[-1][0].y1 - w.y1) <= tolerance:
            rows[-1].append(w)
        else:
            rows.append([w])
    return [sorted(r, key=lambda w: w.x0) for r in rows]


def describe(pairs) -> str:
    return "; ".join(f"{a.text!r}@({a.x0:.0f},{a.y0:.0f}) / {b.text!r}@({b.x0:.0f},{b.y0:.0f})"
                     for a, b in pairs[:8])

"""Claim lines as CSV: the Claim sheet's columns, one row per claim line.

Pure: writes to a text stream it is given (open it with newline=""), so it
runs headless and in xlwings Lite alike. Columns are contract.CLAIM_HEADERS,
with a 'Source File' column first when the caller names the source. Text a
spreadsheet would run as a formula is defused (tables.defuse).

Values: dates ISO 8601 (2026-10-31), money with two decimals, units whole,
minutes as a plain number, a missing rate or charge blank.
"""
from __future__ import annotations

import csv
import datetime as dt
from typing import TextIO

from .. import contract as C
from ..data import ClaimLine, CloseResult, Totals
from ..tables import claim_rows, defuse

MONEY_COLUMNS = {"Rate", "Charge"}


def _cell(header: str, value) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return defuse(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if header in MONEY_COLUMNS:
        return f"{round(float(value), 2):.2f}"
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if not value.is_integer() else str(int(value))
    return str(value)


def _groups(results_or_lines, source):
    """[(source name or None, [ClaimLine])] from a close, closes, or claim lines."""
    items = results_or_lines
    if isinstance(items, CloseResult):
        items = [items]
    items = list(items)
    if items and all(isinstance(i, ClaimLine) for i in items):
        return [(source if isinstance(source, str) else (source[0] if source else None), items)]
    sources = [source] * len(items) if isinstance(source, str) or source is None else list(source)
    if len(sources) != len(items):
        raise ValueError("give one source name per close")
    return [(s, r.claim_lines) for s, r in zip(sources, items)]


def _rows_of(lines) -> list[list]:
    empty = Totals(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    return claim_rows(CloseResult([], list(lines), [], empty, None, {}))


def claims_csv(results_or_lines, fp: TextIO, *, source=None, header: bool = True) -> None:
    """Write the claim lines of one or more closes (or a list of ClaimLine) as CSV.

    `source` is a name (str) for every row, or one name per close; when it is
    given, a 'Source File' column comes first. `header=False` appends rows
    only (to add closes to a file already begun).
    """
    groups = _groups(results_or_lines, source)
    with_source = source is not None
    headers = (("Source File",) if with_source else ()) + C.CLAIM_HEADERS
    w = csv.writer(fp, lineterminator="\r\n")
    if header:
        w.writerow(headers)
    for name, lines in groups:
        for row in _rows_of(lines):
            cells = [_cell(h, v) for h, v in zip(C.CLAIM_HEADERS, row)]
            w.writerow(([defuse(name or "")] if with_source else []) + cells)

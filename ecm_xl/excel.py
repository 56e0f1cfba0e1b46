"""The Excel layer: the monthly close and the code fill on an open workbook.

Every function here takes an ``xlwings.Book``: the desktop add-in's
``xw.Book.caller()``, xlwings Lite's book, or a remote-engine book built from
a JSON payload (how the tests drive it). The engine does the billing; this
module only moves cell values in and out, in bulk:

* one range read per input table (header and body together) and one read of
  the Setup cells as a block, however many rows a month has;
* per output table: one clear of rows left over from a longer earlier close,
  one table resize, a number format per run of like columns, and one write of
  header and rows.

It writes only what every xlwings client carries out (values, number formats,
clears, table resizes, sheet activation and an alert): formulas, validation
and styles live in the template. Nothing here imports what Pyodide lacks, so
xlwings Lite runs the same code (see ``ecm_xl.lite``).
"""
from __future__ import annotations

import datetime as dt
import functools
from typing import NamedTuple

import xlwings as xw

from . import contract as C
from . import engine
from . import values as V
from .data import CloseResult, Table
from .profile import Profile, load_profile
from .tables import defuse, output_tables

TEXT_FORMAT = "@"          # Excel's Text format: IDs like 00123 and "5-7" stay text
CODE_HEADERS = ("HCPCS", "Modifier 1", "Modifier 2")
TITLE = "ECM monthly close"
OPTIONAL_TABLES = (C.CODES, C.ACTIVITIES)


class ExcelError(Exception):
    """A workbook this layer can't close. str(e) is one line naming the workbook."""

    def __init__(self, book, what: str):
        name = _book_name(book)
        super().__init__(" ".join(f"{name}: {what}".split()))


def _book_name(book) -> str:
    try:
        return book.name
    except Exception:  # noqa: BLE001 - a name is only for the message
        return "workbook"


class FoundTable(NamedTuple):
    """A table located in the book, with where its header row sits (1-based)."""

    name: str
    sheet: object             # xw.Sheet
    table: object             # xw.main.Table
    top: int                  # row of the header
    left: int                 # first column
    rows: int                 # header + body rows, as the table stands now
    columns: int


# ---------------------------------------------------------------------------
# Finding tables and names
# ---------------------------------------------------------------------------
def _sheet_names(book) -> list:
    return [s.name for s in book.sheets]


def find_table(book, name: str, sheet_hint: str | None = None, *, sheets=None) -> FoundTable | None:
    """The table called `name`: first on `sheet_hint`, then on any sheet."""
    sheets = _sheet_names(book) if sheets is None else sheets
    order = [s for s in sheets if sheet_hint and s.casefold() == sheet_hint.casefold()]
    order += [s for s in sheets if s not in order]
    for sheet_name in order:
        sheet = book.sheets[sheet_name]
        for table in sheet.tables:
            if table.name == name:
                rng = table.range
                nrows, ncols = rng.shape
                return FoundTable(name, sheet, table, rng.row, rng.column, nrows, ncols)
    return None


def _required_table(book, name: str, sheets) -> FoundTable:
    hint = C.INPUT_SHEETS.get(name, name)
    found = find_table(book, name, hint, sheets=sheets)
    if found is None:
        if not any(s.casefold() == hint.casefold() for s in sheets):
            raise ExcelError(book, f"has no {hint} sheet and no table named {name}")
        raise ExcelError(book, f"the {hint} sheet has no table named {name} "
                               f"(select the data and use Insert > Table, named {name})")
    return found


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------
def _check_headers(book, found: FoundTable) -> None:
    if not found.table.show_headers:
        raise ExcelError(book, f"the {found.name} table has its header row turned off; turn it on "
                               "(Table Design > Header Row) so its columns can be found")


def read_table(book, found: FoundTable) -> tuple:
    """(headers, Table) of a found table, in ONE range read (header and body)."""
    _check_headers(book, found)
    grid = found.table.range.options(ndim=2).value or [[]]
    body = grid[1:-1] if found.table.show_totals else grid[1:]
    headers = tuple(V.text(h) for h in grid[0])
    rows = [{h: v for h, v in zip(headers, values) if h} for values in body]
    return headers, Table(rows, found.top + 1)


def setup_cells(book) -> dict:
    """{setting name: (sheet name, row, column)} for the Setup settings' defined names.

    Book-scoped names win over sheet-scoped ones of the same setting, as in
    the headless reader.
    """
    wanted = set(C.SETTING_NAMES)
    book_scope, sheet_scope = {}, {}
    for n in book.names:
        full = n.name
        bare = full.rsplit("!", 1)[-1]
        if bare not in wanted:
            continue
        try:
            rng = n.refers_to_range
        except Exception:  # noqa: BLE001 - a constant or broken name is no cell
            continue
        if rng is None or rng.shape != (1, 1):
            continue
        target = sheet_scope if "!" in full else book_scope
        target.setdefault(bare, (rng.sheet.name, rng.row, rng.column))
    for k, v in sheet_scope.items():
        book_scope.setdefault(k, v)
    return book_scope


def read_setup(book) -> dict:
    """The Setup named cells as {defined name: value}: one block read per sheet they sit on."""
    cells = setup_cells(book)
    out = {}
    by_sheet = {}
    for name, (sheet, row, col) in cells.items():
        by_sheet.setdefault(sheet, []).append((name, row, col))
    for sheet, items in by_sheet.items():
        r1 = min(r for _, r, _ in items)
        r2 = max(r for _, r, _ in items)
        c1 = min(c for _, _, c in items)
        c2 = max(c for _, _, c in items)
        block = book.sheets[sheet].range((r1, c1), (r2, c2)).options(ndim=2).value
        for name, row, col in items:
            out[name] = block[row - r1][col - c1]
    return out


def read_book(book) -> tuple:
    """(setup dict, {table name: Table}) of the workbook's Setup cells and tables.

    Staff, Members and Timesheet must be there with the headers of
    contract.REQUIRED (ExcelError otherwise); Codes and Activities (the Lists
    tables) are read when present, else the engine uses the plan profile's.
    """
    sheets = _sheet_names(book)
    tables = {}
    for name in (C.STAFF, C.MEMBERS, C.TIMESHEET):
        found = _required_table(book, name, sheets)
        headers, table = read_table(book, found)
        missing = [h for h in C.REQUIRED.get(name, ()) if h not in headers]
        if missing:
            cols = ", ".join(repr(h) for h in missing)
            raise ExcelError(book, f"the {name} table has no {cols} "
                                   f"{'column' if len(missing) == 1 else 'columns'}")
        if name == C.TIMESHEET:
            table = _minutes_as_durations(book, found, headers, table)
        tables[name] = table
    for name in OPTIONAL_TABLES:
        found = find_table(book, name, C.LISTS, sheets=sheets)
        if found is not None:
            tables[name] = read_table(book, found)[1]
    return read_setup(book), tables


def _minutes_as_durations(book, found: FoundTable, headers, table: Table) -> Table:
    """The Timesheet with Minutes typed as durations read as minutes.

    Excel hands a duration cell (0:45 in an [h]:mm or h:mm cell) to Python as
    a date-time on its day 0 (1899-12-30), which values.to_minutes reads as
    minutes, or as a plain fraction of a day (0.03125). The fraction is turned
    into a duration only where the Minutes column's number format is a time or
    duration format (values.is_duration_format); a plain number stays minutes.
    Where the format can't be read (xlwings' remote engine reads formats only
    asynchronously), a fraction of a minute is refused by the close (R11)."""
    if "Minutes" not in headers or not table.rows:
        return table
    col = found.left + headers.index("Minutes")
    try:
        fmt = found.sheet.range((found.top + 1, col), (found.top + len(table.rows), col)).number_format
    except Exception:  # noqa: BLE001 - NotImplementedError on the remote engine, COM errors
        return table
    if not V.is_duration_format(fmt):
        return table
    rows = [{**r, "Minutes": dt.timedelta(days=r["Minutes"])}
            if isinstance(r.get("Minutes"), float) else r for r in table.rows]
    return Table(rows, table.first_row)


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------
def _norm(header) -> str:
    return "".join(str(header).split()).casefold()


def column_map(table_headers, headers) -> list:
    """For each table column, the index into `headers` of the column written there (or None)."""
    exact = {h: i for i, h in enumerate(headers)}
    loose = {}
    for i, h in enumerate(headers):
        loose.setdefault(_norm(h), i)
    return [exact.get(h, loose.get(_norm(h))) for h in table_headers]


def _runs(items) -> list:
    """[(first offset, last offset, key)] for runs of equal, not-None keys."""
    runs = []
    for j, key in enumerate(items):
        if key is None:
            continue
        if runs and runs[-1][1] == j - 1 and runs[-1][2] == key:
            runs[-1] = (runs[-1][0], j, key)
        else:
            runs.append((j, j, key))
    return runs


def output_table(book, name: str, *, sheets=None) -> FoundTable:
    """The output table `name`, checked for being writable (ExcelError otherwise)."""
    found = find_table(book, name, name, sheets=sheets)
    if found is None:
        raise ExcelError(book, f"has no table named {name} to write the close into "
                               f"(start from the ECM_Timesheet template)")
    _check_headers(book, found)
    if found.table.show_totals:
        raise ExcelError(book, f"the {name} table has a totals row; turn it off "
                               "(Table Design > Total Row) so rows can be written")
    return found


def write_table(book, name: str, headers, rows, *, found: FoundTable | None = None) -> FoundTable:
    """Write one output table's rows: one write per run of matched columns (normally one).

    Columns are matched to the table by header text, as the headless writer
    does; a table column with no match is left alone (a calculated column
    keeps its formula). The table is resized to fit the rows (one blank row
    when there are none) and rows left below by a longer earlier close are
    cleared. Before the values land, each column gets its number format
    (contract.NUMBER_FORMATS, else Text), so an ID like 00123 or a row list
    like 5-7 stays text instead of turning into a number or a date.
    """
    found = found or output_table(book, name)
    sheet, top, left = found.sheet, found.top, found.left
    layout = [V.text(h) for h in found.table.header_row_range.options(ndim=2).value[0]]
    cmap = column_map(layout, headers)
    if all(i is None for i in cmap):
        raise ExcelError(book, f"the {name} table has none of the columns {', '.join(headers[:3])}...")
    formats = C.NUMBER_FORMATS.get(name, {})
    fmts = [None if i is None else formats.get(headers[i], TEXT_FORMAT) for i in cmap]
    n = max(len(rows), 1)
    first, last = top + 1, top + n
    old_last = top + found.rows - 1
    if old_last > last:
        sheet.range((last + 1, left), (old_last, left + found.columns - 1)).clear_contents()
    if found.rows != n + 1:
        found.table.resize(sheet.range((top, left), (last, left + found.columns - 1)))
    for a, b, fmt in _runs(fmts):
        sheet.range((first, left + a), (last, left + b)).number_format = fmt
    for a, b, _ in _runs([None if i is None else True for i in cmap]):
        idx = cmap[a:b + 1]
        block = [[defuse(r[i]) for i in idx] for r in rows] or [[""] * len(idx)]
        sheet.range((first, left + a)).value = block
    return found


def write_result(book, result: CloseResult) -> dict:
    """Write Summary, Claim and Exceptions; {table name: FoundTable}.

    All three are found and checked first, so a workbook that can't take the
    close gets nothing written at all.
    """
    sheets = _sheet_names(book)
    tables = output_tables(result)
    found = {name: output_table(book, name, sheets=sheets) for name in tables}
    for name, (headers, rows) in tables.items():
        write_table(book, name, headers, rows, found=found[name])
    return found


# ---------------------------------------------------------------------------
# The two buttons
# ---------------------------------------------------------------------------
def monthly_close(book, *, profile: Profile | None = None, close_date: dt.date | None = None,
                  notify: bool = True) -> CloseResult:
    """Close the workbook's month: read, bill, write Summary, Claim and Exceptions.

    Activates the Summary sheet and tells the user in one line what happened
    (an alert; `notify=False` skips it). Returns the engine's CloseResult.
    Raises ExcelError (one line) when a required table is missing.
    """
    setup, tables = read_book(book)
    if C.CODES not in tables:       # the clinic's rates or nothing, never the profile's example rates
        raise ExcelError(book, "the Lists sheet has no table named Codes; it holds your contract rates, "
                               "and without it nothing is priced. If it was renamed, name it Codes again "
                               "(Table Design > Table Name)")
    result = engine.close_month(tables[C.TIMESHEET], tables[C.STAFF], tables[C.MEMBERS], setup,
                                profile or load_profile(), codes=tables.get(C.CODES),
                                activities=tables.get(C.ACTIVITIES), close_date=close_date)
    written = write_result(book, result)
    written[C.SUMMARY].sheet.activate()
    if notify:
        book.app.alert(close_message(result), title=TITLE)
    return result


def close_message(result: CloseResult) -> str:
    """One line for the person who pressed the button (counts only, no member data)."""
    t = result.totals
    month = result.setup.billing_month
    when = month.strftime("%B %Y") if month and month != dt.date.min else "All months"
    lines = f"{t.claim_lines} claim line{'s' if t.claim_lines != 1 else ''}"
    text = (f"{when} closed: {t.members} member{'s' if t.members != 1 else ''}, {lines}, "
            f"{t.units} unit{'s' if t.units != 1 else ''}, ${t.charge:,.2f}.")
    if t.rows_not_billed or t.warnings:
        text += (f" {t.rows_not_billed} row{'s' if t.rows_not_billed != 1 else ''} not billed, "
                 f"{t.warnings} warning{'s' if t.warnings != 1 else ''}: see Exceptions.")
    else:
        text += " Every row was billed."
    return text


def fill_timesheet(book, *, profile: Profile | None = None, notify: bool = True, refresh: bool = False) -> dict:
    """R5 for the person typing: fill blank HCPCS and modifier cells from the code table.

    Reads Staff and Timesheet (one read each) and writes the code columns of
    the rows from the first to the last filled one in one write (one per
    column if a clinic moved the code columns apart). With `refresh` (the
    Refresh codes button, `refresh_codes`), rows whose code cells hold in full
    the code for ANOTHER staff type (filled before a Staff Type was corrected:
    the close refuses them, R6, and names this button) get the code of the
    staff type on file; any other typed code is left as typed. The helper formula columns of the
    template recalculate on their own. Returns {row: (HCPCS, Modifier 1, Modifier 2)}.
    """
    sheets = _sheet_names(book)
    _, staff = read_table(book, _required_table(book, C.STAFF, sheets))
    found = _required_table(book, C.TIMESHEET, sheets)
    headers, timesheet = read_table(book, found)
    filled = engine.fill_codes(timesheet, staff, profile or load_profile(), refresh=refresh)
    refreshed = sorted(row for row in filled if any(
        not V.is_blank(timesheet.rows[row - timesheet.first_row].get(h)) for h in CODE_HEADERS))
    if filled:
        cols = [headers.index(h) if h in headers else None for h in CODE_HEADERS]
        if None in cols:
            missing = ", ".join(repr(h) for h, c in zip(CODE_HEADERS, cols) if c is None)
            raise ExcelError(book, f"the Timesheet table has no {missing} column to fill")
        first, last = min(filled), max(filled)
        span = timesheet.rows[first - timesheet.first_row:last - timesheet.first_row + 1]
        grid = [[filled[first + i][k] if first + i in filled else r.get(h) for k, h in enumerate(CODE_HEADERS)]
                for i, r in enumerate(span)]
        grid = [["" if v is None else defuse(v) for v in row] for row in grid]
        sheet, left = found.sheet, found.left
        if cols == list(range(cols[0], cols[0] + 3)):
            sheet.range((first, left + cols[0]), (last, left + cols[0] + 2)).number_format = TEXT_FORMAT
            sheet.range((first, left + cols[0])).value = grid
        else:
            for k, c in enumerate(cols):
                sheet.range((first, left + c), (last, left + c)).number_format = TEXT_FORMAT
                sheet.range((first, left + c)).value = [[row[k]] for row in grid]
    if notify:
        n = len(filled) - len(refreshed)
        text = (f"Filled the codes of {n} timesheet row{'s' if n != 1 else ''}."
                if n else "No blank code cells could be filled.")
        if refresh:
            k = len(refreshed)
            text += (f" Refreshed {k} row{'s' if k != 1 else ''} whose codes were those of another Staff Type"
                     + (f" (rows {engine.source_rows_text(refreshed)})." if k else "."))
        book.app.alert(text, title="ECM fill codes")
    return filled


def refresh_codes(book, *, profile: Profile | None = None, notify: bool = True) -> dict:
    """The Refresh codes button: `fill_timesheet` with refresh, after a Staff Type was corrected."""
    return fill_timesheet(book, profile=profile, notify=notify, refresh=True)


# ---------------------------------------------------------------------------
# Worksheet functions
# ---------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _default_profile() -> Profile:
    return load_profile()


def code_for(staff_type, service, contact, profile: Profile | None = None) -> str:
    """'G9008 U1 GQ' for a staff type, service and contact (R5); '' when none applies."""
    profile = profile or _default_profile()
    st = profile.staff_type(V.text(staff_type))
    sv = profile.service(V.text(service))
    if st is None or sv is None or V.is_blank(contact):
        return ""
    code = profile.code_for(st, sv, V.text(contact))
    return code.label if code is not None else ""


def units_for(minutes, unit_minutes=None, profile: Profile | None = None):
    """Whole units for minutes of care (R1/R2: rounded up); '' for a blank cell."""
    if V.is_blank(minutes):
        return ""
    m, err = V.to_minutes(minutes)
    if err:
        return err
    unit = (profile or _default_profile()).unit_minutes
    if not V.is_blank(unit_minutes):
        u, err = V.to_int(unit_minutes)
        if err or u <= 0:
            return f"{V.text(unit_minutes)!r} is not a positive number of minutes"
        unit = u
    return engine.units_for(m, unit) if m > 0 else 0


@xw.func
def ECM_CODE(staff_type, service, contact):
    """=ECM_CODE(staff type, service, contact): the HCPCS code and modifiers, e.g. "G9008 U1 GQ"."""
    return code_for(staff_type, service, contact)


@xw.func
def ECM_UNITS(minutes, unit_minutes=None):
    """=ECM_UNITS(minutes, [unit minutes]): units for care minutes, rounded up (60 by default)."""
    return units_for(minutes, unit_minutes)

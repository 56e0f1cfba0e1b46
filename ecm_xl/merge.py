"""One workbook from several of one clinic-month: `ecm-xl merge A.xlsx B.xlsx -o October.xlsx`.

For a clinic that keeps one workbook per care team, site or staff member but
wants to close the month in one. The merged workbook is the first input, with
the other inputs' rows added after its own:

- Setup: every input must name the same billing NPI, billing month and health
  plan, and agree on every other setting it fills (a setting blank in the first
  input is taken from the others). Otherwise nothing is written and the one-line
  message names each disagreement and the files.
- Staff and Members: an ID new to the merge is added with all its rows; an ID
  already listed must be listed the same way (type and NPI; eligibility,
  enrollment, birth date, diagnosis and name), else nothing is written.
- Codes and Activities: rates and billable flags must agree; activities only
  the others list are added.
- Timesheet: every non-blank row of every input, the first input's rows as
  they were, then each other input's rows in file order. Rows in = rows out
  and minutes in = minutes out (R14), checked on the written file before it
  replaces anything.
- Summary, Claim and Exceptions are emptied: the merged month is not closed yet.

Nothing of an input is lost silently: a column or table holding data that the
first input has no place for stops the merge with its name. Inputs are never
modified; the output is written beside its target and renamed into place.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from . import contract as C
from . import values as V
from .clinic_month import Part, disagreements, read_parts
from .files import WORKBOOK, guard_output, name_of, same_file
from .intake import InputError
from .profile import as_profile, fold
from .xlsx import WorkbookError, append_table_rows, read_workbook, write_named_cells, write_tables
from .progress import stages
from .xlsx.package import OutputError, atomic_write, output_error

MERGED = (C.STAFF, C.MEMBERS, C.TIMESHEET, C.CODES, C.ACTIVITIES)
EMPTIED = (C.SUMMARY, C.CLAIM, C.EXCEPTIONS)
_BLANK = (None, "")


class MergeReport(NamedTuple):
    out: str
    inputs: tuple         # (file name, timesheet rows, minutes) per input, in order
    rows: int             # timesheet rows in the merged workbook
    minutes: float
    staff_added: int      # staff rows added from the other inputs
    members_added: int    # member rows added from the other inputs
    settings_filled: tuple  # Setup names the first input had blank, taken from the others

    def text(self) -> str:
        each = "; ".join(f"{n} {r:,} row{'' if r == 1 else 's'}, {_n(m)} minutes" for n, r, m in self.inputs)
        line = (f"Merged {len(self.inputs)} workbooks ({each}) -> {name_of(self.out)}: {self.rows:,} timesheet rows, "
                f"{_n(self.minutes)} minutes (R14: every row kept); added {self.staff_added:,} staff and "
                f"{self.members_added:,} member rows from the others")
        if self.settings_filled:
            line += "; Setup filled from the others: " + ", ".join(self.settings_filled)
        return line + f"\nClose it with: ecm-xl close {name_of(self.out)}"


def _n(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.2f}"


def _filled(row: dict) -> bool:
    return any(v not in _BLANK for v in row.values())


def _refuse(out, what: str):
    raise InputError(f"{name_of(out)}: not written: {what}")


def merge_workbooks(inputs, out, *, profile=None, force: bool = False, progress=None) -> MergeReport:
    """Merge workbooks of one clinic-month into `out` (see the module's doc).
    progress(done, total, what) hears of each step (ecm_xl.progress).

        merge_workbooks(["Team A.xlsx", "Team B.xlsx"], "October.xlsx")
    """
    prof = as_profile(profile)
    paths = [Path(p) for p in inputs]
    if len(paths) < 2:
        raise InputError("merge", "needs two or more workbooks to merge")
    for i, p in enumerate(paths):
        if any(same_file(p, q) for q in paths[:i]):
            raise InputError(p, "is given twice: each workbook can be merged once")
    out = Path(out)
    guard_output(out, WORKBOOK, force=True, source=paths)     # the name and the inputs; replacing is checked below
    step = stages(progress, 3)
    step(f"reading {len(paths)} workbooks")
    books = [read_workbook(p) for p in paths]
    step("checking they agree")
    names = [p.name for p in paths]
    parts = [Part(n, wb.tables[C.TIMESHEET], wb.tables[C.STAFF], wb.tables[C.MEMBERS], wb.setup,
                  wb.tables.get(C.CODES), wb.tables.get(C.ACTIVITIES)) for n, wb in zip(names, books)]
    found = disagreements(parts, prof)
    if found:
        more = f" (and {len(found) - 3} more)" if len(found) > 3 else ""
        _refuse(out, "the workbooks disagree: " + "; ".join(found[:3]) + more)
    _check_nothing_lost(out, books, names)
    reading = read_parts(parts, prof)

    first = books[0]
    appends = {}
    for table, key in ((C.STAFF, "Staff ID"), (C.MEMBERS, "Member ID")):
        seen = {V.text(r.get(key)) for r in first.tables[table].rows}
        rows = []
        for wb in books[1:]:
            new = [r for r in wb.tables[table].rows if _filled(r) and V.text(r.get(key)) not in seen]
            seen |= {V.text(r.get(key)) for r in new}
            rows += new
        appends[table] = rows
    appends[C.TIMESHEET] = [r for wb in books[1:] for r in wb.tables[C.TIMESHEET].rows if _filled(r)]
    if C.ACTIVITIES in first.tables:
        seen = {fold(V.text(r.get("Activity"))) for r in first.tables[C.ACTIVITIES].rows}
        rows = []
        for wb in books[1:]:
            for r in (wb.tables[C.ACTIVITIES].rows if C.ACTIVITIES in wb.tables else ()):
                name = fold(V.text(r.get("Activity")))
                if name and name not in seen:
                    seen.add(name)
                    rows.append(r)
        appends[C.ACTIVITIES] = rows
    settings = {}
    for s in C.SETTINGS:
        if V.is_blank(first.setup.get(s.name)):
            later = next((wb.setup.get(s.name) for wb in books[1:] if not V.is_blank(wb.setup.get(s.name))), None)
            if later is not None and s.name in first.setup:
                settings[s.name] = later

    rows_in = sum(len(m) for m in reading.minutes)
    minutes_in = round(sum(sum(m.values()) for m in reading.minutes), 4)
    expected = {t: [_plain(r) for r in list(first.tables[t].rows) + appends[t] if _filled(r)]
                for t in (C.STAFF, C.MEMBERS, C.TIMESHEET)}
    guard_output(out, WORKBOOK, force=force, source=paths, own=lambda p: _holds(p, expected))

    step(f"writing {out.name}")
    tmp = out.with_name(f".{out.stem}.{os.getpid()}.merge{out.suffix}")
    try:
        atomic_write(os.fspath(tmp), lambda f: f.write(paths[0].read_bytes()))
        for table, rows in appends.items():
            if rows:
                headers = set(first.headers[table])
                append_table_rows(tmp, tmp, table, [{h: v for h, v in r.items() if h in headers} for r in rows])
        stale = {t: (first.headers[t], []) for t in EMPTIED
                 if t in first.tables and any(_filled(r) for r in first.tables[t].rows)}
        if stale:
            write_tables(tmp, tmp, stale)
        if settings:
            write_named_cells(tmp, tmp, settings)
        merged = read_workbook(tmp, tables=MERGED)
        check = read_parts([Part(out.name, merged.tables[C.TIMESHEET], merged.tables[C.STAFF],
                                 merged.tables[C.MEMBERS], merged.setup)], prof)
        rows_out, minutes_out = len(check.minutes[0]), round(sum(check.minutes[0].values()), 4)
        if (rows_out, minutes_out) != (rows_in, minutes_in):
            _refuse(out, f"the merged Timesheet would hold {rows_out:,} rows and {_n(minutes_out)} minutes, "
                         f"not the inputs' {rows_in:,} and {_n(minutes_in)}")
        os.replace(tmp, out)
    except OSError as exc:   # the temporary copy's trouble is the output's: name the output
        raise output_error(os.fspath(out), exc, replacing=not isinstance(exc, OutputError)) from None
    finally:
        tmp.unlink(missing_ok=True)
    step()
    return MergeReport(str(out), tuple((n, len(m), round(sum(m.values()), 4)) for n, m in zip(names, reading.minutes)),
                       rows_out, minutes_out, len(appends[C.STAFF]), len(appends[C.MEMBERS]), tuple(settings))


def _check_nothing_lost(out, books, names) -> None:
    """Refuse when another input holds data the first input's workbook has no place for."""
    first = books[0]
    for wb, name in zip(books[1:], names[1:]):
        for table, t in wb.tables.items():
            if table in EMPTIED or not any(_filled(r) for r in t.rows):
                continue
            if table not in MERGED:
                same = table in first.tables and [_plain(r) for r in t.rows if _filled(r)] == \
                    [_plain(r) for r in first.tables[table].rows if _filled(r)]
                if not same:   # a drop-down list the template made is the same in every workbook
                    _refuse(out, f"{name}'s {table} table differs from {names[0]}'s, and merge does not "
                                 "combine that table: make them the same, or keep the workbooks apart")
                continue
            if table not in first.tables:
                _refuse(out, f"{name} has a {table} table and {names[0]} has none")
            missing = sorted({h for r in t.rows for h, v in r.items() if v not in _BLANK}
                             - set(first.headers[table]))
            if missing:
                _refuse(out, f"{name}'s {table} table has data under {', '.join(map(repr, missing))}, "
                             f"a column {names[0]}'s {table} table does not have")


def _plain(row: dict) -> tuple:
    return tuple(sorted((h, V.text(v)) for h, v in row.items() if v not in _BLANK))


def _holds(path, expected: dict) -> bool:
    """The file (an earlier merge) already holds exactly these Staff, Members and Timesheet
    rows: replacing it loses no typing."""
    try:
        wb = read_workbook(path, tables=tuple(expected))
    except WorkbookError:
        return False
    return all([_plain(r) for r in wb.tables[t].rows if _filled(r)] == rows for t, rows in expected.items())

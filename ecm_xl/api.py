"""The Python API the `ecm-xl` command mirrors: workbooks in, workbooks out, no Excel.

Each function works on its own from Python and returns a small report; the
command line only prints these reports.

    from ecm_xl import api

    api.new_workbook("October.xlsx", month="2026-10", staff="staff.csv", members="members.csv",
                     settings={"ProviderName": "Sample Clinic", "BillingNPI": "1234567893"})
    api.fill_workbook("October.xlsx", "timesheet_export.csv")        # appends, derives codes
    report = api.close_workbook("October.xlsx")                      # -> October.closed.xlsx
    print(report.text())
    api.batch_close("inbox/", "out/", workers=4)                     # a folder of clinics
    api.demo("ecm-xl-demo")                                          # a sample month, closed

A bad file raises `ecm_xl.xlsx.WorkbookError` (or its subclass InputError
for a CSV or roster) whose message is one line naming the file and what is
wrong. Rows the engine refuses are never an exception: they are Problems on
the Exceptions table. No function here modifies an input it only reads;
every output is written to a temporary file beside it and renamed into place.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from importlib import resources
from pathlib import Path
from typing import Callable, NamedTuple

from . import contract as C
from . import values as V
from .data import ERROR, CloseResult, Table
from .engine import close_month, fill_codes, gc_paused
from .profile import Profile, fold, load_profile
from .tables import defuse, output_tables
from .xlsx import WorkbookError, append_table_rows, read_workbook, write_named_cells, write_tables
from .xlsx.package import atomic_write

TEMPLATE_NAME = "ECM_Timesheet.xlsx"
SPREADSHEETS = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")
TEXT_FILES = (".csv", ".txt", ".tsv")
OK, BAD_FILE, FAILED = "ok", "bad file", "failed"
BATCH_REPORT = "batch_report.csv"
BATCH_CLAIMS = "claims.csv"
BATCH_X12 = "claims.837"
REPORT_HEADERS = ("File", "Status", "Claim Lines", "Units", "Charge", "Errors", "Warnings", "Message", "Output")

# Columns that hold identifiers or codes: always text, never numbers ("02" stays "02").
ID_COLUMNS = {"Staff ID", "Member ID", "NPI", "HCPCS", "Modifier 1", "Modifier 2", "Place of Service",
              "Diagnosis Code", "ZIP", "State", "Sex"}
DATE_COLUMNS = {"Date", "Date of Birth", "ECM Enrollment Date", "Eligible From", "Eligible Through"}
TIME_COLUMNS = {"Start", "End"}
NUMBER_COLUMNS = {"Minutes"}
_PLAIN_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")


class InputError(WorkbookError):
    """A CSV, roster or entries file that can't be used: one line naming it and why."""


# ---------------------------------------------------------------------------
# Reports
# ---------------------------------------------------------------------------
class NewReport(NamedTuple):
    path: str
    staff: int            # staff rows written
    members: int          # member rows written (one per eligibility span)
    settings: tuple       # defined names set


class FillReport(NamedTuple):
    path: str             # the workbook read
    out: str              # the workbook written (the same file unless -o)
    rows: list            # Excel row numbers the entries went to on the Timesheet
    codes_filled: int     # rows whose blank HCPCS/modifier cells were derived (R5)
    ignored_columns: tuple  # entry columns the Timesheet has no place for

    def text(self) -> str:
        where = f"rows {self.rows[0]}-{self.rows[-1]}" if self.rows else "no rows"
        line = (f"Added {len(self.rows):,} time entries to the Timesheet ({where}); "
                f"codes filled on {self.codes_filled:,} -> {self.out}")
        if self.ignored_columns:
            line += "\nIgnored columns the Timesheet has no place for: " + ", ".join(self.ignored_columns)
        return line


class CloseReport(NamedTuple):
    path: str             # the workbook read (never modified unless in place)
    out: str              # the closed copy written
    result: CloseResult
    seconds: float

    @property
    def totals(self):
        return self.result.totals

    def month_text(self) -> str:
        return month_words(self.result)

    def text(self) -> str:
        """A short result for a person: counts and money only, never a member's name."""
        t = self.result.totals
        lines = [f"Closed {month_words(self.result)}: {t.members:,} members, {t.claim_lines:,} claim lines, "
                 f"{t.units:,} units, ${t.charge:,.2f}; {_count(t.errors, 'error')}, {_count(t.warnings, 'warning')} -> {self.out}",
                 f"Rows: {t.rows_in:,} in = {t.rows_billed:,} billed + {t.rows_not_billed:,} not billed; "
                 f"minutes: {_n(t.minutes_in)} = {_n(t.minutes_billed)} billed + {_n(t.minutes_not_billed)} "
                 "not billed (R14)"]
        errs, warns = rule_counts(self.result)
        if errs:
            lines.append("Not billed, by rule: " + ", ".join(f"{r} {n}" for r, n in errs))
        if warns:
            lines.append("Warnings, by rule: " + ", ".join(f"{r} {n}" for r, n in warns))
        return "\n".join(lines)


class BatchItem(NamedTuple):
    file: str             # as shown in the report (relative to the batch's folder)
    status: str           # ok / bad file / failed
    claim_lines: int
    units: int
    charge: float
    errors: int
    warnings: int
    message: str
    out: str              # the closed copy ('' when none)


class BatchReport(NamedTuple):
    out_dir: str
    items: list           # of BatchItem, in input order
    report_path: str
    claims_path: str
    export_path: str | None
    export_message: str   # '' or why the combined export was not written
    seconds: float

    @property
    def ok(self) -> bool:
        return all(i.status == OK for i in self.items) and not self.export_message

    def text(self) -> str:
        counts = Counter(i.status for i in self.items)
        good = [i for i in self.items if i.status == OK]
        lines = [f"Closed {counts[OK]:,} of {len(self.items):,} workbooks: "
                 f"{sum(i.claim_lines for i in good):,} claim lines, {sum(i.units for i in good):,} units, "
                 f"${sum(i.charge for i in good):,.2f} -> {self.out_dir}"]
        for i in self.items:
            if i.status != OK:
                lines.append(f"  {i.status}: {i.message}")
        lines.append(f"Report: {self.report_path}")
        lines.append(f"Claim lines: {self.claims_path}")
        if self.export_path:
            lines.append(f"Export: {self.export_path}")
        if self.export_message:
            lines.append(f"Export not written: {self.export_message}")
        return "\n".join(lines)


class DemoReport(NamedTuple):
    dir: str
    workbook: str         # the filled, unclosed workbook
    entries: str          # the CSV the entries came from
    close: CloseReport
    fill: FillReport
    exports: dict         # format -> path written
    export_messages: dict  # format -> why not written

    def text(self) -> str:
        lines = [self.close.text(), "", "Files:",
                 f"  entries CSV        {self.entries}",
                 f"  workbook (filled)  {self.workbook}",
                 f"  closed workbook    {self.close.out}"]
        for fmt, path in self.exports.items():
            lines.append(f"  {'claim lines CSV' if fmt == 'csv' else '837P claim file':18} {path}")
        for fmt, why in self.export_messages.items():
            lines.append(f"  {fmt} export not written: {why}")
        return "\n".join(lines)


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _n(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.2f}"


def month_words(result: CloseResult) -> str:
    m = result.setup.billing_month if result.setup else None
    if m is not None and m != dt.date.min:
        return f"{m:%B %Y}"
    months = sorted({s.month for s in result.summary})
    if not months:
        return "the timesheet (no billing month on Setup)"
    if len(months) == 1:
        return f"{months[0]:%B %Y} (no billing month on Setup)"
    return f"{months[0]:%b %Y} to {months[-1]:%b %Y} (no billing month on Setup)"


def rule_counts(result: CloseResult):
    """([(rule, errors)], [(rule, warnings)]) in rule order."""
    errs, warns = Counter(), Counter()
    for p in result.problems:
        (errs if p.severity == ERROR else warns)[p.rule] += 1
    order = lambda kv: int(kv[0][1:]) if kv[0][1:].isdigit() else 99  # noqa: E731
    return sorted(errs.items(), key=order), sorted(warns.items(), key=order)


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------
def _profile(profile) -> Profile:
    if isinstance(profile, Profile):
        return profile
    return load_profile(profile)


def parse_month(value) -> dt.date | None:
    """'2026-10', '10/2026', 'Oct 2026' or a date -> the first of the month; ValueError when not a month."""
    if value is None or value == "":
        return None
    m, err = V.to_month(value)
    if err:
        raise ValueError(f"--month {err}")
    return m


def _name(path) -> str:
    return os.path.basename(os.fspath(path))


def _same_file(a, b) -> bool:
    a, b = os.fspath(a), os.fspath(b)
    if os.path.exists(a) and os.path.exists(b):
        return os.path.samefile(a, b)
    return os.path.abspath(a) == os.path.abspath(b)


def default_output(path) -> Path:
    """`<name>.closed.xlsx` beside the workbook (keeping .xlsm for a macro workbook).

    A workbook already named `*.closed.xlsx` has no default: closing it again
    needs -o or --in-place, so a closed copy is never overwritten by surprise.
    """
    p = Path(path)
    stem = p.stem
    if stem.lower().endswith(".closed"):
        raise InputError(p, "is already a closed copy: give -o OUT.xlsx for a new copy, "
                            "or --in-place to update it")
    return p.with_name(f"{stem}.closed{p.suffix or '.xlsx'}")


# ---------------------------------------------------------------------------
# Reading CSV and spreadsheet exports (entries, staff, members)
# ---------------------------------------------------------------------------
def read_export(path, sheet: str | None = None, prefer: str | None = None):
    """(headers, rows as lists) of a CSV or of one sheet of a spreadsheet.

    The header is the first row with at least two filled cells. For a
    spreadsheet, `sheet` names the sheet; else one named `prefer` if there is
    one, else the first sheet.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(p, "does not exist")
    if p.is_dir():
        raise InputError(p, "is a folder, not a file")
    suffix = p.suffix.lower()
    if suffix in TEXT_FILES:
        grid = _read_csv(p)
    elif suffix in SPREADSHEETS:
        grid = _read_sheet(p, sheet, prefer)
    else:
        raise InputError(p, "is not a CSV or Excel file (.csv, .xlsx, .xlsm, .xls)")
    for i, row in enumerate(grid):
        if sum(1 for v in row if not V.is_blank(v)) >= 2:
            headers = [V.text(v) for v in row]
            return headers, grid[i + 1:]
    raise InputError(p, "has no header row (the first row should name the columns)")


def _read_csv(p: Path) -> list:
    raw = p.read_bytes()
    if b"\x00" in raw[:4096]:
        raise InputError(p, "is not a text CSV file (it holds binary data)")
    for enc in ("utf-8-sig", "cp1252"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    first = text.split("\n", 1)[0]
    delim = max(",;\t|", key=first.count) if any(d in first for d in ",;\t|") else ","
    try:
        return [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=delim)]
    except csv.Error as exc:
        raise InputError(p, f"is not a readable CSV file ({exc})") from None


def _read_sheet(p: Path, sheet: str | None, prefer: str | None) -> list:
    try:
        from python_calamine import CalamineWorkbook
        wb = CalamineWorkbook.from_path(str(p))
    except Exception as exc:  # calamine's own error types for damaged or encrypted files
        raise InputError(p, f"cannot be read as a spreadsheet ({' '.join(str(exc).split())[:120]})") from None
    try:
        names = wb.sheet_names
        if sheet is not None:
            match = [n for n in names if fold(n) == fold(sheet)]
            if not match:
                raise InputError(p, f"has no sheet named {sheet!r}")
            name = match[0]
        else:
            match = [n for n in names if prefer and fold(n) == fold(prefer)]
            name = match[0] if match else names[0]
        try:
            return wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
        except Exception as exc:
            raise InputError(p, f"sheet {name!r} cannot be read ({' '.join(str(exc).split())[:120]})") from None
    finally:
        wb.close()


def match_columns(path, headers, wanted, required=(), either=()):
    """{column index: wanted header} matching headers ignoring case, spacing and punctuation.

    A missing required column raises InputError naming it. `either` is a
    list of alternatives like [("Minutes",), ("Start", "End")]: one must be
    complete. Returns (mapping, ignored headers).
    """
    by_fold = {fold(h): h for h in wanted}
    mapping, ignored = {}, []
    for i, h in enumerate(headers):
        if not h:
            continue
        target = by_fold.get(fold(h))
        if target is not None and target not in mapping.values():
            mapping[i] = target
        else:
            ignored.append(h)
    have = set(mapping.values())
    for col in required:
        if col not in have:
            raise InputError(path, f"has no {col!r} column (the header row must name it)")
    if either and not any(all(c in have for c in alt) for alt in either):
        words = " or ".join(" and ".join(repr(c) for c in alt) for alt in either)
        raise InputError(path, f"has no {words} column (the header row must name it)")
    return mapping, tuple(ignored)


def clean_value(header: str, value):
    """A cell from an export as the Timesheet should hold it.

    Text that is plainly a date, a time or a number becomes one (a CSV has no
    types); anything else is kept exactly as typed, so the close can say what
    is wrong with it. Identifiers and codes stay text.
    """
    if V.is_blank(value):
        return None
    if header in ID_COLUMNS:
        return V.text(value)
    if isinstance(value, str):
        s = value.strip()
        if header in DATE_COLUMNS:
            d, err = V.to_date(s)
            return d if not err else s
        if header in TIME_COLUMNS:
            t, err = V.to_time(s)
            return t if not err else s
        if header in NUMBER_COLUMNS and _PLAIN_NUMBER.match(s):
            n = float(s)
            return int(n) if n.is_integer() else n
        return s
    if isinstance(value, dt.datetime) and header in DATE_COLUMNS and value.time() == dt.time(0):
        return value.date()
    if isinstance(value, dt.timedelta) and header in TIME_COLUMNS:
        t, err = V.to_time(value)
        return t if not err else value
    return value


def table_rows(source, wanted, *, required=(), either=(), sheet=None, prefer=None):
    """Rows ({header: value}) from a file path or from an iterable of dicts.

    Returns (rows, ignored column names). Blank rows are skipped.
    """
    if isinstance(source, (str, os.PathLike)):
        headers, grid = read_export(source, sheet, prefer)
        mapping, ignored = match_columns(source, headers, wanted, required, either)
        records = ({mapping[i]: v for i, v in enumerate(r) if i in mapping} for r in grid)
    else:
        source = list(source)
        headers = list(dict.fromkeys(k for r in source for k in r))
        mapping, ignored = match_columns("rows", headers, wanted, required, either)
        rename = {headers[i]: h for i, h in mapping.items()}
        records = ({rename[k]: v for k, v in r.items() if k in rename} for r in source)
    rows, seen = [], {}   # a month repeats its dates, times and labels: clean each once

    def clean(h, v):
        key = (h, v.__class__, v)
        try:
            return seen[key]
        except KeyError:
            out = seen[key] = clean_value(h, v)
            return out
        except TypeError:   # an unhashable value
            return clean_value(h, v)
    for rec in records:
        row = {h: c for h, v in rec.items() if (c := clean(h, v)) is not None}
        if row:
            rows.append(row)
    return rows, ignored


# ---------------------------------------------------------------------------
# new
# ---------------------------------------------------------------------------
def template_source(profile=None) -> bytes:
    """The template's bytes: the one shipped for the default profile, else built for `profile`."""
    prof = _profile(profile)
    if prof.id == load_profile().id and prof == load_profile():
        for candidate in _shipped_templates():
            if candidate is not None and candidate.is_file():
                data = candidate.read_bytes()
                if data[:2] == b"PK":  # not a git symlink checked out as text (Windows)
                    return data
    from .template import template_bytes
    return template_bytes(prof)


def _shipped_templates():
    """Where the committed template may be: inside the installed package (in a
    checkout, ecm_xl/templates/ holds a link to it), then the checkout itself."""
    yield resources.files("ecm_xl").joinpath("templates", TEMPLATE_NAME)
    from .template import template_path
    yield template_path()


def setting_value(name: str, value):
    """A Setup value typed on the command line, as the cell should hold it."""
    kind = next(s.kind for s in C.SETTINGS if s.name == name)
    if V.is_blank(value):
        return None
    if kind == "month":
        return parse_month(value)
    if kind == "int" and isinstance(value, str) and _PLAIN_NUMBER.match(value.strip()):
        return int(float(value))
    return value if not isinstance(value, str) else value.strip()


def setting_name(key: str) -> str:
    """A setting's defined name from its name or label, any case; ValueError when none."""
    for s in C.SETTINGS:
        if fold(key) in (fold(s.name), fold(s.label)):
            return s.name
    raise ValueError(f"no Setup setting named {key!r}; settings: {', '.join(C.SETTING_NAMES)}")


def new_workbook(out, *, month=None, staff=None, members=None, settings=None, profile=None,
                 overwrite: bool = False) -> NewReport:
    """A fresh workbook from the template, with Setup and the rosters filled.

    `staff` and `members` are CSV/xlsx paths or lists of dicts keyed by the
    Staff / Members headers (matched ignoring case and spacing). `settings`
    maps Setup names or labels to values; `month` sets the billing month.

        new_workbook("October.xlsx", month="2026-10", staff="staff.csv",
                     settings={"BillingNPI": "1234567893", "TaxID": "123456789"})
    """
    out = Path(out)
    if out.suffix.lower() not in (".xlsx", ".xlsm"):
        raise InputError(out, "must end in .xlsx")
    if out.exists() and not overwrite:
        raise InputError(out, "already exists: choose another name, or remove it first")
    if not out.parent.exists():
        raise InputError(out, f"can't be written: folder {out.parent} does not exist")
    values = {setting_name(k): setting_value(setting_name(k), v) for k, v in (settings or {}).items()}
    if month is not None:
        values["BillingMonth"] = parse_month(month)
    staff_rows = table_rows(staff, C.STAFF_HEADERS, required=("Staff ID", "Staff Type"), prefer=C.STAFF)[0] \
        if staff is not None else []
    member_rows = table_rows(members, C.MEMBER_HEADERS, required=("Member ID", "Eligible From"),
                             prefer=C.MEMBERS)[0] if members is not None else []
    data = template_source(profile)
    # Built beside the target under a temporary name, renamed into place when whole.
    tmp = out.with_name(f".{out.stem}.{os.getpid()}.new{out.suffix}")
    try:
        atomic_write(os.fspath(tmp), lambda f: f.write(data))
        if values:
            write_named_cells(tmp, tmp, values)
        if staff_rows:
            append_table_rows(tmp, tmp, C.STAFF, staff_rows)
        if member_rows:
            append_table_rows(tmp, tmp, C.MEMBERS, member_rows)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return NewReport(str(out), len(staff_rows), len(member_rows), tuple(values))


# ---------------------------------------------------------------------------
# fill
# ---------------------------------------------------------------------------
def fill_workbook(path, entries, out=None, *, profile=None, sheet: str | None = None) -> FillReport:
    """Append time entries (a CSV/xlsx export, or a list of dicts) to the Timesheet table.

    Columns are matched to the Timesheet headers ignoring case, spacing and
    punctuation; Date, Staff ID, Member ID, Service, Contact and Minutes (or
    Start and End) are required. Blank HCPCS/modifier cells are derived from
    the staff type, service and contact (R5, `engine.fill_codes`). Nothing is
    judged here: every row is appended, and the close says what can't bill.
    The workbook is updated atomically (or written to `out`).

        fill_workbook("October.xlsx", "export.csv")
    """
    prof = _profile(profile)
    path = Path(path)
    wb = read_workbook(path, required=(C.STAFF, C.TIMESHEET), tables=(C.STAFF,))  # fill needs the Timesheet headers only
    table_headers = wb.headers[C.TIMESHEET]
    writable = tuple(h for h in C.TIMESHEET_HEADERS if h in table_headers)
    rows, ignored = table_rows(entries, C.TIMESHEET_HEADERS,
                               required=("Date", "Staff ID", "Member ID", "Service", "Contact"),
                               either=(("Minutes",), ("Start", "End")), sheet=sheet, prefer=C.TIMESHEET)
    src_name = entries if isinstance(entries, (str, os.PathLike)) else "entries"
    if not rows:
        raise InputError(src_name, "has no time entries under its header row")
    dropped = sorted({h for r in rows for h in r} - set(writable))
    codes = fill_codes(Table(rows, 1), wb.tables[C.STAFF], prof)
    code_cols = ("HCPCS", "Modifier 1", "Modifier 2")
    if all(h in writable for h in code_cols):
        for i, key in codes.items():
            rows[i - 1].update({h: v for h, v in zip(code_cols, key) if v})
    else:
        codes = {}
    rows = [{h: v for h, v in r.items() if h in writable} for r in rows]
    dst = Path(out) if out is not None else path
    written = append_table_rows(path, dst, C.TIMESHEET, rows)
    return FillReport(str(path), str(dst), written, len(codes), tuple(ignored) + tuple(dropped))


# ---------------------------------------------------------------------------
# close
# ---------------------------------------------------------------------------
def close_result(wb, *, month=None, profile=None, close_date=None) -> CloseResult:
    """The engine's close of a read workbook (`ecm_xl.xlsx.read_workbook`)."""
    t = wb.tables
    return close_month(t[C.TIMESHEET], t[C.STAFF], t[C.MEMBERS], wb.setup, _profile(profile),
                       codes=t.get(C.CODES), activities=t.get(C.ACTIVITIES), close_date=close_date,
                       billing_month=parse_month(month))


def close_workbook(path, out=None, *, month=None, in_place: bool = False, profile=None,
                   close_date: dt.date | None = None) -> CloseReport:
    """Run the engine and write Summary, Claim and Exceptions into a copy of the workbook.

    The copy is `out`, by default `<name>.closed.xlsx` beside the input; the
    input is never written unless `in_place`. Closing a closed workbook again
    replaces the three tables and gives the same result. `month` ('2026-10')
    overrides Setup's billing month; `close_date` (default today) dates R13.

        report = close_workbook("October.xlsx")
        report.result.totals.units, report.out
    """
    start = time.perf_counter()
    path = Path(path)
    if in_place:
        if out is not None and not _same_file(out, path):
            raise ValueError("give either -o OUT or --in-place, not both")
        dst = path
    else:
        dst = Path(out) if out is not None else default_output(path)
        if _same_file(dst, path):
            raise InputError(path, "would be overwritten: the output is the workbook itself "
                                   "(use --in-place to update it)")
    if not dst.parent.exists():
        raise InputError(dst, f"can't be written: folder {dst.parent} does not exist")
    month_date = parse_month(month)
    with gc_paused():  # read, bill and write allocate per row and free nothing until done
        # only the tables the engine bills from: an earlier close's Summary and Claim are not parsed
        wb = read_workbook(path, tables=(C.STAFF, C.MEMBERS, C.TIMESHEET, C.CODES, C.ACTIVITIES))
        result = close_result(wb, month=month_date, profile=profile, close_date=close_date)
        write_tables(path, dst, output_tables(result))
    return CloseReport(str(path), str(dst), result, time.perf_counter() - start)


# ---------------------------------------------------------------------------
# batch
# ---------------------------------------------------------------------------
def find_workbooks(spec) -> list[Path]:
    """Workbooks named by a folder, a glob pattern, a path, or a list of them (sorted, no Excel lock files)."""
    if isinstance(spec, (list, tuple)):
        out = []
        for s in spec:
            out.extend(find_workbooks(s))
        return list(dict.fromkeys(out))
    p = Path(spec)
    if p.is_dir():
        found = [q for q in p.iterdir() if q.suffix.lower() in (".xlsx", ".xlsm") and q.is_file()]
    elif any(ch in str(spec) for ch in "*?["):
        base = Path(str(spec)).anchor or "."
        pattern = os.path.relpath(str(spec), base) if Path(str(spec)).is_absolute() else str(spec)
        found = [q for q in Path(base).glob(pattern) if q.is_file()]
    else:
        found = [p]
    return sorted(q for q in found if not q.name.startswith("~$"))


def _display_names(paths: list[Path]) -> list[str]:
    if not paths:
        return []
    parents = {os.path.abspath(p.parent) for p in paths}
    root = os.path.commonpath(list(parents)) if len(parents) > 1 else parents.pop()
    return [os.path.relpath(os.path.abspath(p), root) for p in paths]


def _out_names(paths: list[Path], out_dir: Path) -> list[Path]:
    used, out = set(), []
    for p in paths:
        stem = p.stem[:-7] if p.stem.lower().endswith(".closed") else p.stem
        name, n = f"{stem}.closed{p.suffix.lower()}", 1
        while name.lower() in used:
            n += 1
            name = f"{stem}-{n}.closed{p.suffix.lower()}"
        used.add(name.lower())
        out.append(out_dir / name)
    return out


def _close_one(job):
    """Close one workbook in a worker: (item, claim lines, result or None). Never raises."""
    path, dst, name, month, profile, close_date, keep_result = job
    try:
        report = close_workbook(path, dst, month=month, profile=profile, close_date=close_date)
    except WorkbookError as exc:
        return BatchItem(name, BAD_FILE, 0, 0, 0.0, 0, 0, str(exc), ""), [], None
    except OSError as exc:      # the disk, not the workbook: full, read-only, gone
        what = exc.strerror or type(exc).__name__
        return BatchItem(name, FAILED, 0, 0, 0.0, 0, 0, f"{name}: can't be closed ({what})", ""), [], None
    except Exception as exc:   # a bug or an unreadable corner: this file fails, the batch goes on
        word = type(exc).__name__
        return BatchItem(name, FAILED, 0, 0, 0.0, 0, 0, f"{name}: unexpected {word} while closing; "
                         "run `ecm-xl close` on this file alone to see it", ""), [], None
    t = report.result.totals
    item = BatchItem(name, OK, t.claim_lines, t.units, t.charge, t.errors, t.warnings, "", str(dst))
    return item, list(report.result.claim_lines), report.result if keep_result else None


def batch_close(paths, out_dir, *, workers: int | None = None, fmt: str | None = None,
                progress: Callable | None = None, month=None, profile=None,
                close_date: dt.date | None = None, control_number: int | None = None) -> BatchReport:
    """Close every workbook into `out_dir`; one bad workbook never stops the others.

    `paths` is a folder, a glob ("inbox/*.xlsx") or a list of paths. Writes
    `<name>.closed.xlsx` per workbook, `batch_report.csv` (one row per file)
    and `claims.csv` (every claim line, with its Source File); with
    fmt="x12", also `claims.837` combining every closed workbook. Work is
    spread over `workers` processes (default: the CPU count). `progress(done,
    total)` is called as files finish.

        report = batch_close("inbox", "out", workers=4)
        [i.file for i in report.items if i.status != "ok"]
    """
    start = time.perf_counter()
    if fmt not in (None, "csv", "x12"):
        raise ValueError(f"unknown format {fmt!r}: use x12 or csv")
    files = find_workbooks(paths)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(out_dir, "is a file, not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    out_abs = os.path.abspath(out_dir)
    files = [f for f in files if os.path.abspath(f.parent) != out_abs]   # never re-close our own outputs
    if not files:
        raise InputError(paths if isinstance(paths, (str, os.PathLike)) else "batch",
                         "holds no .xlsx workbooks to close")
    month = parse_month(month)
    names = _display_names(files)
    dsts = _out_names(files, out_dir)
    keep = fmt == "x12"
    prof = _profile(profile)
    jobs = [(str(f), str(d), n, month, prof, close_date, keep) for f, d, n in zip(files, dsts, names)]
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    results: list = [None] * len(jobs)
    done = 0
    if workers == 1:
        for i, job in enumerate(jobs):
            results[i] = _close_one(job)
            done += 1
            if progress:
                progress(done, len(jobs))
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(_close_one, job): i for i, job in enumerate(jobs)}
            for fut in as_completed(futures):
                i = futures[fut]
                try:
                    results[i] = fut.result()
                except Exception as exc:   # the worker process itself died
                    name = jobs[i][2]
                    results[i] = (BatchItem(name, FAILED, 0, 0, 0.0, 0, 0,
                                            f"{name}: the worker closing it stopped ({type(exc).__name__})", ""),
                                  [], None)
                done += 1
                if progress:
                    progress(done, len(jobs))
    items = [r[0] for r in results]
    report_path = out_dir / BATCH_REPORT
    claims_path = out_dir / BATCH_CLAIMS
    _write_report(report_path, items)
    _write_claims(claims_path, [(r[0].file, r[1]) for r in results if r[0].status == OK])
    export_path, export_message = None, ""
    if fmt == "x12":
        good = [(r[0].file, r[2]) for r in results if r[0].status == OK and r[2] is not None]
        if good:
            from .exports import ExportError, export_results
            try:
                kw = {"control_number": control_number} if control_number is not None else {}
                export_results([g[1] for g in good], "x12", out_dir / BATCH_X12, profile=prof,
                               sources=[g[0] for g in good], **kw)
                export_path = str(out_dir / BATCH_X12)
            except ExportError as exc:
                export_message = str(exc)
        else:
            export_message = "no workbook closed, so there is nothing to export"
    elif fmt == "csv":
        export_path = str(claims_path)
    return BatchReport(str(out_dir), items, str(report_path), str(claims_path), export_path, export_message,
                       time.perf_counter() - start)


def _write_csv(path: Path, produce) -> None:
    def write(f):
        text = io.StringIO(newline="")
        produce(text)
        f.write(text.getvalue().encode("utf-8-sig"))
    atomic_write(os.fspath(path), write)


def _write_report(path: Path, items) -> None:
    def produce(fp):
        w = csv.writer(fp)
        w.writerow(REPORT_HEADERS)
        for i in items:
            w.writerow([defuse(i.file), i.status, i.claim_lines, i.units, f"{i.charge:.2f}", i.errors, i.warnings,
                        defuse(i.message), defuse(_name(i.out)) if i.out else ""])
    _write_csv(path, produce)


def _write_claims(path: Path, groups) -> None:
    """Every claim line of every closed workbook, with its Source File (exports.claims_csv)."""
    from .exports import claims_csv

    def produce(fp):
        if not groups:
            claims_csv([], fp, source="")
            return
        for n, (name, lines) in enumerate(groups):
            claims_csv(list(lines), fp, source=name, header=n == 0)
    _write_csv(path, produce)


# ---------------------------------------------------------------------------
# export (one closed workbook)
# ---------------------------------------------------------------------------
def export_workbook(path, fmt: str, out, *, control_number: int | None = None, profile=None, close_date=None):
    """A closed workbook's claims as an 837P ('x12') or CSV file (see ecm_xl.exports)."""
    from .exports import export_workbook as _export
    kw = {"control_number": control_number} if control_number is not None and fmt == "x12" else {}
    return _export(path, fmt, out, profile=_profile(profile), close_date=close_date, **kw)


# ---------------------------------------------------------------------------
# demo
# ---------------------------------------------------------------------------
def demo(dir="ecm-xl-demo", *, seed: int | None = None, close_date: dt.date | None = None) -> DemoReport:
    """Make a realistic sample month, fill it like a clinic, close it, export it.

    Writes into `dir`: the rosters and the time entries as CSV (what a clinic
    exports from its own system), the filled workbook, the closed copy, and
    the claim lines as CSV and as an 837P file when the close is ready for
    one. The close is dated `close_date` (default DEMO_CLOSE_DATE, so the
    printed result never depends on today's date).

        print(demo("/tmp/demo").text())
    """
    from . import demo as D

    month = D.make_month(D.DEMO_SEED if seed is None else seed)
    close_date = close_date or D.DEMO_CLOSE_DATE
    d = Path(dir)
    d.mkdir(parents=True, exist_ok=True)
    tag = f"{month.month:%Y-%m}"
    staff_csv, members_csv, entries_csv = d / "staff.csv", d / "members.csv", d / f"timesheet_entries_{tag}.csv"
    _write_plain_csv(staff_csv, C.STAFF_HEADERS, month.staff)
    _write_plain_csv(members_csv, C.MEMBER_HEADERS, month.members)
    _write_plain_csv(entries_csv, C.TIMESHEET_HEADERS, month.entries)
    workbook = d / f"ECM_Timesheet_{tag}.xlsx"
    settings = {k: v for k, v in month.settings.items() if k != "BillingMonth"}
    new_workbook(workbook, month=month.month, staff=staff_csv, members=members_csv, settings=settings,
                 overwrite=True)
    fill = fill_workbook(workbook, entries_csv)
    closed = close_workbook(workbook, close_date=close_date)
    exports, messages = {}, {}
    from .exports import ExportError, export_results
    for fmt, name in (("csv", f"claims_{tag}.csv"), ("x12", f"claims_{tag}.837")):
        try:
            export_results([closed.result], fmt, d / name)
            exports[fmt] = str(d / name)
        except ExportError as exc:
            messages[fmt] = str(exc)
    return DemoReport(str(d), str(workbook), str(entries_csv), closed, fill, exports, messages)


def _write_plain_csv(path: Path, headers, rows) -> None:
    def cell(v):
        if isinstance(v, dt.date):
            return f"{v.month}/{v.day}/{v.year}"
        return "" if v is None else str(v)

    def produce(fp):
        w = csv.writer(fp)
        w.writerow(headers)
        for r in rows:
            w.writerow([cell(r.get(h)) for h in headers])
    _write_csv(path, produce)


__all__ = ["new_workbook", "fill_workbook", "close_workbook", "batch_close", "export_workbook", "demo",
           "NewReport", "FillReport", "CloseReport", "BatchItem", "BatchReport", "DemoReport", "InputError",
           "WorkbookError", "default_output", "find_workbooks", "read_export", "table_rows", "parse_month",
           "write_named_cells", "close_result", "month_words", "rule_counts"]

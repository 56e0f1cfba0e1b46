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
from __future__ import annotations

import csv
import datetime as dt
import os
import time
from importlib import resources
from pathlib import Path

from . import contract as C
from .batch import BatchItem, BatchReport, batch_close, find_workbooks
from .data import CloseResult, Table
from .engine import close_month, fill_codes, gc_paused
from .files import (CSV, WORKBOOK, X12, default_output, extends_workbook, guard_output, has_bytes, is_claims_csv,
                    is_closed_copy, is_x12_of, name_of, same_file, write_csv)
from . import values as V
from .intake import _PLAIN_NUMBER, InputError, clean_value, match_columns, parse_month, read_export, table_rows  # noqa: F401 (the API's face)
from .profile import as_profile, fold, load_profile
from .progress import stages
from .reports import CloseReport, DemoReport, FillReport, NewReport, month_words, rule_counts
from .setting_checks import setting_problem
from .tables import output_tables
from .xlsx import WorkbookError, append_table_rows, read_workbook, write_named_cells, write_table_cells, write_tables
from .xlsx.package import OutputError, Package, atomic_write, output_error
from .xlsx.reader import settle

TEMPLATE_NAME = "ECM_Timesheet.xlsx"


# ---------------------------------------------------------------------------
# new
# ---------------------------------------------------------------------------
def template_source(profile=None) -> bytes:
    """The template's bytes: the one shipped for the default profile, else built for `profile`."""
    prof = as_profile(profile)
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


class SettingError(ValueError):
    """A Setup value that can't be right (an NPI whose check digit fails, ...): one line."""


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
    out = guard_output(out, WORKBOOK, force=overwrite,
                       source=[s for s in (staff, members) if isinstance(s, (str, os.PathLike))])
    if not out.parent.exists():
        raise InputError(out, f"can't be written: folder {out.parent} does not exist")
    typed = {setting_name(k): v for k, v in (settings or {}).items()}
    bad = [p for name, v in typed.items() if (p := setting_problem(name, v))]
    if bad:   # in the words the close and the 837P export use
        raise SettingError("; ".join(bad) + "; nothing was written")
    values = {name: setting_value(name, v) for name, v in typed.items()}
    if month is not None:
        values["BillingMonth"] = parse_month(month)
    staff_rows, member_rows, ignored = [], [], {}
    if staff is not None:
        staff_rows, ignored[C.STAFF] = table_rows(staff, C.STAFF_HEADERS, required=("Staff ID", "Staff Type"),
                                                  prefer=C.STAFF, profile=profile)
    if members is not None:
        member_rows, ignored[C.MEMBERS] = table_rows(members, C.MEMBER_HEADERS, required=("Member ID", "Eligible From"),
                                                     prefer=C.MEMBERS, profile=profile)
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
    except OSError as exc:   # the temporary copy's trouble is the output's: name the output
        raise output_error(os.fspath(out), exc, replacing=not isinstance(exc, OutputError)) from None
    finally:
        tmp.unlink(missing_ok=True)
    return NewReport(str(out), len(staff_rows), len(member_rows), tuple(values),
                     {k: v for k, v in ignored.items() if v})


# ---------------------------------------------------------------------------
# fill
# ---------------------------------------------------------------------------
def fill_workbook(path, entries=None, out=None, *, profile=None, sheet: str | None = None,
                  force: bool = False, progress=None, refresh_codes: bool = False) -> FillReport:
    """Append time entries (a CSV/xlsx export, or a list of dicts) to the Timesheet table.

    Columns are matched to the Timesheet headers ignoring case, spacing and
    punctuation; Date, Staff ID, Member ID, Service, Contact and Minutes (or
    Start and End) are required. Blank HCPCS/modifier cells are derived from
    the staff type, service and contact (R5, `engine.fill_codes`). Nothing is
    judged here: every row is appended, and the close says what can't bill.
    The workbook is updated atomically (or written to `out`, which may replace
    only an earlier fill of the same workbook, unless `force`).

    `refresh_codes` (without entries) brings code cells filled for a staff
    member's earlier Staff Type up to date: rows whose code cells hold, in
    full, the code R5 gives their service and contact for ANOTHER staff type
    get the code for the type now on the Staff sheet (the close's R6 reason
    names this). Any other typed code is left alone.

        fill_workbook("October.xlsx", "export.csv")
        fill_workbook("October.xlsx", refresh_codes=True)
    """
    prof = as_profile(profile)
    path = Path(path)
    if out is not None and not same_file(out, path):
        guard_output(out, WORKBOOK, force=force, own=lambda p: extends_workbook(p, path),
                     source=[path] + ([entries] if isinstance(entries, (str, os.PathLike)) else []))
    if refresh_codes:
        if entries is not None:
            raise ValueError("refresh codes on their own: give no entries with refresh_codes")
        return _refresh_codes(path, out, prof)
    if entries is None:
        raise ValueError("give the time entries to add")
    step = stages(progress, 3)
    step(f"reading {name_of(entries) if isinstance(entries, (str, os.PathLike)) else 'the entries'}")
    pkg = Package(path)      # read once: the rows are appended to the very workbook checked here
    try:
        wb = read_workbook(pkg, required=(C.STAFF, C.TIMESHEET), tables=(C.STAFF,))  # fill needs the Timesheet headers only
    except BaseException:
        pkg.close()
        raise
    table_headers = wb.headers[C.TIMESHEET]
    writable = tuple(h for h in C.TIMESHEET_HEADERS if h in table_headers)
    rows, ignored = table_rows(entries, C.TIMESHEET_HEADERS,
                               required=("Date", "Staff ID", "Member ID", "Service", "Contact"),
                               either=(("Minutes",), ("Start", "End")), sheet=sheet, prefer=C.TIMESHEET,
                               profile=prof)
    src_name = entries if isinstance(entries, (str, os.PathLike)) else "entries"
    if not rows:
        raise InputError(src_name, "has no time entries under its header row")
    dropped = sorted({h for r in rows for h in r} - set(writable))
    step(f"deriving codes for {len(rows):,} entries")
    codes = fill_codes(Table(rows, 1), wb.tables[C.STAFF], prof)
    code_cols = ("HCPCS", "Modifier 1", "Modifier 2")
    if all(h in writable for h in code_cols):
        for i, key in codes.items():
            rows[i - 1].update({h: v for h, v in zip(code_cols, key) if v})
    else:
        codes = {}
    rows = [{h: v for h, v in r.items() if h in writable} for r in rows]
    dst = Path(out) if out is not None else path
    step(f"writing {dst.name}")
    with pkg:
        written = append_table_rows(pkg, dst, C.TIMESHEET, rows)
    step()
    return FillReport(str(path), str(dst), written, len(codes), tuple(ignored) + tuple(dropped))


def _refresh_codes(path: Path, out, profile) -> FillReport:
    wb = read_workbook(path, required=(C.STAFF, C.TIMESHEET), tables=(C.STAFF, C.TIMESHEET))
    ts = wb.tables[C.TIMESHEET]
    code_cols = ("HCPCS", "Modifier 1", "Modifier 2")
    refreshed = fill_codes(ts, wb.tables[C.STAFF], profile, refresh=True)
    cells = {}
    for row, key in refreshed.items():
        old = ts.rows[row - ts.first_row]
        if not any(V.code(old.get(h)) for h in code_cols):
            continue                      # a blank row: `fill` with entries derives those
        for h, v in zip(code_cols, key):
            if V.code(old.get(h)) != v:
                cells[(row, h)] = v or None
    dst = Path(out) if out is not None else path
    if cells or dst != path:
        write_table_cells(path, dst, C.TIMESHEET, cells)
    rows = sorted({r for r, _ in cells})
    return FillReport(str(path), str(dst), [], 0, (), tuple(rows))


# ---------------------------------------------------------------------------
# close
# ---------------------------------------------------------------------------
def close_result(wb, *, month=None, profile=None, close_date=None) -> CloseResult:
    """The engine's close of a read workbook (`ecm_xl.xlsx.read_workbook`)."""
    t = wb.tables
    return close_month(t[C.TIMESHEET], t[C.STAFF], t[C.MEMBERS], wb.setup, as_profile(profile),
                       codes=t.get(C.CODES), activities=t.get(C.ACTIVITIES), close_date=close_date,
                       billing_month=parse_month(month))


def close_workbook(path, out=None, *, month=None, in_place: bool = False, profile=None,
                   close_date: dt.date | None = None, force: bool = False, progress=None) -> CloseReport:
    """Run the engine and write Summary, Claim and Exceptions into a copy of the workbook.

    The copy is `out`, by default `<name>.closed.xlsx` beside the input; the
    input is never written unless `in_place`. Closing a closed workbook again
    replaces the three tables and gives the same result. `month` ('2026-10')
    overrides Setup's billing month; `close_date` (default today) dates R13.
    An existing `out` is replaced only when it is this workbook's closed copy
    (`<name>.closed.xlsx`), or with `force`.

        report = close_workbook("October.xlsx")
        report.result.totals.units, report.out
    """
    start = time.perf_counter()
    path = Path(path)
    if in_place:
        if out is not None and not same_file(out, path):
            raise ValueError("give either -o OUT or --in-place, not both")
        dst = path
    else:
        dst = Path(out) if out is not None else default_output(path)
        if same_file(dst, path):
            raise InputError(path, "would be overwritten: the output is the workbook itself "
                                   "(use --in-place to update it)")
        guard_output(dst, WORKBOOK, force=force, own=lambda p: is_closed_copy(p, path))
    if not dst.parent.exists():
        raise InputError(dst, f"can't be written: folder {dst.parent} does not exist")
    month_date = parse_month(month)
    step = stages(progress, 3)
    with gc_paused():  # read, bill and write allocate per row and free nothing until done
        # only the tables the engine bills from: an earlier close's Summary and Claim are not parsed
        # The file is read once: the reader and the writer share the same bytes, so a save in
        # between can't pair a new timesheet with old claims. No Codes table, no close: the
        # clinic's contract rates or nothing (never the plan profile's example rates).
        step(f"reading {path.name}")
        # The engine bills while the whole-package check may still run beside it (on
        # the other CPU); nothing is written or reported before that check has passed.
        with Package(path) as pkg:
            wb = read_workbook(pkg, required=(C.STAFF, C.MEMBERS, C.TIMESHEET, C.CODES),
                               tables=(C.STAFF, C.MEMBERS, C.TIMESHEET, C.CODES, C.ACTIVITIES), settle_later=True)
            step(f"billing {len(wb.tables[C.TIMESHEET].rows):,} timesheet rows")
            try:
                result = close_result(wb, month=month_date, profile=profile, close_date=close_date)
            finally:
                settle(pkg)         # raises the damage, which also explains a failure best
            step(f"writing {dst.name}")
            write_tables(pkg, dst, output_tables(result))
        step()
    return CloseReport(str(path), str(dst), result, time.perf_counter() - start)


# ---------------------------------------------------------------------------
# export (one closed workbook)
# ---------------------------------------------------------------------------
def export_workbook(path, fmt: str, out, *, control_number: int | None = None, profile=None, close_date=None,
                    created=None, resend: bool = False, payer_claims=None, ledger=None, invoice: bool = False,
                    wait: float = 60.0, force: bool = False, progress=None):
    """A closed workbook's claims as an 837P ('x12') or CSV file (see ecm_xl.exports).

    An 837P, and a CSV with `invoice=True`, is what a plan receives: it
    follows the workbook's Submissions record (originals, replacements, voids;
    unchanged claims left out unless `resend`) and adds to it, updating the
    workbook in place (exports.send_workbook, returns a SendReport). A plain
    CSV, or 'xlsx' (the claim lines for people: identifiers as text, dates as
    dates, money as currency), only writes the file (returns an ExportSummary).

    An existing `out` is replaced only when it is an earlier export of the same
    kind (for x12 and csv: for the same billing NPI), or with `force`.
    """
    from .exports import export_workbook as _export, send_workbook

    def own(p):
        npi = V.text(read_workbook(path, required=(), tables=()).setup.get("BillingNPI"))
        return (is_x12_of if fmt == "x12" else is_claims_csv)(p, npi)
    if fmt in ("x12", "csv"):
        guard_output(out, X12 if fmt == "x12" else CSV, force=force, own=own, source=path)
    elif fmt == "xlsx":
        from .exports.claims_xlsx import is_claims_xlsx
        guard_output(out, WORKBOOK, force=force, own=is_claims_xlsx, source=path)
    _not_part_of_a_month(path)
    if fmt == "x12" or invoice:
        return send_workbook(path, fmt, out, profile=as_profile(profile), close_date=close_date, created=created,
                             resend=resend, payer_claims=payer_claims, control_number=control_number,
                             ledger=ledger, wait=wait, progress=progress)
    return _export(path, fmt, out, profile=as_profile(profile), close_date=close_date, progress=progress)


def _not_part_of_a_month(path) -> None:
    """A copy `batch` closed as part of a clinic-month holds the whole month: exporting it
    alone would send that month from each copy. Say where the month is exported from."""
    from .clinic_month import BILLED_WITH
    from .exports import ExportError
    try:
        wb = read_workbook(path, required=(), tables=(C.EXCEPTIONS,))
    except WorkbookError:
        return          # the export says what is wrong with the file
    for r in wb.tables.get(C.EXCEPTIONS, ()).rows if C.EXCEPTIONS in wb.tables else ():
        reason = V.text(r.get("Reason"))
        if V.text(r.get("Rule")) == "R2" and reason.startswith(BILLED_WITH):
            others = reason[len(BILLED_WITH):].split(" (", 1)[0]
            raise ExportError(f"{Path(path).name}: was billed as one month with {others}: send that month from "
                              "the batch's claims.837 or claims.csv (ecm-xl batch ... --format x12), or merge "
                              "the workbooks (ecm-xl merge) and close and export the merged one")


# ---------------------------------------------------------------------------
# merge (several workbooks of one clinic-month into one)
# ---------------------------------------------------------------------------
def merge_workbooks(inputs, out, *, profile=None, force: bool = False, progress=None):
    """Merge workbooks of one clinic-month (same billing NPI, month and health plan)
    into `out`: every row kept, rosters that disagree refused (see ecm_xl.merge).

        merge_workbooks(["Team A.xlsx", "Team B.xlsx"], "October.xlsx").text()
    """
    from .merge import merge_workbooks as _merge
    return _merge(inputs, out, profile=profile, force=force, progress=progress)


# ---------------------------------------------------------------------------
# template
# ---------------------------------------------------------------------------
def template_workbook(out, *, profile=None, force: bool = False) -> Path:
    """Write the blank template for `profile` to `out`. An existing file is replaced
    only when it already is that blank template (nothing to lose), or with `force`."""
    from .template import build_template, template_bytes
    prof = as_profile(profile)
    guard_output(out, WORKBOOK, force=force, own=lambda p: has_bytes(template_bytes(prof))(p))
    return build_template(out, prof)


# ---------------------------------------------------------------------------
# remit and status: the billing cycle after the close (SPEC §5)
# ---------------------------------------------------------------------------
def post_remittance(workbooks, era, out=None, *, posted: dt.datetime | None = None,
                    as_of: dt.date | None = None, profile=None, force: bool = False):
    """Post a plan's X12 835 to the claims of one or more closed workbooks.

    The 835 is validated with pyx12 (a bad one raises EraError, one line naming
    the file). Claims match by Claim ID across all the workbooks, lines by code,
    modifiers and units; each workbook whose claims the 835 names gets its
    Remittance and Status tables written (in place, or to `out` for one
    workbook; it may replace only an earlier copy of the same workbook unless
    `force`). 835 claims no workbook has are reported as 'not ours'.

        report = post_remittance(["October.closed.xlsx"], "remit_1205.835")
        print(report.text())
    """
    from .remittance import post_remittance as _post
    return _post(workbooks, era, out, posted=posted, as_of=as_of, profile=profile, force=force)


def claim_status(workbooks, out=None, *, as_of: dt.date | None = None, write: bool = True, profile=None,
                 force: bool = False):
    """Per claim: sent, paid, denied or waiting; days since sent; days left to file (R13);
    the next step, pointing at the rows to fix. Writes the Status table unless write=False.

        print(claim_status("October.closed.xlsx", as_of=dt.date(2026, 12, 15)).text())
    """
    from .remittance import workbook_status
    return workbook_status(workbooks, out, as_of=as_of, write=write, profile=profile, force=force)


# ---------------------------------------------------------------------------
# demo
# ---------------------------------------------------------------------------
def _is_demo_workbook(path, closed=False) -> bool:
    """A workbook the demo made: its provider is the demo's made-up clinic."""
    from .files import _tables_of
    if closed and not is_closed_copy(path):
        return False
    if _tables_of(path) is None:
        return False
    name = V.text(read_workbook(path, required=(), tables=()).setup.get("ProviderName"))
    return name.endswith("(demo data)")


def demo(dir="ecm-xl-demo", *, seed: int | None = None, close_date: dt.date | None = None,
         force: bool = False) -> DemoReport:
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
    if d.exists() and not d.is_dir():
        raise InputError(d, "is a file, not a folder: nothing was written")
    tag = f"{month.month:%Y-%m}"
    staff_csv, members_csv, entries_csv = d / "staff.csv", d / "members.csv", d / f"timesheet_entries_{tag}.csv"
    workbook = d / f"ECM_Timesheet_{tag}.xlsx"
    outputs = {"csv": f"claims_{tag}.csv", "x12": f"claims_{tag}.837"}
    # Every file is checked before any is written: an earlier demo's files are replaced, nothing else.
    from .files import first_line_is
    for target, kind, own in (
            (staff_csv, CSV, lambda p: first_line_is(p, C.STAFF_HEADERS)),
            (members_csv, CSV, lambda p: first_line_is(p, C.MEMBER_HEADERS)),
            (entries_csv, CSV, lambda p: first_line_is(p, C.TIMESHEET_HEADERS)),
            (workbook, WORKBOOK, _is_demo_workbook),
            (default_output(workbook), WORKBOOK, lambda p: _is_demo_workbook(p, closed=True)),
            (d / outputs["csv"], CSV, lambda p: is_claims_csv(p, month.settings["BillingNPI"])),
            (d / outputs["x12"], X12, lambda p: is_x12_of(p, month.settings["BillingNPI"]))):
        guard_output(target, kind, force=force, own=own)
    d.mkdir(parents=True, exist_ok=True)
    _write_plain_csv(staff_csv, C.STAFF_HEADERS, month.staff)
    _write_plain_csv(members_csv, C.MEMBER_HEADERS, month.members)
    _write_plain_csv(entries_csv, C.TIMESHEET_HEADERS, month.entries)
    settings = {k: v for k, v in month.settings.items() if k != "BillingMonth"}
    new_workbook(workbook, month=month.month, staff=staff_csv, members=members_csv, settings=settings,
                 overwrite=True)
    fill = fill_workbook(workbook, entries_csv)
    closed = close_workbook(workbook, close_date=close_date, force=True)
    exports, messages = {}, {}
    from .exports import ExportError, export_results
    for fmt, name in outputs.items():
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
    write_csv(path, produce)


__all__ = ["new_workbook", "fill_workbook", "close_workbook", "batch_close", "export_workbook", "demo",
           "template_workbook", "merge_workbooks", "post_remittance", "claim_status",
           "SettingError", "NewReport", "FillReport", "CloseReport", "BatchItem", "BatchReport", "DemoReport",
           "InputError",
           "WorkbookError", "default_output", "find_workbooks", "read_export", "table_rows", "parse_month",
           "write_named_cells", "close_result", "month_words", "rule_counts"]

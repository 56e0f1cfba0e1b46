"""Batch conversion: a folder of clinic workbooks closed in parallel, one report for all.

One bad workbook never stops the others: each file gets a row in
`batch_report.csv` with its status, and the claim lines of every closed
workbook go to `claims.csv` (and `claims.837` with fmt="x12").

Workbooks with the same billing NPI, billing month and health plan on Setup
are one clinic-month (SPEC R2: one per care team, site or staff member): they
are closed together by `clinic_month.close_clinic_month`, so each member has
one claim for the month and time is summed across the workbooks before it
is rounded. A workbook with no billing month or no billing NPI is closed on
its own (there is no telling which month it belongs to).
"""
from __future__ import annotations

import csv
import datetime as dt
import os
import time
from collections import Counter
from pathlib import Path
from typing import Callable, NamedTuple

from .files import (CSV, WORKBOOK, X12, first_line_is, guard_output, is_claims_csv, is_closed_copy, is_x12_of,
                    name_of, write_csv)
from .intake import InputError, parse_month
from .profile import as_profile
from .tables import defuse
from .workers import run_isolated
from .xlsx import WorkbookError
from .xlsx.package import OutputError, output_error

OK, BAD_FILE, FAILED = "ok", "bad file", "failed"
BATCH_REPORT = "batch_report.csv"
BATCH_CLAIMS = "claims.csv"
BATCH_X12 = "claims.837"
REPORT_HEADERS = ("File", "Status", "Claim Lines", "Units", "Charge", "Errors", "Warnings", "Message", "Output",
                  "Clinic Month", "Billed With")
_OLD_REPORT_HEADERS = REPORT_HEADERS[:9]


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
    clinic_month: str = ""   # the month it was billed in, when several workbooks made it
    billed_with: tuple = ()  # the other workbooks of that month


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
        months = {}
        for i in self.items:
            if i.billed_with and i.status == OK:
                months.setdefault(i.clinic_month, []).append(i.file)
        for label, files in months.items():
            lines.append(f"  one month, {label}: {' + '.join(files)}")
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
    from .api import close_workbook   # api imports this module

    path, dst, name, month, profile, close_date, keep_result = job
    try:
        report = close_workbook(path, dst, month=month, profile=profile, close_date=close_date)
    except OutputError as exc:  # the closed copy can't be written: not the workbook's fault
        return BatchItem(name, FAILED, 0, 0, 0.0, 0, 0, str(exc), ""), [], None
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


def _month_of(path, month, profile):
    """(clinic-month key, its label) of a workbook's Setup (clinic_month.month_key), or (None, '')."""
    from .clinic_month import month_key, month_label
    from .loader import read_setup
    from .xlsx import read_workbook
    try:
        # a look ahead: the close that follows checks the whole package
        setup = read_setup(read_workbook(path, required=(), tables=(), whole=False).setup, profile, month)[0]
    except (WorkbookError, OSError):
        return None, ""      # closed on its own: the close says what is wrong with it
    key = month_key(setup)
    return key, month_label(setup) if key else ""


def _month_of_job(job):
    return _month_of(*job)


def _months(files, month, profile, workers: int) -> list:
    """_month_of for every file, in worker processes like the closes: a file whose read
    kills its worker is closed on its own (where its close fails alone)."""
    return run_isolated(_month_of_job, [(f, month, profile) for f in files], workers,
                        on_death=lambda job, how: (None, ""))


def _call(task):
    """Run one batch task (function, job, index) in a worker."""
    return task[0](task[1])


def _close_group(job):
    """Close several workbooks of one clinic-month as one month, in a worker.

    Returns [(item, claim lines, result or None)] per workbook, then the month's
    (claim lines, result or None) as billed. Never raises."""
    from . import contract as C
    from .clinic_month import Part, close_clinic_month
    from .tables import output_tables
    from .xlsx import read_workbook, write_tables

    paths, dsts, names, label, month, profile, close_date, keep = job
    items: list = [None] * len(paths)
    parts, where = [], []
    for k, (path, name) in enumerate(zip(paths, names)):
        try:
            wb = read_workbook(path, required=(C.STAFF, C.MEMBERS, C.TIMESHEET, C.CODES),  # the clinic's rates
                               tables=(C.STAFF, C.MEMBERS, C.TIMESHEET, C.CODES, C.ACTIVITIES))
        except WorkbookError as exc:
            items[k] = (BatchItem(name, BAD_FILE, 0, 0, 0.0, 0, 0, str(exc), ""), [], None)
            continue
        t = wb.tables
        parts.append(Part(name, t[C.TIMESHEET], t[C.STAFF], t[C.MEMBERS], wb.setup, t.get(C.CODES),
                          t.get(C.ACTIVITIES)))
        where.append(k)
    if not parts:
        return items, ([], None)
    try:
        month_result = close_clinic_month(parts, profile, close_date=close_date, billing_month=month)
    except Exception as exc:   # a bug: these files fail, the batch goes on
        for k in where:
            items[k] = (BatchItem(names[k], FAILED, 0, 0, 0.0, 0, 0, f"{names[k]}: unexpected "
                                  f"{type(exc).__name__} while closing its month with "
                                  f"{', '.join(names[j] for j in where if j != k)}", ""), [], None)
        return items, ([], None)
    together = [names[k] for k in where]
    first = True
    for k, part in zip(where, month_result.parts):
        r = part.result
        others = tuple(x for x in together if x != names[k])
        try:
            write_tables(paths[k], dsts[k], output_tables(r))
        except (WorkbookError, OSError) as exc:   # as _close_one says it
            bad = isinstance(exc, WorkbookError) and not isinstance(exc, OutputError)
            what = str(exc) if isinstance(exc, WorkbookError) else \
                str(output_error(dsts[k], exc, replacing=os.path.exists(dsts[k])))
            items[k] = (BatchItem(names[k], BAD_FILE if bad else FAILED, 0, 0, 0.0, 0, 0, what, "", label, others),
                        [], None)
            continue
        t = r.totals
        if len(together) == 1:
            message = ""
        elif first:
            message = f"one month with {', '.join(others)}: its claims are counted on this row"
        else:
            message = f"one month with {', '.join(others)}: its claims are counted on {together[0]}'s row"
        shown = (t.claim_lines, t.units, t.charge) if first else (0, 0, 0.0)
        first = False
        items[k] = (BatchItem(names[k], OK, *shown, t.errors, t.warnings, message, str(dsts[k]),
                              label if len(together) > 1 else "", others), [], None)
    combined = month_result.result
    return items, (list(combined.claim_lines), combined if keep else None)


def batch_close(paths, out_dir, *, workers: int | None = None, fmt: str | None = None,
                progress: Callable | None = None, month=None, profile=None,
                close_date: dt.date | None = None, control_number: int | None = None,
                force: bool = False, created=None, ledger=None) -> BatchReport:
    """Close every workbook into `out_dir`; one bad workbook never stops the others.

    `paths` is a folder, a glob ("inbox/*.xlsx") or a list of paths. Writes
    `<name>.closed.xlsx` per workbook, `batch_report.csv` (one row per file)
    and `claims.csv` (every claim line, with its Source File); with
    fmt="x12", also `claims.837` with the claims each closed copy's Submissions
    record says are due (exports.send.send_batch; a copy that is not ready is
    left out, its reason in the report), recorded in each copy. Work is
    spread over `workers` processes (default: the CPU count). `progress(done,
    total)` is called as files finish.

    Workbooks with the same billing NPI, billing month and health plan are
    closed as one month (SPEC R2, `clinic_month`): one claim per member, time
    summed across them before rounding. Existing outputs in `out_dir` are
    replaced only when they are a batch's own (closed copies, the report, the
    claims files), or with `force`.

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
    out_abs = os.path.abspath(out_dir)
    files = [f for f in files if os.path.abspath(f.parent) != out_abs]   # never re-close our own outputs
    if not files:
        raise InputError(paths if isinstance(paths, (str, os.PathLike)) else "batch",
                         "holds no .xlsx workbooks to close")
    month = parse_month(month)
    names = _display_names(files)
    dsts = _out_names(files, out_dir)
    report_path = out_dir / BATCH_REPORT
    claims_path = out_dir / BATCH_CLAIMS
    # every output is checked before anything is written
    for dst in dsts:
        guard_output(dst, WORKBOOK, force=force, own=is_closed_copy, source=files)
    guard_output(report_path, CSV, force=force, own=lambda p: first_line_is(p, REPORT_HEADERS, _OLD_REPORT_HEADERS))
    guard_output(claims_path, CSV, force=force, own=is_claims_csv)
    if fmt == "x12":
        guard_output(out_dir / BATCH_X12, X12, force=force, own=is_x12_of)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(os.fspath(out_dir), exc) from None
    keep = fmt == "x12"
    if keep:   # what earlier copies at these paths recorded as sent, before the close replaces them
        from .exports.send import prior_records
        prior = prior_records(dsts)
    prof = as_profile(profile)

    workers = max(1, min(workers or os.cpu_count() or 1, len(files)))
    groups: dict = {}
    labels = {}
    for k, (key, labels[k]) in enumerate(_months(files, month, prof, workers)):
        groups.setdefault(key if key is not None else ("alone", k), []).append(k)
    jobs = []    # (function, job, the files' indexes)
    for key, ks in groups.items():
        if key[0] == "alone" or len(ks) == 1:
            for k in ks:
                jobs.append((_close_one, (str(files[k]), str(dsts[k]), names[k], month, prof, close_date, keep), [k]))
        else:
            jobs.append((_close_group, ([str(files[k]) for k in ks], [str(dsts[k]) for k in ks],
                                        [names[k] for k in ks], labels[ks[0]], month, prof, close_date, keep), ks))
    jobs.sort(key=lambda j: j[2][0])
    workers = min(workers, len(jobs))
    results: list = [None] * len(files)
    months: list = [None] * len(jobs)    # a combined month's (lines, result), by job
    done = 0

    def take(j, out):
        nonlocal done
        fn, _, ks = jobs[j]
        if fn is _close_group:
            per_file, months[j] = out
            for k, r in zip(ks, per_file):
                results[k] = r
        else:
            results[ks[0]] = out
        done += len(ks)
        if progress:
            for _ in ks:
                progress(min(done, len(files)), len(files))

    def died(task, how):
        j = task[2]
        for k in jobs[j][2]:
            results[k] = (BatchItem(names[k], FAILED, 0, 0, 0.0, 0, 0, f"{names[k]}: the process closing it "
                                    f"stopped ({how}); the other workbooks went on", ""), [], None)
        take_none(j)

    def take_none(j):
        nonlocal done
        done += len(jobs[j][2])
        if progress:
            progress(min(done, len(files)), len(files))

    # Each task runs in a worker process, one worker or many: a file that kills its worker
    # (a native reader's abort, the out-of-memory killer) fails alone and a fresh worker
    # takes the rest (workers.py).
    run_isolated(_call, [(fn, job, j) for j, (fn, job, _) in enumerate(jobs)], workers, on_death=died,
                 on_done=lambda j, out: out is not None and take(j, out))
    items = [r[0] for r in results]
    # claims.csv and the 837P: each closed workbook's lines, a combined month's lines once
    claim_groups, closes = [], []
    for j, (fn, job, ks) in enumerate(jobs):
        if fn is _close_group:
            ok = [names[k] for k in ks if results[k][0].status == OK]
            if ok and months[j] is not None and months[j][0]:
                claim_groups.append((" + ".join(ok), months[j][0]))
            if ok and months[j] is not None and months[j][1] is not None:
                closes.append((" + ".join(ok), months[j][1], [k for k in ks if results[k][0].status == OK]))
        else:
            r = results[ks[0]]
            if r[0].status == OK:
                claim_groups.append((r[0].file, r[1]))
                if r[2] is not None:
                    closes.append((r[0].file, r[2], ks))
    _write_claims(claims_path, claim_groups)
    export_path, export_message = None, ""
    if fmt == "x12":   # what each copy's Submissions record says is due; a copy that can't go is named
        from .exports.send import send_batch
        sent = send_batch([(name, [str(dsts[k]) for k in ks], result) for name, result, ks in closes],
                          out_dir / BATCH_X12, profile=prof, created=created, ledger=ledger, prior=prior,
                          control_number=control_number)
        owner = {names[k]: name for name, _r, ks in closes for k in ks}
        for n, i in enumerate(items):
            if owner.get(i.file) in sent.outcomes:
                status, message = sent.outcomes[owner[i.file]]
                items[n] = i._replace(status=status, message="; ".join(m for m in (i.message, message) if m))
        export_path, export_message = sent.path, sent.message
    elif fmt == "csv":
        export_path = str(claims_path)
    _write_report(report_path, items)
    return BatchReport(str(out_dir), items, str(report_path), str(claims_path), export_path, export_message,
                       time.perf_counter() - start)


def _write_report(path: Path, items) -> None:
    def produce(fp):
        w = csv.writer(fp)
        w.writerow(REPORT_HEADERS)
        for i in items:
            w.writerow([defuse(i.file), i.status, i.claim_lines, i.units, f"{i.charge:.2f}", i.errors, i.warnings,
                        defuse(i.message), defuse(name_of(i.out)) if i.out else "", defuse(i.clinic_month),
                        defuse(" + ".join(i.billed_with))])
    write_csv(path, produce)


def _write_claims(path: Path, groups) -> None:
    """Every claim line of every closed workbook, with its Source File (exports.claims_csv)."""
    from .exports import claims_csv

    def produce(fp):
        if not groups:
            claims_csv([], fp, source="")
            return
        for n, (name, lines) in enumerate(groups):
            claims_csv(list(lines), fp, source=name, header=n == 0)
    write_csv(path, produce)


"""Batch conversion: a folder of clinic workbooks closed in parallel, one report for all.

One bad workbook never stops the others: each file gets a row in
`batch_report.csv` with its status, and the claim lines of every closed
workbook go to `claims.csv` (and `claims.837` with fmt="x12").
"""
from __future__ import annotations

import csv
import datetime as dt
import os
import time
from collections import Counter
from pathlib import Path
from typing import Callable, NamedTuple

from .files import name_of, write_csv
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
REPORT_HEADERS = ("File", "Status", "Claim Lines", "Units", "Charge", "Errors", "Warnings", "Message", "Output")


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
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise output_error(os.fspath(out_dir), exc) from None
    out_abs = os.path.abspath(out_dir)
    files = [f for f in files if os.path.abspath(f.parent) != out_abs]   # never re-close our own outputs
    if not files:
        raise InputError(paths if isinstance(paths, (str, os.PathLike)) else "batch",
                         "holds no .xlsx workbooks to close")
    month = parse_month(month)
    names = _display_names(files)
    dsts = _out_names(files, out_dir)
    keep = fmt == "x12"
    prof = as_profile(profile)
    jobs = [(str(f), str(d), n, month, prof, close_date, keep) for f, d, n in zip(files, dsts, names)]
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    done = 0
    # Each file is closed in a worker process, one worker or many: a file that kills its
    # worker (a native reader's abort, the out-of-memory killer) fails alone (workers.py).
    def died(job, how):
        name = job[2]
        return (BatchItem(name, FAILED, 0, 0, 0.0, 0, 0, f"{name}: the process closing it stopped "
                          f"({how}); the other workbooks went on", ""), [], None)

    def finished(i):
        nonlocal done
        done += 1
        if progress:
            progress(done, len(jobs))
    results = run_isolated(_close_one, jobs, workers, on_death=died, on_done=finished)
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


def _write_report(path: Path, items) -> None:
    def produce(fp):
        w = csv.writer(fp)
        w.writerow(REPORT_HEADERS)
        for i in items:
            w.writerow([defuse(i.file), i.status, i.claim_lines, i.units, f"{i.charge:.2f}", i.errors, i.warnings,
                        defuse(i.message), defuse(name_of(i.out)) if i.out else ""])
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


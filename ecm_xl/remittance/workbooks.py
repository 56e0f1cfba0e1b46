"""The file side of `ecm-xl remit` and `ecm-xl status`: read the workbooks, write the
Remittance and Status tables back, atomically.

A workbook made from an older template gets the Remittance / Status sheet it
lacks (xlsx.sheets). A workbook is written only when something changes in it:
an 835 that names none of its claims leaves it as it was.

A workbook updated in place is held under the export's lock
(`exports.record.workbook_lock`) from its read to its write, after any export
that stopped half way has been finished or undone: an export writing the
Submissions record meanwhile would otherwise be overwritten by a copy read
before it, and the record of what was sent lost. Each workbook is read once
(`Package`): the write copies those bytes.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import os
from pathlib import Path
from typing import NamedTuple

from .. import contract as C
from ..files import WORKBOOK, extends_workbook, guard_output, same_file
from ..loader import read_setup
from ..profile import as_profile
from ..status import StatusRow, claim_status, status_table, summary_counts
from ..exports.record import recover, workbook_lock
from ..xlsx import WorkbookError, read_workbook, write_tables
from ..xlsx.package import Package
from ..xlsx.sheets import add_table_sheets
from .era import read_era
from .posting import NOT_OURS, STATUSES, merge_rows, post

SUBMISSIONS = C.SUBMISSIONS



class RemitReport(NamedTuple):
    era: str                 # the 835's file name
    check: str
    payment_date: dt.date | None
    claims: int              # CLP loops in the 835
    statuses: dict           # claim status -> count
    paid: float              # paid on the claims posted here (reversals subtract)
    not_ours: list           # posting.NotOurs
    unmatched_lines: int
    written: dict            # workbook -> (out, claims posted, rows replaced)
    untouched: list          # workbooks none of whose claims the 835 names
    provider_adjustments: tuple = ()   # PLB (code, amount): money the plan moved outside any claim
    recovered: tuple = ()    # what was found of exports that stopped half way, one line each

    def text(self) -> str:
        when = f" paid {self.payment_date:%m/%d/%Y}" if self.payment_date else ""
        counts = ", ".join(f"{self.statuses[s]} {s}" for s in STATUSES if self.statuses.get(s))
        lines = list(self.recovered) + [f"Posted {self.era} (check/EFT {self.check or 'none'}{when}): {self.claims:,} claims: "
                 f"{counts or 'none'}; ${self.paid:,.2f} paid on your claims"]
        for path, (out, n, replaced) in self.written.items():
            again = f" (replaced {replaced} rows of an earlier posting of this payment)" if replaced else ""
            lines.append(f"  {os.path.basename(path)}: {n} claim{'' if n == 1 else 's'} posted{again} -> {out}")
        for path in self.untouched:
            lines.append(f"  {os.path.basename(path)}: none of its claims is in this 835; left as it was")
        if self.not_ours:
            n = len(self.not_ours)
            lines.append(f"Not ours: {n} claim{' is' if n == 1 else 's are'} in the 835 but in none of these workbooks "
                         "(on the Remittance sheet as 'not ours'; ask the plan):")
            lines += [f"  Claim ID {n.claim_id}, payer claim number {n.payer_claim or '-'}, "
                      f"billed ${n.billed:,.2f}, paid ${n.paid:,.2f}" for n in self.not_ours]
        if self.provider_adjustments:
            n = len(self.provider_adjustments)
            total = sum(a for _c, a in self.provider_adjustments)
            codes = ", ".join(dict.fromkeys(c for c, _a in self.provider_adjustments))
            lines.append(f"The 835 also holds {n} provider-level adjustment{'' if n == 1 else 's'} (PLB {codes}) "
                         f"of ${total:,.2f}, tied to no claim and not on the Remittance sheet: the payment is "
                         "the claims' total less these")
        if self.unmatched_lines:
            lines.append(f"{self.unmatched_lines} service lines match no claim line by code, modifiers and "
                         "units (posted without a line number)")
        return "\n".join(lines)


class StatusReport(NamedTuple):
    rows: dict               # workbook -> list of StatusRow
    written: dict            # workbook -> out (when the Status table was written)
    as_of: dt.date
    recovered: tuple = ()    # what was found of exports that stopped half way, one line each

    def text(self) -> str:
        lines = list(self.recovered)
        for path, rows in self.rows.items():
            counts = summary_counts(rows)
            out = self.written.get(path)
            lines.append(f"{os.path.basename(path)}: {len(rows)} claims: "
                         + ", ".join(f"{n} {s}" for s, n in counts.items())
                         + (f" -> Status sheet of {out}" if out else ""))
            for r in rows:
                if r.next_step in ("none",):
                    continue
                left = f", {r.days_left} days left to file" if r.days_left is not None else ""
                lines.append(f"  {r.claim_id}: {r.status}{left}; next: {r.next_step}"
                             + (f" ({r.rows_to_fix})" if r.rows_to_fix else ""))
        return "\n".join(lines) or "No workbooks."


def _table_dicts(wb, name) -> list:
    t = wb.tables.get(name)
    return [r for r in t.rows if any(v not in (None, "") for v in r.values())] if t else []


def _read(pkg):
    wb = read_workbook(pkg, required=(), tables=(C.CLAIM, C.MEMBERS, C.REMITTANCE, SUBMISSIONS))
    if C.CLAIM not in wb.headers:
        raise WorkbookError(pkg.path, "has no Claim table: close the month first")
    return wb


def _open_books(paths, in_place: bool, stack: contextlib.ExitStack, recovered: list) -> dict:
    """{path: Package}, each read once and closed with `stack`. A workbook written in
    place is first held under the export lock (released with `stack`), and any
    half-done export of it finished or undone (its line added to `recovered`)."""
    books = {}
    for path in sorted(paths, key=os.path.abspath):     # one order: no two commands deadlock
        if in_place:
            stack.enter_context(workbook_lock(path))
            found = recover(path)
            if found:
                recovered.append(found)
        books[path] = stack.enter_context(Package(path))
    return {p: books[p] for p in paths}


def _statuses(wb, remittance_rows, profile, as_of) -> list[StatusRow]:
    setup, _problems = read_setup(wb.setup, profile)
    limit = setup.filing_limit_days or profile.filing_limit_days
    return claim_status(_table_dicts(wb, C.CLAIM), _table_dicts(wb, SUBMISSIONS), remittance_rows,
                        wb.tables.get(C.MEMBERS), filing_limit_days=limit, as_of=as_of)


def _write(pkg: Package, dst: Path, tables: dict) -> None:
    """Write the tables into dst (a copy of the workbook read, or the workbook itself),
    adding missing sheets first."""
    names = {n: C.CYCLE_TABLES[n] for n in tables}
    tmp = dst.with_name(f".{dst.stem}.{os.getpid()}.cycle{dst.suffix}")
    try:
        added = add_table_sheets(Package(pkg), tmp, names, formats=C.NUMBER_FORMATS, widths=C.CYCLE_WIDTHS)
        write_tables(tmp if added else pkg, dst, tables)
    finally:
        tmp.unlink(missing_ok=True)


def _targets(workbooks, out, force=False, inputs=()):
    paths = [Path(p) for p in ([workbooks] if isinstance(workbooks, (str, os.PathLike)) else workbooks)]
    if not paths:
        raise ValueError("name at least one workbook")
    if out is not None and len(paths) != 1:
        raise ValueError("-o OUT works with one workbook; without it each workbook is updated in place")
    if out is not None and not Path(out).parent.exists():
        raise WorkbookError(out, f"can't be written: folder {Path(out).parent} does not exist")
    if out is not None and not same_file(out, paths[0]):
        # a copy may replace only an earlier copy of the same workbook, unless forced
        guard_output(out, WORKBOOK, force=force, own=lambda p: extends_workbook(p, paths[0]),
                     source=paths + list(inputs))
    return paths


def post_remittance(workbooks, era, out=None, *, posted: dt.datetime | None = None,
                    as_of: dt.date | None = None, profile=None, force: bool = False) -> RemitReport:
    """Post an 835 (path) to the workbooks' claims; see api.post_remittance."""
    paths = _targets(workbooks, out, force, [era])
    prof = as_profile(profile)
    remit = read_era(era)
    posted = posted or dt.datetime.now().replace(microsecond=0)
    as_of = as_of or posted.date()
    written, untouched, recovered = {}, [], []
    with contextlib.ExitStack() as stack:
        pkgs = _open_books(paths, out is None, stack, recovered)
        books = {p: _read(pkg) for p, pkg in pkgs.items()}
        result = post(remit, {p: _table_dicts(wb, C.CLAIM) for p, wb in books.items()}, posted)
        checks = {c.check or remit.check for c in remit.claims} - {""}
        for i, (path, wb) in enumerate(books.items()):
            new = list(result.rows.get(path, []))
            if i == 0:
                new += result.rows.get(None, [])      # 'not ours' rows go to the first workbook
            if not new:
                untouched.append(str(path))
                continue
            rows, replaced = merge_rows(_table_dicts(wb, C.REMITTANCE), new, checks)
            as_dicts = [dict(zip(C.REMITTANCE_HEADERS, r)) for r in rows]
            statuses = _statuses(wb, as_dicts, prof, as_of)
            dst = Path(out) if out is not None else path
            _write(pkgs[path], dst, {C.REMITTANCE: (C.REMITTANCE_HEADERS, rows), C.STATUS: status_table(statuses)})
            written[str(path)] = (str(dst), len(result.claims.get(path, [])), replaced)
    return RemitReport(remit.file, remit.check, remit.payment_date, len(remit.claims), result.statuses,
                       result.paid, result.not_ours, result.unmatched_lines, written, untouched,
                       remit.provider_adjustments, tuple(recovered))


def workbook_status(workbooks, out=None, *, as_of: dt.date | None = None, write: bool = True,
                    profile=None, force: bool = False) -> StatusReport:
    """Each claim's status (see ecm_xl.status); the Status table written unless write=False."""
    paths = _targets(workbooks, out, force)
    prof = as_profile(profile)
    as_of = as_of or dt.date.today()
    rows, written, recovered = {}, {}, []
    for path in paths:
        with contextlib.ExitStack() as stack:
            pkg = _open_books([path], write and out is None, stack, recovered)[path]
            wb = _read(pkg)
            statuses = _statuses(wb, _table_dicts(wb, C.REMITTANCE), prof, as_of)
            rows[str(path)] = statuses
            if write:
                dst = Path(out) if out is not None else path
                _write(pkg, dst, {C.STATUS: status_table(statuses)})
                written[str(path)] = str(dst)
    return StatusReport(rows, written, as_of, tuple(recovered))


__all__ = ["RemitReport", "StatusReport", "post_remittance", "workbook_status", "NOT_OURS"]

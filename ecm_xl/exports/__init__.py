"""Exports a plan accepts: an X12 837P (005010X222A1) file and a claim-line CSV.

The writers (`x12_837p`, `claims_csv`) are pure; this module adds the file
side: atomic writes and reading a closed workbook back.

    from ecm_xl.exports import export_results, export_workbook, send_workbook
    export_results([result], "x12", "october.837", control_number=7)
    export_workbook("October.xlsx", "csv", "october.csv")
    send_workbook("October.closed.xlsx", "x12", "october.837")   # what the record says is due, recorded

`export_results` and `export_workbook` write a file and nothing else;
`send_workbook` (exports.send) is the export a plan receives: it follows and
adds to the workbook's Submissions record (SPEC §5).
"""
from __future__ import annotations

import io
import os
from typing import NamedTuple

from .. import contract as C
from ..data import CloseResult
from ..profile import Profile, load_profile
from .claims_csv import claims_csv
from .claims_xlsx import claims_xlsx
from .x12 import (MAX_LINES, ExportError, check_ready, check_setup, default_created, split_claim,
                  summarize, x12_837p)

FORMATS = ("x12", "csv", "xlsx")

__all__ = ["ExportError", "ExportSummary", "FORMATS", "MAX_LINES", "check_ready", "check_setup",
           "claims_csv", "claims_xlsx", "default_created", "export_results", "export_text", "export_workbook",
           "split_claim", "workbook_result", "x12_837p", "send_workbook", "SendReport"]


class ExportSummary(NamedTuple):
    path: str
    claims: int       # distinct Claim IDs (a claim split past 50 lines counts once)
    lines: int        # claim lines
    units: int
    charge: float


def export_text(results, fmt: str, *, profile: Profile | None = None, sources=None, **kw) -> str:
    """The export as text, without touching a file. kw go to x12_837p."""
    results = [results] if isinstance(results, CloseResult) else list(results)
    if fmt == "x12":
        return x12_837p(results, profile, sources=sources, **kw)
    if fmt == "csv":
        if kw:
            raise TypeError(f"CSV takes no {', '.join(sorted(kw))}")
        buf = io.StringIO(newline="")
        claims_csv(results, buf, source=sources)
        return buf.getvalue()
    raise ExportError(f"Unknown export format {fmt!r}: use {' or '.join(FORMATS)}")


def export_results(results, fmt: str, out_path, *, profile: Profile | None = None, sources=None,
                   **kw) -> ExportSummary:
    """Write the closes' claims to `out_path` as 'x12' (837P), 'csv' (for a billing system to
    import) or 'xlsx' (for people: claims_xlsx), atomically.

    Nothing is written when the closes are not ready (ExportError says why).
    For x12, kw are x12_837p's: control_number, created, adjustments, test.
    `sources` names each close (its file name): in errors, and as the CSV's
    'Source File' column.
    """
    results = [results] if isinstance(results, CloseResult) else list(results)
    if fmt == "xlsx":   # for people: identifiers as text, dates as dates, money as currency
        if kw:
            raise TypeError(f"xlsx takes no {', '.join(sorted(kw))}")
        if os.fspath(out_path).lower().endswith((".csv", ".837", ".txt", ".x12")):
            raise ExportError(f"{os.path.basename(os.fspath(out_path))}: an xlsx export must be named .xlsx")
        text = None
    else:
        text = export_text(results, fmt, profile=profile, sources=sources, **kw)
    from ..xlsx.package import OutputError, atomic_write  # here, so the pure writers import without the file layer

    out_path = os.fspath(out_path)
    try:
        # X12 is ASCII by construction; the CSV carries a BOM so Excel reads names as UTF-8.
        data = claims_xlsx(results, source=sources) if text is None else \
            text.encode("ascii" if fmt == "x12" else "utf-8-sig")
        atomic_write(out_path, lambda f: f.write(data))
    except OutputError as exc:   # already one line naming the file and what to do
        raise ExportError(str(exc)) from None
    except OSError as exc:
        raise ExportError(f"{os.path.basename(out_path)}: can't write the export ({exc.strerror or exc})") from None
    claims, lines, units, charge = summarize(results)
    return ExportSummary(out_path, claims, lines, units, charge)


# ---------------------------------------------------------------------------
# A closed workbook
# ---------------------------------------------------------------------------
def _number(value):
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return round(float(str(value).replace(",", "").replace("$", "")), 2)
    except ValueError:
        return value


def _claim_key(row: dict):
    from ..values import text
    line = _number(row.get("Line"))
    return text(row.get("Claim ID")), int(line) if isinstance(line, float) else line


def workbook_result(path, *, profile: Profile | None = None, close_date=None) -> CloseResult:
    """Close a closed workbook's month again and check it against its Claim sheet.

    The export is made from the engine's lines (they carry the members'
    addresses and the Setup), but only when they still equal the Claim sheet,
    units and charges per Claim ID and Line: a clinic exports what it saw.
    """
    from ..engine import close_month
    from ..xlsx import WorkbookError, read_workbook

    profile = profile or load_profile()
    try:
        wb = read_workbook(path, required=(C.STAFF, C.MEMBERS, C.TIMESHEET, C.CODES))  # the clinic's rates
    except WorkbookError as exc:  # already one line naming the file
        raise ExportError(str(exc)) from None
    name = os.path.basename(os.fspath(path))
    tables = wb.tables
    claim = tables.get(C.CLAIM)
    if claim is None or not any(_claim_key(r)[0] for r in claim.rows):
        raise ExportError(f"{name}: has no claim lines on the Claim sheet: close the month first")
    result = close_month(tables.get(C.TIMESHEET), tables.get(C.STAFF), tables.get(C.MEMBERS), wb.setup, profile,
                         codes=tables.get(C.CODES), activities=tables.get(C.ACTIVITIES), close_date=close_date)
    sheet = {}
    for row in claim.rows:
        key = _claim_key(row)
        if not key[0]:
            continue
        sheet[key] = (_number(row.get("Units")), _number(row.get("Charge")))
    engine = {(l.claim_id, l.line): (float(l.units), None if l.charge is None else round(l.charge, 2))
              for l in result.claim_lines}
    if sheet != engine:
        changed = sorted({k[0] for k in set(sheet) ^ set(engine)} |
                         {k[0] for k in set(sheet) & set(engine) if sheet[k] != engine[k]})
        shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
        raise ExportError(f"{name}: the Claim sheet no longer matches the timesheet (claims {shown}): "
                          "close the month again")
    return result


def export_workbook(path, fmt: str, out_path, *, profile: Profile | None = None, close_date=None,
                    progress=None, **kw) -> ExportSummary:
    """Export a closed workbook's claims (see workbook_result) to `out_path`.

    progress(done, total, what) hears of each step (ecm_xl.progress)."""
    from ..progress import stages

    if os.path.exists(out_path) and os.path.exists(path) and os.path.samefile(path, out_path):
        raise ExportError(f"{os.path.basename(os.fspath(out_path))}: the export would overwrite the workbook itself")
    step = stages(progress, 2)
    step(f"reading and re-checking {os.path.basename(os.fspath(path))}")
    result = workbook_result(path, profile=profile, close_date=close_date)
    if fmt == "x12":  # names the workbook in errors; a CSV of one workbook needs no Source File column
        kw.setdefault("sources", [os.path.basename(os.fspath(path))])
    step(f"writing {len(result.claim_lines):,} claim lines to {os.path.basename(os.fspath(out_path))}")
    summary = export_results([result], fmt, out_path, profile=profile, **kw)
    step()
    return summary


from .send import SendReport, send_workbook  # noqa: E402  (send imports workbook_result from here)

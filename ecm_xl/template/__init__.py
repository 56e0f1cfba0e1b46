"""Build the workbook template `templates/ECM_Timesheet.xlsx` from a plan profile.

The template is the interface between the clinic and the code (SPEC §3): sheet
names, table names and header text come from `ecm_xl.contract`; codes, rates,
activities, contacts and places of service come from the plan profile; the
Instructions sheet's rule list comes from `ecm_xl.rules`. Nothing billing-
specific is written here by hand, so rebuilding after a profile change gives a
template that agrees with the engine.

    from ecm_xl.template import build_template
    build_template("templates/ECM_Timesheet.xlsx")

The package's rooms:
- layout.py: sizes, helper columns, drop-down names and formulas other parts rely on;
- look.py: fonts, fills, each column's width and alignment, page setup and pagination;
- validation.py: the drop-downs and checks with their messages;
- sheets.py: Setup, the input tables, the output tables, the Summary block, Lists;
- instructions.py: the Instructions sheet's text;
- here: the build, and what makes it deterministic (the same profile gives the same
  bytes: document dates are the profile's effective date, zip entries carry a fixed time).

Not part of the pure core: this package writes files with openpyxl.
"""
from __future__ import annotations

import datetime as dt
import io
import os
import re
import tempfile
import zipfile
from pathlib import Path

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName

from .. import contract as C
from ..profile import Profile, load_profile
from .instructions import instructions_sheet
from .layout import (CHECK_DIFFERS, CHECK_OK, CODE_CHECK, CODE_KEY, CODE_LABEL, CODES_ALL_HEADERS,
                     HELPER_HEADERS, LIST_NAMES, MEMBER_NAME, MEMBER_ROWS, NOT_ON_MEMBERS, NOT_ON_STAFF, PLAN_CODE,
                     SETUP_FIRST_ROW, STAFF_NAME, STAFF_ROWS, STAFF_TYPE, SUMMARY_BLOCK_COLUMN, SUMMARY_BLOCK_ROW,
                     TIMESHEET_ALL_HEADERS, TIMESHEET_ROWS, code_formulas, helper_formulas, setup_cells)
from .sheets import (BLOCK_HEADERS, exceptions_colours, lists_sheet, members_sheet, output_sheet, setup_sheet,
                     staff_sheet, summary_block, timesheet_sheet)

__all__ = [
    "build_template", "template_bytes", "template_path", "template_workbook", "setup_cells", "helper_formulas",
    "code_formulas", "TEMPLATE_FILE", "TIMESHEET_ROWS", "MEMBER_ROWS", "STAFF_ROWS", "SETUP_FIRST_ROW",
    "SUMMARY_BLOCK_COLUMN", "SUMMARY_BLOCK_ROW", "HELPER_HEADERS", "TIMESHEET_ALL_HEADERS", "STAFF_NAME",
    "STAFF_TYPE", "MEMBER_NAME", "PLAN_CODE", "CODE_CHECK", "CHECK_OK", "CHECK_DIFFERS", "NOT_ON_STAFF",
    "NOT_ON_MEMBERS", "CODE_LABEL", "CODE_KEY", "CODES_ALL_HEADERS", "LIST_NAMES",
]

TEMPLATE_FILE = "ECM_Timesheet.xlsx"


def build_template(path: str | Path, profile: Profile | None = None) -> Path:
    """Write the template for `profile` (default: the shipped one) to `path`, atomically."""
    profile = profile or load_profile()
    path = Path(path)
    data = template_bytes(profile)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".ecm-template-", suffix=".xlsx", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)   # an ordinary file, not mkstemp's owner-only one
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def template_path() -> Path:
    """Where the committed template is in a source checkout. An installed package carries a
    copy in ecm_xl/templates/; `template_bytes()` builds the same bytes for the shipped profile."""
    return Path(__file__).resolve().parent.parent.parent / "templates" / TEMPLATE_FILE


def template_bytes(profile: Profile | None = None) -> bytes:
    """The template as xlsx bytes, the same bytes for the same profile."""
    profile = profile or load_profile()
    wb = template_workbook(profile)
    buf = io.BytesIO()
    wb.save(buf)
    return _fixed_zip(buf.getvalue(), _stamp(profile))


def template_workbook(profile: Profile | None = None) -> Workbook:
    """The template as an openpyxl Workbook (not yet saved)."""
    profile = profile or load_profile()
    wb = Workbook()
    wb.remove(wb.active)
    stamp = _stamp(profile)
    wb.properties.creator = "ecm-xl"
    wb.properties.title = "ECM Timesheet"
    wb.properties.subject = f"{profile.name} {profile.version}"
    wb.properties.created = stamp
    wb.properties.modified = stamp
    wb.calculation.fullCalcOnLoad = True   # Excel recomputes after a headless close

    instructions = wb.create_sheet(C.INSTRUCTIONS)
    setup = wb.create_sheet(C.SETUP)
    staff = wb.create_sheet(C.STAFF)
    members = wb.create_sheet(C.MEMBERS)
    timesheet = wb.create_sheet(C.TIMESHEET)
    summary = wb.create_sheet(C.SUMMARY)
    claim = wb.create_sheet(C.CLAIM)
    exceptions = wb.create_sheet(C.EXCEPTIONS)
    records = {name: wb.create_sheet(name) for name in C.RECORD_TABLES}   # what was sent (SPEC §5)
    cycle = {name: wb.create_sheet(name) for name in C.CYCLE_TABLES}      # what was paid, what is left
    lists = wb.create_sheet(C.LISTS)

    lists_sheet(wb, lists, profile)
    instructions_sheet(instructions, profile)
    setup_sheet(wb, setup, profile)
    staff_sheet(staff)
    members_sheet(members)
    timesheet_sheet(timesheet)
    summary_end = get_column_letter(SUMMARY_BLOCK_COLUMN + len(BLOCK_HEADERS) - 1)
    output_sheet(summary, C.SUMMARY, print_columns=f"A:{summary_end}")
    output_sheet(claim, C.CLAIM)
    output_sheet(exceptions, C.EXCEPTIONS)
    for name, ws in {**records, **cycle}.items():
        output_sheet(ws, name)
    summary_block(summary, profile)
    exceptions_colours(exceptions)

    for name, target in LIST_NAMES.items():
        wb.defined_names[name] = DefinedName(name, attr_text=target)
    wb.active = 0
    return wb


# ---------------------------------------------------------------------------
# Determinism
# ---------------------------------------------------------------------------
def _stamp(profile: Profile) -> dt.datetime:
    d = profile.effective_date
    return dt.datetime(d.year, d.month, d.day)


_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def _fixed_zip(data: bytes, stamp: dt.datetime) -> bytes:
    """Rewrite the package with fixed entry times and document dates."""
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    when = (max(stamp.year, 1980), stamp.month, stamp.day, 0, 0, 0)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                body = _MODIFIED.sub(rb"\g<1>" + iso + rb"\g<2>", body)
            entry = zipfile.ZipInfo(info.filename, date_time=when)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            dst.writestr(entry, body)
    return out.getvalue()

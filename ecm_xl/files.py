"""Where outputs go and how they are written: names, the overwrite guard, atomic CSV.

Every output is written to a temporary file beside its target and renamed
into place when whole (`xlsx.package.atomic_write`), so a crash never leaves
half a file.

Every command that writes a file first calls `guard_output`: the target's
name must fit what is written (.xlsx/.xlsm for a workbook, .837/.x12/.txt
for an 837P, .csv for CSV), and an existing file is replaced only when it is
that command's own earlier output for the same input (recognised by name and
content, see the `own` recognisers below) or when `force` is given.
"""
from __future__ import annotations

import io
import os
from pathlib import Path

from .intake import InputError
from .xlsx.package import atomic_write

WORKBOOK, X12, CSV, TEXT = "workbook", "x12", "csv", "text"
EXTENSIONS = {WORKBOOK: (".xlsx", ".xlsm"), X12: (".837", ".x12", ".txt"), CSV: (".csv",), TEXT: (".py", ".txt")}
KIND_WORDS = {WORKBOOK: "a workbook", X12: "an 837P claim file", CSV: "a CSV file",
              TEXT: "a Python script or text file"}


def name_of(path) -> str:
    return os.path.basename(os.fspath(path))


def same_file(a, b) -> bool:
    a, b = os.fspath(a), os.fspath(b)
    if os.path.exists(a) and os.path.exists(b):
        return os.path.samefile(a, b)
    return os.path.abspath(a) == os.path.abspath(b)


def closed_name(path) -> str:
    """`<name>.closed.xlsx` for a workbook (keeping .xlsm for a macro workbook)."""
    p = Path(path)
    return f"{p.stem}.closed{p.suffix.lower() or '.xlsx'}"


def default_output(path) -> Path:
    """`<name>.closed.xlsx` beside the workbook (keeping .xlsm for a macro workbook).

    A workbook already named `*.closed.xlsx` has no default: closing it again
    needs -o or --in-place, so a closed copy is never overwritten by surprise.
    """
    p = Path(path)
    if p.stem.lower().endswith(".closed"):
        raise InputError(p, "is already a closed copy: give -o OUT.xlsx for a new copy, "
                            "or --in-place to update it")
    return p.with_name(f"{p.stem}.closed{p.suffix or '.xlsx'}")


# ---------------------------------------------------------------------------
# The overwrite guard
# ---------------------------------------------------------------------------
def guard_output(target, kind: str, *, force: bool = False, own=None, source=None) -> Path:
    """Check `target` before a command writes `kind` to it; InputError (one line) when it may not.

    - its extension must fit `kind` (WORKBOOK, X12, CSV or TEXT), --force or not;
    - it must not be `source` (the command's input, or any of them);
    - an existing file is replaced only when `force`, or when `own(target)` says
      it is this command's own earlier output for the same input.
    Nothing is read from or written to `target` when it does not exist.
    """
    p = Path(target)
    allowed = EXTENSIONS[kind]
    if p.suffix.lower() not in allowed:
        raise InputError(p, f"can't be written: {KIND_WORDS[kind]} is named "
                            f"{' or '.join('*' + e for e in allowed)}, so nothing was written")
    if p.is_dir():
        raise InputError(p, "is a folder, not a file: nothing was written")
    sources = source if isinstance(source, (list, tuple)) else [] if source is None else [source]
    if any(same_file(p, s) for s in sources):
        raise InputError(p, "is an input of this command: nothing was written (give another output name)")
    if force or not p.exists():
        return p
    try:
        mine = bool(own and own(p))
    except Exception:   # an unreadable file is not one of ours
        mine = False
    if mine:
        return p
    what = "already exists" if own is None else \
        "already exists and is not an earlier output of this command from the same input"
    raise InputError(p, f"{what}; nothing was written (choose another name, or add --force to replace it)")


def _tables_of(path) -> dict | None:
    """{table name: headers} of a workbook, or None when it is not a readable workbook."""
    from .xlsx import WorkbookError
    from .xlsx.package import Package
    from .xlsx.reader import read_structure
    try:        # the package's structure is enough to know it; its sheets are not read
        with Package(path) as pkg:
            return {name: t.headers for name, t in read_structure(pkg).tables.items()}
    except (WorkbookError, OSError):
        return None


def is_closed_copy(path, source=None) -> bool:
    """An ecm-xl closed copy: a workbook with the Timesheet and Claim tables, named
    `<source name>.closed.xlsx` when `source` is given (else any `*.closed.xlsx`)."""
    from . import contract as C
    p = Path(path)
    if source is not None:
        if p.name.lower() != closed_name(source).lower():
            return False
    elif not p.stem.lower().endswith(".closed"):
        return False
    tables = _tables_of(p)
    return tables is not None and C.TIMESHEET in tables and C.CLAIM in tables


def _input_tables(path):
    from . import contract as C
    from .xlsx import read_workbook
    wb = read_workbook(path, required=(C.TIMESHEET,), tables=(C.STAFF, C.MEMBERS, C.TIMESHEET))
    rows = {k: [tuple(r.values()) for r in t.rows] for k, t in wb.tables.items()}
    return wb.setup, rows


def extends_workbook(path, source) -> bool:
    """`path` is `source` with time entries added: the same Setup, Staff and Members,
    and a Timesheet that begins with every row of source's (what `fill -o` writes)."""
    from . import contract as C
    setup, rows = _input_tables(path)
    src_setup, src_rows = _input_tables(source)
    if setup != src_setup or any(rows.get(k) != src_rows.get(k) for k in (C.STAFF, C.MEMBERS)):
        return False
    blank = (None, "")
    ts = [r for r in rows.get(C.TIMESHEET, []) if any(v not in blank for v in r)]
    src_ts = [r for r in src_rows.get(C.TIMESHEET, []) if any(v not in blank for v in r)]
    return ts[:len(src_ts)] == src_ts


def first_line_is(path, *headers) -> bool:
    """A CSV whose header row is one of `headers` (tuples of column names)."""
    import csv
    with open(path, newline="", encoding="utf-8-sig") as f:
        first = next(csv.reader(f), None)
    return first is not None and tuple(first) in [tuple(h) for h in headers]


def is_claims_csv(path, billing_npi: str = "") -> bool:
    """An ecm-xl claim-line CSV (with or without Source File), of `billing_npi` when given."""
    import csv

    from . import contract as C
    with open(path, newline="", encoding="utf-8-sig") as f:
        first = tuple(next(csv.reader(f), ()))
    n = len(C.CLAIM_HEADERS)        # an invoice CSV adds columns after the Claim sheet's
    if first[:n] != C.CLAIM_HEADERS and first[:n + 1] != ("Source File",) + C.CLAIM_HEADERS:
        return False
    if not billing_npi:
        return True
    with open(path, newline="", encoding="utf-8-sig") as f:
        return all(r.get("Billing NPI") in (billing_npi, "") for r in csv.DictReader(f))


def is_x12_of(path, billing_npi: str = "") -> bool:
    """An X12 837P file (ISA first), billed under `billing_npi` when given."""
    with open(path, "rb") as f:
        data = f.read()
    text = data.decode("ascii", "replace")
    if not text.startswith("ISA") or "ST*837*" not in text:
        return False
    return not billing_npi or f"*XX*{billing_npi}" in text


def has_bytes(data: bytes):
    """A recogniser: the file already holds exactly `data` (replacing it loses nothing)."""
    def own(path) -> bool:
        p = Path(path)
        return p.stat().st_size == len(data) and p.read_bytes() == data
    return own


def write_csv(path: Path, produce) -> None:
    def write(f):
        text = io.StringIO(newline="")
        produce(text)
        f.write(text.getvalue().encode("utf-8-sig"))
    atomic_write(os.fspath(path), write)

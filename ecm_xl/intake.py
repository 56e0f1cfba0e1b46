"""Reading other systems' exports: CSV and spreadsheet files of staff, members and time entries.

A clinic's EHR, a plan's roster or a scheduling system exports its own
headers and its own way of writing values. This module reads such a file
into rows keyed by the workbook's headers (SPEC §3), cleans each value the
way the Timesheet should hold it, and says which columns it could not place.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
from pathlib import Path

from . import values as V
from .profile import fold
from .xlsx import WorkbookError

SPREADSHEETS = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")
TEXT_FILES = (".csv", ".txt", ".tsv")

# Columns that hold identifiers or codes: always text, never numbers ("02" stays "02").
ID_COLUMNS = {"Staff ID", "Member ID", "NPI", "HCPCS", "Modifier 1", "Modifier 2", "Place of Service",
              "Diagnosis Code", "ZIP", "State", "Sex"}
DATE_COLUMNS = {"Date", "Date of Birth", "ECM Enrollment Date", "Eligible From", "Eligible Through"}
TIME_COLUMNS = {"Start", "End"}
NUMBER_COLUMNS = {"Minutes"}
_PLAIN_NUMBER = re.compile(r"^-?\d+(?:\.\d+)?$")


class InputError(WorkbookError):
    """A CSV, roster or entries file that can't be used: one line naming it and why."""


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


# Byte-order marks of the text files Excel saves ("Unicode Text" is UTF-16 LE with a BOM).
_BOMS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"), (b"\xef\xbb\xbf", "utf-8-sig"),
         (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def _text_encoding(raw: bytes) -> str | None:
    """The encoding of a text export: from its byte-order mark, else UTF-16 recognised by
    its zero bytes, else UTF-8, else Windows-1252 (Excel's "CSV" on Windows); None when
    the bytes are not text at all (a workbook or a picture renamed .csv)."""
    for bom, enc in _BOMS:
        if raw.startswith(bom):
            return enc
    head = raw[:4096]
    if b"\x00" not in head:
        try:
            raw.decode("utf-8")
            return "utf-8"
        except UnicodeDecodeError:
            return "cp1252"
    even, odd = head[0::2], head[1::2]
    for zeros, chars, enc in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        if zeros.count(0) >= 0.9 * len(zeros) and chars.count(0) <= 0.1 * len(chars):
            return enc
    return None


def _read_csv(p: Path) -> list:
    """Rows of a CSV or of any text file Excel saves: CSV (UTF-8, with or without a BOM, or
    Windows-1252), "CSV (semicolon)" as European Excel writes it, "Text (Tab delimited)",
    and "Unicode Text" (UTF-16, tab delimited). A first line `sep=;` names the delimiter."""
    raw = p.read_bytes()
    enc = _text_encoding(raw)
    try:
        text = raw.decode(enc) if enc else None
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace") if enc in ("utf-8", "cp1252") else None
    if text is None or "\x00" in text:
        raise InputError(p, "is not a text CSV file (it holds binary data)")
    lines = text.splitlines()
    first = lines[0] if lines else ""
    hint = re.fullmatch(r'"?sep=(.)"?[,;\t|]*', first.strip())
    if hint:
        delim = hint.group(1)
        text = text[text.index(first) + len(first):].lstrip("\r\n")
    else:
        delim = max(",;\t|", key=first.count) if any(d in first for d in ",;\t|") else ","
    try:
        return [row for row in csv.reader(io.StringIO(text, newline=""), delimiter=delim)]
    except csv.Error as exc:
        raise InputError(p, f"is not a readable CSV file ({exc})") from None


def _read_sheet(p: Path, sheet: str | None, prefer: str | None) -> list:
    """One sheet of a spreadsheet export, read from bytes read once and checked like a
    workbook (xlsx: its XML and how far its cells reach). Any failure inside the reader,
    a panic included, is one line naming the file, never the reader's words (they may
    quote a cell)."""
    from .xlsx.package import Package, _read_file
    from .xlsx.reader import _native_stderr_muted, check_extent, check_package, read_structure
    try:
        from python_calamine import CalamineWorkbook
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise RuntimeError("python-calamine is required to read spreadsheets") from exc
    pkg = None
    if p.suffix.lower() in (".xlsx", ".xlsm"):
        pkg = Package(p)
        data = pkg.data
        structure = read_structure(pkg)
        check_package(pkg, structure)
        parts = {s.name: s for s in structure.sheets if s.part}
    else:
        data = _read_file(os.fspath(p))
        parts = {}
    step = "opened"
    try:
        with _native_stderr_muted():
            wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
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
                if name in parts:
                    check_extent(pkg, parts[name])
                step = f"read (sheet {name!r})"
                return wb.get_sheet_by_name(name).to_python(skip_empty_area=False)
            finally:
                wb.close()
    except (WorkbookError, KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except BaseException:   # calamine's errors and panics; its words may quote a cell
        raise InputError(p, f"cannot be {step} as a spreadsheet: it is damaged or not a spreadsheet "
                            "Excel saved; open it in Excel and save it again") from None
    finally:
        if pkg is not None:
            pkg.close()


def match_columns(path, headers, wanted, required=(), either=(), synonyms=None):
    """{column index: wanted header} matching headers ignoring case, spacing and punctuation.

    `synonyms` ({folded word: header}, `Vocabulary.header_synonyms`) adds the
    headers other systems use; a header's own spelling wins over a synonym.
    Missing required columns raise ONE InputError naming every one of them and
    the headers the file has. `either` is a list of alternatives like
    [("Minutes",), ("Start", "End")]: one must be complete. Returns (mapping,
    headers matched to nothing).
    """
    by_fold = dict(synonyms or {})
    by_fold.update({fold(h): h for h in wanted})
    own = {fold(h) for h in headers if h} & {fold(h) for h in wanted}
    mapping, ignored = {}, []
    for i, h in enumerate(headers):
        if not h:
            continue
        target = by_fold.get(fold(h))
        if target is not None and fold(h) != fold(target) and fold(target) in own:
            target = None          # the file has the header itself: this synonym is a column of its own
        if target is not None and target not in mapping.values():
            mapping[i] = target
        else:
            ignored.append(h)
    have = set(mapping.values())
    missing = [repr(c) for c in required if c not in have]
    if either and not any(all(c in have for c in alt) for alt in either):
        missing.append(" or ".join(" and ".join(repr(c) for c in alt) for alt in either))
    if missing:
        found = ", ".join(h for h in headers if h) or "none"
        word = "column" if len(missing) == 1 else "columns"
        raise InputError(path, f"has no {', '.join(missing)} {word} (the header row must name "
                               f"{'it' if len(missing) == 1 else 'them'}; its headers are: {found})")
    return mapping, tuple(ignored)


def clean_value(header: str, value, profile=None):
    """A cell from an export as the Timesheet should hold it.

    Text that is plainly a date, a time or a number becomes one (a CSV has no
    types): month-name dates and durations like '1.5 hrs' included, and a
    duration cell ([h]:mm) as its minutes. Contact, Service and Staff Type in
    other words (the vocabulary: 'Phone', 'Mass mailing') become the plan's
    value. Anything else is kept exactly as typed, so the close can say what
    is wrong with it. Identifiers and codes stay text.
    """
    if V.is_blank(value):
        return None
    if header in ID_COLUMNS:
        return V.text(value)
    if profile is None:
        from .profile import load_profile
        profile = load_profile()
    vocab = profile.vocabulary
    if header in NUMBER_COLUMNS and isinstance(value, (dt.timedelta, dt.time, dt.datetime)):
        n, err = V.to_minutes(value, vocab)     # an Excel duration: 0:45 is 45 minutes
        return _whole(n) if not err else value
    if isinstance(value, str):
        s = value.strip()
        if header in DATE_COLUMNS:
            d, err = V.to_date(s, vocab)
            return d if not err else s
        if header in TIME_COLUMNS:
            t, err = V.to_time(s)
            return t if not err else s
        if header in NUMBER_COLUMNS and _PLAIN_NUMBER.match(s):
            n = float(s)
            return int(n) if n.is_integer() else n
        if header in NUMBER_COLUMNS:
            n, err = V.to_minutes(s, vocab)
            return _whole(n) if not err else s
        if header in VALUE_COLUMNS:
            return VALUE_COLUMNS[header](profile, s) or s
        return s
    if isinstance(value, dt.datetime) and header in DATE_COLUMNS and value.time() == dt.time(0):
        return value.date()
    if isinstance(value, dt.timedelta) and header in TIME_COLUMNS:
        t, err = V.to_time(value)
        return t if not err else value
    return value


def _whole(n: float):
    return int(n) if float(n).is_integer() else round(n, 4)


# Columns whose values the vocabulary spells the plan's way.
VALUE_COLUMNS = {
    "Contact": lambda p, s: (p.contact(s) or (None,))[0],
    "Service": lambda p, s: p.service(s),
    "Staff Type": lambda p, s: p.staff_type(s),
}


def table_rows(source, wanted, *, required=(), either=(), sheet=None, prefer=None, profile=None):
    """Rows ({header: value}) from a file path or from an iterable of dicts.

    Headers and values are read through the profile's vocabulary (the
    default profile's when None). Returns (rows, names of the columns matched
    to nothing). Blank rows are skipped.
    """
    from .profile import as_profile
    profile = as_profile(profile)
    synonyms = profile.vocabulary.header_synonyms(wanted)
    if isinstance(source, (str, os.PathLike)):
        headers, grid = read_export(source, sheet, prefer)
        mapping, ignored = match_columns(source, headers, wanted, required, either, synonyms)
        records = ({mapping[i]: v for i, v in enumerate(r) if i in mapping} for r in grid)
    else:
        source = list(source)
        headers = list(dict.fromkeys(k for r in source for k in r))
        mapping, ignored = match_columns("rows", headers, wanted, required, either, synonyms)
        rename = {headers[i]: h for i, h in mapping.items()}
        records = ({rename[k]: v for k, v in r.items() if k in rename} for r in source)
    rows, seen = [], {}   # a month repeats its dates, times and labels: clean each once

    def clean(h, v):
        key = (h, v.__class__, v)
        try:
            return seen[key]
        except KeyError:
            out = seen[key] = clean_value(h, v, profile)
            return out
        except TypeError:   # an unhashable value
            return clean_value(h, v, profile)
    for rec in records:
        row = {h: c for h, v in rec.items() if (c := clean(h, v)) is not None}
        if row:
            rows.append(row)
    return rows, ignored



def parse_month(value) -> dt.date | None:
    """'2026-10', '10/2026', 'Oct 2026' or a date -> the first of the month; ValueError when not a month."""
    if value is None or value == "":
        return None
    m, err = V.to_month(value)
    if err:
        raise ValueError(f"--month {err}")
    return m


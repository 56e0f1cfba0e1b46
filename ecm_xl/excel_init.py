"""`ecm-xl init`: a ready workbook for the desktop xlwings add-in, and its .py file.

    init_project("C:/Clinic")  ->  [C:/Clinic/ECM_Timesheet.xlsx, C:/Clinic/ECM_Timesheet.py]

The workbook is the template plus one sheet, `xlwings.conf`, whose first row
names the worksheet functions' module (UDF MODULES = ecm_xl.excel). The sheet
is added at the xlsx package level: every part of the template (tables,
drop-downs, formulas, the chart, styles) is copied byte for byte, only
workbook.xml, its relationships and [Content_Types].xml change. The .py file
carries the name of the workbook, which is what the add-in's "Run main"
button imports before calling main().

Nothing is overwritten unless asked (force): an existing file is an InitError (one line).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

WORKBOOK_STEM = "ECM_Timesheet"
CONF_SHEET = "xlwings.conf"
UDF_MODULE = "ecm_xl.excel"
CONF = (("UDF MODULES", UDF_MODULE),)

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
XLSX_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
XLSM_MAIN = "application/vnd.ms-excel.sheet.macroEnabled.main+xml"

PY_FILE = '''"""Run main (xlwings add-in ribbon) closes the month of {workbook}.

The add-in imports this file because it has the workbook's name, and calls
main(). Keep it beside the workbook, with the same name.
"""
from ecm_xl.addin import fill, main  # noqa: F401

if __name__ == "__main__":
    # With the workbook open in Excel: python {stem}.py runs the close from a terminal.
    import xlwings as xw

    xw.Book("{workbook}").set_mock_caller()
    main()
'''


class InitError(ValueError):
    """`ecm-xl init` can't write its files; str(e) is one line (a bad-input error for the CLI)."""


def init_project(folder, *, template=None, profile=None, stem: str = WORKBOOK_STEM,
                 macro_enabled: bool = False, force: bool = False) -> list:
    """Write `<stem>.xlsx` (or .xlsm) and `<stem>.py` into `folder`; return both paths.

    `template`: the xlsx to start from (default: the template `ecm-xl new`
    starts from: the shipped one, or one built for `profile`).
    `macro_enabled` writes an .xlsm, which Windows Excel needs before the
    add-in's "Import Functions" can add =ECM_CODE and =ECM_UNITS; "Run main"
    works with either.
    """
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", stem):
        raise InitError(f"{stem!r} can't name the workbook: the add-in imports it as a Python module, "
                        "so use letters, digits and underscores only")
    folder = Path(folder)
    book = folder / f"{stem}.{'xlsm' if macro_enabled else 'xlsx'}"
    script = folder / f"{stem}.py"
    prepare_folder(folder, (book, script), force=force)
    src = _template_file(folder, template, profile)
    try:
        add_conf_sheet(src, book, CONF, macro_enabled=macro_enabled)
    finally:
        if template is None:
            os.unlink(src)
    write_text(script, PY_FILE.format(workbook=book.name, stem=stem))
    return [book, script]


def prepare_folder(folder: Path, paths, force: bool = False) -> None:
    """Refuse if any of `paths` exists (nothing is overwritten unless `force`), or is
    named for another kind of file (files.guard_output); make `folder` if missing."""
    from .files import EXTENSIONS, TEXT, WORKBOOK, guard_output
    from .intake import InputError
    for p in paths:   # all checked before any is written
        kind = WORKBOOK if Path(p).suffix.lower() in EXTENSIONS[WORKBOOK] else TEXT
        try:
            guard_output(p, kind, force=force)
        except InputError as exc:
            raise InitError(str(exc)) from None
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InitError(f"{folder}: can't create the folder ({e.strerror})") from None


def _template_file(folder: Path, template, profile) -> Path:
    if template is not None:
        if not Path(template).is_file():
            raise InitError(f"{template}: no such template file")
        return Path(template)
    from .api import template_source   # the template `ecm-xl new` starts from too
    tmp = folder / f".ecm-init-template-{os.getpid()}.xlsx"
    tmp.write_bytes(template_source(profile))
    return tmp


def write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if tmp.exists():
            tmp.unlink()
        raise


# -- adding a sheet at the package level -------------------------------------------
def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def conf_sheet_xml(pairs) -> bytes:
    """A worksheet with keys in column A and values in column B from row 1, as xlwings reads them."""
    rows = "".join(
        f'<row r="{i}"><c r="A{i}" t="inlineStr"><is><t>{_esc(k)}</t></is></c>'
        f'<c r="B{i}" t="inlineStr"><is><t>{_esc(v)}</t></is></c></row>'
        for i, (k, v) in enumerate(pairs, start=1))
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<worksheet xmlns="{MAIN_NS}"><dimension ref="A1:B{len(pairs)}"/>'
            f'<sheetViews><sheetView workbookViewId="0"/></sheetViews>'
            f'<sheetFormatPr defaultRowHeight="15"/>'
            f'<cols><col min="1" max="1" width="20" customWidth="1"/>'
            f'<col min="2" max="2" width="40" customWidth="1"/></cols>'
            f'<sheetData>{rows}</sheetData>'
            f'<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
            f'</worksheet>').encode("utf-8")


def add_conf_sheet(src, dst, pairs, *, macro_enabled: bool = False) -> None:
    """Copy workbook src to dst (atomically) with an `xlwings.conf` sheet added at the end."""
    from .xlsx.newparts import PartLists
    from .xlsx.package import Package, WorkbookError, write_package
    from .xlsx.reader import check_package, read_structure

    try:
        with Package(src) as pkg:
            st = read_structure(pkg)
            check_package(pkg, st)
            if any(s.name.casefold() == CONF_SHEET for s in st.sheets):
                raise InitError(f"{Path(src).name}: already has an {CONF_SHEET} sheet")
            taken = set(pkg.names())
            n = 1
            while f"xl/worksheets/sheet{n}.xml" in taken:
                n += 1
            part = f"xl/worksheets/sheet{n}.xml"
            lists = PartLists(pkg, st.workbook_part)   # edited with the parser, never with patterns
            lists.add_sheet(CONF_SHEET, part)
            if macro_enabled:
                if XLSX_MAIN not in (lists.override(st.workbook_part) or ""):
                    raise InitError("the template's workbook part has an unexpected content type")
                lists.set_override(st.workbook_part, XLSM_MAIN)
            replace = {part: conf_sheet_xml(pairs), **lists.parts()}
            write_package(pkg, os.fspath(dst), replace)
    except WorkbookError as e:
        raise InitError(str(e)) from None



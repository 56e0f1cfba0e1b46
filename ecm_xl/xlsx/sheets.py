"""Add a sheet holding an empty table to a workbook, at the xlsx package level.

A workbook made from an older template lacks the tables of the billing cycle
(Submissions, Remittance, Status). `add_table_sheets` gives it each missing
one on a sheet of its own: a header row, one empty data row, column widths
and the number formats of contract.NUMBER_FORMATS (as column styles, which
the table writer takes for the rows it writes). Every existing part is kept
byte for byte except the few that list parts: [Content_Types].xml,
workbook.xml and its relationships, and styles.xml (one cell format is
appended per number format the new columns need). Those are edited with the
parser (`newparts`, `xmlparts`): a comment holding `</sheets>` can't swallow
the new sheet.

    add_table_sheets("October.xlsx", "October.xlsx", {"Remittance": REMITTANCE_HEADERS})
"""
from __future__ import annotations

import posixpath
from xml.sax.saxutils import escape, quoteattr

from .heights import _styles_part
from .newparts import PKG_REL, REL, PartLists
from .package import Package, WorkbookError, rels_path, write_package
from .reader import check_package, col_letters, read_structure
from .xmlparts import append_child, elements, first, get_attr, rewrite

TABLE_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.table+xml"
REL_TABLE = REL + "/table"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
BUILTIN_FORMATS = {"General": 0, "0": 1, "0.00": 2, "#,##0": 3, "#,##0.00": 4, "m/d/yyyy": 14,
                   "m/d/yyyy h:mm": 22, "@": 49}
FIRST_CUSTOM_FORMAT = 164


def add_table_sheets(src, dst, tables: dict, *, formats: dict | None = None,
                     widths: dict | None = None) -> list:
    """Copy src to dst (atomically) with a new sheet for each table in `tables` it lacks.

    tables: {table name: headers}; formats: {table name: {header: Excel number format}};
    widths: {header: column width}. Returns the names of the tables added ([] when
    none was missing, and then nothing is written unless dst differs from src).
    """
    formats, widths = formats or {}, widths or {}
    with Package(src) as pkg:
        st = read_structure(pkg)
        check_package(pkg, st)
        missing = [n for n in tables if n not in st.tables]
        if not missing:
            if str(src) != str(dst):
                write_package(pkg, dst, {})
            return []
        sheet_names = {s.name.lower() for s in st.sheets}
        for name in missing:
            if name.lower() in sheet_names:
                raise WorkbookError(src, f"has a sheet named {name} without the {name} table; "
                                         f"rename that sheet so a {name} sheet can be added")
        lists = PartLists(pkg, st.workbook_part)
        styles_part = _styles_part(pkg, st.workbook_part)
        styles = pkg.read_xml(styles_part) if styles_part else None
        names = set(pkg.names())
        table_ids = [int(x) for t in st.tables.values()
                     for x in [get_attr(elements(pkg.read_xml(t.part), pkg.path, t.part)[0].attrs, "id", "")]
                     if x.isdigit()]
        next_table = max(table_ids, default=0) + 1
        replace = {}
        for name in missing:
            headers = tables[name]
            sheet_part = _free(names, "xl/worksheets/sheet{}.xml")
            table_part = _free(names, "xl/tables/table{}.xml")
            names.update((sheet_part, table_part))
            col_styles = {}
            if styles is not None:
                for i, h in enumerate(headers, start=1):
                    fmt = formats.get(name, {}).get(h)
                    if fmt:
                        styles, col_styles[i] = _cell_style(pkg.path, styles_part, styles, fmt)
            replace[sheet_part] = _sheet_xml(headers, col_styles, widths).encode("utf-8")
            replace[rels_path(sheet_part)] = _rels_xml(
                [("rId1", REL_TABLE, posixpath.relpath(table_part, posixpath.dirname(sheet_part)))]).encode("utf-8")
            replace[table_part] = _table_xml(next_table, name, headers).encode("utf-8")
            next_table += 1
            lists.add_sheet(name, sheet_part)
            lists.add_override(table_part, TABLE_TYPE)
        replace.update(lists.parts())
        if styles_part:
            replace[styles_part] = styles
        write_package(pkg, dst, replace)
    return missing


# ---------------------------------------------------------------------------
def _free(names: set, pattern: str) -> str:
    n = 1
    while pattern.format(n) in names:
        n += 1
    return pattern.format(n)


def _cell_style(pkg_path, part: str, styles: bytes, fmt: str):
    """styles.xml with a cell format (xf) for number format `fmt` appended; (styles, xf index)."""
    els = elements(styles, pkg_path, part)
    root = els[0]
    p = root.qname.rpartition(":")[0]
    p = p + ":" if p else ""
    num_id = BUILTIN_FORMATS.get(fmt)
    if num_id is None:
        num_id = next((int(get_attr(e.attrs, "numFmtId")) for e in els if e.local == "numFmt"
                       and get_attr(e.attrs, "formatCode") == fmt
                       and (get_attr(e.attrs, "numFmtId") or "").isdigit()), None)
    if num_id is None:
        used = [int(x) for e in els for x in [get_attr(e.attrs, "numFmtId") or ""] if x.isdigit()]
        num_id = max([FIRST_CUSTOM_FORMAT - 1] + used) + 1
        item = f'<{p}numFmt numFmtId="{num_id}" formatCode={quoteattr(fmt)}/>'
        if first(els, "numFmts") is not None:
            styles = _recount(pkg_path, part, append_child(styles, pkg_path, part, "numFmts", item), "numFmts", "numFmt")
        else:
            at = root.tag_end
            styles = rewrite(styles, [(at, at, f'<{p}numFmts count="1">{item}</{p}numFmts>'.encode("utf-8"))])
    els = elements(styles, pkg_path, part)
    xfs = first(els, "cellXfs")
    if xfs is None:
        raise WorkbookError(pkg_path, f"is damaged: part {part} has no cell formats (cellXfs)")
    k = els.index(xfs)
    count = sum(1 for e in els if e.parent == k and e.local == "xf")
    styles = append_child(styles, pkg_path, part, "cellXfs",
                          f'<{p}xf numFmtId="{num_id}" fontId="0" fillId="0" borderId="0" xfId="0" '
                          'applyNumberFormat="1"/>')
    return _recount(pkg_path, part, styles, "cellXfs", "xf"), count


def _recount(pkg_path, part: str, data: bytes, local: str, item: str) -> bytes:
    """data with the count attribute of the first `local` element set to its `item` children."""
    els = elements(data, pkg_path, part)
    el = first(els, local)
    k = els.index(el)
    n = sum(1 for e in els if e.parent == k and e.local == item)
    return rewrite(data, [el.replace_attr("count", str(n))])


def _sheet_xml(headers, col_styles: dict, widths: dict) -> str:
    last = col_letters(len(headers))
    cols = "".join(
        f'<col min="{i}" max="{i}" width="{widths.get(h, 12)}" customWidth="1"'
        + (f' style="{col_styles[i]}"' if i in col_styles else "") + "/>"
        for i, h in enumerate(headers, start=1))
    cells = "".join(f'<c r="{col_letters(i)}1" t="inlineStr"><is><t>{escape(h)}</t></is></c>'
                    for i, h in enumerate(headers, start=1))
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<worksheet xmlns="{MAIN}" xmlns:r="{REL}"><sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
            f'<dimension ref="A1:{last}1"/>'
            '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
            'state="frozen"/></sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>'
            f'<cols>{cols}</cols><sheetData><row r="1">{cells}</row></sheetData>'
            '<pageMargins left="0.5" right="0.5" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
            '<pageSetup orientation="landscape" fitToWidth="1" fitToHeight="0"/>'   # every column on the page
            '<tableParts count="1"><tablePart r:id="rId1"/></tableParts></worksheet>')


def _rels_xml(rels) -> str:
    items = "".join(f'<Relationship Id="{i}" Type="{t}" Target="{target}"/>' for i, t, target in rels)
    return f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{PKG_REL}">{items}</Relationships>'


def _table_xml(table_id: int, name: str, headers) -> str:
    ref = f"A1:{col_letters(len(headers))}2"
    columns = "".join(f'<tableColumn id="{i}" name={quoteattr(h)}/>' for i, h in enumerate(headers, start=1))
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<table xmlns="{MAIN}" id="{table_id}" name={quoteattr(name)} displayName={quoteattr(name)} '
            f'ref="{ref}" totalsRowShown="0"><autoFilter ref="{ref}"/>'
            f'<tableColumns count="{len(headers)}">{columns}</tableColumns>'
            '<tableStyleInfo name="TableStyleMedium2" showFirstColumn="0" showLastColumn="0" '
            'showRowStripes="1" showColumnStripes="0"/></table>')

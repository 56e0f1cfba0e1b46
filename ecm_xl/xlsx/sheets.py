"""Add a sheet holding an empty table to a workbook, at the xlsx package level.

A workbook made from an older template lacks the tables of the billing cycle
(Submissions, Remittance, Status). `add_table_sheets` gives it each missing
one on a sheet of its own: a header row, one empty data row, column widths
and the number formats of contract.NUMBER_FORMATS (as column styles, which
the table writer takes for the rows it writes). Every existing part is kept
byte for byte except the few that list parts: [Content_Types].xml,
workbook.xml and its relationships, and styles.xml (one cell format is
appended per number format the new columns need).

    add_table_sheets("October.xlsx", "October.xlsx", {"Remittance": REMITTANCE_HEADERS})
"""
from __future__ import annotations

import posixpath
import re
from xml.sax.saxutils import escape, quoteattr

from .package import Package, WorkbookError, rels_path, write_package
from .reader import check_package, col_letters, read_structure

SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
TABLE_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.table+xml"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
REL_SHEET = REL + "/worksheet"
REL_TABLE = REL + "/table"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
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
        wb_part = st.workbook_part
        wb_xml = pkg.read_xml(wb_part).decode("utf-8")
        wb_rels_part = rels_path(wb_part)
        wb_rels = pkg.read_xml(wb_rels_part).decode("utf-8") if pkg.has(wb_rels_part) else \
            f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{PKG_REL}"></Relationships>'
        types = pkg.read_xml("[Content_Types].xml").decode("utf-8")
        styles_part = _styles_part(pkg, wb_part)
        styles = pkg.read_xml(styles_part).decode("utf-8") if styles_part else None
        names = set(pkg.names())
        table_ids = [int(m) for t in st.tables.values()
                     for m in re.findall(rb'<(?:[\w.-]+:)?table\b[^>]*?\sid="(\d+)"', pkg.read_xml(t.part))[:1]]
        next_table = max(table_ids, default=0) + 1
        sheet_ids = [int(x) for x in re.findall(r'<(?:[\w.-]+:)?sheet\b[^>]*?\ssheetId="(\d+)"', wb_xml)]
        next_sheet_id = max(sheet_ids, default=0) + 1
        rids = {int(x) for x in re.findall(r'Id="rId(\d+)"', wb_rels)}
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
                        styles, col_styles[i] = _cell_style(styles, fmt)
            replace[sheet_part] = _sheet_xml(headers, col_styles, widths).encode("utf-8")
            replace[rels_path(sheet_part)] = _rels_xml(
                [("rId1", REL_TABLE, posixpath.relpath(table_part, posixpath.dirname(sheet_part)))]).encode("utf-8")
            replace[table_part] = _table_xml(next_table, name, headers).encode("utf-8")
            next_table += 1
            rid = f"rId{max(rids, default=0) + 1}"
            rids.add(max(rids, default=0) + 1)
            target = posixpath.relpath(sheet_part, posixpath.dirname(wb_part))
            wb_rels = _insert_before_close(wb_rels, "Relationships",
                                           f'<Relationship Id="{rid}" Type="{REL_SHEET}" Target="{target}"/>')
            wb_xml = _add_sheet(wb_xml, name, next_sheet_id, rid)
            next_sheet_id += 1
            for part, typ in ((sheet_part, SHEET_TYPE), (table_part, TABLE_TYPE)):
                types = _insert_before_close(types, "Types",
                                             f'<Override PartName="/{part}" ContentType="{typ}"/>')
        replace[wb_part] = wb_xml.encode("utf-8")
        replace[wb_rels_part] = wb_rels.encode("utf-8")
        replace["[Content_Types].xml"] = types.encode("utf-8")
        if styles_part:
            replace[styles_part] = styles.encode("utf-8")
        write_package(pkg, dst, replace)
    return missing


# ---------------------------------------------------------------------------
def _free(names: set, pattern: str) -> str:
    n = 1
    while pattern.format(n) in names:
        n += 1
    return pattern.format(n)


def _styles_part(pkg, wb_part: str):
    rp = rels_path(wb_part)
    if not pkg.has(rp):
        return None
    for m in re.finditer(rb'<Relationship\b[^>]*>', pkg.read_xml(rp)):
        tag = m.group(0).decode("utf-8")
        if tag.find('/styles"') > 0:
            target = re.search(r'Target="([^"]+)"', tag).group(1)
            part = target.lstrip("/") if target.startswith("/") else \
                posixpath.normpath(posixpath.join(posixpath.dirname(wb_part), target))
            return part if pkg.has(part) else None
    return None


def _prefix(xml: str, tag: str) -> str:
    m = re.search(rf"<([\w.-]+:)?{tag}\b", xml)
    return (m.group(1) or "") if m else ""


def _insert_before_close(xml: str, tag: str, item: str) -> str:
    m = re.search(rf"</(?:[\w.-]+:)?{tag}\s*>", xml)
    if m:
        return xml[:m.start()] + item + xml[m.start():]
    m = re.search(rf"<((?:[\w.-]+:)?{tag})\b([^>]*?)/>", xml)   # an empty element <Types .../>
    if not m:
        raise ValueError(f"no <{tag}> element")
    return xml[:m.start()] + f"<{m.group(1)}{m.group(2)}>{item}</{m.group(1)}>" + xml[m.end():]


def _add_sheet(wb_xml: str, name: str, sheet_id: int, rid: str) -> str:
    p = _prefix(wb_xml, "sheets")
    r_prefix = re.search(r'xmlns:([\w.-]+)="' + re.escape(REL) + '"', wb_xml)
    if r_prefix:
        rattr = f'{r_prefix.group(1)}:id="{rid}"'
    else:
        rattr = f'xmlns:r="{REL}" r:id="{rid}"'
    return _insert_before_close(wb_xml, "sheets", f'<{p}sheet name={quoteattr(name)} sheetId="{sheet_id}" {rattr}/>')


def _cell_style(styles: str, fmt: str):
    """styles.xml with a cell format (xf) for number format `fmt` appended; (styles, xf index)."""
    p = _prefix(styles, "styleSheet")
    num_id = BUILTIN_FORMATS.get(fmt)
    if num_id is None:
        for m in re.finditer(r'<(?:[\w.-]+:)?numFmt\b[^>]*?numFmtId="(\d+)"[^>]*?formatCode="([^"]*)"', styles):
            if m.group(2).replace("&quot;", '"') == fmt:
                num_id = int(m.group(1))
                break
    if num_id is None:
        used = [int(x) for x in re.findall(r'numFmtId="(\d+)"', styles)]
        num_id = max([FIRST_CUSTOM_FORMAT - 1] + used) + 1
        item = f'<{p}numFmt numFmtId="{num_id}" formatCode={quoteattr(fmt)}/>'
        if re.search(r"<(?:[\w.-]+:)?numFmts\b", styles):
            styles = _insert_before_close(styles, "numFmts", item)
            styles = _recount(styles, "numFmts", "numFmt")
        else:
            m = re.search(r"<(?:[\w.-]+:)?styleSheet\b[^>]*>", styles)
            styles = styles[:m.end()] + f'<{p}numFmts count="1">{item}</{p}numFmts>' + styles[m.end():]
    m = re.search(r"<(?:[\w.-]+:)?cellXfs\b[^>]*>(.*?)</(?:[\w.-]+:)?cellXfs>", styles, re.S)
    if m is None:
        raise ValueError("styles.xml has no cellXfs")
    count = len(re.findall(r"<(?:[\w.-]+:)?xf\b", m.group(1)))
    styles = _insert_before_close(styles, "cellXfs",
                                  f'<{p}xf numFmtId="{num_id}" fontId="0" fillId="0" borderId="0" xfId="0" '
                                  f'applyNumberFormat="1"/>')
    return _recount(styles, "cellXfs", "xf"), count


def _recount(xml: str, tag: str, item: str) -> str:
    m = re.search(rf"(<(?:[\w.-]+:)?{tag}\b[^>]*>)(.*?)</(?:[\w.-]+:)?{tag}>", xml, re.S)
    n = len(re.findall(rf"<(?:[\w.-]+:)?{item}\b", m.group(2)))
    head = m.group(1)
    new = re.sub(r'\scount="\d+"', f' count="{n}"', head) if "count=" in head else head[:-1] + f' count="{n}">'
    return xml[:m.start(1)] + new + xml[m.end(1):]


def _sheet_xml(headers, col_styles: dict, widths: dict) -> str:
    last = col_letters(len(headers))
    cols = "".join(
        f'<col min="{i}" max="{i}" width="{widths.get(h, 12)}" customWidth="1"'
        + (f' style="{col_styles[i]}"' if i in col_styles else "") + "/>"
        for i, h in enumerate(headers, start=1))
    cells = "".join(f'<c r="{col_letters(i)}1" t="inlineStr"><is><t>{escape(h)}</t></is></c>'
                    for i, h in enumerate(headers, start=1))
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<worksheet xmlns="{MAIN}" xmlns:r="{REL}"><dimension ref="A1:{last}1"/>'
            '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
            'state="frozen"/></sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>'
            f'<cols>{cols}</cols><sheetData><row r="1">{cells}</row></sheetData>'
            '<pageMargins left="0.5" right="0.5" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
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

"""Listing new sheets in a package: the workbook's sheet list, its relationships and
the content types, edited with the parser (xmlparts), never with patterns.

`add_table_sheets` (the cycle's tables for a workbook from an older template) and
`ecm-xl init`'s xlwings.conf sheet both add a sheet part; this is how the three
parts that list parts learn of it. Each edit parses the part afresh and splices
the new element in at the parser's position, so a comment or CDATA holding
`</sheets>` can't receive it, and everything else stays byte for byte.

    lists = PartLists(pkg, structure.workbook_part)
    lists.add_sheet("Remittance", "xl/worksheets/sheet13.xml")
    lists.add_override("xl/tables/table9.xml", TABLE_TYPE)
    replace.update(lists.parts())
"""
from __future__ import annotations

import posixpath
from xml.sax.saxutils import quoteattr

from .package import Package, rels_path
from .xmlparts import append_child, elements, first, get_attr, prefix_for, rewrite, start_tag, with_attr

REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
REL_SHEET = REL + "/worksheet"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
TYPES = "[Content_Types].xml"
EMPTY_RELS = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
              f'<Relationships xmlns="{PKG_REL}"></Relationships>').encode("utf-8")


class PartLists:
    """The workbook part, its relationships and [Content_Types].xml of a package, as
    they become when sheets are added."""

    def __init__(self, pkg: Package, workbook_part: str):
        self.path, self.wb_part = pkg.path, workbook_part
        self.rels_part = rels_path(workbook_part)
        self.data = {workbook_part: pkg.read_xml(workbook_part),
                     self.rels_part: pkg.read_xml(self.rels_part) if pkg.has(self.rels_part) else EMPTY_RELS,
                     TYPES: pkg.read_xml(TYPES)}

    def _els(self, part: str) -> list:
        return elements(self.data[part], self.path, part)

    def _append(self, part: str, local: str, item: str):
        self.data[part] = append_child(self.data[part], self.path, part, local, item)

    def add_sheet(self, name: str, sheet_part: str, *, type_: str = SHEET_TYPE) -> str:
        """List a new worksheet part as sheet `name` (last in the tab order); its rId."""
        ids = {get_attr(e.attrs, "Id") for e in self._els(self.rels_part) if e.local == "Relationship"}
        k = 1
        while f"rId{k}" in ids:
            k += 1
        rid = f"rId{k}"
        target = posixpath.relpath(sheet_part, posixpath.dirname(self.wb_part))
        self._append(self.rels_part, "Relationships",
                     f'<Relationship Id="{rid}" Type="{REL_SHEET}" Target="{target}"/>')
        els = self._els(self.wb_part)
        sheets = first(els, "sheets")
        taken = [get_attr(e.attrs, "sheetId", "") for e in els if e.local == "sheet"]
        sheet_id = max((int(x) for x in taken if x.isdigit()), default=0) + 1
        prefix = sheets.qname.rpartition(":")[0] if sheets is not None else ""
        r = prefix_for(sheets, REL) if sheets is not None else None
        link = f'{r}:id="{rid}"' if r else f'xmlns:rr="{REL}" rr:id="{rid}"'
        self._append(self.wb_part, "sheets",
                     f'<{prefix + ":" if prefix else ""}sheet name={quoteattr(name)} sheetId="{sheet_id}" {link}/>')
        self.add_override(sheet_part, type_)
        return rid

    def add_override(self, part: str, content_type: str):
        self._append(TYPES, "Types", f'<Override PartName="/{part}" ContentType={quoteattr(content_type)}/>')

    def override(self, part: str) -> str | None:
        """The content type [Content_Types].xml gives `part` by name, or None."""
        el = self._override_el(part)
        return get_attr(el.attrs, "ContentType") if el is not None else None

    def set_override(self, part: str, content_type: str):
        el = self._override_el(part)
        new = start_tag(el.qname, with_attr(el.attrs, "ContentType", content_type), el.empty)
        self.data[TYPES] = rewrite(self.data[TYPES], [(el.start, el.tag_end, new.encode("utf-8"))])

    def _override_el(self, part: str):
        want = "/" + part.lstrip("/").lower()
        return next((e for e in self._els(TYPES) if e.local == "Override"
                     and (get_attr(e.attrs, "PartName") or "").lower() == want), None)

    def parts(self) -> dict:
        """{part name: new bytes} for write_package."""
        return dict(self.data)

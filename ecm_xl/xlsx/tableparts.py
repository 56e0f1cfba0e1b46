"""The small parts a write changes besides sheets: a table's range, and workbook.xml's
request that Excel recalculate on open. Each is parsed (xmlparts.elements) and only
the start tags that change are serialized again."""
from __future__ import annotations

from .package import WorkbookError
from .reader import TableInfo, format_ref, parse_ref
from .xmlparts import MAIN_NS, elements, rewrite


def update_table_part(pkg, part: str, t: TableInfo, bottom: int) -> bytes:
    """The table part with its ref, autoFilter and sortState reaching row `bottom`."""
    data = pkg.read_xml(part)
    els = elements(data, pkg.path, part)
    root = els[0]
    if root.local != "table" or root.ns not in MAIN_NS:
        raise WorkbookError(pkg.path, f"is damaged: part {part} is not a table")
    c1, r1, c2, _ = t.ref
    edits = [root.replace_attr("ref", format_ref(c1, r1, c2, bottom + t.totals_rows))]
    for i, el in enumerate(els[1:], 1):
        if el.ns not in MAIN_NS:
            continue
        # the table's own autoFilter, and the sortState of the table or of that autoFilter
        if el.local == "autoFilter" and el.parent == 0:
            edits.append(el.replace_attr("ref", format_ref(c1, r1, c2, bottom)))
        elif el.local == "sortState" and (el.parent == 0 or els[el.parent].local == "autoFilter"
                                          and els[el.parent].parent == 0):
            ref = next((el.attrs[k + 1] for k in range(0, len(el.attrs), 2) if el.attrs[k] == "ref"), None)
            try:
                sc1, sr1, sc2, _ = parse_ref(ref or "")
            except ValueError:
                continue
            edits.append(el.replace_attr("ref", format_ref(sc1, sr1, sc2, bottom)))
    return rewrite(data, edits)


# workbook.xml children that come after calcPr (ECMA-376 CT_Workbook), where a new
# calcPr must go before the first of them
_AFTER_CALC = ("oleSize", "customWorkbookViews", "pivotCaches", "smartTagPr", "smartTagTypes",
               "webPublishing", "fileRecoveryPr", "webPublishObjects", "extLst")


def set_full_calc(pkg, part: str) -> bytes:
    """workbook.xml with calcPr fullCalcOnLoad="1", so Excel recalculates what depends
    on the tables written."""
    data = pkg.read_xml(part)
    els = elements(data, pkg.path, part)
    root = els[0]
    kids = [el for el in els if el.parent == 0]
    calc = next((el for el in kids if el.local == "calcPr" and el.ns in MAIN_NS), None)
    if calc is not None:
        return rewrite(data, [calc.replace_attr("fullCalcOnLoad", "1")])
    prefix = root.qname[:-len(root.local)]
    new = f'<{prefix}calcPr fullCalcOnLoad="1"/>'.encode()
    if root.empty:
        tag = root.qname
        return rewrite(data, [(root.tag_end - 2, root.tag_end, b">" + new + f"</{tag}>".encode())])
    after = next((el for el in kids if el.local in _AFTER_CALC), None)
    if after is not None:
        pos = after.start
    else:
        pos = data.rindex(b"</", 0, root.end)      # the root's end tag: the part's last element
    return rewrite(data, [(pos, pos, new)])

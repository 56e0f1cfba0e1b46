"""Write tables into a workbook at the xlsx package level, losing nothing.

Only the parts a write owns change: the XML of the sheets that hold the
tables written, those tables' parts (xl/tables/*.xml), and workbook.xml (its
calcPr asks Excel to recalculate on open). Every other zip member is copied as
its raw compressed bytes (see package.write_package). Each owned part is
parsed with expat (xmlparts, sheet) and changed by splicing new elements in at
the positions the parser reports, so rows outside the table, cells outside
its columns, comments, prefixes and extensions stay byte for byte.

Cells are written as numbers, booleans or inline strings (cells.py); text that
starts with '=' is a string cell, which Excel never evaluates. Dates become
Excel serial numbers in the cell style of the table's first data row for that
column (the template gives row 2 of each output table its number format).
A written row whose wrapping cells (Exceptions `Reason`) need more than one
line stores its height (see heights.py); rows a table grows into get the
first data row's cell styles.

`src` is a path or an open `Package` (so a command reads its input once).
"""
from __future__ import annotations

import re
from contextlib import contextmanager

from .cells import ROW_MARK, cell_xml, esc, table_bodies, value_xml
from .heights import DEFAULT_WIDTH, WrapStyles, row_height, wrapped_lines
from .package import Package, WorkbookError, write_package
from .reader import TableInfo, check_package, col_letters, format_ref, read_structure, setup_cells
from .sheet import SheetXml
from .tableparts import set_full_calc, update_table_part

# re-exported for callers of the old single module
__all__ = ["append_table_rows", "cell_xml", "owned_parts", "write_named_cells", "write_tables"]


@contextmanager
def opened(src):
    """The Package for src: src itself when it is one (left open), else opened here."""
    if isinstance(src, Package):
        yield src
    else:
        with Package(src) as pkg:
            yield pkg


# -- checks ---------------------------------------------------------------------------
def _norm(h: str) -> str:
    return "".join(str(h).split()).casefold()


def _column_map(t: TableInfo, headers) -> list:
    """For each table column, the index into `headers` (or None)."""
    exact = {h: i for i, h in enumerate(headers)}
    loose = {}
    for i, h in enumerate(headers):
        loose.setdefault(_norm(h), i)
    return [exact.get(h, loose.get(_norm(h))) for h in t.headers]


def _check_room(pkg, st, t: TableInfo, sheet: SheetXml, old_bottom: int, new_bottom: int):
    """New rows below the table must not run into another table or typed cells."""
    if new_bottom <= old_bottom:
        return
    for o in st.tables.values():
        if o.name != t.name and o.sheet_part == t.sheet_part:
            oc1, or1, oc2, or2 = o.ref
            if oc1 <= t.ref[2] and oc2 >= t.ref[0] and or1 <= new_bottom and or2 > old_bottom:
                raise WorkbookError(pkg.path, f"the {t.name} table needs rows down to {new_bottom}, "
                                              f"but the {o.name} table is in the way; move it")
    for r in sheet.rows:
        if old_bottom < r.num <= new_bottom:
            for cell in sheet.cells(r):
                if t.ref[0] <= cell.col <= t.ref[2] and (cell.value or cell.formula):
                    raise WorkbookError(pkg.path, f"the {t.name} table needs rows down to {new_bottom}, "
                                                  f"but cell {col_letters(cell.col)}{r.num} below it is in use")


def _writable_table(pkg, st, name: str, purpose: str) -> TableInfo:
    t = st.tables.get(name)
    if t is None:
        raise WorkbookError(pkg.path, f"has no table named {name} {purpose}")
    if t.totals_rows:
        raise WorkbookError(pkg.path, f"the {name} table has a totals row; turn it off "
                                      "(Table Design > Total Row) so rows can be written")
    return t


def _owned_sheet(pkg, sheets: dict, part: str) -> SheetXml:
    sheet = sheets.get(part)
    if sheet is None:
        sheet = sheets[part] = SheetXml(pkg, part)
    elif sheet.edits:
        # a second table on a sheet already written: parse the written sheet again
        sheet = sheets[part] = SheetXml(pkg, part, data=b"".join(sheet.chunks()))
    return sheet


def _span(cols: list):
    return (min(cols), max(cols)) if cols else None


def _heights(sheet: SheetXml, rows: list, columns: list, wraps: WrapStyles, top: int):
    """{row number: points} for the written rows whose wrapping cells need more than
    one line (see heights.py); None when the table has no wrapping column.

    columns: (column number, index into each row's values or None, cell style).
    """
    widths = None
    wrapping = []
    for col, idx, style in columns:
        w = wraps.get(style)
        if idx is not None and w is not None:
            if widths is None:
                widths = sheet.column_widths()
            wrapping.append((idx, widths.get(col, DEFAULT_WIDTH), w[0], w[1]))
    if not wrapping:
        return None
    want = {}
    for k, values in enumerate(rows):
        h = 0.0
        for idx, width, size, indent in wrapping:
            v = values[idx]
            if v is not None and v != "":
                lines = wrapped_lines(v, width, size, indent)
                if lines > 1:
                    h = max(h, row_height(lines, size))
        if h:
            want[top + k] = h
    return want


# -- public ------------------------------------------------------------------------
def owned_parts(src, table_names) -> set:
    """The zip parts a write of these tables may change; all others are copied as they are."""
    with opened(src) as pkg:
        st = read_structure(pkg)
        out = {st.workbook_part}
        for name in table_names:
            t = st.tables.get(name)
            if t is not None:
                out.update((t.part, t.sheet_part))
        return out


def write_tables(src, dst, tables: dict) -> None:
    """Copy src to dst atomically with the data rows of each named table replaced.

    tables: {table name: (headers, rows)}, rows as lists of plain values in the
    order of headers. Columns are matched to the table by header text; table
    columns with no match are left blank (a calculated column gets its
    formula). Rows left over from a longer earlier write are cleared.
    """
    with opened(src) as pkg:
        st = read_structure(pkg)
        check_package(pkg, st)
        sheets, parts = {}, {}
        wraps = None
        for name, (headers, rows) in tables.items():
            t = _writable_table(pkg, st, name, "to write the results to")
            cmap = _column_map(t, headers)
            if all(i is None for i in cmap):
                raise WorkbookError(pkg.path, f"the {name} table has none of the columns "
                                              f"{', '.join(headers[:3])}...")
            sheet = _owned_sheet(pkg, sheets, t.sheet_part)
            top, old_bottom = t.data_top, t.data_bottom
            new_bottom = top + max(len(rows), 1) - 1
            _check_room(pkg, st, t, sheet, old_bottom, new_bottom)
            styles = sheet.first_row_styles(t)
            c1, c2 = t.ref[0], t.ref[2]
            cols = list(range(c1, c2 + 1))
            letters = [col_letters(c) for c in cols]
            col_styles = [styles.get(c, 0) for c in cols]
            formulas = [t.formulas.get(h) if i is None else None for h, i in zip(t.headers, cmap)]
            rows = list(rows)

            width = len(headers)
            heads = [(letters[j], f' s="{col_styles[j]}"' if col_styles[j] else "", col_styles[j],
                      idx, esc(formulas[j]) if formulas[j] else None)
                     for j, idx in enumerate(cmap)]
            short = [k for k, r in enumerate(rows) if len(r) < width]
            if short:
                raise ValueError(f"{name} row {short[0] + 1} has fewer values than its {width} headers")
            lo_span = (c1, c2)
            table_letters = {x.encode() for x in letters}
            # each row's whole XML, ROW_MARK for its number: one replace makes it
            start, end = sheet.row_tag(ROW_MARK, None)
            start += ">"
            wrapped = table_bodies(rows, heads, start, end) if rows else \
                table_bodies([[None] * width], [h[:4] + (None,) for h in heads], start, end)
            empty, cut = start + end, len(start)
            if wraps is None:
                wraps = WrapStyles.of(pkg, st.workbook_part)
            # the height each row's wrapping text needs; a row that fits one line loses
            # an old stored height (0), and tables without wrapping columns keep theirs
            heights = _heights(sheet, rows, [(c, i, col_styles[j]) for j, (c, i) in enumerate(zip(cols, cmap))],
                               wraps, top)

            def build(num, row, wrapped=wrapped, empty=empty, cut=cut, end=end, sheet=sheet,
                      new_bottom=new_bottom, top=top, c1=c1, c2=c2, lo_span=lo_span,
                      table_letters=table_letters, heights=heights):
                # rows past the result are cleared; an empty result keeps one blank row
                # with the styles (its body was built from one row of blanks, no formulas)
                xml = wrapped[num - top] if num <= new_bottom else empty
                body = xml[cut:len(xml) - len(end)].replace(ROW_MARK, str(num))
                height = None if heights is None else heights.get(num, 0)
                if not sheet.only_cells_in(row, table_letters):
                    # a cell beside the table (or one the quick check cannot place): keep those
                    cells = sheet.cells(row)
                    left = [c for c in cells if c.col < c1]
                    right = [c for c in cells if c.col > c2]
                    if left or right:
                        span = _span([c.col for c in left + right] + ([c1, c2] if body else []))
                        return sheet.make_row(num, row, [sheet.cell_xml(c) for c in left] + [body]
                                              + [sheet.cell_xml(c) for c in right], span, height)
                return sheet.make_row(num, row, [body], lo_span if body else None, height)

            def fresh(nums, wrapped=wrapped, empty=empty, new_bottom=new_bottom, top=top, lo_span=lo_span,
                      heights=heights, sheet=sheet, cut=cut):
                out = []
                for num in nums:
                    if num <= new_bottom:
                        xml = wrapped[num - top]
                        if xml != empty:
                            h = heights.get(num) if heights else None
                            if h:           # a tall row: its own start tag
                                xml = sheet.row_tag(num, None, h)[0] + ">" + xml[cut:]
                            out.append((num, xml.replace(ROW_MARK, str(num)), lo_span))
                return out

            sheet.replace_rows(top, max(old_bottom, new_bottom), build, fresh)
            parts[t.part] = update_table_part(pkg, t.part, t, new_bottom)
        for part, sheet in sheets.items():
            used = sheet.used_range()
            sheet.set_dimension(format_ref(*used) if used else "A1")
            parts[part] = sheet.chunks()
        parts[st.workbook_part] = set_full_calc(pkg, st.workbook_part)
        write_package(pkg, dst, parts)


_SHARED_SI = re.compile(rb"""si\s*=\s*["'](\d+)""")


def _calculated_cells(sheet: SheetXml, t: TableInfo, rows, written, parsed) -> dict:
    """{(col, row): <f> element} for the calculated-column cells an append writes.

    A formula goes where the row was given no value for that column and holds no
    formula already. Runs of such cells share one formula (t="shared"), as Excel
    stores a calculated column, so 100k appended rows do not repeat it 100k times.
    """
    out = {}
    if not t.formulas:
        return out
    # Shared formula group ids in use on the sheet. Taken from every si="N" in the
    # part, wherever it sits (even xsi="N"): a few too many only skips ids, none are
    # missed.
    ids = set(_SHARED_SI.findall(sheet.data))
    si = 1 + max(map(int, ids), default=-1)
    start = written[0]
    for k, h in enumerate(t.headers):
        f = t.formulas.get(h)
        if f is None:
            continue
        col = t.ref[0] + k
        letter = col_letters(col)
        run = []
        for num in written + [None]:
            if num is not None and h not in rows[num - start]:
                old = parsed.get(num, {}).get(col)
                if not (old is not None and old.formula):
                    run.append(num)
                    continue
            if run:
                text = esc(_formula_at(f, letter, t.data_top, run[0]))
                if len(run) == 1:
                    out[col, run[0]] = f"<f>{text}</f>"
                else:
                    out[col, run[0]] = f'<f t="shared" ref="{letter}{run[0]}:{letter}{run[-1]}" si="{si}">{text}</f>'
                    for n in run[1:]:
                        out[col, n] = f'<f t="shared" si="{si}"/>'
                    si += 1
                run = []
    return out


def _formula_at(formula: str, letter: str, first_row: int, row: int) -> str:
    """A calculated column's formula for another row (it is stored for the first data row).

    Structured references ([#This Row]) are the same on every row; plain A1
    references are moved with openpyxl's translator.
    """
    if row == first_row or "[" in formula or not re.search(r"\$?[A-Za-z]{1,3}\$?\d", formula):
        return formula
    from openpyxl.formula.translate import Translator
    try:
        return Translator("=" + formula, origin=f"{letter}{first_row}").translate_formula(
            f"{letter}{row}")[1:]
    except Exception:       # a formula the translator cannot parse stays as written
        return formula


def append_table_rows(src, dst, table: str, rows: list) -> list:
    """Append rows ({exact header: value}) to a table after its last non-blank data row.

    Blank table rows are reused first; the table, its autoFilter and the data
    validations / conditional formats that reach the table's old end grow with
    it. Calculated columns get their formula. Every cell of a row the table
    grows into gets the style of the table's first data row (borders and
    alignment too, not only a number format left on the blank cells below);
    reused rows keep theirs. Returns the Excel row numbers written.
    """
    with opened(src) as pkg:
        st = read_structure(pkg)
        check_package(pkg, st)
        t = _writable_table(pkg, st, table, "to add rows to")
        unknown = sorted({k for r in rows for k in r} - set(t.headers))
        if unknown:
            raise WorkbookError(pkg.path, f"the {table} table has no {unknown[0]!r} column")
        sheet = SheetXml(pkg, t.sheet_part)
        c1, c2 = t.ref[0], t.ref[2]
        top, old_bottom = t.data_top, t.data_bottom
        calc_cols = {c1 + k for k, h in enumerate(t.headers) if h in t.formulas}
        last = top - 1
        for r in reversed(sheet.rows):     # the last row in the table holding a typed value
            if top <= r.num <= old_bottom and any(c1 <= c.col <= c2 and c.col not in calc_cols and c.value
                                                  for c in sheet.cells(r)):
                last = r.num
                break
        start = last + 1
        written = list(range(start, start + len(rows)))
        if not rows:
            return []
        new_bottom = max(old_bottom, written[-1])
        _check_room(pkg, st, t, sheet, old_bottom, new_bottom)
        styles = sheet.first_row_styles(t)
        cols = list(range(c1, c2 + 1))
        letters = {c: col_letters(c) for c in cols}
        header_of = {c1 + k: h for k, h in enumerate(t.headers)}
        parsed = {r.num: {c.col: c for c in sheet.cells(r)}
                  for r in sheet.rows if start <= r.num <= written[-1]}
        formulas = _calculated_cells(sheet, t, rows, written, parsed)

        def build(num, row):
            values = rows[num - start]
            existing = parsed.get(num, {})
            sn = str(num)
            out = []
            grown = num > old_bottom
            for col in cols:
                h = header_of[col]
                old = existing.get(col)
                # a row the table grows into looks like its first data row, as in Excel;
                # rows already in the table keep their own cell styles
                if old is not None and not (grown and styles.get(col)):
                    style = old.style
                else:
                    style = styles.get(col, 0)
                head = f'<c r="{letters[col]}{sn}" s="{style}"' if style else f'<c r="{letters[col]}{sn}"'
                if h in values:
                    x = value_xml(head, style, values[h])
                elif (col, num) in formulas:
                    x = f"{head}>{formulas[col, num]}</c>"
                elif old is not None and (not grown or old.content):
                    x = sheet.cell_xml(old)          # a formula or a styled blank already there
                else:
                    x = value_xml(head, style, None)
                if x:
                    out.append(x)
            left = [c for c in existing.values() if c.col < c1]
            right = [c for c in existing.values() if c.col > c2]
            span = _span([c.col for c in left + right] + ([c1, c2] if out else []))
            return sheet.make_row(num, row, [sheet.cell_xml(c) for c in left] + out
                                  + [sheet.cell_xml(c) for c in right], span)

        sheet.replace_rows(start, written[-1], build)
        parts = {}
        if new_bottom > old_bottom:
            parts[t.part] = update_table_part(pkg, t.part, t, new_bottom)
            sheet.extend_ranges(c1, c2, old_bottom, new_bottom)
        dim = sheet.dimension()
        box = (c1, t.ref[1], c2, new_bottom)
        if dim:
            box = (min(dim[0], box[0]), min(dim[1], box[1]), max(dim[2], box[2]), max(dim[3], box[3]))
        sheet.set_dimension(format_ref(*box))
        parts[t.sheet_part] = sheet.chunks()
        parts[st.workbook_part] = set_full_calc(pkg, st.workbook_part)
        write_package(pkg, dst, parts)
        return written


def write_named_cells(src, dst, values: dict) -> None:
    """Set single-cell defined names (Setup settings) to values, copying all else byte for byte.

    Only the sheets holding the cells change; each cell keeps its style (its
    number format). The cells must exist in the sheet XML, as they do in the
    template (every Setup value cell is styled).
    """
    with opened(src) as pkg:
        st = read_structure(pkg)
        where = setup_cells(st)
        missing = [k for k in values if k not in where]
        if missing:
            raise WorkbookError(pkg.path, f"has no Setup cell named {missing[0]}")
        _write_cells(pkg, st, dst, {where[name]: value for name, value in values.items()},
                     {where[name]: f" for {name}" for name in values})


def write_cells(src, dst, values: dict) -> None:
    """Set existing cells ({(sheet name, row, column): value}) to values, copying all else
    byte for byte. Each cell keeps its style; a cell missing from the sheet XML is an error."""
    with opened(src) as pkg:
        _write_cells(pkg, read_structure(pkg), dst, values)


def _write_cells(pkg, st, dst, values: dict, purposes: dict | None = None) -> None:
    """write_cells on an open package whose structure `st` is read."""
    part_of = {s.name: s.part for s in st.sheets}
    sheets, new = {}, {}
    for (sheet_name, row_num, col), value in values.items():
        part = part_of[sheet_name]
        if part not in sheets:
            sheets[part] = SheetXml(pkg, part)
        sheet = sheets[part]
        ref = f"{col_letters(col)}{row_num}"
        row = sheet.row_map().get(row_num)
        cell = next((c for c in sheet.cells(row) if c.col == col), None) if row is not None else None
        if cell is None:
            why = (purposes or {}).get((sheet_name, row_num, col), "")
            raise WorkbookError(pkg.path, f"the {sheet_name} sheet has no cell {ref}{why}")
        head = f'<c r="{ref}"' + (f' s="{cell.style}"' if cell.style else "") + sheet.row_ns
        new[part, cell.start] = (cell, value_xml(head, cell.style, value) or head + "/>")
    for (part, _start), (cell, xml) in new.items():
        sheets[part].edits.append((cell.start, cell.end, xml))
    parts = {part: b"".join(sheet.chunks()) for part, sheet in sheets.items()}
    write_package(pkg, dst, parts)


def write_table_cells(src, dst, table: str, values: dict) -> None:
    """Set cells of a table's rows ({(Excel row, header): value}) that exist in the sheet XML."""
    with opened(src) as pkg:
        st = read_structure(pkg)
        t = _writable_table(pkg, st, table, "to update")
        cells = {}
        for (row, header), value in values.items():
            if header not in t.headers or not t.data_top <= row <= t.data_bottom:
                raise WorkbookError(pkg.path, f"the {table} table has no row {row} column {header!r}")
            cells[(t.sheet, row, t.ref[0] + t.headers.index(header))] = value
        _write_cells(pkg, st, dst, cells)

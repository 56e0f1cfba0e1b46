"""Damaged and hostile workbooks for the fuzz test (tests/test_fuzz.py), seeded and reproducible.

Each case is a workbook (bytes) made from the demo month's workbook by one
mutation of one category, or a hand-made trap. `run_case` closes it with the
real command in a child process (a timeout, RLIMIT_AS) and classifies what
happened. A case passes when the command either

- exits 0 with an output that openpyxl reopens and whose Claim and Exceptions
  rows match the counts it printed, or
- exits 2 with one line on stderr naming the file,

and fails on any other exit, a traceback, a signal, a hang or too much memory.

Run more cases than the suite does, and see the counts by category:

    python tests/fuzz_workbooks.py --cases 600 --seed 1 --workers 2
"""
from __future__ import annotations

import io
import os
import random
import re
import resource
import subprocess
import sys
import zipfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

MEMORY_LIMIT = 1536 << 20       # address space of the child closing one case
TIMEOUT = 45                    # seconds for one case (the demo month closes in under one)
NAME = "clinic.xlsx"            # every case is written under this name; its message must name it

CATEGORIES = ("zip", "xml", "structure", "cells", "traps")


class Case(NamedTuple):
    category: str
    name: str                   # what was done, for the report and for reproducing
    data: bytes | None          # the workbook; None for a trap made on disk (see special)
    special: str = ""           # 'fifo' for a named pipe called clinic.xlsx
    expect: tuple = ()          # (exit code, words its message or output must hold), when known


class Outcome(NamedTuple):
    case: Case
    code: int | str             # the exit code, or 'timeout' / 'signal N' / 'memory'
    ok: bool
    why: str                    # what was wrong when not ok
    stdout: str
    stderr: str


# ---------------------------------------------------------------------------
# the base workbook and zip helpers
# ---------------------------------------------------------------------------
def demo_workbook(folder: Path) -> bytes:
    """The demo month's filled workbook (every timesheet row of the demo month), unclosed."""
    from ecm_xl import api
    report = api.demo(folder / "demo")
    return Path(report.workbook).read_bytes()


def dt_close():
    """The close date every case uses (so R13 never depends on today)."""
    import datetime
    return datetime.date(2026, 11, 30)


def members_of(data: bytes) -> list:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return [(i, z.read(i)) for i in z.infolist()]


def rezip(members, *, method=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for info, body in members:
            zi = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            zi.compress_type = method
            z.writestr(zi, body)
    return buf.getvalue()


def replace_parts(data: bytes, changes: dict) -> bytes:
    """The workbook with some parts' bytes replaced (None drops the part; new names are added)."""
    out, seen = [], set()
    for info, body in members_of(data):
        seen.add(info.filename)
        if info.filename in changes:
            if changes[info.filename] is None:
                continue
            body = changes[info.filename]
        out.append((info, body))
    for name, body in changes.items():
        if name not in seen and body is not None:
            out.append((zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), body))
    return rezip(out)


def part(data: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return z.read(name)


class Parts(NamedTuple):
    """Which part holds what in the demo workbook (found by name, as the reader does)."""
    workbook: str
    sheets: dict                # sheet name -> part
    tables: dict                # table name -> part
    table_sheet: dict           # table name -> sheet part


def locate(data: bytes) -> Parts:
    import posixpath
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        wb = z.read("xl/workbook.xml").decode()
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
        targets = dict(re.findall(r'Id="(rId\d+)"[^>]*?Target="([^"]+)"', rels))
        targets.update({k: v for v, k in re.findall(r'Target="([^"]+)"[^>]*?Id="(rId\d+)"', rels)})
        sheets = {}
        for name, rid in re.findall(r'<sheet [^>]*?name="([^"]+)"[^>]*?r:id="(rId\d+)"', wb):
            t = targets[rid]
            sheets[name] = t.lstrip("/") if t.startswith("/") else posixpath.normpath(posixpath.join("xl", t))
        tables, table_sheet = {}, {}
        for sheet_part in sheets.values():
            d, f = posixpath.split(sheet_part)
            rp = f"{d}/_rels/{f}.rels"
            if rp not in z.namelist():
                continue
            for target in re.findall(r'Target="([^"]+table\d+\.xml)"', z.read(rp).decode()):
                tp = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(d, target))
                tname = re.search(r'displayName="([^"]+)"', z.read(tp).decode()).group(1)
                tables[tname] = tp
                table_sheet[tname] = sheet_part
    return Parts("xl/workbook.xml", sheets, tables, table_sheet)


# ---------------------------------------------------------------------------
# mutations by category
# ---------------------------------------------------------------------------
def zip_case(rng: random.Random, data: bytes, parts: Parts) -> Case:
    """The zip container: flipped bytes, truncation, odd flags and methods, lost or doubled parts."""
    names = [i.filename for i, _ in members_of(data)]
    kind = rng.choice(["flip", "truncate", "flags", "method", "drop", "duplicate", "sizes", "stored",
                       "comment", "extra"])
    if kind == "flip":
        b = bytearray(data)
        n = rng.randint(1, 8)
        region = rng.choice(["any", "tail", "head"])
        for _ in range(n):
            if region == "tail":
                i = rng.randrange(max(0, len(b) - 4000), len(b))
            elif region == "head":
                i = rng.randrange(0, min(len(b), 400))
            else:
                i = rng.randrange(len(b))
            b[i] = rng.randrange(256)
        return Case("zip", f"flip {n} bytes ({region})", bytes(b))
    if kind == "truncate":
        cut = rng.randrange(1, len(data))
        return Case("zip", f"truncate at {cut}", data[:cut])
    if kind in ("flags", "method", "sizes", "extra"):
        # patch one member's local and central headers
        b = bytearray(data)
        name = rng.choice(names).encode()
        cen = [m.start() for m in re.finditer(re.escape(b"PK\x01\x02"), data)]
        cen = [c for c in cen if b[c + 46:c + 46 + len(name)] == name] or cen[:1]
        c = cen[0]
        local_off = int.from_bytes(b[c + 42:c + 46], "little")
        if kind == "flags":
            bit = rng.choice([0, 1, 2, 3, 4, 5, 6, 11, 13, 15])
            for off in (c + 8, local_off + 6):
                b[off:off + 2] = (int.from_bytes(b[off:off + 2], "little") | (1 << bit)).to_bytes(2, "little")
            return Case("zip", f"flag bit {bit} on {name.decode()}", bytes(b))
        if kind == "method":
            m = rng.choice([1, 9, 12, 14, 93, 99, 65535])
            for off in (c + 10, local_off + 8):
                b[off:off + 2] = m.to_bytes(2, "little")
            return Case("zip", f"method {m} on {name.decode()}", bytes(b))
        if kind == "sizes":
            size = rng.choice([0, 1, 2 ** 31 - 1, 2 ** 32 - 1, rng.randrange(2 ** 20)])
            which = rng.choice([20, 24])        # compressed / uncompressed size in the central record
            b[c + which:c + which + 4] = size.to_bytes(4, "little")
            return Case("zip", f"central size field {which} of {name.decode()} = {size}", bytes(b))
        # extra field length pointing past the record
        b[c + 30:c + 32] = rng.choice([1, 4, 200, 65535]).to_bytes(2, "little")
        return Case("zip", f"bad extra length on {name.decode()}", bytes(b))
    mem = members_of(data)
    if kind == "drop":
        victim = rng.choice(names)
        return Case("zip", f"drop {victim}", rezip([(i, d) for i, d in mem if i.filename != victim]))
    if kind == "duplicate":
        i = rng.randrange(len(mem))
        body = mem[i][1] if rng.random() < 0.5 else b"<x/>"
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Case("zip", f"duplicate {mem[i][0].filename}", rezip(mem + [(mem[i][0], body)]))
    if kind == "stored":
        return Case("zip", "every part stored", rezip(mem, method=zipfile.ZIP_STORED))
    return Case("zip", "a zip comment", data[:-2] + (5).to_bytes(2, "little") + b"hello")


_TOKENS = [b"<", b">", b"&", b"&bogus;", b"&#0;", b"&#xD800;", b"]]>", b"<!-- <sheetData> -->",
           b"<?pi > ?>", b"<![CDATA[<row>]]>", b"</row>", b"<row>", b"<c r=\"A1\">", b"\x00", b"\xff\xfe",
           b"\xc3", b"<!DOCTYPE x>", b"\"", b"'", b"<x:y/>", b"<row r=\"0\"/>"]


def xml_case(rng: random.Random, data: bytes, parts: Parts) -> Case:
    """One XML part damaged as text: spans cut or doubled, stray tokens, other encodings."""
    important = [parts.workbook, "[Content_Types].xml", "xl/_rels/workbook.xml.rels", "_rels/.rels",
                 "docProps/app.xml", "docProps/core.xml", "xl/styles.xml",
                 *parts.tables.values(), *parts.sheets.values()]
    names = [i.filename for i, _ in members_of(data) if i.filename.endswith((".xml", ".rels"))]
    name = rng.choice(important if rng.random() < 0.8 else names)
    body = part(data, name)
    kind = rng.choice(["cut", "double", "token", "truncate", "encoding", "encoding", "swapcase"])
    if kind == "cut":
        i = rng.randrange(len(body))
        j = min(len(body), i + rng.choice([1, 2, 5, 20, 200]))
        body, what = body[:i] + body[j:], f"cut {j - i} bytes at {i}"
    elif kind == "double":
        i = rng.randrange(len(body))
        j = min(len(body), i + rng.choice([5, 50, 500]))
        body, what = body[:j] + body[i:j] + body[j:], f"double {j - i} bytes at {i}"
    elif kind == "token":
        i = rng.randrange(len(body))
        tok = rng.choice(_TOKENS)
        body, what = body[:i] + tok + body[i:], f"insert {tok!r} at {i}"
    elif kind == "truncate":
        i = rng.randrange(len(body))
        body, what = body[:i], f"truncate at {i}"
    elif kind == "swapcase":
        i = rng.randrange(len(body))
        body, what = body[:i] + body[i:i + 30].swapcase() + body[i + 30:], f"swap case at {i}"
    else:
        text = body.decode("utf-8")
        enc = rng.choice(["utf-16-le", "utf-16-be", "utf-16", "utf-32", "latin-1", "bogus", "cp1252",
                          "utf-8-sig", "ebcdic"])
        decl = re.sub(r'encoding="[^"]*"', lambda _m: f'encoding="{enc}"', text, count=1) \
            if "encoding=" in text else text
        if enc in ("bogus", "ebcdic"):
            body, what = decl.encode("utf-8"), f"declares encoding {enc}"
        elif enc == "utf-8-sig":
            body, what = b"\xef\xbb\xbf" + text.encode(), "UTF-8 with a BOM"
        else:
            body = decl.encode(enc, "replace")
            what = f"saved as {enc}"
    return Case("xml", f"{name}: {what}", replace_parts(data, {name: body}))


def structure_case(rng: random.Random, data: bytes, parts: Parts) -> Case:
    """The workbook's structure: table names, ranges, columns, sheet names, relationships."""
    kind = rng.choice(["rename_table", "dup_sheet", "drop_column", "add_column", "ref", "header_count",
                       "totals", "rel_target", "rel_id", "content_types", "sheet_part_type", "name_ref"])
    tname = rng.choice(list(parts.tables))
    tpart = parts.tables[tname]
    tx = part(data, tpart).decode()
    if kind == "rename_table":
        new = rng.choice([tname + "2", tname.lower(), "Table1", "Staff" if tname != "Staff" else "Members"])
        tx = tx.replace(f'displayName="{tname}"', f'displayName="{new}"').replace(f'name="{tname}"', f'name="{new}"', 1)
        return Case("structure", f"rename table {tname} to {new}", replace_parts(data, {tpart: tx.encode()}))
    if kind == "dup_sheet":
        wb = part(data, parts.workbook).decode()
        names = list(parts.sheets)
        a, b = rng.sample(names, 2)
        wb = wb.replace(f'name="{b}"', f'name="{a}"', 1)
        return Case("structure", f"sheet {b} renamed {a} (two sheets one name)",
                    replace_parts(data, {parts.workbook: wb.encode()}))
    if kind == "drop_column":
        cols = re.findall(r"<tableColumn [^>]*?(?:/>|>.*?</tableColumn>)", tx, re.S)
        victim = rng.choice(cols)
        tx = tx.replace(victim, "", 1)
        tx = re.sub(r'tableColumns count="\d+"', lambda _m: f'tableColumns count="{len(cols) - 1}"', tx)
        return Case("structure", f"{tname}: drop a tableColumn", replace_parts(data, {tpart: tx.encode()}))
    if kind == "add_column":
        tx = tx.replace("</tableColumns>", '<tableColumn id="999" name="Extra"/></tableColumns>')
        return Case("structure", f"{tname}: one tableColumn more than its range", replace_parts(data, {tpart: tx.encode()}))
    if kind == "ref":
        ref = rng.choice(["A0", "A1:A0", "abc", "", "A1", "A1:T30000000", "A1:XFD1048576", "XFE1:XFF2",
                          "A1:Z99999999999", "B2:A1", "A-1:B3", "$A$1:$T$500", "A1:T419 ", "ZZZZ1:ZZZZ9"])
        tx = re.sub(r' ref="[^"]*"', lambda _m: f' ref="{ref}"', tx, count=1)
        return Case("structure", f"{tname}: ref={ref!r}", replace_parts(data, {tpart: tx.encode()}))
    if kind == "header_count":
        v = rng.choice(["0", "2", "-1", "abc", "99999999999", "1e3"])
        tx = tx.replace("<table ", f'<table headerRowCount="{v}" ', 1) if "headerRowCount" not in tx else \
            re.sub(r'headerRowCount="[^"]*"', lambda _m: f'headerRowCount="{v}"', tx)
        return Case("structure", f"{tname}: headerRowCount={v}", replace_parts(data, {tpart: tx.encode()}))
    if kind == "totals":
        v = rng.choice(["1", "2", "abc", "-5", "100000000"])
        tx = tx.replace("<table ", f'<table totalsRowCount="{v}" ', 1)
        return Case("structure", f"{tname}: totalsRowCount={v}", replace_parts(data, {tpart: tx.encode()}))
    if kind == "rel_target":
        sp = parts.table_sheet[tname]
        d, f = sp.rsplit("/", 1)
        rp = f"{d}/_rels/{f}.rels"
        rx = part(data, rp).decode()
        target = rng.choice(["../tables/missing.xml", "/xl/worksheets/sheet1.xml", "../../../../etc/passwd",
                             "../tables/table1.xml", "", "C:\\x.xml"])
        rx = re.sub(r'Target="[^"]*table\d+\.xml"', lambda _m: f'Target="{target}"', rx, count=1)
        return Case("structure", f"{tname}: table link -> {target!r}", replace_parts(data, {rp: rx.encode()}))
    if kind == "rel_id":
        rels = part(data, "xl/_rels/workbook.xml.rels").decode()
        ids = re.findall(r'Id="(rId\d+)"', rels)
        victim = rng.choice(ids)
        rels = rels.replace(f'Id="{victim}"', 'Id="rIdGone"')
        return Case("structure", f"workbook relationship {victim} lost",
                    replace_parts(data, {"xl/_rels/workbook.xml.rels": rels.encode()}))
    if kind == "content_types":
        ct = part(data, "[Content_Types].xml").decode()
        overrides = re.findall(r"<Override [^>]*/>", ct)
        what = rng.choice(["drop override", "drop all", "drop default xml"])
        if what == "drop override":
            ct = ct.replace(rng.choice(overrides), "", 1)
        elif what == "drop all":
            ct = re.sub(r"<(Override|Default) [^>]*/>", "", ct)
        else:
            ct = re.sub(r'<Default Extension="xml"[^>]*/>', "", ct)
        return Case("structure", f"[Content_Types].xml: {what}", replace_parts(data, {"[Content_Types].xml": ct.encode()}))
    if kind == "sheet_part_type":
        rels = part(data, "xl/_rels/workbook.xml.rels").decode()
        rels = rels.replace("relationships/worksheet", "relationships/chartsheet", 1)
        return Case("structure", "first sheet's link says chartsheet",
                    replace_parts(data, {"xl/_rels/workbook.xml.rels": rels.encode()}))
    wb = part(data, parts.workbook).decode()
    new = rng.choice(["Setup!$B$99999999999", "Nowhere!$B$3", "Setup!$XFD$1048576", "#REF!", "Setup!$B$0"])
    wb = re.sub(r"(<definedName [^>]*>)[^<]*(</definedName>)", lambda m: m.group(1) + new + m.group(2), wb, count=1)
    return Case("structure", f"defined name -> {new}", replace_parts(data, {parts.workbook: wb.encode()}))


def _untyped(attrs: str) -> str:
    return re.sub(r' t="[^"]*"', "", attrs)


_VALUES = ["inf", "-inf", "nan", "NaN", "1e-300", "-1.1e11", "1e308", "-1e308", "1.7976931348623157e309",
           "abc", "", "0x10", "1_000", "99999999999999999999", "-0", "2958466", "-693594", "1e15"]


def cells_case(rng: random.Random, data: bytes, parts: Parts) -> Case:
    """Cells of the input sheets: odd numbers, dates, types, references and row numbers."""
    tname = rng.choice(["Timesheet", "Timesheet", "Members", "Staff", "Codes", "Activities"])
    sp = parts.table_sheet.get(tname) or rng.choice(list(parts.sheets.values()))
    sx = part(data, sp).decode("utf-8")
    kind = rng.choice(["value", "value", "type", "ref", "row", "dimension", "bigtext", "shared", "control"])
    cells = list(re.finditer(r'<c r="([A-Z]+)(\d+)"([^>]*?)(/>|>(.*?)</c>)', sx, re.S))
    if not cells:
        return Case("cells", f"{tname}: no cells to change", data)
    m = rng.choice(cells[len(cells) // 10:] or cells)
    col, row = m.group(1), m.group(2)
    if kind == "value":
        v = rng.choice(_VALUES)
        new = f'<c r="{col}{row}"{_untyped(m.group(3))}><v>{v}</v></c>'
        what = f"cell {col}{row} = <v>{v}</v>"
    elif kind == "type":
        t, v = rng.choice([("b", "Quixote"), ("b", "2"), ("s", "999999"), ("s", "-1"), ("d", "not a date"),
                           ("d", "99999-01-01"), ("e", "#BOGUS"), ("n", "yes"), ("str", ""), ("zz", "1")])
        new = f'<c r="{col}{row}"{_untyped(m.group(3))} t="{t}"><v>{v}</v></c>'
        what = f"cell {col}{row} type {t} value {v!r}"
    elif kind == "ref":
        r = rng.choice(["XFD1048576", "A0", "A1048577", "XFE1", "AAAA1", "A99999999999", "1A", "", "A-5"])
        new = m.group(0).replace(f'r="{col}{row}"', f'r="{r}"', 1)
        what = f"cell {col}{row} renamed r={r!r}"
    elif kind == "row":
        n = rng.choice(["1000000000000", "1048577", "0", "-3", "abc", "1048576", "4294967297"])
        rows = list(re.finditer(r'<row r="(\d+)"', sx))
        rm = rng.choice(rows)
        sx = sx[:rm.start()] + f'<row r="{n}"' + sx[rm.end():]
        return Case("cells", f"{tname}: row {rm.group(1)} numbered {n}", replace_parts(data, {sp: sx.encode()}))
    elif kind == "dimension":
        d = rng.choice(["A1:XFD1048576", "A1:T30000000", "A1:A0", "abc", "A1:Z99999999999"])
        sx = re.sub(r'<dimension ref="[^"]*"', lambda _m: f'<dimension ref="{d}"', sx, count=1)
        return Case("cells", f"{tname}: dimension {d}", replace_parts(data, {sp: sx.encode()}))
    elif kind == "bigtext":
        n = rng.choice([32768, 100000, 2_000_000])
        new = f'<c r="{col}{row}" t="inlineStr"><is><t>{"x" * n}</t></is></c>'
        what = f"cell {col}{row} holds {n} characters"
    elif kind == "shared":
        new = f'<c r="{col}{row}"><f t="shared" si="0" ref="A1:XFD1048576">1+1</f><v>2</v></c>'
        what = f"cell {col}{row} shared formula over the whole sheet"
    else:
        new = f'<c r="{col}{row}" t="inlineStr"><is><t>x&#27;[2Jy&#7;</t></is></c>'
        what = f"cell {col}{row} holds control characters"
    sx = sx[:m.start()] + new + sx[m.end():]
    return Case("cells", f"{tname}: {what}", replace_parts(data, {sp: sx.encode("utf-8")}))


def trap_cases(data: bytes, parts: Parts) -> list:
    """Hand-made traps, each of which broke main once (issue 12)."""
    ts = parts.table_sheet["Timesheet"]
    sx = part(data, ts).decode()
    tt = part(data, parts.tables["Timesheet"]).decode()
    out = []

    def sheet_with(extra_row: str) -> bytes:
        return replace_parts(data, {ts: sx.replace("</sheetData>", extra_row + "</sheetData>").encode()})

    out.append(Case("traps", "a cell at XFD1048576", sheet_with('<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'),
                    expect=(2, "XFD1048576")))
    out.append(Case("traps", "Timesheet range A1:T30000000",
                    replace_parts(data, {parts.tables["Timesheet"]: re.sub(r' ref="[^"]*"', ' ref="A1:T30000000"', tt, count=1).encode()}),
                    expect=(2, "Timesheet table")))
    out.append(Case("traps", "a row numbered 1e12", sheet_with('<row r="1000000000000"><c r="A1000000000000"><v>1</v></c></row>'),
                    expect=(2, "row")))
    rows = list(re.finditer(r'<c r="A(\d+)"[^>]*?><v>(\d+)</v></c>', sx))
    for v in ("-1.1e11", "-inf", "inf", "nan", "1e-300"):
        m = rows[len(rows) // 2]
        out.append(Case("traps", f"a Timesheet date of {v}",
                        replace_parts(data, {ts: (sx[:m.start(2)] + v + sx[m.end(2):]).encode()})))
    out.append(Case("traps", "Timesheet saved as UTF-16 without a BOM",
                    replace_parts(data, {ts: sx.replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16-le")}),
                    expect=(2, "UTF-16")))
    codes = part(data, parts.tables["Codes"]).decode()
    out.append(Case("traps", "Codes table renamed CodesOld",
                    replace_parts(data, {parts.tables["Codes"]: codes.replace('"Codes"', '"CodesOld"').encode()}),
                    expect=(2, "Codes")))
    cs = parts.table_sheet["Codes"]
    d, f = cs.rsplit("/", 1)
    out.append(Case("traps", "the Lists sheet's links lost", replace_parts(data, {f"{d}/_rels/{f}.rels": None}),
                    expect=(2, "Lists")))
    out.append(Case("traps", "Members and Staff sheets with one name",
                    replace_parts(data, {parts.workbook: part(data, parts.workbook).decode()
                                         .replace('name="Members"', 'name="Staff"', 1).encode()}),
                    expect=(2, "two sheets")))
    cols = re.findall(r"<tableColumn [^>]*?(?:/>|>.*?</tableColumn>)", tt, re.S)
    out.append(Case("traps", "Timesheet table one column short of its range",
                    replace_parts(data, {parts.tables["Timesheet"]: tt.replace(cols[3], "", 1).encode()}),
                    expect=(2, "Timesheet table lists")))
    out.append(Case("traps", "no [Content_Types].xml", replace_parts(data, {"[Content_Types].xml": None}),
                    expect=(2, "[Content_Types].xml")))
    out.append(Case("traps", "malformed docProps/app.xml", replace_parts(data, {"docProps/app.xml": b"<Properties><x></Properties>"}),
                    expect=(2, "docProps/app.xml")))
    out.append(Case("traps", "an unclosed row", replace_parts(data, {ts: sx.replace("</row>", "", 1).encode()}),
                    expect=(2, "not well-formed")))
    out.append(Case("traps", "a boolean cell holding text",
                    replace_parts(data, {ts: re.sub(r'<c r="(B\d+)"[^>]*?(/>|>.*?</c>)',
                                                    r'<c r="\1" t="b"><v>Quixote</v></c>', sx, count=1).encode()}),
                    expect=(2, "true/false")))
    out.append(Case("traps", "a Codes rate of inf", _codes_rate(data, parts, "inf")))
    out.append(Case("traps", "a Codes rate of 1e300", _codes_rate(data, parts, "1e300"),
                    expect=(0, "$0.00")))
    out.append(Case("traps", "minutes of 1e-300", _column_value(data, parts, "Minutes", "1e-300"),
                    expect=(0, "0 claim lines")))
    out.append(Case("traps", "a FIFO named clinic.xlsx", None, "fifo", expect=(2, "not a regular file")))
    out.append(Case("traps", "table ref A0", replace_parts(data, {parts.tables["Timesheet"]: re.sub(
        r' ref="[^"]*"', ' ref="A0"', tt, count=1).encode()}), expect=(2, "Timesheet table has no valid range")))
    return out


def _column_index(data: bytes, parts: Parts, table: str, header: str) -> tuple:
    tt = part(data, parts.tables[table]).decode()
    ref = re.search(r' ref="([A-Z]+)(\d+):', tt)
    names = re.findall(r'<tableColumn [^>]*?name="([^"]+)"', tt)
    from ecm_xl.xlsx.reader import col_letters, col_number
    return col_letters(col_number(ref.group(1)) + names.index(header)), int(ref.group(2))


def _column_value(data: bytes, parts: Parts, header: str, value: str, table: str = "Timesheet") -> bytes:
    """Every data cell of one column set to a number given as text."""
    col, top = _column_index(data, parts, table, header)
    sp = parts.table_sheet[table]
    sx = part(data, sp).decode()

    def repl(m):
        if int(m.group(1)) <= top:
            return m.group(0)
        return f'<c r="{col}{m.group(1)}"{_untyped(m.group(2))}><v>{value}</v></c>'
    sx = re.sub(rf'<c r="{col}(\d+)"([^>]*?)(?:/>|>.*?</c>)', repl, sx, flags=re.S)
    return replace_parts(data, {sp: sx.encode()})


def _codes_rate(data: bytes, parts: Parts, value: str) -> bytes:
    return _column_value(data, parts, "Rate", value, table="Codes")


def make_cases(data: bytes, seed: int, counts: dict) -> list:
    """counts: {category: how many random cases}; traps are always all included."""
    parts = locate(data)
    rng = random.Random(seed)
    makers = {"zip": zip_case, "xml": xml_case, "structure": structure_case, "cells": cells_case}
    cases = []
    for cat, n in counts.items():
        if cat == "traps":
            continue
        for _ in range(n):
            cases.append(makers[cat](rng, data, parts))
    if counts.get("traps", 1):
        cases.extend(trap_cases(data, parts))
    return cases


# ---------------------------------------------------------------------------
# running one case
# ---------------------------------------------------------------------------
def _limits():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def run_case(case: Case, folder: Path, python: str = sys.executable) -> Outcome:
    folder.mkdir(parents=True, exist_ok=True)
    src = folder / NAME
    out = folder / "out.xlsx"
    if case.special == "fifo":
        os.mkfifo(src)
    else:
        src.write_bytes(case.data)
    cmd = [python, "-m", "ecm_xl.cli", "close", str(src), "-o", str(out), "--close-date", "2026-11-30"]
    env = dict(os.environ, PYTHONFAULTHANDLER="", RUST_BACKTRACE="1")
    try:
        p = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT, preexec_fn=_limits, env=env, cwd=folder)
    except subprocess.TimeoutExpired as e:
        return Outcome(case, "timeout", False, f"no answer in {TIMEOUT}s", _text(e.stdout), _text(e.stderr))
    stdout, stderr = _text(p.stdout), _text(p.stderr)
    code = p.returncode if p.returncode >= 0 else f"signal {-p.returncode}"
    if "MemoryError" in stderr or "memory allocation" in stderr:
        code = "memory"
    ok, why = judge(code, stdout, stderr, out)
    if ok and case.expect:
        want, words = case.expect
        said = stderr if want == 2 else stdout
        if code != want or words not in said:
            ok, why = False, f"expected exit {want} saying {words!r}"
    if ok and "Quixote" in stdout + stderr:
        ok, why = False, "a cell's content was shown"
    return Outcome(case, code, ok, why, stdout, stderr)


def _text(b) -> str:
    return (b or b"").decode("utf-8", "replace")


_PRINTED = re.compile(r"(\d[\d,]*) claim lines?.*?(\d[\d,]*) errors?, (\d[\d,]*) warnings?", re.S)


def judge(code, stdout: str, stderr: str, out: Path) -> tuple:
    if "Traceback" in stderr or "panicked" in stderr or "RUST_BACKTRACE" in stderr:
        return False, "a traceback or panic on stderr"
    if code == 2:
        lines = [ln for ln in stderr.splitlines() if ln.strip()]
        if len(lines) != 1:
            return False, f"{len(lines)} lines on stderr"
        if NAME not in lines[0]:
            return False, "the message does not name the file"
        if out.exists():
            return False, "an output was written"
        return True, ""
    if code != 0:
        return False, f"exit {code}"
    m = _PRINTED.search(stdout)
    if not m:
        return False, "exit 0 without the close's counts"
    lines, errors, warnings = (int(g.replace(",", "")) for g in m.groups())
    try:
        import openpyxl
        wb = openpyxl.load_workbook(out, read_only=False)
    except Exception as exc:       # noqa: BLE001 - any failure to reopen is the finding
        return False, f"output does not reopen in openpyxl ({type(exc).__name__})"
    try:
        claim = _table_rows(wb, "Claim")
        exc_rows = _table_rows(wb, "Exceptions")
    finally:
        wb.close()
    if claim is None or exc_rows is None:
        return False, "output lost its Claim or Exceptions table"
    if sum(1 for r in claim if r[0] not in (None, "")) != lines:
        return False, f"Claim rows differ from the {lines} printed"
    if sum(1 for r in exc_rows if r[0] not in (None, "") or r[5] not in (None, "")) != errors + warnings:
        return False, f"Exceptions rows differ from the {errors + warnings} printed"
    return True, ""


def _table_rows(wb, name: str):
    for ws in wb.worksheets:
        if name in ws.tables:
            ref = ws.tables[name].ref
            return [tuple(c.value for c in row) for row in ws[ref]][1:]
    return None


def run_cases(cases: list, root: Path, workers: int = 2, python: str = sys.executable) -> list:
    def one(n_case):
        n, case = n_case
        return run_case(case, root / f"case{n:04d}", python)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, enumerate(cases)))


def summary(outcomes: list) -> str:
    table = Counter((o.case.category, str(o.code)) for o in outcomes)
    bad = Counter(o.case.category for o in outcomes if not o.ok)
    lines = []
    for cat in CATEGORIES:
        codes = sorted((c, n) for (k, c), n in table.items() if k == cat)
        total = sum(n for _, n in codes)
        if total:
            lines.append(f"{cat:10} {total:4} cases: " + ", ".join(f"exit {c}: {n}" for c, n in codes)
                         + f"; failing {bad[cat]}")
    lines.append(f"{'all':10} {len(outcomes):4} cases; failing {sum(bad.values())}")
    return "\n".join(lines)


def main(argv=None):
    import argparse
    import tempfile
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=300, help="random cases, spread over the categories")
    ap.add_argument("--seed", type=int, default=12)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--show", action="store_true", help="list every failing case")
    ap.add_argument("--all", action="store_true", help="list every case with what it printed")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        data = demo_workbook(root)
        per = args.cases // 4
        cases = make_cases(data, args.seed, {"zip": per, "xml": per, "structure": per, "cells": per})
        outcomes = run_cases(cases, root / "cases", args.workers)
    print(summary(outcomes))
    if args.show or args.all:
        for o in outcomes:
            if args.all or not o.ok:
                last = (o.stderr.strip().splitlines() or o.stdout.strip().splitlines() or [""])[-1][:220]
                print(f"  [{o.case.category}] {o.case.name}: exit {o.code} {o.why or 'ok'} | {last}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())

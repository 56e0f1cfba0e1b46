"""Real workbooks for the xlsx package tests, built with openpyxl plus raw XML.

`build_workbook` makes a workbook with the SPEC §3 tables and every feature a
close must preserve: other sheets, styles, data validations (normal and the
Excel 2010 x14 kind, written as raw XML since no library writes it), defined
names, an image, a shape/button (raw DrawingML), a chart, comments,
conditional formatting and, for .xlsm, a VBA project part.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import struct
import zipfile
import zlib

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.comments import Comment
from openpyxl.formatting.rule import CellIsRule
from openpyxl.styles import Font, PatternFill
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.table import Table, TableFormula, TableStyleInfo

from ecm_xl import contract as C

X14_URI = "{CCE6A557-97BC-4b89-ADB6-D9C93CAAB3DF}"
VBA_BYTES = b"\xd0\xcf\x11\xe0VBA-project-stand-in" + bytes(range(256)) * 4


def png_bytes(w=4, h=3) -> bytes:
    """A small valid PNG made with zlib and struct."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + bytes([200, 30, 30] * w) for _ in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def sha(path) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def members(path) -> dict:
    with zipfile.ZipFile(path) as z:
        return {i.filename: z.read(i) for i in z.infolist()}


def _table(ws, name, ref, style="TableStyleMedium2"):
    t = Table(displayName=name, ref=ref)
    t.tableStyleInfo = TableStyleInfo(name=style, showRowStripes=True)
    ws.add_table(t)
    return t


TIMESHEET_ROWS = [
    # Date typed several ways: date, datetime, US text, Excel serial number
    [dt.date(2026, 10, 1), "S1", "M1", "ECM service", "In person", "Care plan", dt.time(9, 0), dt.time(9, 50),
     50, "11", None, None, None, "Yes", "first"],
    [dt.datetime(2026, 10, 1, 0, 0), "S1", "M1", "ECM service", "In person", "Care plan", None, None,
     20, None, None, None, None, None, None],
    None,   # a blank row inside the table
    ["10/2/2026", "S2", "M2", "Outreach attempt", "Phone/Telehealth", None, None, None,
     15, None, "G9012", "U8", "GQ", None, "=HYPERLINK(\"x\")"],
    [46300, "S2", "M2", "ECM service", "Text/Email", None, None, None, 30.5, None, None, None, None,
     None, None],
]


def build_workbook(path, *, timesheet_rows=TIMESHEET_ROWS, extras=True, xlsm=False,
                   blank_tail=3, output_rows=0):
    """Write the fixture workbook to path; returns path.

    The Timesheet table starts at B3 (not A1), has a calculated column Hours,
    and `blank_tail` styled blank rows at its end. Output tables have a styled
    blank row 2 (or `output_rows` rows of old results).
    """
    wb = Workbook()
    setup = wb.active
    setup.title = C.SETUP
    setup["A1"] = "Setting"
    setup_values = {"ProviderName": "Sunrise Clinic", "BillingNPI": "1234567893", "TaxID": "123456789",
                    "BillingMonth": dt.date(2026, 10, 1), "UnitMinutes": 60, "ApprovalRequired": "No"}
    for i, (name, value) in enumerate(setup_values.items(), start=2):
        setup.cell(i, 1, name)
        c = setup.cell(i, 2, value)
        if isinstance(value, dt.date):
            c.number_format = "m/d/yyyy"
        wb.defined_names[name] = DefinedName(name, attr_text=f"{C.SETUP}!$B${i}")
    wb.defined_names["NotASetting"] = DefinedName("NotASetting", attr_text=f"{C.SETUP}!$B$2")
    wb.defined_names["Region"] = DefinedName("Region", attr_text=f"{C.SETUP}!$A$1:$B$3")

    staff = wb.create_sheet(C.STAFF)
    staff.append(list(C.STAFF_HEADERS))
    staff.append(["S1", "Ana Diaz", "Clinical", "1234567893"])
    staff.append(["S2", "Bo Lee", "Non-clinical", None])
    _table(staff, C.STAFF, "A1:D3")

    mem = wb.create_sheet(C.MEMBERS)
    mem.append(list(C.MEMBER_HEADERS))
    mem.append(["M1", "Doe", "Jane", dt.date(1960, 5, 6), "F", dt.date(2026, 1, 1), dt.date(2026, 1, 1),
                None, "Z71.89", "1 Main St", "Town", "CA", "92201"])
    mem.append(["M2", "Roe", "Rick", dt.date(1970, 2, 3), "M", None, dt.date(2026, 1, 1),
                dt.date(2026, 12, 31), None, None, None, None, None])
    for r in (2, 3):
        for c in (4, 6, 7, 8):
            mem.cell(r, c).number_format = "m/d/yyyy"
    _table(mem, C.MEMBERS, "A1:M3")

    ts = wb.create_sheet(C.TIMESHEET)
    ts["A1"] = "Timesheet for October"
    headers = list(C.TIMESHEET_HEADERS) + ["Hours"]
    for j, h in enumerate(headers):
        ts.cell(3, 2 + j, h)
    rows = list(timesheet_rows) + [None] * blank_tail
    date_fill = PatternFill("solid", fgColor="FFF2CC")
    for i, row in enumerate(rows):
        r = 4 + i
        for j in range(len(C.TIMESHEET_HEADERS)):
            c = ts.cell(r, 2 + j, None if row is None else row[j])
            if j == 0:
                c.number_format = "m/d/yyyy"
                c.fill = date_fill
            elif j in (6, 7):
                c.number_format = "h:mm AM/PM"
        ts.cell(r, 2 + len(C.TIMESHEET_HEADERS), f"=Timesheet[[#This Row],[Minutes]]/60").number_format = "0.00"
    last = 3 + len(rows)
    end_col = 1 + len(headers)
    from openpyxl.utils import get_column_letter as L
    t = _table(ts, C.TIMESHEET, f"B3:{L(end_col)}{last}")
    t._initialise_columns()
    for col, h in zip(t.tableColumns, headers):
        col.name = h
        if col.name == "Hours":
            col.calculatedColumnFormula = TableFormula(attr_text="Timesheet[[#This Row],[Minutes]]/60")
    ts["T2"] = "kept note right of the table"
    if extras:
        dv = DataValidation(type="list", formula1='"ECM service,Outreach attempt"', allow_blank=True)
        dv.add(f"E4:E{last}")
        ts.add_data_validation(dv)
        dv2 = DataValidation(type="whole", operator="between", formula1="0", formula2="1440")
        dv2.add(f"J4:J{last}")
        ts.add_data_validation(dv2)
        ts.conditional_formatting.add(f"J4:J{last}", CellIsRule(operator="greaterThan", formula=["600"],
                                                                fill=PatternFill("solid", fgColor="FFC7CE")))
        ts["B3"].comment = Comment("Type the date of service.", "ecm-xl")
        ts["C1"] = "styled"
        ts["C1"].font = Font(bold=True, color="FF0000")

    lists = wb.create_sheet(C.LISTS)
    lists.append(list(C.CODE_HEADERS))
    lists.append(["G9008", "U1", None, "Clinical", "ECM service", "In person", "Clinical in person", 100.0])
    lists.append(["G9012", "U8", "GQ", "Non-clinical", "Outreach attempt", "Phone/Telehealth", "x", None])
    _table(lists, C.CODES, "A1:H3")
    lists["J1"] = "Activity"
    lists["K1"] = "Billable"
    lists["L1"] = "Reason"
    lists["J2"] = "Care plan"
    lists["K2"] = "Yes"
    _table(lists, C.ACTIVITIES, "J1:L2")

    for name, hdrs in C.OUTPUT_TABLES.items():
        ws = wb.create_sheet(name)
        ws.append(list(hdrs))
        fmts = C.NUMBER_FORMATS.get(name, {})
        n = max(output_rows, 1)
        for r in range(2, 2 + n):
            for j, h in enumerate(hdrs, start=1):
                c = ws.cell(r, j, f"old {h} {r}" if output_rows else None)
                c.number_format = fmts.get(h, "General")
                c.font = Font(color="1F4E78")
        _table(ws, name, f"A1:{L(len(hdrs))}{1 + n}")
        if name == C.SUMMARY:
            ws["L1"] = "Units by code"
            ws["L2"] = "G9008"
            ws["M2"] = '=SUMIFS(Summary[Units],Summary[HCPCS],L2)'
            ws["L3"] = "G9012"
            ws["M3"] = '=SUMIFS(Summary[Units],Summary[HCPCS],L3)'
            if extras:
                ch = BarChart()
                ch.add_data(Reference(ws, min_col=13, min_row=1, max_row=3), titles_from_data=True)
                ch.set_categories(Reference(ws, min_col=12, min_row=2, max_row=3))
                ws.add_chart(ch, "O2")

    ins = wb.create_sheet(C.INSTRUCTIONS, 0)
    ins["A1"] = "How to close the month"

    tmp = str(path) + ".openpyxl"
    wb.save(tmp)
    if extras or xlsm:
        _add_raw_features(tmp, path, extras=extras, xlsm=xlsm)
        os.unlink(tmp)
    else:
        os.replace(tmp, path)
    return path


RELS_HEAD = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
             '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">')
DRAWING_HEAD = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                '<xdr:wsDr xmlns:xdr="http://schemas.openxmlformats.org/drawingml/2006/spreadsheetDrawing" '
                'xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
                'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">')
PICTURE = (
    '<xdr:oneCellAnchor><xdr:from><xdr:col>2</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>2</xdr:row>'
    '<xdr:rowOff>0</xdr:rowOff></xdr:from><xdr:ext cx="381000" cy="285750"/><xdr:pic><xdr:nvPicPr>'
    '<xdr:cNvPr id="2" name="Logo"/><xdr:cNvPicPr><a:picLocks noChangeAspect="1"/></xdr:cNvPicPr></xdr:nvPicPr>'
    '<xdr:blipFill><a:blip r:embed="rId1"/><a:stretch><a:fillRect/></a:stretch></xdr:blipFill>'
    '<xdr:spPr><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></xdr:spPr></xdr:pic><xdr:clientData/>'
    '</xdr:oneCellAnchor>')
SHAPE = (
    '<xdr:twoCellAnchor><xdr:from><xdr:col>1</xdr:col><xdr:colOff>0</xdr:colOff><xdr:row>10</xdr:row>'
    '<xdr:rowOff>0</xdr:rowOff></xdr:from><xdr:to><xdr:col>4</xdr:col><xdr:colOff>0</xdr:colOff>'
    '<xdr:row>13</xdr:row><xdr:rowOff>0</xdr:rowOff></xdr:to>'
    '<xdr:sp macro="[0]!MonthlyClose" textlink=""><xdr:nvSpPr><xdr:cNvPr id="99" name="Monthly Close Button"/>'
    '<xdr:cNvSpPr/></xdr:nvSpPr><xdr:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="1828800" cy="548640"/></a:xfrm>'
    '<a:prstGeom prst="roundRect"><a:avLst/></a:prstGeom><a:solidFill><a:srgbClr val="2E75B6"/></a:solidFill>'
    '</xdr:spPr><xdr:txBody><a:bodyPr/><a:lstStyle/><a:p><a:r><a:t>Monthly Close</a:t></a:r></a:p></xdr:txBody>'
    '</xdr:sp><xdr:clientData/></xdr:twoCellAnchor>')


def x14_validation(sqref: str) -> str:
    return (f'<extLst><ext uri="{X14_URI}" xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
            '<x14:dataValidations count="1" xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main">'
            '<x14:dataValidation type="list" allowBlank="1" showInputMessage="1" showErrorMessage="1">'
            f'<x14:formula1><xm:f>Lists!$A$2:$A$3</xm:f></x14:formula1><xm:sqref>{sqref}</xm:sqref>'
            '</x14:dataValidation></x14:dataValidations></ext></extLst>')


def _sheet_parts(z: zipfile.ZipFile) -> dict:
    """{sheet name: part} from workbook.xml and its rels (enough for our own fixture)."""
    import re
    wb = z.read("xl/workbook.xml").decode()
    rels = z.read("xl/_rels/workbook.xml.rels").decode()
    targets = dict(re.findall(r'Id="(rId\d+)"[^>]*?Target="([^"]+)"', rels))
    targets.update({k: v for v, k in re.findall(r'Target="([^"]+)"[^>]*?Id="(rId\d+)"', rels)})
    out = {}
    for name, rid in re.findall(r'<sheet [^>]*?name="([^"]+)"[^>]*?r:id="(rId\d+)"', wb):
        t = targets[rid]
        out[name] = t.lstrip("/") if t.startswith("/") else "xl/" + t
    return out


def _add_raw_features(src, dst, *, extras, xlsm):
    with zipfile.ZipFile(src) as z:
        parts = {i.filename: z.read(i) for i in z.infolist()}
        infos = z.infolist()
        sheets = _sheet_parts(z)
    if extras:
        ts_part = sheets[C.TIMESHEET]
        xml = parts[ts_part].decode()
        import re
        m = re.search(r'<tablePart [^>]*?/>\s*</tableParts>|<tableParts[^>]*/>', xml)
        # x14 validation on the Service column: must come after tableParts
        end = re.search(r"<ext(?:Lst)?\b", xml)
        ref = re.search(r'<dimension ref="[A-Z]+\d+:[A-Z]+(\d+)"', xml)
        last = int(ref.group(1)) if ref else 10
        ext = x14_validation(f"F4:F{last}")
        xml = xml.replace("</worksheet>", ext + "</worksheet>")
        parts[ts_part] = xml.encode()
        # an image and a button shape on Instructions, in a drawing of their own
        ins_part = sheets[C.INSTRUCTIONS]
        ins_rels = "xl/worksheets/_rels/" + ins_part.rsplit("/", 1)[1] + ".rels"
        assert ins_rels not in parts
        parts[ins_rels] = (RELS_HEAD + '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
                           'officeDocument/2006/relationships/drawing" Target="../drawings/drawing9.xml"/>'
                           "</Relationships>").encode()
        parts["xl/drawings/drawing9.xml"] = (DRAWING_HEAD + PICTURE + SHAPE + "</xdr:wsDr>").encode()
        parts["xl/drawings/_rels/drawing9.xml.rels"] = (
            RELS_HEAD + '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
            'relationships/image" Target="../media/image9.png"/></Relationships>').encode()
        parts["xl/media/image9.png"] = png_bytes()
        x = parts[ins_part].decode()
        x = x.replace("</worksheet>", '<drawing xmlns:r="http://schemas.openxmlformats.org/officeDocument/'
                      '2006/relationships" r:id="rId1"/></worksheet>')
        parts[ins_part] = x.encode()
        ct = parts["[Content_Types].xml"].decode()
        if 'Extension="png"' not in ct:
            ct = ct.replace("<Default ", '<Default Extension="png" ContentType="image/png"/><Default ', 1)
        ct = ct.replace("</Types>", '<Override PartName="/xl/drawings/drawing9.xml" ContentType="application/'
                        'vnd.openxmlformats-officedocument.drawing+xml"/></Types>')
        parts["[Content_Types].xml"] = ct.encode()
    if xlsm:
        ct = parts["[Content_Types].xml"].decode()
        ct = ct.replace("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                        "application/vnd.ms-excel.sheet.macroEnabled.main+xml")
        ct = ct.replace("<Default ", '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'
                        "<Default ", 1)
        parts["[Content_Types].xml"] = ct.encode()
        rels = parts["xl/_rels/workbook.xml.rels"].decode()
        rels = rels.replace("</Relationships>", '<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/'
                            'office/2006/relationships/vbaProject" Target="vbaProject.bin"/></Relationships>')
        parts["xl/_rels/workbook.xml.rels"] = rels.encode()
        parts["xl/vbaProject.bin"] = VBA_BYTES
    names = [i.filename for i in infos] + [n for n in parts if n not in {i.filename for i in infos}]
    # level 9, unlike the writer's 6: a writer that recompressed untouched parts would show
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for n in names:
            out.writestr(n, parts[n])

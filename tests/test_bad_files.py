"""Bad files: one line naming the file and what is wrong, no traceback, no output file."""
from __future__ import annotations

import struct
import zipfile
import zlib

import openpyxl
import pytest
from openpyxl.worksheet.table import Table as XlTable

from _xlsx_fixtures import build_workbook, members, sha
from ecm_xl import contract as C
from ecm_xl.xlsx import WorkbookError, append_table_rows, read_workbook, write_tables
from ecm_xl.xlsx import package


def cfb(stream_names) -> bytes:
    """A minimal, well-formed OLE compound file (what Excel makes of .xls and encrypted .xlsx)."""
    header = bytearray(512)
    header[0:8] = package.OLE_MAGIC
    struct.pack_into("<HHHHH", header, 24, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<I", header, 44, 1)                   # one FAT sector
    struct.pack_into("<I", header, 48, 1)                   # directory starts at sector 1
    struct.pack_into("<I", header, 56, 4096)                # mini stream cutoff
    struct.pack_into("<II", header, 60, 0xFFFFFFFE, 0)      # no mini FAT
    struct.pack_into("<II", header, 68, 0xFFFFFFFE, 0)      # no DIFAT sectors
    difat = [0] + [0xFFFFFFFF] * 108
    struct.pack_into("<109I", header, 76, *difat)
    fat = struct.pack("<128I", 0xFFFFFFFD, 0xFFFFFFFE, *([0xFFFFFFFF] * 126))

    def entry(name, kind, child=0xFFFFFFFF, right=0xFFFFFFFF):
        e = bytearray(128)
        raw = (name + "\0").encode("utf-16-le")
        e[0:len(raw)] = raw
        struct.pack_into("<HBB", e, 64, len(raw), kind, 1)
        struct.pack_into("<III", e, 68, 0xFFFFFFFF, right, child)
        struct.pack_into("<I", e, 116, 0xFFFFFFFE)
        return bytes(e)
    entries = [entry("Root Entry", 5, child=1)]
    for i, n in enumerate(stream_names, start=1):
        entries.append(entry(n, 2, right=i + 1 if i < len(stream_names) else 0xFFFFFFFF))
    directory = b"".join(entries).ljust(512, b"\0")
    return bytes(header) + fat + directory


def assert_one_line(err: WorkbookError, name: str, *words):
    text = str(err)
    assert "\n" not in text and "Traceback" not in text
    assert text.startswith(f"{name}: "), text
    for w in words:
        assert w in text, text


def check_refused(path, *words, required=(C.STAFF, C.MEMBERS, C.TIMESHEET), whole_file=True):
    """read (and, for a bad file as a whole, write and append) refuse it, and write nothing."""
    folder = path.parent
    before = sorted(p.name for p in folder.iterdir())
    out = folder / "out.xlsx"
    with pytest.raises(WorkbookError) as e:
        read_workbook(path, required=required)
    assert_one_line(e.value, path.name, *words)
    if whole_file:
        with pytest.raises(WorkbookError) as e2:
            write_tables(path, out, {C.CLAIM: (C.CLAIM_HEADERS, [])})
        assert str(e2.value) == str(e.value)
        with pytest.raises(WorkbookError):
            append_table_rows(path, out, C.TIMESHEET, [{"Minutes": 1}])
    assert sorted(p.name for p in folder.iterdir()) == before
    return str(e.value)


def test_not_a_zip(tmp_path):
    p = tmp_path / "book.xlsx"
    p.write_text("Date,Staff ID\n10/1/2026,S1\n")
    check_refused(p, "not an Excel workbook", "not a zip")


def test_empty_file(tmp_path):
    p = tmp_path / "empty.xlsx"
    p.write_bytes(b"")
    check_refused(p, "not an Excel workbook")


def test_missing_file(tmp_path):
    with pytest.raises(WorkbookError) as e:
        read_workbook(tmp_path / "nowhere.xlsx")
    assert str(e.value) == "nowhere.xlsx: file not found"


def test_truncated(tmp_path):
    good = build_workbook(tmp_path / "good.xlsx", extras=False)
    data = good.read_bytes()
    p = tmp_path / "cut.xlsx"
    p.write_bytes(data[: len(data) // 2])
    good.unlink()
    check_refused(p, "damaged or truncated")


def test_damaged_member(tmp_path):
    """The zip directory is whole but a part's compressed bytes are not."""
    good = build_workbook(tmp_path / "good.xlsx", extras=False)
    with zipfile.ZipFile(good) as z:
        info = z.getinfo("xl/workbook.xml")
    data = bytearray(good.read_bytes())
    n, e = struct.unpack_from("<HH", data, info.header_offset + 26)
    start = info.header_offset + 30 + n + e
    data[start:start + info.compress_size] = b"\xff" * info.compress_size
    p = tmp_path / "bad.xlsx"
    p.write_bytes(bytes(data))
    good.unlink()
    check_refused(p, "damaged")


def test_encrypted(tmp_path):
    p = tmp_path / "secret.xlsx"
    p.write_bytes(cfb(["EncryptionInfo", "EncryptedPackage"]))
    check_refused(p, "encrypted or password protected")


def test_legacy_xls(tmp_path):
    p = tmp_path / "old.xls"
    p.write_bytes(cfb(["Workbook", "\x05SummaryInformation"]))
    check_refused(p, "legacy .xls", "save it as .xlsx")


def test_a_zip_that_is_not_a_workbook(tmp_path):
    p = tmp_path / "photos.xlsx"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("a.txt", "hello")
    check_refused(p, "no workbook part")


def _book_without(tmp_path, *, sheet=True, table=True, header=True):
    wb = openpyxl.Workbook()
    wb.active.title = "Staff"
    wb.active.append(["Staff ID", "Staff Type"])
    wb.active.add_table(XlTable(displayName="Staff", ref="A1:B2"))
    m = wb.create_sheet("Members")
    m.append(["Member ID", "Eligible From"])
    m.add_table(XlTable(displayName="Members", ref="A1:B2"))
    if sheet:
        ts = wb.create_sheet("Timesheet")
        heads = [h for h in C.TIMESHEET_HEADERS if header or h != "Minutes"]
        ts.append(heads)
        if table:
            from openpyxl.utils import get_column_letter
            ts.add_table(XlTable(displayName="Timesheet", ref=f"A1:{get_column_letter(len(heads))}2"))
    p = tmp_path / "book.xlsx"
    wb.save(p)
    return p


def test_missing_sheet(tmp_path):
    msg = check_refused(_book_without(tmp_path, sheet=False), "Timesheet sheet", whole_file=False)
    assert msg == "book.xlsx: has no Timesheet sheet and no table named Timesheet"


def test_missing_table(tmp_path):
    msg = check_refused(_book_without(tmp_path, table=False), "table", whole_file=False)
    assert msg.startswith("book.xlsx: the Timesheet sheet has no table named Timesheet")


def test_missing_header(tmp_path):
    msg = check_refused(_book_without(tmp_path, header=False), "column", whole_file=False)
    assert msg == "book.xlsx: the Timesheet table has no 'Minutes' column"


def _rezip(src, dst, changes):
    parts = members(src)
    parts.update(changes)
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as z:
        for n, d in parts.items():
            z.writestr(n, d)


BOMB = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;">]>\n')


@pytest.mark.parametrize("part", ["xl/workbook.xml", "xl/styles.xml"])
def test_entity_bomb(tmp_path, part):
    good = build_workbook(tmp_path / "good.xlsx", extras=False)
    xml = members(good)[part]
    body = xml.split(b"?>", 1)[1] if xml.startswith(b"<?xml") else xml
    p = tmp_path / "bomb.xlsx"
    _rezip(good, p, {part: BOMB + body.replace(b">", b">&lol3;", 0)})
    good.unlink()
    check_refused(p, part, "DOCTYPE")


def test_zip_bomb_by_ratio(tmp_path):
    good = build_workbook(tmp_path / "good.xlsx", extras=False)
    p = tmp_path / "zbomb.xlsx"
    _rezip(good, p, {"xl/media/filler.bin": bytes(64 << 20)})    # 64 MiB of zeros -> ~64 KB
    good.unlink()
    check_refused(p, "zip bomb", "xl/media/filler.bin")


def test_zip_bomb_by_declared_size(tmp_path):
    """A central directory claiming a 3 GiB part is refused before anything inflates."""
    good = build_workbook(tmp_path / "good.xlsx", extras=False)
    data = bytearray(good.read_bytes())
    good.unlink()
    pos = data.find(b"PK\x01\x02")
    struct.pack_into("<I", data, pos + 24, 0xC0000000)     # uncompressed size of the first part
    struct.pack_into("<I", data, pos + 20, 0x00100000)
    p = tmp_path / "huge.xlsx"
    p.write_bytes(bytes(data))
    check_refused(p, "zip bomb")


def test_a_real_big_sheet_is_not_a_bomb(tmp_path):
    """Sheet XML of many similar rows compresses well; it must still pass the ratio check."""
    rows = [f'<row r="{r}"><c r="A{r}" s="3"><v>{46296 + r % 31}</v></c><c r="B{r}" t="inlineStr">'
            f'<is><t>S{r % 20}</t></is></c><c r="C{r}" s="4"/><c r="D{r}" s="4"/></row>' for r in range(2, 60000)]
    xml = ('<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
           + "".join(rows) + "</sheetData></worksheet>").encode()
    comp = zlib.compress(xml)
    assert len(xml) > package.RATIO_FLOOR and len(xml) / len(comp) < package.MAX_RATIO
    p = tmp_path / "fine.xlsx"
    good = build_workbook(tmp_path / "good.xlsx", extras=False)
    _rezip(good, p, {"xl/worksheets/extra.xml": xml})
    with package.Package(p) as pkg:
        pkg.check_all_xml()


def test_failed_write_leaves_the_destination_as_it_was(tmp_path):
    """An error while writing never leaves a half-written file or a temp file."""
    src = build_workbook(tmp_path / "book.xlsx", extras=False)
    out = tmp_path / "out.xlsx"
    out.write_bytes(b"previous close")
    with pytest.raises(WorkbookError):
        write_tables(src, out, {"NoSuchTable": ((), [])})
    assert out.read_bytes() == b"previous close"
    assert not list(tmp_path.glob("*.tmp"))
    before = sha(src)

    def boom(_out):
        raise OSError("disk full")
    with pytest.raises(OSError):
        package.atomic_write(str(out), boom)
    assert out.read_bytes() == b"previous close"
    assert not list(tmp_path.glob("*.tmp")) and sha(src) == before


def test_an_opendocument_spreadsheet(tmp_path):
    p = tmp_path / "month.xlsx"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", "<office:document-content/>")
    check_refused(p, "OpenDocument spreadsheet (.ods)", "save it as .xlsx")


def test_an_xlsb_workbook(tmp_path):
    p = tmp_path / "month.xlsb"
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
                   'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.bin"/></Relationships>')
        z.writestr("xl/workbook.bin", b"\x83\x01\x00")
    check_refused(p, "binary workbook (.xlsb)")

"""Safe access to an xlsx package (a zip of XML parts), and a lossless rewriter.

Before anything parses a byte of a workbook, `Package` checks that it is a zip
at all (and says "legacy .xls" or "encrypted" for the OLE containers Excel
uses for those), that the zip is whole, and that no member would inflate to an
absurd size (a zip bomb). XML parts are refused if their prolog declares a
DOCTYPE or ENTITY (an entity bomb); Office never writes one.

`write_package` copies every member it is not asked to replace as the raw
compressed bytes of the source (local header, data and data descriptor
untouched), so untouched parts survive byte for byte and are never inflated
or recompressed, and writes the result atomically (temporary file in the
destination's folder, then `os.replace`).
"""
from __future__ import annotations

import errno
import datetime as dt
import io
import itertools
import math
import os
import posixpath
import re
import stat
import struct
import tempfile
import zipfile
import zlib
from typing import NamedTuple
from xml.parsers import expat

# Limits for what a workbook may inflate to. A 100k-row timesheet is ~100 MB of
# sheet XML at a ratio near 13; styled blank rows compress better, but stay far
# below these. Nothing a clinic's month needs comes near them.
MAX_FILE_SIZE = 256 << 20          # 256 MiB on disk: read into memory once
MAX_MEMBER_SIZE = 256 << 20        # 256 MiB for one part
MAX_TOTAL_SIZE = 1 << 30           # 1 GiB for the whole package
MAX_RATIO = 200                    # uncompressed / compressed ...
RATIO_FLOOR = 1 << 20              # ... checked on parts bigger than 1 MiB
MAX_MEMBERS = 50_000
PROLOG_LIMIT = 64 * 1024           # bytes of XML read before the root element must start
BIG_PART = 1 << 20                 # parts written this big are compressed fast (level 1)
SCAN_CHUNK = 4 << 20               # XML parts are checked in pieces this big, never whole
MAX_ROW, MAX_COL = 1_048_576, 16_384      # Excel's grid: XFD1048576 is its last cell
# Zip flag bits Excel never writes: 5 compressed patched data, 6 strong encryption,
# 13 encrypted central directory.
REFUSED_FLAGS = {5: "compressed patched data", 6: "strong encryption", 13: "an encrypted directory"}

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK"
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


class WorkbookError(Exception):
    """A bad file. str(e) is ONE line: '<file name>: <what is wrong, plainly>'.

    Control characters (a file name can hold them) are shown escaped, never raw."""

    def __init__(self, path, what: str | None = None):
        if what is None:            # WorkbookError("book.xlsx: ...") with the line already made
            line = str(path)
        else:
            name = os.path.basename(os.fspath(path)) if path else "workbook"
            line = f"{name}: {what}"
        line = " ".join(line.split())
        super().__init__(_CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), line))


def _ole_kind(head: bytes) -> str:
    """'encrypted' or 'legacy' for an OLE compound file (what Excel makes of both)."""
    head = head[:8 << 20]   # directory entries are near the start in practice
    if "EncryptionInfo".encode("utf-16-le") in head or "EncryptedPackage".encode("utf-16-le") in head:
        return "encrypted"
    return "legacy"


def _read_file(path: str) -> bytes:
    """The whole file, read once; only a regular file of a sane size (never a pipe or device)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise WorkbookError(path, "file not found") from None
    except IsADirectoryError:
        raise WorkbookError(path, "is a folder, not a workbook") from None
    except OSError as e:
        raise WorkbookError(path, f"cannot be read ({e.strerror or type(e).__name__})") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise WorkbookError(path, "is a folder, not a workbook")
        if not stat.S_ISREG(st.st_mode):
            raise WorkbookError(path, "is not a regular file (a pipe, socket or device); "
                                      "save the workbook as a file and use that")
        if st.st_size > MAX_FILE_SIZE:
            raise WorkbookError(path, f"is {st.st_size / (1 << 20):,.0f} MB; a month's workbook is far "
                                      f"smaller (the limit is {MAX_FILE_SIZE >> 20} MB), refused")
        chunks, left = [], MAX_FILE_SIZE + 1
        while left > 0:
            try:
                b = os.read(fd, min(left, 16 << 20))
            except OSError as e:
                raise WorkbookError(path, f"cannot be read ({e.strerror or type(e).__name__})") from None
            if not b:
                break
            chunks.append(b)
            left -= len(b)
        data = b"".join(chunks)
        if len(data) > MAX_FILE_SIZE:
            raise WorkbookError(path, f"is over {MAX_FILE_SIZE >> 20} MB; refused")
        return data
    finally:
        os.close(fd)


class PartScan(NamedTuple):
    """What checking one XML part found (see Package.scan)."""
    max_row: int            # highest row a cell or row element claims (0: none)
    max_col: int            # highest column a cell claims (at least 26 once it has cells)
    far: str                # the cell reference that reaches furthest, for messages
    cells: int              # how many cells it holds
    rids: frozenset         # relationship ids it refers to (r:id="...")


class Package:
    """An opened, checked xlsx package, read into memory once. Use as a context manager.

    Package(path) reads the file once; Package(pkg) is another view of the same bytes
    (no second read), so every step of one command sees the same workbook even if
    the file is saved again meanwhile. The checks done (`check_all_xml`) are shared.
    """

    def __init__(self, path):
        if isinstance(path, Package):
            src = path
            self.path, self.name, self.data = src.path, src.name, src.data
            self.infos, self.scans = src.infos, src.scans
            self.zip = zipfile.ZipFile(io.BytesIO(self.data))
            return
        self.path = os.fspath(path)
        self.name = os.path.basename(self.path)
        self.data = _read_file(self.path)
        head = self.data[:8]
        if head.startswith(OLE_MAGIC):
            if _ole_kind(self.data) == "encrypted":
                raise WorkbookError(self.path, "is encrypted or password protected; "
                                               "save a copy without a password and try again")
            raise WorkbookError(self.path, "is a legacy .xls workbook; open it in Excel and "
                                           "save it as .xlsx (Excel Workbook)")
        if not head.startswith(ZIP_MAGIC):
            raise WorkbookError(self.path, "is not an Excel workbook (.xlsx or .xlsm); "
                                           "it is not a zip package")
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(self.data))
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError,
                NotImplementedError, struct.error, UnicodeDecodeError):
            raise WorkbookError(self.path, "is damaged or truncated (the zip package is "
                                           "incomplete); use a good copy") from None
        self.scans = {}
        try:
            self._check()
        except BaseException:
            self.zip.close()
            raise

    # -- checks -----------------------------------------------------------------
    def _check(self):
        infos = self.zip.infolist()
        if len(infos) > MAX_MEMBERS:
            raise WorkbookError(self.path, f"has {len(infos)} parts; that is not a workbook")
        self.infos = {}
        total = 0
        for i in infos:
            if i.flag_bits & 0x1:
                raise WorkbookError(self.path, "is encrypted or password protected; "
                                               "save a copy without a password and try again")
            for bit, what in REFUSED_FLAGS.items():
                if i.flag_bits & (1 << bit):
                    raise WorkbookError(self.path, f"is damaged: part {i.filename} is marked as using "
                                                   f"{what}, which Excel never writes")
            if i.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise WorkbookError(self.path, f"uses an unsupported compression in part {i.filename}")
            total += i.file_size
            if i.file_size > MAX_MEMBER_SIZE or total > MAX_TOTAL_SIZE:
                raise WorkbookError(self.path, f"part {i.filename} would inflate to {i.file_size:,} "
                                               "bytes; refused as a zip bomb")
            if i.file_size > RATIO_FLOOR and i.file_size > MAX_RATIO * max(i.compress_size, 1):
                raise WorkbookError(self.path, f"part {i.filename} compresses {i.file_size // max(i.compress_size, 1)}"
                                               " to 1; refused as a zip bomb")
            if i.filename in self.infos:
                raise WorkbookError(self.path, f"holds part {i.filename} twice; it is damaged")
            self.infos[i.filename] = i
        # Members must not overlap (another zip-bomb trick) and must lie inside the file.
        spans = sorted((i.header_offset, i.compress_size, i.filename) for i in infos)
        end_of_data = self.zip.start_dir
        for n, (off, csize, fname) in enumerate(spans):
            nxt = spans[n + 1][0] if n + 1 < len(spans) else end_of_data
            if off + 30 + csize > nxt:
                raise WorkbookError(self.path, f"is damaged: part {fname} overlaps another part")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.zip.close()

    # -- reading ----------------------------------------------------------------
    def has(self, name: str) -> bool:
        return name in self.infos

    def names(self) -> list:
        return [i.filename for i in self.zip.infolist()]

    def _open(self, name: str):
        info = self.infos.get(name)
        if info is None:
            raise WorkbookError(self.path, f"part {name} is missing; the workbook is damaged")
        try:
            return self.zip.open(info)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError,
                struct.error):
            raise WorkbookError(self.path, f"is damaged: part {name} cannot be read") from None

    def read(self, name: str) -> bytes:
        """The inflated bytes of one part, never more than its declared size."""
        info = self.infos.get(name)
        try:
            with self._open(name) as f:
                data = f.read(info.file_size + 1)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError):
            raise WorkbookError(self.path, f"is damaged: part {name} cannot be read") from None
        if len(data) > info.file_size:
            raise WorkbookError(self.path, f"part {name} inflates beyond its declared size; refused")
        return data

    def read_xml(self, name: str) -> bytes:
        data = self.read(name)
        if name not in self.scans:
            check_prolog(self.path, name, data)
            check_encoding(self.path, name, data)
        return data

    def check_xml_member(self, name: str):
        """Check one XML part whole (see scan); kept for callers that check one part."""
        self.scan(name)

    def check_all_xml(self):
        """Check every XML part once per package (views share the result): see scan."""
        self.check_kind()
        for name in self.infos:
            if is_xml_part(name):
                self.scan(name)

    def check_kind(self):
        """Say what another kind of zip is (OpenDocument, binary workbook) before its XML."""
        if "xl/workbook.xml" in self.infos:
            return
        if "xl/workbook.bin" in self.infos:
            raise WorkbookError(self.path, "is an Excel binary workbook (.xlsb); open it in Excel and "
                                           "save it as .xlsx (Excel Workbook)")
        if "mimetype" in self.infos and b"opendocument" in self.read("mimetype")[:200]:
            raise WorkbookError(self.path, "is an OpenDocument spreadsheet (.ods); save it as .xlsx "
                                           "(Excel Workbook) and try again")

    def scan(self, name: str) -> PartScan:
        """Check one XML part as it inflates, in pieces, and say how far its cells reach.

        Refused: a DOCTYPE or ENTITY (entity bomb), an encoding other than UTF-8
        (by name), XML that is not well-formed (with namespaces, as Excel reads
        it), a cell or row outside Excel's grid, and a number cell whose value is
        not a finite number (Excel never writes one; readers choke on it).
        """
        got = self.scans.get(name)
        if got is not None:
            return got
        parser = expat.ParserCreate(namespace_separator=" ")
        state = _ScanState()
        carry = b""
        first = True
        try:
            with self._open(name) as f:
                while True:
                    chunk = f.read(SCAN_CHUNK)
                    if first:
                        check_prolog(self.path, name, chunk, complete=len(chunk) < SCAN_CHUNK)
                        check_encoding(self.path, name, chunk)
                        first = False
                    if not chunk:
                        break
                    parser.Parse(chunk, False)
                    text = carry + chunk
                    cut = text.rfind(b">") + 1
                    state.feed(self.path, name, text[:cut])
                    carry = text[cut:]
                    if len(carry) > SCAN_CHUNK:      # a text node this long holds no tags
                        carry = carry[-256:]
                parser.Parse(b"", True)
        except expat.ExpatError as e:
            raise WorkbookError(self.path, f"is damaged: part {name} is not well-formed XML "
                                           f"(line {e.lineno}: {expat.ErrorString(e.code)})") from None
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError):
            raise WorkbookError(self.path, f"is damaged: part {name} cannot be read") from None
        result = state.result()
        self.scans[name] = result
        return result


def is_xml_part(name: str) -> bool:
    # VML (legacy drawings for comments) is not XML Excel keeps well-formed: its prolog is checked only.
    return name.lower().endswith((".xml", ".rels"))


# Excel writes every cell as <c r="B5" ...> and every row as <row r="5" ...>: these
# find the few cells that reach past column Z or row 99,999 without looking at the rest.
_ROW_R = re.compile(rb'<row r="(\d+)"')
_FAR_CELL = re.compile(rb'<c r="([A-Za-z]{2,}|[A-Za-z](?=\d{6}))(\d*)"')
_ANY_ROW = re.compile(rb'<(?:[\w.-]+:)?row\b[^>]*?\sr\s*=\s*["\']([^"\']*)')
_ANY_CELL = re.compile(rb'<(?:[\w.-]+:)?c\b[^>]*?\sr\s*=\s*["\']([A-Za-z]*)(\d*)')
# SpreadsheetML names start lower case: an unprefixed element, or an attribute of an
# unprefixed element, starting upper case is a damaged name (mc:Choice Requires= is prefixed).
_ODD_NAME = re.compile(rb'<[A-Z]|<[a-z][\w.-]*\s[^<>]*?(?<=[\s"\'])[A-Z][\w.-]*\s*=\s*["\']')
_RID = re.compile(rb' r:(?:id|embed|link|pict)="([^"]*)"')
# A value with more than digits, sign, point and exponent; its cell's type says if that is wrong.
# (A plain number with a 3-digit exponent is looked at too: 1e309 overflows to infinity.)
_ODD_VALUE = re.compile(rb'<v>(?:[0-9.eE+\-]*[^0-9.eE+\-<][^<]*|[0-9.+\-]*[eE]\+?0*[0-9]{3,}|[0-9.]+-[^<]*)</v>')
_CELL_TAG = re.compile(rb'<(?:[\w.-]+:)?c\b([^>]*)>\s*(?:<(?:[\w.-]+:)?f\b[^>]*(?:/>|>[^<]*</(?:[\w.-]+:)?f>)\s*)?$')
_ATTR_R = re.compile(rb'\sr\s*=\s*["\']([^"\']*)')
_ATTR_T = re.compile(rb'\st\s*=\s*["\']([^"\']*)')


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
    return n


class _ScanState:
    def __init__(self):
        self.max_row = 0
        self.max_col = 0
        self.far = ""
        self.cells = 0
        self.rows = 0
        self.rids = set()

    def _cell(self, path, part, letters: bytes, digits: bytes):
        row = int(digits) if digits and len(digits) < 12 else (MAX_ROW + 1 if digits else 0)
        col = _col_number(letters) if len(letters) <= 4 else MAX_COL + 1
        if col > MAX_COL or row > MAX_ROW:
            ref = (letters + digits)[:16].decode("ascii", "replace")
            raise WorkbookError(path, f"is damaged: part {part} has a cell at {ref}, outside Excel's grid "
                                      "(XFD1048576 is the last cell)")
        if row > self.max_row or col > self.max_col:
            self.far = (letters + digits).decode("ascii").upper()
        self.max_row = max(self.max_row, row)
        self.max_col = max(self.max_col, col)

    def feed(self, path, part, text: bytes):
        if not text:
            return
        self.rids.update(m.decode("utf-8", "replace") for m in _RID.findall(text))
        n_cells = text.count(b"<c ") + text.count(b"<c>")
        n_rows = text.count(b"<row ") + text.count(b"<row>")
        if not n_cells and not n_rows and b":c " not in text and b":row" not in text:
            return
        self.cells += n_cells
        self.rows += n_rows
        regular = (n_cells == text.count(b'<c r="') and n_rows == text.count(b'<row r="')
                   and b":c " not in text and b":row " not in text)
        if regular:
            for digits in _ROW_R.findall(text):
                self._row(path, part, digits)
            for letters, digits in _FAR_CELL.findall(text):
                self._cell(path, part, letters, digits)
            if n_cells:
                # Columns up to Z and rows up to 99,999 are not looked at: cells there can
                # reach no further than Z99999, which a reader holds in a few MB.
                self.max_col = max(self.max_col, 26)
        else:   # another writer's XML (prefixes, attribute order, cells without r): look at each
            for digits in _ANY_ROW.findall(text):
                self._row(path, part, digits)
            for letters, digits in _ANY_CELL.findall(text):
                if not letters or not digits:
                    continue       # placed by position; counted below
                self._cell(path, part, letters, digits)
            self.cells += text.count(b":c ") + text.count(b":c>")
            self.max_col = max(self.max_col, 26, n_cells)   # cells without r sit side by side
            self.max_row = max(self.max_row, self.rows)
        for m in _ODD_VALUE.finditer(text):
            _check_value(path, part, text, m)
        odd = _ODD_NAME.search(text)
        if odd is not None:
            raise WorkbookError(path, f"is damaged: part {part} has an element or attribute name Excel does "
                                      "not know (its letters' case is wrong)")

    def _row(self, path, part, digits: bytes):
        if not digits.isdigit() or len(digits) > 11 or not 0 < int(digits) <= MAX_ROW:
            what = "beyond Excel's last row, 1048576" if digits.isdigit() and int(digits[:12]) else \
                "with something that is not a row number"
            raise WorkbookError(path, f"is damaged: part {part} numbers a row {what}")
        n = int(digits)
        if n > self.max_row:
            self.max_row = n

    def result(self) -> PartScan:
        return PartScan(self.max_row, self.max_col, self.far, self.cells, frozenset(self.rids))


def _check_value(path, part, text: bytes, m):
    """A <v> holding more than a plain number: wrong only in a number, true/false or date cell."""
    start = text.rfind(b"<", 0, m.start())
    start = text.rfind(b"<", 0, start) if text.startswith(b"</", start) else start   # after </f>
    while start > 0 and not re.match(rb"<(?:[\w.-]+:)?c\b", text[start:start + 40]):
        start = text.rfind(b"<", 0, start)
        if m.start() - start > 70_000:         # no cell tag near: not a cell's value
            return
    tag = _CELL_TAG.match(text, start, m.start())
    if start < 0 or tag is None:
        return
    t = _ATTR_T.search(tag.group(1))
    kind = t.group(1) if t else b"n"
    if kind not in (b"n", b"b", b"d"):
        return                                 # text, shared string, error or formula text
    r = _ATTR_R.search(tag.group(1))
    ref = r.group(1)[:16].decode("ascii", "replace").upper() if r else "?"
    value = m.group(0)[3:-4].decode("utf-8", "replace").strip()
    if kind == b"d":
        try:
            dt.datetime.fromisoformat(value)
            return
        except ValueError:
            what = "a date cell whose value is not a date"
    elif kind == b"b":
        what = "a true/false cell whose value is neither"
    else:
        try:
            if math.isfinite(float(value)):
                return
            what = "a number cell whose value is not a finite number"
        except ValueError:
            what = "a number cell whose value is not a number"
    raise WorkbookError(path, f"is damaged: part {part}, cell {ref}, is {what} (Excel never writes one); "
                              "open the workbook in Excel, retype that cell and save")


_DECL_ENCODING = re.compile(rb'^\s*<\?xml[^>]*?\sencoding\s*=\s*["\']([^"\']*)["\']')
UTF8_NAMES = {"utf-8", "utf8", "us-ascii", "ascii"}


def check_encoding(path, name: str, head: bytes):
    """Refuse an XML part that is not UTF-8 (what Excel writes), saying which encoding it is."""
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")) or head[:4] in (b"<\x00\x00\x00", b"\x00\x00\x00<"):
        enc = "UTF-32"
    elif head.startswith((b"\xff\xfe", b"\xfe\xff")) or head[:2] in (b"<\x00", b"\x00<"):
        enc = "UTF-16"
    else:
        m = _DECL_ENCODING.match(head[:512])
        if m is None:
            return
        enc = m.group(1).decode("ascii", "replace")[:40]
        if enc.lower() in UTF8_NAMES:
            return
    raise WorkbookError(path, f"part {name} is saved as {enc!r}, not UTF-8 as Excel saves it; "
                              "open the workbook in Excel and save it again")


def check_prolog(path, name: str, data: bytes, complete: bool = True):
    """Refuse XML whose prolog (before the root element) holds a DOCTYPE or ENTITY."""
    head = data[:PROLOG_LIMIT]
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            head = head.decode("utf-16").encode("utf-8", "replace")
        except UnicodeDecodeError:
            head = head.decode("utf-16", "replace").encode("utf-8", "replace")
    pos, n = 0, len(head)
    while True:
        while pos < n and head[pos] in b" \t\r\n":
            pos += 1
        if pos >= n:
            if not complete or n >= PROLOG_LIMIT:
                raise WorkbookError(path, f"part {name} has an unusually long XML prolog; refused")
            return
        if head.startswith(b"<?", pos):
            end = head.find(b"?>", pos)
            if end < 0:
                raise WorkbookError(path, f"part {name} has an unusually long XML prolog; refused")
            pos = end + 2
        elif head.startswith(b"<!--", pos):
            end = head.find(b"-->", pos)
            if end < 0:
                raise WorkbookError(path, f"part {name} has an unusually long XML prolog; refused")
            pos = end + 3
        elif head.startswith(b"<!", pos):
            raise WorkbookError(path, f"part {name} declares a DOCTYPE or ENTITY (possible entity "
                                      "bomb); Excel never writes one, refused")
        else:
            return


# -- part names -------------------------------------------------------------------
def rels_path(part: str) -> str:
    d, f = posixpath.split(part)
    return posixpath.join(d, "_rels", f + ".rels")


def resolve(base_part: str, target: str) -> str:
    """The part name a relationship target points to, relative to base_part."""
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    return posixpath.normpath(posixpath.join(posixpath.dirname(base_part), target))


# -- writing --------------------------------------------------------------------
_CEN = struct.Struct("<IHHHHHHIIIHHHHHII")      # central directory header, 46 bytes
_LOC = struct.Struct("<IHHHHHIIIHH")            # local file header, 30 bytes
_EOCD = struct.Struct("<IHHHHIIH")              # end of central directory, 22 bytes


def _central_records(f, start: int, size: int, count: int):
    """The raw central directory records of a (non-zip64) zip, in stored order."""
    f.seek(start)
    blob = f.read(size)
    out, pos = [], 0
    for _ in range(count):
        fields = _CEN.unpack_from(blob, pos)
        if fields[0] != 0x02014B50:
            raise ValueError("bad central directory")
        n, e, c = fields[10], fields[11], fields[12]
        end = pos + 46 + n + e + c
        out.append(blob[pos:end])
        pos = end
    return out


def write_package(pkg: Package, dst, replace: dict, *, level: int = 6):
    """Write pkg to dst atomically, with the parts in `replace` replaced.

    replace: {name: bytes, or an iterable of bytes that is consumed once}.

    Every other member is copied as its raw compressed bytes. Member order is kept.
    A name in `replace` that the source lacks is appended at the end. The
    package is closed once the new file is complete, before it replaces dst.
    """
    dst = os.fspath(dst)
    zf = pkg.zip
    infos = zf.infolist()
    with io.BytesIO(pkg.data) as f:     # the bytes read once, never the file again
        try:
            f.seek(zf.start_dir)
            # find the EOCD to learn the central directory size and comment
            f.seek(0, 2)
            fsize = f.tell()
            tail_len = min(fsize, 22 + 65535)
            f.seek(fsize - tail_len)
            tail = f.read()
            k = tail.rfind(b"PK\x05\x06")
            eocd = _EOCD.unpack_from(tail, k)
            comment = tail[k + 22:k + 22 + eocd[7]]
            cd_size, cd_off, count = eocd[5], eocd[6], eocd[4]
            zip64 = 0xFFFF in (eocd[3], eocd[4]) or 0xFFFFFFFF in (cd_size, cd_off)
            records = None if zip64 else _central_records(f, cd_off, cd_size, count)
            if records is not None and len(records) != len(infos):
                records = None
        except (struct.error, ValueError, OSError):
            records = None
        if records is None or any(i.header_offset != cd_rec_offset(r) for i, r in zip(infos, records or [])):
            records = None
        if records is None:
            tmp = _write_with_zipfile(pkg, dst, replace, level)
            pkg.close()
            commit(tmp, dst)
            return
        order = sorted(range(len(infos)), key=lambda j: infos[j].header_offset)
        seg_end = {}
        for pos, j in enumerate(order):
            nxt = infos[order[pos + 1]].header_offset if pos + 1 < len(order) else cd_off
            seg_end[j] = nxt

        def produce(out):
            central = []
            offset = 0
            done = set()
            for j, info in enumerate(infos):
                rec = records[j]
                name = info.filename
                if name in replace:
                    data = replace[name]
                    done.add(name)
                    local, cen = _new_entry(info, rec, data, offset, level)
                    out.write(local)
                    offset += len(local)
                    central.append(cen)
                else:
                    f.seek(info.header_offset)
                    seg = f.read(seg_end[j] - info.header_offset)
                    out.write(seg)
                    central.append(rec[:42] + struct.pack("<I", offset) + rec[46:])
                    offset += len(seg)
            for name, data in replace.items():
                if name in done:
                    continue
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                local, cen = _new_entry(info, None, data, offset, level)
                out.write(local)
                offset += len(local)
                central.append(cen)
            cd = b"".join(central)
            out.write(cd)
            n = len(central)
            out.write(_EOCD.pack(0x06054B50, 0, 0, n, n, len(cd), offset, len(comment)) + comment)

        tmp = write_temp(dst, produce)
    # The source is closed before the rename, so that writing in place works where an
    # open file cannot be replaced (Windows).
    pkg.close()
    commit(tmp, dst)


def cd_rec_offset(rec: bytes) -> int:
    return struct.unpack_from("<I", rec, 42)[0]


def _deflate(data, level: int):
    """(crc, size, compressed) of bytes or an iterable of bytes, compressed as it streams.

    Big parts (a long Claim sheet) use level 1: three times faster, a little larger.
    """
    chunks = iter((data,) if isinstance(data, (bytes, bytearray)) else data)
    head, n = [], 0
    for c in chunks:
        head.append(c)
        n += len(c)
        if n >= BIG_PART:
            break
    co = zlib.compressobj(level if n < BIG_PART else 1, zlib.DEFLATED, -15)
    crc, size, out = 0, 0, []
    for c in itertools.chain(head, chunks):
        crc = zlib.crc32(c, crc)
        size += len(c)
        out.append(co.compress(c))
    out.append(co.flush())
    return crc & 0xFFFFFFFF, size, b"".join(out)


def _new_entry(info: zipfile.ZipInfo, rec, data, offset: int, level: int):
    name = info.filename.encode("utf-8")
    crc, size, comp = _deflate(data, level)
    method = 8
    if size == 0:
        comp, method = b"", 0
    flags = 0x800 if any(b > 127 for b in name) else 0
    y, mo, d, h, mi, s = info.date_time
    dostime = (h << 11) | (mi << 5) | (s // 2)
    dosdate = ((y - 1980) << 9) | (mo << 5) | d
    if rec is not None:
        f = _CEN.unpack_from(rec, 0)
        made_by, ext_attr, int_attr = f[1], f[15], f[14]
        dostime, dosdate = f[5], f[6]
        flags |= f[3] & 0x800
    else:
        made_by, ext_attr, int_attr = 20, 0, 0
    version = 20
    local = _LOC.pack(0x04034B50, version, flags, method, dostime, dosdate, crc, len(comp),
                      size, len(name), 0) + name + comp
    cen = _CEN.pack(0x02014B50, made_by, version, flags, method, dostime, dosdate, crc, len(comp),
                    size, len(name), 0, 0, 0, int_attr, ext_attr, offset) + name
    return local, cen


def _as_bytes(data) -> bytes:
    return bytes(data) if isinstance(data, (bytes, bytearray)) else b"".join(data)


def _write_with_zipfile(pkg: Package, dst: str, replace: dict, level: int):
    """Fallback for zip64 or odd packages: same member contents, recompressed."""
    def produce(out):
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as z:
            done = set()
            for info in pkg.zip.infolist():
                if info.filename in replace:
                    z.writestr(info, _as_bytes(replace[info.filename]))
                    done.add(info.filename)
                else:
                    z.writestr(info, pkg.read(info.filename))
            for name, data in replace.items():
                if name not in done:
                    z.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), _as_bytes(data))
    return write_temp(dst, produce)


class OutputError(OSError):
    """An output that can't be written. str(e) is ONE line naming the output (never the
    temporary file beside it) and what to do, e.g.
    'Nov.closed.xlsx can't be written: it is open in Excel or read-only. Close it in Excel and run again.'
    """

    def __init__(self, path, why: str):
        self.path, self.why = os.fspath(path), why
        super().__init__(f"{os.path.basename(self.path)} can't be written: {why}")


def _folder_words(dst: str) -> str:
    folder = os.path.dirname(dst)
    return f"folder {folder}" if folder else "this folder"


def output_error(dst: str, exc: OSError, replacing: bool = False) -> OutputError:
    """What a clerk is told when writing `dst` failed with `exc`.

    replacing: the file was made and only the final rename over `dst` failed,
    which on Windows is what Excel holding the file open looks like."""
    if isinstance(exc, OutputError):
        return OutputError(dst, exc.why)
    code = exc.errno
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        why = "the disk is full. Free some space and run again."
    elif code == errno.EROFS:
        why = "the disk is read-only. Write it to another folder."
    elif isinstance(exc, IsADirectoryError) or (replacing and os.path.isdir(dst)):
        why = "a folder has that name. Choose another name."
    elif isinstance(exc, FileNotFoundError) and not replacing:
        why = f"{_folder_words(dst)} does not exist."
    elif isinstance(exc, PermissionError) and replacing:
        why = "it is open in Excel or read-only. Close it in Excel and run again."
    elif isinstance(exc, PermissionError):
        why = f"{_folder_words(dst)} is read-only or not yours to change. Write it to another folder."
    else:
        why = f"{exc.strerror or type(exc).__name__}."
    return OutputError(dst, why)


def atomic_write(dst: str, produce):
    """Call produce(fileobj) on a temporary file beside dst, then rename it over dst."""
    commit(write_temp(dst, produce), dst)


def write_temp(dst: str, produce) -> str:
    """A finished, synced temporary file beside dst written by produce(fileobj).

    A folder that can't take the file, or a full disk, raises OutputError naming dst."""
    folder = os.path.dirname(os.path.abspath(dst))
    try:
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(dst) + ".", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise output_error(dst, exc) from None
    try:
        with os.fdopen(fd, "wb") as out:
            produce(out)
            out.flush()
            os.fsync(out.fileno())
    except OSError as exc:
        _discard(tmp)
        if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EROFS):
            raise output_error(dst, exc) from None
        raise
    except BaseException:
        _discard(tmp)
        raise
    return tmp


def commit(tmp: str, dst: str):
    """Rename tmp over dst (keeping dst's permissions), or remove tmp if that fails.

    A dst that can't be replaced (open in Excel, read-only) raises OutputError naming dst."""
    try:
        try:
            mode = os.stat(dst).st_mode & 0o777
        except OSError:
            mode = 0o666 & ~_umask()
        os.chmod(tmp, mode)
        os.replace(tmp, dst)
    except OSError as exc:
        _discard(tmp)
        raise output_error(dst, exc, replacing=True) from None
    except BaseException:
        _discard(tmp)
        raise


def _discard(tmp: str):
    try:
        os.unlink(tmp)
    except OSError:
        pass


def _umask() -> int:
    m = os.umask(0)
    os.umask(m)
    return m

"""Safe access to an xlsx package (a zip of XML parts), read into memory once.

Before anything parses a byte of a workbook, `Package` checks that it is a zip
at all (and says "legacy .xls" or "encrypted" for the OLE containers Excel
uses for those), that the zip is whole, and that no member would inflate to an
absurd size (a zip bomb). Each XML part is checked as it inflates
(`partcheck`), once per package, before anything trusts it.

Writing lives beside it: `zipwriter` (lossless rewrite, atomic outputs); its
names are importable from here too.
"""
from __future__ import annotations

import io
import os
import posixpath
import stat
import struct
import zipfile
import zlib

from .errors import WorkbookError
from .partcheck import (MAX_COL, MAX_ROW, PROLOG_LIMIT, SCAN_CHUNK, PartScan,  # noqa: F401 (re-exported)
                        check_encoding, check_prolog, is_xml_part, scan_part)
from .zipwriter import (BIG_PART, OutputError, atomic_write, commit, output_error,  # noqa: F401
                        write_package, write_temp, _write_with_zipfile)

# Limits for what a workbook may inflate to. A 100k-row timesheet is ~100 MB of
# sheet XML at a ratio near 13; styled blank rows compress better, but stay far
# below these. Nothing a clinic's month needs comes near them.
MAX_FILE_SIZE = 256 << 20          # 256 MiB on disk: read into memory once
MAX_MEMBER_SIZE = 256 << 20        # 256 MiB for one part
MAX_TOTAL_SIZE = 1 << 30           # 1 GiB for the whole package
MAX_RATIO = 200                    # uncompressed / compressed ...
RATIO_FLOOR = 1 << 20              # ... checked on parts bigger than 1 MiB
MAX_MEMBERS = 50_000
# Zip flag bits Excel never writes: 5 compressed patched data, 6 strong encryption,
# 13 encrypted central directory.
REFUSED_FLAGS = {5: "compressed patched data", 6: "strong encryption", 13: "an encrypted directory"}

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK"


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
            self.infos, self.scans, self.extents = src.infos, src.scans, src.extents
            self.flags = src.flags
            self.owner = False      # a view: closing it leaves what the package holds alone
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
        self.scans, self.extents = {}, {}
        self.flags = {}         # what has been checked of the whole package (shared by views)
        self.owner = True
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
        pending = self.flags.pop("pending", None) if self.owner else None
        if pending is not None:     # a check child never waited for: reap it
            try:
                pending()
            except Exception:       # its verdict no longer matters: nothing is written after close
                pass
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

    def xml_size(self) -> int:
        """Bytes of XML the package inflates to (what checking it all reads)."""
        return sum(i.file_size for n, i in self.infos.items() if is_xml_part(n))

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
        """Check one XML part whole as it inflates, in pieces (`partcheck.scan_part`), once."""
        got = self.scans.get(name)
        if got is None:
            got = self.scans[name] = self._scan(name, extent_only=False, reach=self.extents.get(name))
        return got

    def extent(self, name: str) -> PartScan:
        """How far one part's cells reach, with its prolog and encoding checked: what must be
        known before a reader allocates for it. The rest of `scan` may come later."""
        got = self.scans.get(name) or self.extents.get(name)
        if got is None:
            got = self.extents[name] = self._scan(name, extent_only=True)
        return got

    def _scan(self, name: str, extent_only: bool, reach: PartScan | None = None) -> PartScan:
        try:
            return scan_part(self.path, name, lambda: self._open(name), extent_only=extent_only, reach=reach)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError):
            raise WorkbookError(self.path, f"is damaged: part {name} cannot be read") from None


# -- part names -------------------------------------------------------------------
def rels_path(part: str) -> str:
    d, f = posixpath.split(part)
    return posixpath.join(d, "_rels", f + ".rels")


def resolve(base_part: str, target: str) -> str:
    """The part name a relationship target points to, relative to base_part."""
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    return posixpath.normpath(posixpath.join(posixpath.dirname(base_part), target))


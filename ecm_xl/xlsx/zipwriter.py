"""Writing outputs: a workbook package rewritten losslessly, and any file atomically.

`write_package` copies every member it is not asked to replace as the raw
compressed bytes of the source (local header, data and data descriptor
untouched), so untouched parts survive byte for byte and are never inflated
or recompressed, and writes the result atomically (temporary file in the
destination's folder, then `os.replace`).

`atomic_write` / `write_temp` + `commit` are how every output file is made, and
`output_error` is what a clerk is told when one can't be written.
"""
from __future__ import annotations

import errno
import io
import itertools
import os
import struct
import tempfile
import zipfile
import zlib

BIG_PART = 1 << 20                 # parts written this big are compressed fast (level 1)


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


def write_package(pkg, dst, replace: dict, *, level: int = 6):
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


def _write_with_zipfile(pkg, dst: str, replace: dict, level: int):
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

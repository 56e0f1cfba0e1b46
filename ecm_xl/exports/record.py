"""An export file and its Submissions rows land together, or neither does.

Two exports of one workbook never run at once: each holds a lock on a small
file beside the workbook (`.<workbook>.ecm-xl.lock`, an OS file lock that
dies with its process, so a crash never leaves it stuck). The second waits
for the first, then sees what it sent.

Writing goes through a journal beside the workbook (`.<workbook>.ecm-xl.journal`):

    1. journal: "writing", naming the two temporary files
    2. the export file, complete and synced, under a temporary name beside it
    3. the workbook with its new Submissions rows, likewise
    4. journal: "committed"                      <- the point of no return
    5. both renamed into place; the journal removed

A crash before 4 leaves the workbook and the export file as they were (the
next export removes the temporary files); a crash after 4 is finished by the
next export (or `recover`) before it does anything else. Either way the
record and the files agree, and the next run says what it found.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import time
import uuid
from pathlib import Path

from .. import contract as C
from ..files import name_of
from ..xlsx.package import atomic_write

WRITING, COMMITTED = "writing", "committed"
TEST_STOP_ENV = "ECM_XL_TEST_STOP_AT"   # tests only: die (kill -9) at this step to prove recovery
POLL = 0.1


class RecordError(Exception):
    """The export and its record can't be written; str(e) is one line naming the workbook."""


def lock_path(workbook) -> Path:
    p = Path(workbook)
    return p.with_name(f".{p.name}.ecm-xl.lock")


def journal_path(workbook) -> Path:
    p = Path(workbook)
    return p.with_name(f".{p.name}.ecm-xl.journal")


def _stop_here(step: str) -> None:
    """A test's kill -9 at a named step (ECM_XL_TEST_STOP_AT); nothing otherwise."""
    if os.environ.get(TEST_STOP_ENV) == step:
        if hasattr(signal, "SIGKILL"):
            os.kill(os.getpid(), signal.SIGKILL)
        os._exit(137)  # pragma: no cover - Windows


def _try_lock(fd) -> bool:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        import msvcrt
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _unlock(fd) -> None:
    try:
        import fcntl
        fcntl.flock(fd, fcntl.LOCK_UN)
    except ImportError:  # pragma: no cover - Windows
        import msvcrt
        os.lseek(fd, 0, 0)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)


@contextlib.contextmanager
def workbook_lock(workbook, wait: float = 60.0):
    """Hold the workbook's export lock; wait up to `wait` seconds for another holder to finish."""
    path = lock_path(workbook)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise RecordError(f"{name_of(workbook)}: can't lock it for the export ({exc.strerror or exc})") from None
    try:
        deadline = time.monotonic() + max(0.0, wait)
        while not _try_lock(fd):
            if time.monotonic() >= deadline:
                raise RecordError(f"{name_of(workbook)}: another export is writing to this workbook right now; "
                                  "try again when it has finished")
            time.sleep(POLL)
        try:
            yield
        finally:
            _unlock(fd)
    finally:
        os.close(fd)


def file_hash(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _write_journal(path: Path, state: dict) -> None:
    data = json.dumps(state, indent=1).encode("utf-8")
    atomic_write(os.fspath(path), lambda f: f.write(data))


def _discard(*paths) -> None:
    for p in paths:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(p)


def _sync_dir(path) -> None:
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(os.path.dirname(os.path.abspath(path)) or ".", os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def recover(workbook) -> str:
    """Finish or undo an export of `workbook` that stopped half way (call it under the lock).

    Returns '' when there was none, else one line saying what was done.
    """
    return recover_journal(journal_path(workbook), name_of(workbook))


def recover_journal(jpath, name: str) -> str:
    """recover() for a journal at `jpath` (a batch keeps its journal beside its 837P)."""
    jpath = Path(jpath)
    if not jpath.exists():
        return ""
    try:
        state = json.loads(jpath.read_text("utf-8"))
        out, out_tmp, books = state["out"], state["out_tmp"], state["books"]
        pairs = [(b["workbook"], b["tmp"], b["before"]) for b in books]
    except (OSError, ValueError, KeyError, TypeError):
        _discard(jpath)
        return f"{name}: removed the unreadable note of an interrupted export; nothing of it was put in place"
    if state.get("state") != COMMITTED:
        _discard(out_tmp, *(tmp for _, tmp, _ in pairs), jpath)
        return (f"{name}: an earlier export was interrupted before it was written; "
                f"{name_of(out)} was not made and nothing was recorded")
    changed = [book for book, tmp, before in pairs
               if os.path.exists(tmp) and (not os.path.exists(book) or file_hash(book) != before)]
    if changed:
        _discard(out_tmp, *(tmp for _, tmp, _ in pairs), jpath)
        return (f"{name}: an interrupted export was dropped because {name_of(changed[0])} changed since; "
                f"{name_of(out)} was not made and nothing was recorded")
    for book, tmp, _ in pairs:
        if os.path.exists(tmp):
            os.replace(tmp, book)
            _sync_dir(book)
    if os.path.exists(out_tmp):
        os.replace(out_tmp, out)
    _sync_dir(out)
    _discard(jpath)
    return f"{name}: finished an export that was interrupted: {name_of(out)} and its Submissions rows are in place"


def _temp_beside(path, token: str) -> str:
    return os.path.join(os.path.dirname(os.path.abspath(path)), f".{name_of(path)}.{token}.sending")


def _append_record(workbook, tmp, rows: list) -> None:
    """`tmp`: the workbook (read once) with `rows` appended to its Submissions table. A
    workbook made before ecm-xl kept that record gains the Submissions sheet first
    (every other part copied as it is)."""
    from ..xlsx import append_table_rows
    from ..xlsx.package import Package
    from ..xlsx.reader import read_structure
    from ..xlsx.sheets import add_table_sheets
    with Package(workbook) as pkg:
        src = pkg
        if C.SUBMISSIONS not in read_structure(pkg).tables:
            add_table_sheets(Package(pkg), tmp, {C.SUBMISSIONS: C.SUBMISSION_HEADERS},
                             formats=C.NUMBER_FORMATS, widths=C.CYCLE_WIDTHS)
            src = tmp
        append_table_rows(src, tmp, C.SUBMISSIONS, rows)


def commit(workbook, out, data: bytes, rows: list, *, before: str) -> None:
    """Write the export file `out` (bytes) and append `rows` to the workbook's Submissions
    table, all or nothing (see the module's doc). `before`: the workbook's hash when it was
    read; if it changed meanwhile nothing is written. Call it under workbook_lock."""
    commit_many(journal_path(workbook), out, data, [(workbook, rows, before)])


def commit_many(jpath, out, data: bytes, books: list) -> None:
    """commit() for one export file and several workbooks: books = [(workbook, rows, before)]."""
    out = os.fspath(out)
    token = uuid.uuid4().hex[:8]
    out_tmp = _temp_beside(out, token)
    entries = [{"workbook": os.path.abspath(os.fspath(b)), "tmp": _temp_beside(b, token), "before": before}
               for b, _rows, before in books]
    state = {"state": WRITING, "out": os.path.abspath(out), "out_tmp": out_tmp, "books": entries}
    _write_journal(Path(jpath), state)
    try:
        with open(out_tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        _stop_here("file-written")
        for e, (_b, rows, _before) in zip(entries, books):
            _append_record(e["workbook"], e["tmp"], rows)
        _stop_here("record-written")
        for e in entries:
            if file_hash(e["workbook"]) != e["before"]:
                raise RecordError(f"{name_of(e['workbook'])}: the workbook changed while the export was being "
                                  "made; nothing was written: export again")
        state["state"] = COMMITTED
        _write_journal(Path(jpath), state)
    except BaseException:
        _discard(out_tmp, *(e["tmp"] for e in entries), jpath)
        raise
    _stop_here("committed")
    for e in entries:
        with contextlib.suppress(OSError):
            os.chmod(e["tmp"], os.stat(e["workbook"]).st_mode & 0o777)
        os.replace(e["tmp"], e["workbook"])
        _stop_here("record-in-place")
    os.replace(out_tmp, out)
    for e in entries:
        _sync_dir(e["workbook"])
    _sync_dir(out)
    _discard(jpath)

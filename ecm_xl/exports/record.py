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
    jpath = journal_path(workbook)
    if not jpath.exists():
        return ""
    try:
        state = json.loads(jpath.read_text("utf-8"))
        out, book_tmp, out_tmp = state["out"], state["workbook_tmp"], state["out_tmp"]
    except (OSError, ValueError, KeyError, TypeError):
        _discard(jpath)
        return (f"{name_of(workbook)}: removed the unreadable note of an interrupted export; "
                "nothing of it was put in place")
    name = name_of(workbook)
    if state.get("state") != COMMITTED:
        _discard(book_tmp, out_tmp, jpath)
        return (f"{name}: an earlier export was interrupted before it was written; "
                f"{name_of(out)} was not made and nothing was recorded")
    if os.path.exists(book_tmp):
        if not os.path.exists(workbook) or file_hash(workbook) != state.get("before"):
            _discard(book_tmp, out_tmp, jpath)
            return (f"{name}: an interrupted export was dropped because the workbook changed since; "
                    f"{name_of(out)} was not made and nothing was recorded")
        os.replace(book_tmp, workbook)
    if os.path.exists(out_tmp):
        os.replace(out_tmp, out)
    _sync_dir(workbook)
    _sync_dir(out)
    _discard(jpath)
    return f"{name}: finished an export that was interrupted: {name_of(out)} and its Submissions rows are in place"


def commit(workbook, out, data: bytes, rows: list, *, before: str) -> None:
    """Write the export file `out` (bytes) and append `rows` to the workbook's Submissions
    table, all or nothing (see the module's doc). `before`: the workbook's hash when it was
    read; if it changed meanwhile nothing is written. Call it under workbook_lock."""
    from ..xlsx import append_table_rows  # the file layer, only when writing

    workbook, out = os.fspath(workbook), os.fspath(out)
    token = uuid.uuid4().hex[:8]
    book_tmp = os.path.join(os.path.dirname(os.path.abspath(workbook)), f".{name_of(workbook)}.{token}.sending")
    out_tmp = os.path.join(os.path.dirname(os.path.abspath(out)), f".{name_of(out)}.{token}.sending")
    jpath = journal_path(workbook)
    state = {"state": WRITING, "workbook": os.path.abspath(workbook), "out": os.path.abspath(out),
             "workbook_tmp": book_tmp, "out_tmp": out_tmp, "before": before}
    _write_journal(jpath, state)
    try:
        with open(out_tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        _stop_here("file-written")
        append_table_rows(workbook, book_tmp, C.SUBMISSIONS, rows)
        _stop_here("record-written")
        if file_hash(workbook) != before:
            raise RecordError(f"{name_of(workbook)}: the workbook changed while the export was being made; "
                              "nothing was written: export again")
        state["state"] = COMMITTED
        _write_journal(jpath, state)
    except BaseException:
        _discard(book_tmp, out_tmp, jpath)
        raise
    _stop_here("committed")
    with contextlib.suppress(OSError):
        os.chmod(book_tmp, os.stat(workbook).st_mode & 0o777)
    os.replace(book_tmp, workbook)
    _stop_here("record-in-place")
    os.replace(out_tmp, out)
    _sync_dir(workbook)
    _sync_dir(out)
    _discard(jpath)

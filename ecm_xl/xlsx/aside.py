"""Checking a whole package on the other CPU while the sheets are read.

Checking every XML part of a workbook (`reader.check_package`: well-formed,
UTF-8, names, values, links) costs about what reading its sheets costs, and
both are needed before anything is trusted. They don't depend on each other:
the reach of the sheets to be read is checked first (that bounds what the
reader allocates), then the whole-package check runs beside the read, and
nothing read is used until the check has passed.

Where the system can fork (Linux) and the process runs one thread, the check
runs in a child process, so it has a CPU of its own; the child only reads the
bytes already in memory and reports one line. Elsewhere it runs in this process while the reader's thread
works outside Python's lock. Either way, a damaged package is reported before
anything the reader said.
"""
from __future__ import annotations

import os
import sys
import threading

from .errors import WorkbookError

OK, DAMAGED = b"0", b"1"
FORK = sys.platform.startswith("linux") and hasattr(os, "fork")
FORK_FROM = 8 << 20     # bytes of XML to check: below this a child costs more than it saves


def run_beside(check, read, size: int = 0, later: list | None = None):
    """read() with check() run at the same time; check's error (a WorkbookError) wins,
    then read's. Returns read's result. size: the bytes check() will look at.

    later: when given, a check still running in a child once read() is done is not
    waited for: the function that waits for it (and raises its error) is appended
    to `later`, for the caller to call before it trusts what was read."""
    # fork only a process with one thread: a lock another thread holds would stay held in the child
    if FORK and size >= FORK_FROM and threading.active_count() == 1:
        waiter = _start_child(check)
        if waiter is not None:
            got = (None, None)
            try:
                got = _call(read)
            finally:
                if later is not None and got[1] is None:
                    later.append(waiter)
                else:
                    waiter()        # raises the child's WorkbookError, if any
            return _result(got)
    box = {}
    worker = threading.Thread(target=lambda: box.update(got=_call(read)), name="ecm-xl reader", daemon=True)
    try:
        worker.start()
    except RuntimeError:            # no thread to be had: one after the other
        check()
        return _result(_call(read))
    try:
        check()
    finally:
        worker.join()
    return _result(box["got"])


def _call(fn):
    try:
        return (fn(), None)
    except BaseException as e:      # a reader's panic is a BaseException; re-raised by _result
        return (None, e)


def _result(got):
    value, error = got
    if error is not None:
        raise error
    return value


def _start_child(check):
    """Fork a child that runs check() and writes its verdict; a function that waits for
    it (raising the child's WorkbookError), or None when no child could be made."""
    try:
        r, w = os.pipe()
    except OSError:
        return None
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        pid = os.fork()
    except OSError:
        os.close(r)
        os.close(w)
        return None
    if pid == 0:                    # the child: check, say, and leave without cleanup
        code = 1
        try:
            os.close(r)
            try:
                check()
                verdict = OK
            except WorkbookError as e:
                verdict = DAMAGED + str(e).encode("utf-8", "replace")
            except BaseException:   # anything else: the parent checks again itself
                verdict = b""
            view = memoryview(verdict)
            while view:
                view = view[os.write(w, view):]
            code = 0
        finally:
            os._exit(code)
    os.close(w)

    def wait():
        chunks = []
        try:
            while True:
                b = os.read(r, 65536)
                if not b:
                    break
                chunks.append(b)
        finally:
            os.close(r)
            os.waitpid(pid, 0)
        verdict = b"".join(chunks)
        if verdict.startswith(DAMAGED):
            raise WorkbookError(verdict[1:].decode("utf-8", "replace"))
        if verdict != OK:           # the child died or failed oddly: check here instead
            check()
    return wait

"""An output that can't be written names itself and says what to do, for every writing command.

Excel holding a file open is, to the operating system, a file that can't be replaced
(Windows refuses the rename with a sharing violation, a PermissionError). Here a file
or folder is made unwritable for real with `chattr +i` (the immutable flag, which
stops even root) or, for a user who isn't root, by taking away write permission on
the folder; the Windows rename refusal is also reproduced by making os.replace
raise what Windows raises.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from ecm_xl.cli import main

from cli_workbooks import CLOSE_DATE, ready_month, small_workbook

LOCKED = "can't be written: it is open in Excel or read-only. Close it in Excel and run again."
FOLDER = "is read-only or not yours to change. Write it to another folder."


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def _chattr(flag: str, path: Path) -> bool:
    if shutil.which("chattr") is None:
        return False
    return subprocess.run(["chattr", flag, str(path)], capture_output=True).returncode == 0


@contextlib.contextmanager
def unwritable(path: Path):
    """`path` (a file or a folder) can't be changed while inside: for real, not mocked."""
    if os.geteuid() == 0:
        if not _chattr("+i", path):
            pytest.skip("root without the immutable flag (chattr) can write anywhere; "
                        "the mocked Windows refusal below still runs")
        try:
            yield
        finally:
            _chattr("-i", path)
        return
    if path.is_file():
        pytest.skip("a user who isn't root can replace a read-only file in a writable folder")
    mode = path.stat().st_mode
    path.chmod(0o555)
    try:
        yield
    finally:
        path.chmod(mode)


@pytest.fixture(scope="module")
def closed(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("locked")
    book = small_workbook(d / "Nov.xlsx")
    assert run("close", book, "--close-date", CLOSE_DATE).exit_code == 0
    return d / "Nov.closed.xlsx"


def one_line(r) -> str:
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "Traceback" not in r.output and ".tmp" not in r.stderr
    return lines[0]


def leftovers(folder: Path) -> list:
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


# -- a file that can't be replaced (open in Excel, read-only) -----------------------------
@pytest.mark.parametrize("command", ["close in place", "close -o", "fill", "export csv"])
def test_a_locked_output_says_which_file_and_what_to_do(closed, tmp_path, command):
    book = tmp_path / "Nov.closed.xlsx"
    book.write_bytes(closed.read_bytes())
    target = book
    if command == "close in place":
        args = ("close", book, "--in-place", "--close-date", CLOSE_DATE)
    elif command == "close -o":
        src = tmp_path / "Nov.xlsx"
        src.write_bytes(closed.read_bytes())
        args = ("close", src, "-o", book, "--close-date", CLOSE_DATE)
    elif command == "fill":
        entries = tmp_path / "entries.csv"
        entries.write_text("Date,Staff ID,Member ID,Service,Contact,Minutes\n10/20/2026,C1,91000001A,ECM service,In person,30\n")
        args = ("fill", book, "--entries", entries)
    else:
        target = tmp_path / "claims.csv"
        from ecm_xl import contract as C
        target.write_text(",".join(C.CLAIM_HEADERS) + "\n")    # the last export (ours, so it may be replaced)
        args = ("export", book, "--format", "csv", "-o", target, "--close-date", CLOSE_DATE)
    before = target.read_bytes()
    with unwritable(target):
        r = run(*args)
    assert r.exit_code == 2, r.output
    assert one_line(r) == f"ecm-xl: {target.name} {LOCKED}"
    assert target.read_bytes() == before
    assert leftovers(tmp_path) == []


def test_windows_refusing_the_rename_reads_the_same(closed, tmp_path, monkeypatch):
    """What Windows does when Excel holds the file: os.replace raises PermissionError."""
    book = tmp_path / "Nov.closed.xlsx"
    book.write_bytes(closed.read_bytes())

    def refuse(src, dst, *a, **kw):
        raise PermissionError(13, "The process cannot access the file because it is being used by another process",
                              os.fspath(src), None, 32)
    monkeypatch.setattr(os, "replace", refuse)
    r = run("close", book, "--in-place", "--close-date", CLOSE_DATE)
    assert r.exit_code == 2
    assert one_line(r) == f"ecm-xl: Nov.closed.xlsx {LOCKED}"
    assert leftovers(tmp_path) == []


# -- a folder that can't take the file ------------------------------------------------------
def test_a_read_only_folder_is_named(closed, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with unwritable(out):
        r = run("close", closed, "-o", out / "Nov.again.xlsx", "--close-date", CLOSE_DATE)
        e = run("export", closed, "--format", "csv", "-o", out / "claims.csv", "--close-date", CLOSE_DATE)
        n = run("new", out / "Dec.xlsx", "--month", "2026-12")
        b = run("batch", closed, "-o", out / "closed", "--close-date", CLOSE_DATE)
        t = run("template", out / "T.xlsx")
        i = run("init", out)
    assert one_line(t) == f"ecm-xl: T.xlsx can't be written: folder {out} {FOLDER}"
    assert one_line(i) == f"ecm-xl: ECM_Timesheet.xlsx can't be written: folder {out} {FOLDER}"
    assert t.exit_code == i.exit_code == 2
    assert r.exit_code == e.exit_code == n.exit_code == b.exit_code == 2
    assert one_line(b) == f"ecm-xl: closed can't be written: folder {out} {FOLDER}"
    assert one_line(r) == f"ecm-xl: Nov.again.xlsx can't be written: folder {out} {FOLDER}"
    assert one_line(e) == f"ecm-xl: claims.csv can't be written: folder {out} {FOLDER}"
    assert one_line(n) == f"ecm-xl: Dec.xlsx can't be written: folder {out} {FOLDER}"
    assert list(out.iterdir()) == []


def test_new_names_the_workbook_not_its_temporary_copy(tmp_path):
    out = tmp_path / "Dec.xlsx"
    out.write_bytes(b"an older month")
    with unwritable(out):
        r = run("new", out, "--month", "2026-12", "--force")
    assert r.exit_code == 2
    assert one_line(r) == f"ecm-xl: Dec.xlsx {LOCKED}"
    assert out.read_bytes() == b"an older month"
    assert leftovers(tmp_path) == []


def test_batch_goes_on_and_names_the_copy_it_could_not_write(closed, tmp_path):
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    inbox.mkdir()
    out.mkdir()
    for name in ("A.xlsx", "B.xlsx"):
        (inbox / name).write_bytes(closed.read_bytes())
    (out / "B.closed.xlsx").write_bytes(closed.read_bytes())     # an earlier batch's copy, held open
    with unwritable(out / "B.closed.xlsx"):
        r = run("batch", inbox, "-o", out, "--workers", "1", "--close-date", CLOSE_DATE)
    assert r.exit_code == 1
    assert f"  failed: B.closed.xlsx {LOCKED}" in r.output
    assert (out / "A.closed.xlsx").exists()
    assert (out / "B.closed.xlsx").read_bytes() == closed.read_bytes()


def test_an_837p_export_names_the_workbook_excel_holds(tmp_path, monkeypatch):
    """An 837P export records what it sent in the workbook itself: with the workbook open in
    Excel, the message names the workbook, and neither file changes."""
    import x12check as X
    monkeypatch.setenv("ECM_XL_LEDGER", str(tmp_path / "ledger.txt"))
    book = ready_month(tmp_path / "Oct.xlsx")
    before = book.read_bytes()
    with unwritable(book):
        r = run("export", book, "--format", "x12", "-o", tmp_path / "oct.837", "--close-date", X.CLOSE_DATE,
                "--created", "2026-12-01")
    assert r.exit_code == 2, r.output
    assert one_line(r) == f"ecm-xl: Oct.xlsx {LOCKED}"
    assert book.read_bytes() == before

"""Damaged and hostile workbooks (issue 12): checked before any rule runs, refused in one line.

The workbooks are the demo month's, each with one trap from tests/fuzz_workbooks.py
(the minimised reproducers of what the fuzz test and the attack run found). These
run in-process and pin the exact line a clerk reads; test_fuzz.py runs the same
traps through the real command in a child process.
"""
from __future__ import annotations

import io
import os
import re
import zipfile

import pytest
from click.testing import CliRunner

import fuzz_workbooks as F
from ecm_xl import api
from ecm_xl import demo as D
from ecm_xl.cli import main
from ecm_xl.xlsx import WorkbookError, read_workbook, write_tables
from ecm_xl.xlsx.package import Package

DEMO_ROWS = len(D.make_month(D.DEMO_SEED).entries)   # the demo month's time entries


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("damaged")
    data = F.demo_workbook(folder)
    return data, F.locate(data)


@pytest.fixture(scope="module")
def traps(demo):
    data, parts = demo
    return {c.name: c for c in F.trap_cases(data, parts)}


def close(tmp_path, data: bytes):
    src = tmp_path / "clinic.xlsx"
    src.write_bytes(data)
    (tmp_path / "out.xlsx").unlink(missing_ok=True)        # each close here is of another input
    r = CliRunner().invoke(main, ["close", str(src), "-o", str(tmp_path / "out.xlsx"), "--close-date", "2026-11-30"])
    return r, tmp_path / "out.xlsx"


EXPECTED = {
    "a cell at XFD1048576": "clinic.xlsx: sheet 'Timesheet' has a cell at XFD1048576, far beyond its",
    "Timesheet range A1:T30000000": "clinic.xlsx: the Timesheet table has no valid range (it says 'A1:T30000000'); "
                                    "the workbook is damaged",
    "a row numbered 1e12": "clinic.xlsx: is damaged: part xl/worksheets/sheet5.xml numbers a row beyond "
                           "Excel's last row, 1048576",
    "a Timesheet date of -1.1e11": "clinic.xlsx: cannot be read: the spreadsheet reader stopped on a value it "
                                   "cannot hold (a date or number out of range) in sheet 'Timesheet'",
    "a Timesheet date of -inf": "is a number cell whose value is not a finite number (Excel never writes one)",
    "a Timesheet date of nan": "is a number cell whose value is not a finite number",
    "Timesheet saved as UTF-16 without a BOM": "clinic.xlsx: part xl/worksheets/sheet5.xml is saved as 'UTF-16', "
                                               "not UTF-8 as Excel saves it",
    "Codes table renamed CodesOld": "clinic.xlsx: the Lists sheet has no table named Codes (select the data and use "
                                    "Insert > Table, named Codes); it holds your contract rates, and without it "
                                    "nothing is priced.",
    "the Lists sheet's links lost": "clinic.xlsx: is damaged: sheet 'Lists' refers to 11 link(s)",
    "Members and Staff sheets with one name": "clinic.xlsx: is damaged: two sheets are named 'Staff'",
    "Timesheet table one column short of its range": "clinic.xlsx: is damaged: the Timesheet table lists 19 columns "
                                                     f"but its range A1:T{DEMO_ROWS + 1} is 20 wide",
    "no [Content_Types].xml": "clinic.xlsx: is damaged: it has no [Content_Types].xml",
    "malformed docProps/app.xml": "clinic.xlsx: is damaged: part docProps/app.xml is not well-formed XML",
    "an unclosed row": "clinic.xlsx: is damaged: part xl/worksheets/sheet5.xml is not well-formed XML",
    "a boolean cell holding text": "is a true/false cell whose value is neither",
    "a Codes rate of inf": "is a number cell whose value is not a finite number",
    "table ref A0": "clinic.xlsx: the Timesheet table has no valid range (it says 'A0')",
}


@pytest.fixture(params=["check in a child process", "check in this process"])
def check_aside(request, monkeypatch):
    """The package check runs beside the read: in a forked child where the system can
    fork (here forced for every size), else in this process while the reader's thread
    reads. Both must refuse the same workbooks with the same line."""
    from ecm_xl.xlsx import aside
    if request.param == "check in a child process":
        if not aside.FORK:
            pytest.skip("this system can't fork: only the in-process check runs here")
        monkeypatch.setattr(aside, "FORK_FROM", 0)
    else:
        monkeypatch.setattr(aside, "FORK", False)
    return request.param


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_damaged_workbook_is_refused_in_one_line_before_any_rule(tmp_path, traps, name, check_aside):
    r, out = close(tmp_path, traps[name].data)
    assert r.exit_code == 2, r.output
    line = r.output.strip()
    assert "\n" not in line and "Traceback" not in line
    assert line.startswith("ecm-xl: clinic.xlsx: ")
    assert EXPECTED[name] in line
    assert "Quixote" not in line
    assert not out.exists()


def test_the_codes_table_is_required_by_export_too(tmp_path, traps):
    src = tmp_path / "clinic.xlsx"
    src.write_bytes(traps["Codes table renamed CodesOld"].data)
    r = CliRunner().invoke(main, ["export", str(src), "--format", "csv", "-o", str(tmp_path / "c.csv")])
    assert r.exit_code == 2 and "no table named Codes" in r.output, r.output


def test_absurd_numbers_are_problems_on_rows_not_charges(tmp_path, traps):
    r, out = close(tmp_path, traps["a Codes rate of 1e300"].data)
    assert r.exit_code == 0, r.output
    assert "$0.00" in r.output          # no line priced at 1e300 a unit
    r, out = close(tmp_path, traps["minutes of 1e-300"].data)
    assert r.exit_code == 0, r.output
    assert "0 claim lines" in r.output   # 1e-300 minutes is 0 minutes: R11, never a unit


def test_a_fifo_is_refused_without_waiting(tmp_path):
    fifo = tmp_path / "clinic.xlsx"
    os.mkfifo(fifo)
    with pytest.raises(WorkbookError) as e:
        Package(fifo)
    assert str(e.value) == ("clinic.xlsx: is not a regular file (a pipe, socket or device); "
                            "save the workbook as a file and use that")


def test_a_table_reaching_the_last_row_reads_only_to_the_last_real_row(tmp_path, demo):
    data, parts = demo
    tt = F.part(data, parts.tables["Timesheet"]).decode()
    big = F.replace_parts(data, {parts.tables["Timesheet"]: re.sub(r' ref="A1:T(\d+)"', ' ref="A1:T1048576"', tt).encode()})
    src = tmp_path / "clinic.xlsx"
    src.write_bytes(big)
    wb = read_workbook(src)
    rows = wb.tables["Timesheet"].rows
    assert DEMO_ROWS <= len(rows) <= DEMO_ROWS + 10_000
    assert sum(1 for r in rows if r.get("Date") is not None) == DEMO_ROWS


def test_reader_and_writer_share_one_read(tmp_path, demo):
    """A save between reading and writing can't pair a new timesheet with old claims:
    the close reads the file once and writes from those same bytes."""
    data, _ = demo
    src = tmp_path / "clinic.xlsx"
    src.write_bytes(data)
    with Package(src) as pkg:
        wb = read_workbook(pkg)
        src.write_bytes(b"not a workbook any more")        # saved over meanwhile
        write_tables(pkg, tmp_path / "out.xlsx", {"Claim": (("Claim ID",), [])})
    assert len(wb.tables["Timesheet"].rows) >= DEMO_ROWS
    with zipfile.ZipFile(tmp_path / "out.xlsx") as z:
        assert z.testzip() is None
    assert read_workbook(tmp_path / "out.xlsx").tables["Timesheet"] == wb.tables["Timesheet"]


def test_calamine_errors_never_quote_a_cell(tmp_path, demo):
    """A reader error names file and sheet, never the reader's own words (they quote cells)."""
    data, parts = demo
    sx = F.part(data, parts.table_sheet["Members"]).decode()
    # a shared-string cell pointing past the strings: the reader fails on it
    sx = re.sub(r'<c r="B3"([^>]*?)(?: t="[^"]*")?(/>|>.*?</c>)', '<c r="B3" t="s"><v>999999</v></c>', sx, count=1, flags=re.S)
    r, out = close(tmp_path, F.replace_parts(data, {parts.table_sheet["Members"]: sx.encode()}))
    assert r.exit_code == 2, r.output
    assert r.output == ("ecm-xl: clinic.xlsx: cannot be read: the spreadsheet reader found a cell it cannot "
                        "read in sheet 'Members'; open the workbook in Excel, check that sheet and save\n")


def test_messages_escape_control_characters(tmp_path):
    bad = tmp_path / "clinic\x1b[2J.xlsx"
    bad.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(WorkbookError) as e:
        read_workbook(bad)
    assert "\x1b" not in str(e.value) and "\\x1b[2J" in str(e.value)


def test_the_demo_month_still_closes(tmp_path, demo):
    data, _ = demo
    r, out = close(tmp_path, data)
    assert r.exit_code == 0, r.output
    printed = int(re.search(r"(\d+) claim lines", r.output).group(1))
    assert printed > 0 and out.exists()
    assert len(read_workbook(out, tables=("Claim",)).tables["Claim"].rows) == printed
    with zipfile.ZipFile(io.BytesIO(out.read_bytes())) as z:
        assert z.testzip() is None
    assert api  # the API face is what the CLI drives

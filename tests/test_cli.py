"""The ecm-xl command through click's CliRunner: exit codes, what it prints, what it writes."""
from __future__ import annotations

import datetime as dt
import math
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from ecm_xl import contract as C
from ecm_xl.cli import main
from ecm_xl.engine import close_month
from ecm_xl.xlsx import read_workbook

from cli_workbooks import (CLOSE_DATE, MEMBERS, STAFF, output_tables, sha256, sheet_xml,
                           small_workbook, table_values, write_csv)

COMMANDS = ("new", "fill", "close", "batch", "demo", "export", "template")


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def october(tmp_path_factory) -> Path:
    return small_workbook(tmp_path_factory.mktemp("cli") / "October.xlsx")


@pytest.fixture
def workbook(october, tmp_path) -> Path:
    p = tmp_path / "October.xlsx"
    p.write_bytes(october.read_bytes())
    return p


# -- help ---------------------------------------------------------------------------
@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_help_shows_an_example(command):
    r = run(command, "--help")
    assert r.exit_code == 0
    assert "Example:" in r.output
    assert f"ecm-xl {command}" in r.output


def test_unknown_option_is_bad_usage():
    r = run("close", "--no-such-option")
    assert r.exit_code == 2


# -- new ------------------------------------------------------------------------------
def test_new_fills_setup_and_rosters(tmp_path):
    staff = write_csv(tmp_path / "staff.csv", ["staff id", "STAFF NAME", "Staff  Type", "npi"],
                      [[s["Staff ID"], s["Staff Name"], s["Staff Type"], s["NPI"]] for s in STAFF])
    members = write_csv(tmp_path / "members.csv", list(MEMBERS[0]), MEMBERS)
    out = tmp_path / "New.xlsx"
    r = run("new", out, "--month", "2026-10", "--staff", staff, "--members", members,
            "--set", "Provider name=Example Clinic", "--set", "BillingNPI=1234567893", "--set", "unit minutes=60")
    assert r.exit_code == 0, r.output
    wb = read_workbook(out)
    assert wb.setup["ProviderName"] == "Example Clinic"
    assert wb.setup["BillingNPI"] == "1234567893"
    assert wb.setup["BillingMonth"] == dt.date(2026, 10, 1)
    assert wb.setup["UnitMinutes"] == 60
    staff_rows = [r for r in wb.tables[C.STAFF].rows if r["Staff ID"]]
    assert [(r["Staff ID"], r["Staff Type"]) for r in staff_rows] == [("C1", "Clinical"), ("N1", "Non-clinical")]
    member_rows = [r for r in wb.tables[C.MEMBERS].rows if r["Member ID"]]
    assert [r["Member ID"] for r in member_rows] == ["91000001A", "91000002B"]
    assert member_rows[0]["Eligible From"] == dt.date(2026, 1, 1)        # CSV text became a date
    assert member_rows[1]["ECM Enrollment Date"] == dt.date(2026, 10, 20)


def test_new_refuses_to_overwrite_and_unknown_setting(tmp_path):
    out = tmp_path / "New.xlsx"
    assert run("new", out).exit_code == 0
    before = sha256(out)
    r = run("new", out)
    assert r.exit_code == 2 and "already exists" in r.stderr
    assert sha256(out) == before
    r = run("new", tmp_path / "Other.xlsx", "--set", "Favourite colour=blue")
    assert r.exit_code == 2 and "no Setup setting" in r.stderr
    assert not (tmp_path / "Other.xlsx").exists()


def test_new_roster_missing_required_column_names_it(tmp_path):
    staff = write_csv(tmp_path / "staff.csv", ["Staff ID", "Staff Name"], [["C1", "X"]])
    out = tmp_path / "New.xlsx"
    r = run("new", out, "--staff", staff)
    assert r.exit_code == 2
    assert "'Staff Type'" in r.stderr and "staff.csv" in r.stderr
    assert not out.exists()


# -- fill ------------------------------------------------------------------------------
def test_fill_appends_rows_and_derives_blank_codes(tmp_path):
    wb = small_workbook(tmp_path / "W.xlsx", entries=[])
    entries = write_csv(tmp_path / "export.csv",
                        [" DATE ", "staff-id", "Member ID", "service", "CONTACT", "Start", "End", "Minutes",
                         "HCPCS", "Modifier 1", "Modifier 2", "Notes", "Supervisor"],
                        [["10/5/2026", "C1", "91000001A", "ECM service", "In person", "9:00 AM", "9:50 AM", "",
                          "", "", "", "", "Pat"],
                         ["10/6/2026", "N1", "91000001A", "ECM service", "Phone/Telehealth", "", "", "45 min",
                          "", "", "", "", "Pat"],
                         ["10/7/2026", "N1", "91000002B", "Outreach attempt", "Text/Email", "", "", "10",
                          "", "", "", "", ""],
                         ["", "", "", "", "", "", "", "", "", "", "", "", ""],          # a blank line: skipped
                         ["10/8/2026", "N1", "91000001A", "ECM service", "In person", "", "", "30",
                          "G9008", "U1", "", "typed by hand", ""]])
    r = run("fill", wb, "--entries", entries)
    assert r.exit_code == 0, r.output
    assert "Added 4 time entries" in r.output and "Supervisor" in r.output
    rows = [r for r in read_workbook(wb).tables[C.TIMESHEET].rows if r["Date"]]
    assert len(rows) == 4
    # R5 from SPEC's table: clinical in person -> G9008 U1; non-clinical phone -> G9012 U2 GQ;
    # non-clinical outreach by text -> G9012 U8 GQ; a code typed by hand is kept for the close to judge.
    codes = [(r["HCPCS"], r["Modifier 1"], r["Modifier 2"]) for r in rows]
    assert codes == [("G9008", "U1", None), ("G9012", "U2", "GQ"), ("G9012", "U8", "GQ"), ("G9008", "U1", None)]
    assert rows[0]["Date"] == dt.date(2026, 10, 5)
    assert rows[0]["Start"] == dt.time(9, 0)
    assert rows[1]["Minutes"] == 45                # "45 min": duration text becomes the number of minutes
    assert rows[2]["Minutes"] == 10


def test_fill_missing_required_column_names_it_and_writes_nothing(workbook, tmp_path):
    entries = write_csv(tmp_path / "export.csv", ["Date", "Staff ID", "Service", "Contact", "Minutes"],
                        [["10/5/2026", "C1", "ECM service", "In person", "30"]])
    before = sha256(workbook)
    out = tmp_path / "Out.xlsx"
    r = run("fill", workbook, "--entries", entries, "-o", out)
    assert r.exit_code == 2
    assert "'Member ID'" in r.stderr
    assert "Traceback" not in r.output
    assert len(r.stderr.strip().splitlines()) == 1
    assert not out.exists()
    assert sha256(workbook) == before


def test_fill_needs_minutes_or_start_and_end(workbook, tmp_path):
    entries = write_csv(tmp_path / "export.csv", ["Date", "Staff ID", "Member ID", "Service", "Contact", "Start"],
                        [["10/5/2026", "C1", "91000001A", "ECM service", "In person", "9:00"]])
    r = run("fill", workbook, "--entries", entries)
    assert r.exit_code == 2
    assert "'Minutes'" in r.stderr and "'End'" in r.stderr


# -- close ----------------------------------------------------------------------------------
def test_close_writes_a_copy_and_prints_the_engines_totals(workbook):
    before = sha256(workbook)
    r = run("close", workbook, "--close-date", CLOSE_DATE.isoformat())
    assert r.exit_code == 0, r.output
    out = workbook.with_name("October.closed.xlsx")
    assert out.exists()
    assert sha256(workbook) == before

    wb = read_workbook(workbook)
    t = wb.tables
    res = close_month(t[C.TIMESHEET], t[C.STAFF], t[C.MEMBERS], wb.setup, codes=t.get(C.CODES),
                      activities=t.get(C.ACTIVITIES), close_date=CLOSE_DATE)
    tot = res.totals
    first = r.output.splitlines()[0]
    assert first.startswith("Closed October 2026:")
    assert f"{tot.members} members" in first and f"{tot.claim_lines} claim lines" in first
    assert f"{tot.units} units" in first and f"${tot.charge:,.2f}" in first
    assert f"{tot.errors} error" in first and str(out) in first
    assert f"Rows: {tot.rows_in} in = {tot.rows_billed} billed + {tot.rows_not_billed} not billed" in r.output
    assert "R4 1" in r.output                          # the mass communication row

    # SPEC R2/R3 by hand: member 1 care 50 + 20 (clinical in person) -> 70 min -> 2 units;
    # non-clinical phone 20 -> 1 unit; member 2: two outreach attempts -> 1 unit each.
    claim = table_values(out, C.CLAIM)
    idx = {h: i for i, h in enumerate(read_workbook(out).headers[C.CLAIM])}
    units = {(row[idx["Member ID"]], row[idx["HCPCS"]], row[idx["Modifier 1"]], row[idx["Modifier 2"]] or ""):
             row[idx["Units"]] for row in claim}
    assert units == {("91000001A", "G9008", "U1", ""): 2, ("91000001A", "G9012", "U2", "GQ"): 1,
                     ("91000002B", "G9012", "U8", "GQ"): 2}


def test_reclosing_a_closed_copy_gives_the_same_tables(workbook, tmp_path):
    assert run("close", workbook, "--close-date", CLOSE_DATE.isoformat()).exit_code == 0
    closed = workbook.with_name("October.closed.xlsx")
    again = tmp_path / "again.xlsx"
    r = run("close", closed, "-o", again, "--close-date", CLOSE_DATE.isoformat())
    assert r.exit_code == 0, r.output
    first, second = output_tables(closed), output_tables(again)
    assert first == second
    assert first[C.CLAIM] and first[C.EXCEPTIONS]


def test_close_in_place_updates_the_workbook_and_default_never_overwrites(workbook):
    assert run("close", workbook, "--close-date", CLOSE_DATE.isoformat()).exit_code == 0
    closed = workbook.with_name("October.closed.xlsx")
    before = sha256(closed)
    r = run("close", closed)                         # no default name for a closed copy
    assert r.exit_code == 2 and "--in-place" in r.stderr
    assert sha256(closed) == before
    r = run("close", workbook, "-o", workbook)        # -o naming the input is refused too
    assert r.exit_code == 2
    r = run("close", closed, "--in-place", "--close-date", CLOSE_DATE.isoformat())
    assert r.exit_code == 0
    assert output_tables(closed)[C.CLAIM] == output_tables(workbook.with_name("October.closed.xlsx"))[C.CLAIM]


def test_close_month_option_overrides_setup(workbook, tmp_path):
    out = tmp_path / "nov.xlsx"
    r = run("close", workbook, "-o", out, "--month", "2026-11", "--close-date", CLOSE_DATE.isoformat())
    assert r.exit_code == 0
    assert "Closed November 2026: 0 members" in r.output
    assert "R9 6" in r.output
    assert run("close", workbook, "--month", "Octember").exit_code == 2


# -- bad files ---------------------------------------------------------------------------------
def _zip(path, members: dict):
    with zipfile.ZipFile(path, "w") as z:
        for k, v in members.items():
            z.writestr(k, v)
    return path


def _no_timesheet(path):
    from openpyxl import Workbook
    wb = Workbook()
    wb.active.title = "Staff"
    wb.save(path)
    return path


def _missing_column(path, good):
    """The good workbook with the Timesheet table's 'Minutes' header renamed."""
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(path, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.startswith("xl/tables/") and b'name="Timesheet"' in data:
                data = data.replace(b'name="Minutes"', b'name="Mins"')
            zout.writestr(info, data)
    return path


BAD_FILES = {
    "empty": lambda p, good: (p.write_bytes(b""), p)[1],
    "text": lambda p, good: (p.write_text("Date,Staff ID\n10/1/2026,C1\n"), p)[1],
    "old_xls": lambda p, good: (p.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 2000), p)[1],
    "truncated": lambda p, good: (p.write_bytes(good.read_bytes()[:5000]), p)[1],
    "zip_not_xlsx": lambda p, good: _zip(p, {"hello.txt": "hi"}),
    "no_timesheet": lambda p, good: _no_timesheet(p),
    "missing_column": _missing_column,
}


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_bad_file_is_one_line_exit_2_and_no_output(kind, october, tmp_path):
    bad = BAD_FILES[kind](tmp_path / f"{kind}.xlsx", october)
    before = sha256(bad)
    r = run("close", bad)
    assert r.exit_code == 2, r.output
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and f"{kind}.xlsx" in lines[0]
    assert "Traceback" not in r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{kind}.xlsx"]   # no output, no temp file left
    assert sha256(bad) == before


def test_missing_column_error_names_the_column(october, tmp_path):
    bad = _missing_column(tmp_path / "bad.xlsx", october)
    r = run("close", bad)
    assert "'Minutes'" in r.stderr


# -- formula injection and PHI ------------------------------------------------------------------
def test_a_name_starting_with_equals_stays_text_in_claim_and_csv(tmp_path):
    evil = [dict(MEMBERS[0], **{"Last Name": '=HYPERLINK("http://x.example","y")', "First Name": "+1"}), MEMBERS[1]]
    wb = small_workbook(tmp_path / "W.xlsx", members=evil)
    closed = tmp_path / "W.closed.xlsx"
    assert run("close", wb, "-o", closed, "--close-date", CLOSE_DATE.isoformat()).exit_code == 0
    names = {row[3] for row in table_values(closed, C.CLAIM)}
    assert '=HYPERLINK("http://x.example","y"), +1' in names
    xml = sheet_xml(closed, C.CLAIM)
    assert "<f>" not in xml and "HYPERLINK" in xml            # stored as a string cell, never a formula
    out = tmp_path / "claims.csv"
    r = run("export", closed, "--format", "csv", "-o", out, "--close-date", CLOSE_DATE.isoformat())
    assert r.exit_code == 0, r.output
    text = out.read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text
    assert ",=HYPERLINK" not in text and '"=HYPERLINK' not in text


def test_no_member_names_in_any_output(tmp_path):
    from ecm_xl.demo import make_month
    month = make_month()
    last_names = {m["Last Name"] for m in month.members if m.get("Last Name")}
    first = run("demo", tmp_path / "demo")
    assert first.exit_code == 0
    wb = tmp_path / "demo" / "ECM_Timesheet_2026-10.xlsx"
    outputs = [first.output,
               run("close", wb, "-o", tmp_path / "c.xlsx").output,
               run("batch", tmp_path / "demo", "-o", tmp_path / "batch", "--workers", "1").output]
    for text in outputs:
        for name in last_names:
            assert name not in text


def test_export_x12_of_a_closed_workbook(tmp_path):
    r = run("demo", tmp_path / "d")
    assert r.exit_code == 0
    closed = tmp_path / "d" / "ECM_Timesheet_2026-10.closed.xlsx"
    out = tmp_path / "oct.837"
    r = run("export", closed, "--format", "x12", "-o", out, "--control-number", "7", "--close-date", "2026-11-30")
    assert r.exit_code == 0, r.output
    assert out.read_text().startswith("ISA*")
    assert "000000007" in out.read_text()[:120]
    r = run("export", tmp_path / "d" / "ECM_Timesheet_2026-10.xlsx", "--format", "x12", "-o", tmp_path / "x.837")
    assert r.exit_code == 2 and "close the month first" in r.stderr   # an unclosed workbook has no claims


def test_template_command_writes_a_workbook_the_close_reads(tmp_path):
    out = tmp_path / "T.xlsx"
    r = run("template", out)
    assert r.exit_code == 0, r.output
    wb = read_workbook(out)
    assert set(C.OUTPUT_TABLES) <= set(wb.tables)


def test_demo_prints_a_sensible_month(tmp_path):
    r = run("demo", tmp_path / "d")
    assert r.exit_code == 0, r.output
    first = r.output.splitlines()[0]
    assert first.startswith("Closed October 2026: ")
    members = int(first.split(": ")[1].split(" members")[0])
    assert 30 <= members <= 45
    assert "(R14)" in r.output
    assert (tmp_path / "d" / "ECM_Timesheet_2026-10.closed.xlsx").exists()
    assert math.isfinite(float(first.split("$")[1].split(";")[0].replace(",", "")))

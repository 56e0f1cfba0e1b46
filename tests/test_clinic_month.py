"""One clinic-month in several workbooks (SPEC R2), from the clerk's side: `ecm-xl batch` and `ecm-xl merge`.

Two care teams keep their own workbook for October. Whatever the split, the
month is billed once: time summed per member and code before rounding, one
claim per member, and each team's closed copy shows its own rows' problems.
Money is worked out by hand from the plan profile's example rates:
G9008 U1 (clinical care, in person) $160.00 a unit.
"""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from ecm_xl import api
from ecm_xl.cli import main

from cli_workbooks import CLOSE_DATE, MEMBERS, SETTINGS, sha256, table_values

STAFF = [
    {"Staff ID": "C1", "Staff Name": "Nurse One", "Staff Type": "Clinical", "NPI": ""},
    {"Staff ID": "C2", "Staff Name": "Nurse Two", "Staff Type": "Clinical", "NPI": ""},
    {"Staff ID": "N1", "Staff Name": "Worker One", "Staff Type": "Non-clinical", "NPI": ""},
]
HEADERS = ("Date", "Staff ID", "Member ID", "Service", "Contact", "Minutes")
ANN, BEN = "91000001A", "91000002B"
G9008_U1 = 160.00


def team_workbook(path, entries, *, staff=STAFF, members=MEMBERS, settings=SETTINGS, month="2026-10") -> Path:
    path = Path(path)
    api.new_workbook(path, month=month, staff=staff, members=members, settings=settings)
    if entries:
        api.fill_workbook(path, [dict(zip(HEADERS, e)) for e in entries])
    return path


def read_csv(path):
    with open(path, newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def batch(inbox, out, *extra):
    return CliRunner().invoke(main, ["batch", str(inbox), "-o", str(out), "--workers", "1",
                                     "--close-date", CLOSE_DATE.isoformat(), *extra])


def exceptions(path):
    """(Row, Rule, Reason) of a closed copy's Exceptions."""
    return [(r[0], r[6], r[7]) for r in table_values(path, "Exceptions")]


@pytest.fixture()
def two_teams(tmp_path):
    """Team A saw Ann 30 minutes; team B saw her 30 minutes too, and sent a mass text."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    team_workbook(inbox / "Team A.xlsx", [("10/5/2026", "C1", ANN, "ECM service", "In person", "30")])
    team_workbook(inbox / "Team B.xlsx", [("10/20/2026", "C2", ANN, "ECM service", "In person", "30"),
                                          ("10/9/2026", "N1", BEN, "Outreach attempt", "Mass communication", "5")])
    return inbox


def test_two_teams_30_minutes_each_bill_one_unit_on_one_claim(two_teams, tmp_path):
    hashes = {p.name: sha256(p) for p in two_teams.iterdir()}
    r = batch(two_teams, tmp_path / "out")
    assert r.exit_code == 0, r.output
    assert "one month, October 2026, billing NPI 1234567893" in r.output
    assert "Team A.xlsx + Team B.xlsx" in r.output

    claims = read_csv(tmp_path / "out" / "claims.csv")
    assert len(claims) == 1                                     # 30 + 30 = 60 minutes: one line, one unit
    line = claims[0]
    assert (line["Member ID"], line["HCPCS"], line["Modifier 1"]) == (ANN, "G9008", "U1")
    assert line["Units"] == "1" and line["Minutes"] == "60"
    assert float(line["Charge"]) == G9008_U1 * 1
    assert line["From Date"] == "2026-10-05" and line["To Date"] == "2026-10-20"
    assert line["Source File"] == "Team A.xlsx + Team B.xlsx"
    assert line["Source Rows"] == "Team A.xlsx: 2; Team B.xlsx: 2"   # traceable to file and row

    report = {row["File"]: row for row in read_csv(tmp_path / "out" / "batch_report.csv")}
    a, b = report["Team A.xlsx"], report["Team B.xlsx"]
    assert a["Billed With"] == "Team B.xlsx" and b["Billed With"] == "Team A.xlsx"
    assert a["Clinic Month"] == b["Clinic Month"] and a["Clinic Month"].startswith("October 2026")
    # the month's money is counted once: on the first workbook's row
    assert (a["Claim Lines"], a["Units"], a["Charge"]) == ("1", "1", "160.00")
    assert (b["Claim Lines"], b["Units"], b["Charge"]) == ("0", "0", "0.00")
    assert b["Errors"] == "1"                                   # team B's mass text
    assert a["Errors"] == "0"

    out = tmp_path / "out"
    for copy, rows in (("Team A.closed.xlsx", "2; Team B.xlsx: 2"), ("Team B.closed.xlsx", "2; Team A.xlsx: 2")):
        claim = table_values(out / copy, "Claim")
        assert len(claim) == 1 and claim[0][11] == 1            # the whole month, billed once
        assert claim[0][18] == rows                             # its own rows first, the other team's by file
    a_exc, b_exc = exceptions(out / "Team A.closed.xlsx"), exceptions(out / "Team B.closed.xlsx")
    assert [(row, rule) for row, rule, _ in b_exc if rule != "R2"] == [(3, "R4")]   # its own row 3
    assert [rule for _, rule, _ in a_exc] == ["R2"]
    assert a_exc[0][2].startswith("Billed as one month with Team B.xlsx")
    assert {p.name: sha256(p) for p in two_teams.iterdir()} == hashes               # inputs untouched


def test_the_same_rows_in_one_workbook_bill_the_same(two_teams, tmp_path):
    batch(two_teams, tmp_path / "out")
    (tmp_path / "one").mkdir()
    single = team_workbook(tmp_path / "one" / "October.xlsx", [("10/5/2026", "C1", ANN, "ECM service", "In person", "30"),
                            ("10/20/2026", "C2", ANN, "ECM service", "In person", "30"),
                            ("10/9/2026", "N1", BEN, "Outreach attempt", "Mass communication", "5")])
    r = batch(single.parent, tmp_path / "out1")
    assert r.exit_code == 0, r.output
    drop = ("Source File", "Source Rows")
    split = [{k: v for k, v in row.items() if k not in drop} for row in read_csv(tmp_path / "out" / "claims.csv")]
    whole = [{k: v for k, v in row.items() if k not in drop} for row in read_csv(tmp_path / "out1" / "claims.csv")]
    assert split == whole


def test_two_copies_of_a_row_in_two_workbooks_bill_once(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    row = ("10/5/2026", "C1", ANN, "ECM service", "In person", "45")
    team_workbook(inbox / "A.xlsx", [row])
    team_workbook(inbox / "B.xlsx", [row])
    assert batch(inbox, tmp_path / "out").exit_code == 0
    claims = read_csv(tmp_path / "out" / "claims.csv")
    assert [(c["Units"], c["Minutes"]) for c in claims] == [("1", "45")]
    b_exc = exceptions(tmp_path / "out" / "B.closed.xlsx")
    dupes = [reason for _, rule, reason in b_exc if rule == "R12"]
    assert dupes and "row 2 of A.xlsx" in dupes[0]                # names the other workbook's row


def test_a_member_listed_differently_is_named_with_both_files_and_not_billed(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    ended = [dict(MEMBERS[0], **{"Eligible Through": "10/15/2026"}), MEMBERS[1]]
    team_workbook(inbox / "A.xlsx", [("10/5/2026", "C1", ANN, "ECM service", "In person", "30"),
                                     ("10/6/2026", "C1", BEN, "ECM service", "In person", "60")])
    team_workbook(inbox / "B.xlsx", [("10/20/2026", "C2", ANN, "ECM service", "In person", "30")], members=ended)
    r = batch(inbox, tmp_path / "out")
    assert r.exit_code == 0, r.output
    claims = read_csv(tmp_path / "out" / "claims.csv")
    assert [c["Member ID"] for c in claims] == [BEN]            # Ann waits until the rosters agree
    for name, row in (("A.closed.xlsx", 2), ("B.closed.xlsx", 2)):
        exc = exceptions(tmp_path / "out" / name)
        held = [reason for r_, rule, reason in exc if r_ == row and rule == "R10"]
        assert held, exc
        assert "A.xlsx (Members row 2: 1/1/2026 to open)" in held[0]
        assert "B.xlsx (Members row 2: 1/1/2026 to 10/15/2026)" in held[0]
        roster = [reason for _, rule, reason in exc if rule == "R10" and "Members sheets" not in reason]
        assert any("Eligible" in x or "eligibility" in x for x in roster)


def test_a_staff_member_with_two_types_is_named_with_both_files(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    other = [dict(STAFF[0], **{"Staff Type": "Non-clinical"})] + STAFF[1:]
    team_workbook(inbox / "A.xlsx", [("10/5/2026", "C1", ANN, "ECM service", "In person", "30")])
    team_workbook(inbox / "B.xlsx", [("10/6/2026", "C2", ANN, "ECM service", "In person", "30")], staff=other)
    assert batch(inbox, tmp_path / "out").exit_code == 0
    claims = read_csv(tmp_path / "out" / "claims.csv")
    assert [(c["Units"], c["Minutes"], c["Source Rows"]) for c in claims] == [("1", "30", "B.xlsx: 2")]
    exc = exceptions(tmp_path / "out" / "A.closed.xlsx")
    reason = next(reason for row, rule, reason in exc if row == 2 and rule == "R10")
    assert "Staff C1" in reason and "A.xlsx" in reason and "B.xlsx" in reason
    assert "Clinical" in reason and "Non-clinical" in reason


def test_different_rates_for_a_code_list_the_line_without_a_charge(tmp_path):
    from ecm_xl import contract as C
    from ecm_xl.xlsx import read_workbook, write_tables
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    team_workbook(inbox / "A.xlsx", [("10/5/2026", "C1", ANN, "ECM service", "In person", "30")])
    b = team_workbook(tmp_path / "B0.xlsx", [("10/6/2026", "C2", ANN, "ECM service", "In person", "30")])
    wb = read_workbook(b, tables=(C.CODES,))
    headers = wb.headers[C.CODES]
    rows = [[175.0 if (r.get("HCPCS"), r.get("Modifier 1"), r.get("Modifier 2")) == ("G9008", "U1", None)
             and h == "Rate" else r.get(h) for h in headers] for r in wb.tables[C.CODES].rows]
    write_tables(b, inbox / "B.xlsx", {C.CODES: (headers, rows)})
    assert batch(inbox, tmp_path / "out").exit_code == 0
    claims = read_csv(tmp_path / "out" / "claims.csv")
    assert [(c["Units"], c["Charge"]) for c in claims] == [("1", "")]   # no silent pick of $160 or $175
    exc = exceptions(tmp_path / "out" / "B.closed.xlsx")
    said = [reason for _, rule, reason in exc if rule == "R5"]
    assert any("$160.00" in x and "$175.00" in x and "A.xlsx" in x and "B.xlsx" in x for x in said), said


def test_a_workbook_with_no_billing_month_closes_on_its_own(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    team_workbook(inbox / "A.xlsx", [("10/5/2026", "C1", ANN, "ECM service", "In person", "30")])
    team_workbook(inbox / "B.xlsx", [("10/20/2026", "C2", ANN, "ECM service", "In person", "30")], month=None)
    r = batch(inbox, tmp_path / "out")
    assert r.exit_code == 0, r.output
    report = {row["File"]: row for row in read_csv(tmp_path / "out" / "batch_report.csv")}
    assert report["B.xlsx"]["Billed With"] == "" and report["A.xlsx"]["Billed With"] == ""
    assert report["A.xlsx"]["Units"] == "1" and report["B.xlsx"]["Units"] == "1"


def test_setup_that_changes_the_money_must_agree(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    team_workbook(inbox / "A.xlsx", [("10/5/2026", "C1", ANN, "ECM service", "In person", "30")])
    team_workbook(inbox / "B.xlsx", [("10/20/2026", "C2", ANN, "ECM service", "In person", "30")],
                  settings=dict(SETTINGS, UnitMinutes=15))
    assert batch(inbox, tmp_path / "out").exit_code == 0
    assert read_csv(tmp_path / "out" / "claims.csv") == []
    exc = exceptions(tmp_path / "out" / "A.closed.xlsx")
    row2 = [reason for row, rule, reason in exc if row == 2]
    assert row2 and "Unit minutes" in row2[0] and "A.xlsx" in row2[0] and "B.xlsx" in row2[0]


def test_batch_x12_of_a_split_demo_month_equals_the_whole_month(tmp_path):
    """The demo's month split in two by staff: claims.837 bills what the one workbook bills."""
    from ecm_xl import contract as C
    from ecm_xl.xlsx import read_workbook, write_tables
    demo = api.demo(tmp_path / "demo")
    whole = Path(demo.workbook)
    wb = read_workbook(whole, tables=(C.TIMESHEET,))
    headers = wb.headers[C.TIMESHEET]
    rows = [[r.get(h) for h in headers] for r in wb.tables[C.TIMESHEET].rows]
    staff = sorted({r[headers.index("Staff ID")] for r in rows if r[headers.index("Staff ID")]})
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name, keep in (("east.xlsx", set(staff[::2])), ("west.xlsx", set(staff[1::2]))):
        write_tables(whole, inbox / name, {C.TIMESHEET: (headers, [r for r in rows
                                                                   if r[headers.index("Staff ID")] in keep])})
    (tmp_path / "one").mkdir()
    shutil.copy(whole, tmp_path / "one" / whole.name)
    for src, out in ((inbox, "split"), (tmp_path / "one", "whole")):
        r = batch(src, tmp_path / out, "--format", "x12")   # each takes the next control number
        assert r.exit_code == 0, r.output

    def claims(out):
        text = (tmp_path / out / "claims.837").read_text()
        return sorted(seg for seg in text.replace("\n", "").split("~") if seg.startswith(("CLM*", "SV1*")))
    assert claims("split") == claims("whole")
    assert claims("whole")


# ---------------------------------------------------------------------------
# ecm-xl merge
# ---------------------------------------------------------------------------
def merge(*args):
    return CliRunner().invoke(main, ["merge", *map(str, args)])


def test_merge_keeps_every_row_and_the_merged_month_bills_one_unit(two_teams, tmp_path):
    a, b = two_teams / "Team A.xlsx", two_teams / "Team B.xlsx"
    hashes = {p.name: sha256(p) for p in (a, b)}
    out = tmp_path / "October.xlsx"
    r = merge(a, b, "-o", out)
    assert r.exit_code == 0, r.output
    # 1 row of 30 minutes + 2 rows of 30 and 5 minutes, counted by hand
    assert "Team A.xlsx 1 row, 30 minutes; Team B.xlsx 2 rows, 35 minutes" in r.output
    assert "3 timesheet rows, 65 minutes" in r.output
    assert {p.name: sha256(p) for p in (a, b)} == hashes                  # inputs untouched
    rows = [row for row in table_values(out, "Timesheet")]
    assert [(row[0].day, row[1], row[8]) for row in rows] == [(5, "C1", 30), (20, "C2", 30), (9, "N1", 5)]
    r = CliRunner().invoke(main, ["close", str(out), "--close-date", CLOSE_DATE.isoformat()])
    assert r.exit_code == 0, r.output
    assert "1 claim lines, 1 units, $160.00" in r.output
    claim = table_values(tmp_path / "October.closed.xlsx", "Claim")
    assert [(c[2], c[11], c[13]) for c in claim] == [(ANN, 1, G9008_U1)]   # 30 + 30 minutes: one unit
    r = merge(a, b, "-o", out)                                             # its own earlier output
    assert r.exit_code == 0, r.output


def test_merge_adds_the_staff_and_members_only_another_workbook_lists(tmp_path):
    a = team_workbook(tmp_path / "A.xlsx", [("10/5/2026", "C1", ANN, "ECM service", "In person", "30")],
                      staff=STAFF[:1], members=MEMBERS[:1])
    b = team_workbook(tmp_path / "B.xlsx", [("10/9/2026", "N1", BEN, "Outreach attempt", "Text/Email", "10")])
    r = merge(a, b, "-o", tmp_path / "October.xlsx")
    assert r.exit_code == 0, r.output
    assert "added 2 staff and 1 member rows" in r.output                  # C2 and N1; Ben
    assert [row[0] for row in table_values(tmp_path / "October.xlsx", "Staff")] == ["C1", "C2", "N1"]


@pytest.mark.parametrize("change, words", [
    ({"members": [dict(MEMBERS[0], **{"Date of Birth": "1/3/1970"}), MEMBERS[1]]}, "Date of Birth"),
    ({"staff": [dict(STAFF[0], **{"Staff Type": "Non-clinical"})] + STAFF[1:]}, "Staff Type"),
    ({"month": "2026-11"}, "Billing month is October 2026 in A.xlsx and November 2026 in B.xlsx"),
    ({"settings": dict(SETTINGS, BillingNPI="1245319599")}, "Billing NPI"),
])
def test_merge_refuses_workbooks_that_disagree_naming_both_files(tmp_path, change, words):
    a = team_workbook(tmp_path / "A.xlsx", [("10/5/2026", "C1", ANN, "ECM service", "In person", "30")])
    b = team_workbook(tmp_path / "B.xlsx", [("10/6/2026", "C2", ANN, "ECM service", "In person", "30")], **change)
    r = merge(a, b, "-o", tmp_path / "October.xlsx")
    assert r.exit_code == 2, r.output
    assert len(r.stderr.strip().splitlines()) == 1
    assert "A.xlsx" in r.stderr and "B.xlsx" in r.stderr and words in r.stderr, r.stderr
    assert not (tmp_path / "October.xlsx").exists()


def test_merge_never_replaces_another_workbook_unasked(two_teams, tmp_path):
    other = team_workbook(tmp_path / "November.xlsx", [], month="2026-11")
    before = sha256(other)
    r = merge(two_teams / "Team A.xlsx", two_teams / "Team B.xlsx", "-o", other)
    assert r.exit_code == 2 and "--force" in r.stderr and sha256(other) == before
    r = merge(two_teams / "Team A.xlsx", two_teams / "Team B.xlsx", "-o", tmp_path / "October.csv")
    assert r.exit_code == 2 and "*.xlsx" in r.stderr
    r = merge(two_teams / "Team A.xlsx", two_teams / "Team B.xlsx", "-o", two_teams / "Team A.xlsx")
    assert r.exit_code == 2 and "input" in r.stderr


def test_a_copy_billed_with_others_is_not_exported_alone(two_teams, tmp_path):
    assert batch(two_teams, tmp_path / "out").exit_code == 0
    r = CliRunner().invoke(main, ["export", str(tmp_path / "out" / "Team B.closed.xlsx"), "--format", "csv",
                                  "-o", str(tmp_path / "b.csv")])
    assert r.exit_code == 2
    assert "billed as one month with Team A.xlsx" in r.stderr and "claims.837" in r.stderr
    assert not (tmp_path / "b.csv").exists()


def test_two_workers_close_a_split_month_the_same(two_teams, tmp_path):
    one = batch(two_teams, tmp_path / "one")
    two = CliRunner().invoke(main, ["batch", str(two_teams), "-o", str(tmp_path / "two"), "--workers", "2",
                                    "--close-date", CLOSE_DATE.isoformat()])
    assert one.exit_code == two.exit_code == 0, two.output
    assert read_csv(tmp_path / "one" / "claims.csv") == read_csv(tmp_path / "two" / "claims.csv")


def test_merge_stops_at_a_column_the_first_workbook_has_no_place_for(tmp_path):
    """Team B added a 'Visit Note' column to its Timesheet table (as a clinic may); team A did not."""
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter, range_boundaries
    from openpyxl.worksheet.table import TableColumn
    a = team_workbook(tmp_path / "A.xlsx", [("10/5/2026", "C1", ANN, "ECM service", "In person", "30")])
    b0 = team_workbook(tmp_path / "B0.xlsx", [("10/6/2026", "C2", ANN, "ECM service", "In person", "30")])
    wb = load_workbook(b0)
    ws = wb["Timesheet"]
    t = ws.tables["Timesheet"]
    c1, r1, c2, r2 = range_boundaries(t.ref)
    ws.cell(r1, c2 + 1, "Visit Note")
    ws.cell(r1 + 1, c2 + 1, "met at the shelter")
    t.ref = f"{get_column_letter(c1)}{r1}:{get_column_letter(c2 + 1)}{r2}"
    t.tableColumns.append(TableColumn(id=len(t.tableColumns) + 1, name="Visit Note"))
    if t.autoFilter is not None:
        t.autoFilter.ref = t.ref
    wb.save(tmp_path / "B.xlsx")
    r = merge(a, tmp_path / "B.xlsx", "-o", tmp_path / "October.xlsx")
    assert r.exit_code == 2
    assert "B.xlsx's Timesheet table has data under 'Visit Note'" in r.stderr and "A.xlsx" in r.stderr
    assert not (tmp_path / "October.xlsx").exists()

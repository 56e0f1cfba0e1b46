"""Inputs as clinics and plans really send them, from the clerk's side (issue 9).

Rosters and visit exports with other systems' headers and the clerk's words
go through `ecm-xl new`, `fill` and `close` as files; the money is worked out
by hand in each test.
"""
from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from ecm_xl import contract as C
from ecm_xl import load_profile
from ecm_xl.cli import main
from ecm_xl.xlsx import read_workbook

from cli_workbooks import CLOSE_DATE, sha256, write_csv

CLIN, NONC = "E1", "E2"
A, B, Z = "91000001A", "91000002B", "000456789"

STAFF_HEADERS = ("Employee ID", "Employee Name", "Role", "NPI")
STAFF_ROWS = [(CLIN, "Nurse Example", "Clinical", "1234567893"), (NONC, "Worker Example", "Non-clinical", "")]

# A plan roster: CIN, DOB, Enrollment Date, Eligibility End, Dx, Zip Code, and a column we have no place for.
ROSTER_HEADERS = ("CIN", "Last Name", "First Name", "DOB", "Gender", "Enrollment Date", "Eligibility Start",
                  "Eligibility End", "Dx", "Zip Code", "Language")
ROSTER_ROWS = [
    (A, "Zyxwvutson", "Ann", "01/02/1970", "F", "09/01/2026", "01/01/2026", "", "Z59.00", "92243", "Spanish"),
    (B, "Qwertyberg", "Ben", "05/06/1985", "M", "11/10/2026", "01/01/2026", "11/20/2026", "Z71.89", "92243", "English"),
    (Z, "Zeroson", "Zed", "07/08/1990", "M", "09/01/2026", "01/01/2026", "", "Z71.89", "92251", "English"),
]
SETS = ("--set", "BillingNPI=1234567893", "--set", "TaxID=123456789", "--set", "ProviderName=Example Clinic")


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def new_month(tmp_path, month="2026-11", staff_rows=STAFF_ROWS) -> Path:
    staff = write_csv(tmp_path / "staff.csv", STAFF_HEADERS, staff_rows)
    roster = write_csv(tmp_path / "roster.csv", ROSTER_HEADERS, ROSTER_ROWS)
    wb = tmp_path / "November.xlsx"
    r = run("new", wb, "--month", month, "--staff", staff, "--members", roster, *SETS)
    assert r.exit_code == 0, r.output
    return wb


def close(wb):
    r = run("close", wb, "--close-date", CLOSE_DATE.replace(month=12, day=15))
    assert r.exit_code == 0, r.output
    return r.output, read_workbook(Path(str(wb).replace(".xlsx", ".closed.xlsx")))


def claim_lines(closed):
    return {(l["Member ID"], l["HCPCS"], l["Modifier 1"], l["Modifier 2"] or ""): l
            for l in closed.tables[C.CLAIM].rows if l["Claim ID"]}


def exceptions(closed):
    return [e for e in closed.tables[C.EXCEPTIONS].rows if e["Rule"]]


# -- new: a plan roster's own headers ------------------------------------------------
def test_new_reads_a_plan_roster_and_names_the_column_it_cannot_place(tmp_path):
    staff = write_csv(tmp_path / "staff.csv", STAFF_HEADERS, STAFF_ROWS)
    roster = write_csv(tmp_path / "roster.csv", ROSTER_HEADERS, ROSTER_ROWS)
    r = run("new", tmp_path / "Nov.xlsx", "--month", "2026-11", "--staff", staff, "--members", roster, *SETS)
    assert r.exit_code == 0, r.output
    assert "3 member rows" in r.output
    assert "Ignored columns of the Members file" in r.output and "Language" in r.output
    for header in ("CIN", "DOB", "Enrollment Date", "Eligibility End", "Dx", "Zip Code", "Role", "Employee ID"):
        assert header not in r.output.split("Ignored", 1)[-1].replace("Language", "")
    wb = read_workbook(tmp_path / "Nov.xlsx")
    members = {m["Member ID"]: m for m in wb.tables[C.MEMBERS].rows if m["Member ID"]}
    b = members[B]
    assert (b["Date of Birth"], b["ECM Enrollment Date"], b["Eligible Through"]) == (
        dt.date(1985, 5, 6), dt.date(2026, 11, 10), dt.date(2026, 11, 20))
    assert (b["Diagnosis Code"], b["ZIP"], b["Sex"]) == ("Z71.89", "92243", "M")
    assert members[Z]["Member ID"] == "000456789"          # leading zeros kept: an ID is text
    staff = {s["Staff ID"]: s["Staff Type"] for s in wb.tables[C.STAFF].rows if s["Staff ID"]}
    assert staff == {CLIN: "Clinical", NONC: "Non-clinical"}


def test_new_names_every_missing_required_column_at_once_with_the_headers_found(tmp_path):
    roster = write_csv(tmp_path / "roster.csv", ("Name", "Birthday", "Plan"), [("X", "1/1/1970", "CHPIV")])
    out = tmp_path / "Nov.xlsx"
    r = run("new", out, "--members", roster)
    assert r.exit_code == 2
    (line,) = r.output.strip().splitlines()
    assert "roster.csv" in line and "'Member ID', 'Eligible From' columns" in line
    assert "its headers are: Name, Birthday, Plan" in line
    assert not out.exists()


# -- fill: what clerks type ----------------------------------------------------------------
VISIT_HEADERS = ("Visit Date", "Employee ID", "CIN", "Service", "Contact Type", "Duration", "Program")
VISITS = [
    # member A (enrolled 9/1), clinical staff: remote care 60 + 90 + 90 = 240 min -> 4 units; in person 90 -> 2
    ("Nov 13, 2026", CLIN, A, "ECM service", "Phone", "1 hr", "ECM"),           # row 2
    ("3-Nov-2026", CLIN, A, "ECM service", "Video", "1.5 hrs", "ECM"),          # row 3
    ("November 3, 2026", CLIN, A, "ECM service", "In person", "1h 30m", "ECM"),  # row 4
    ("11/4/2026", CLIN, A, "ECM service", "Telehealth", "90 min.", "ECM"),      # row 5
    # member B (enrolls 11/10, eligible through 11/20), non-clinical staff
    ("11/2/2026", NONC, B, "Outreach attempt", "Text", "5", "ECM"),             # row 6: 1 unit
    ("11/3/2026", NONC, B, "Outreach", "email", "10", "ECM"),                   # row 7: 1 unit
    ("11/4/2026", NONC, B, "Outreach attempt", "Mass mailing", "5", "ECM"),     # row 8: R4, never billed
    ("11/5/2026", NONC, B, "ECM service", "In person", "45", "ECM"),            # row 9: before enrollment (R3)
    ("11/12/2026", NONC, B, "ECM service", "In person", "30", "ECM"),           # row 10: 30 min alone -> 1 unit
    ("11/25/2026", NONC, B, "ECM service", "In person", "30", "ECM"),           # row 11: after Eligibility End (R8)
    ("11/6/2026", NONC, "456789", "ECM service", "In person", "30", "ECM"),     # row 12: zeros dropped (R10)
]


def test_fill_and_close_read_the_clerks_words_and_bill_the_right_money(tmp_path):
    wb = new_month(tmp_path)
    visits = write_csv(tmp_path / "visits.csv", VISIT_HEADERS, VISITS)
    r = run("fill", wb, "--entries", visits)
    assert r.exit_code == 0, r.output
    assert "Added 11 time entries" in r.output and "Ignored columns" in r.output and "Program" in r.output
    ts = [t for t in read_workbook(wb).tables[C.TIMESHEET].rows if t["Date"]]
    # the Timesheet holds the plan's values, so its drop-downs and the close agree
    assert [t["Contact"] for t in ts[:8]] == ["Phone/Telehealth", "Phone/Telehealth", "In person", "Phone/Telehealth",
                                              "Text/Email", "Text/Email", "Mass communication", "In person"]
    assert [t["Minutes"] for t in ts[:4]] == [60, 90, 90, 90]
    assert [t["Date"] for t in ts[:3]] == [dt.date(2026, 11, 13), dt.date(2026, 11, 3), dt.date(2026, 11, 3)]
    assert ts[5]["Service"] == "Outreach attempt"

    text, closed = close(wb)
    lines = claim_lines(closed)
    got = {k: (l["Units"], l["Minutes"], l["Charge"]) for k, l in lines.items()}
    assert got == {
        (A, "G9008", "U1", "GQ"): (4, 240, 640),     # 60 + 90 + 90 = 240 min -> 4 units x $160
        (A, "G9008", "U1", ""): (2, 90, 320),        # 90 min -> 2 units x $160
        (B, "G9012", "U8", "GQ"): (2, 15, 60),       # two outreach attempts, 1 unit each x $30
        (B, "G9012", "U2", ""): (1, 30, 95),         # 30 min after enrollment alone -> 1 unit (45 before: out)
    }
    assert "$1,115.00" in text                       # 640 + 320 + 60 + 95
    why = {(e["Row"], e["Rule"]): e for e in exceptions(closed) if e["Severity"] == "Error"}
    assert set(why) == {(8, "R4"), (9, "R3"), (11, "R8"), (12, "R10")}
    assert "enrolled in ECM on 11/10/2026" in why[(9, "R3")]["Reason"]
    assert "11/20/2026" in why[(11, "R8")]["Reason"]             # the roster's Eligibility End refuses it
    assert "did you mean 000456789?" in why[(12, "R10")]["Reason"]


def test_an_id_that_matches_only_once_zeros_are_back_is_never_matched_silently(tmp_path):
    wb = new_month(tmp_path)
    visits = write_csv(tmp_path / "visits.csv", VISIT_HEADERS, [("11/6/2026", NONC, "456789", "ECM service",
                                                                 "In person", "30", ""),
                                                                ("11/6/2026", NONC, "999", "ECM service",
                                                                 "In person", "30", "")])
    assert run("fill", wb, "--entries", visits).exit_code == 0
    _, closed = close(wb)
    assert claim_lines(closed) == {}
    reasons = {e["Row"]: e["Reason"] for e in exceptions(closed)}
    assert "did you mean 000456789?" in reasons[2]
    assert "did you mean" not in reasons[3] and "Member ID 999 is not on the Members sheet." == reasons[3]


def test_a_required_visit_column_missing_names_all_of_them(tmp_path):
    wb = new_month(tmp_path)
    before = sha256(wb)
    visits = write_csv(tmp_path / "visits.csv", ("Visit Date", "Patient", "Notes"), [("11/3/2026", "x", "")])
    r = run("fill", wb, "--entries", visits)
    assert r.exit_code == 2
    (line,) = r.output.strip().splitlines()
    assert "'Staff ID', 'Member ID', 'Service', 'Contact', 'Minutes' or 'Start' and 'End' columns" in line
    assert "its headers are: Visit Date, Patient, Notes" in line
    assert sha256(wb) == before


# -- Excel durations ----------------------------------------------------------------------
def duration_visits(path: Path) -> Path:
    """An EHR's xlsx export whose Duration column holds Excel durations ([h]:mm), as openpyxl writes them."""
    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["Visit Date", "Employee ID", "CIN", "Service", "Contact Type", "Duration"])
    ws.append([dt.date(2026, 11, 3), CLIN, A, "ECM service", "In person", 45 / 1440])   # 0:45
    ws.append([dt.date(2026, 11, 4), CLIN, A, "ECM service", "In person", 30 / 1440])   # 0:30
    ws.append([dt.date(2026, 11, 5), CLIN, A, "ECM service", "Phone", 45])              # a plain number: minutes
    for row in (2, 3):
        ws.cell(row, 6).number_format = "[h]:mm"
    ws.cell(2, 1).number_format = ws.cell(3, 1).number_format = "m/d/yyyy"
    book.save(path)
    return path


def test_fill_from_xlsx_reads_durations_as_minutes(tmp_path):
    wb = new_month(tmp_path)
    r = run("fill", wb, "--entries", duration_visits(tmp_path / "visits.xlsx"))
    assert r.exit_code == 0, r.output
    ts = [t for t in read_workbook(wb).tables[C.TIMESHEET].rows if t["Date"]]
    assert [t["Minutes"] for t in ts] == [45, 30, 45]
    _, closed = close(wb)
    got = {k: (l["Units"], l["Minutes"]) for k, l in claim_lines(closed).items()}
    # in person 0:45 + 0:30 = 75 min -> 2 units (not 0.03 + 0.02 min -> 1); phone 45 -> 1 unit
    assert got == {(A, "G9008", "U1", ""): (2, 75), (A, "G9008", "U1", "GQ"): (1, 45)}


@pytest.mark.parametrize("fmt", ["[h]:mm", "h:mm", "[mm]", "mm:ss"])
def test_the_timesheet_itself_reads_a_duration_cell_as_minutes(tmp_path, fmt):
    wb = new_month(tmp_path)
    visits = write_csv(tmp_path / "visits.csv", VISIT_HEADERS[:6], [("11/3/2026", CLIN, A, "ECM service",
                                                                     "In person", "1")])
    assert run("fill", wb, "--entries", visits).exit_code == 0
    # the clerk types 0:45 into the Minutes cell: Excel stores 45/1440 of a day under a time format
    book = openpyxl.load_workbook(wb)
    ws = book[C.TIMESHEET]
    col = [c.value for c in ws[1]].index("Minutes") + 1
    ws.cell(2, col).value = 45 / 1440
    ws.cell(2, col).number_format = fmt
    book.save(wb)
    _, closed = close(wb)
    (line,) = claim_lines(closed).values()
    assert (line["Minutes"], line["Units"]) == (45, 1)


# -- R11: Minutes that the documented time does not support; SPEC §4 place of service ------------
def test_minutes_that_disagree_with_start_and_end_are_refused_and_places_warn(tmp_path):
    wb = new_month(tmp_path)
    visits = write_csv(tmp_path / "visits.csv",
                       ("Visit Date", "Employee ID", "CIN", "Service", "Contact", "Time In", "Time Out", "Minutes",
                        "POS"),
                       [("11/16/2026", CLIN, A, "ECM service", "In person", "9:00 AM", "10:00 AM", "45", ""),   # R11
                        ("11/17/2026", CLIN, A, "ECM service", "In person", "", "", "50", "12"),
                        ("11/18/2026", CLIN, A, "ECM service", "In person", "", "", "20", "11")])
    assert run("fill", wb, "--entries", visits).exit_code == 0
    _, closed = close(wb)
    (line,) = claim_lines(closed).values()
    # 50 at home + 20 at the office = 70 min -> 2 units, one line, at home (the most minutes)
    assert (line["Units"], line["Minutes"], line["Place of Service"], line["Source Rows"]) == (2, 70, "12", "3-4")
    rows = {(e["Row"], e["Rule"], e["Severity"]): e["Reason"] for e in exceptions(closed)}
    assert "45" in rows[(2, "R11", "Error")] and "60" in rows[(2, "R11", "Error")]
    assert "row 4 names another place" in rows[(4, "R2", "Warning")]


# -- codes fill wrote, after a Staff Type is corrected -----------------------------------------
def test_codes_filled_for_an_earlier_staff_type_are_refreshed_not_typed_by_hand(tmp_path):
    # E1 is entered as Non-clinical by mistake; fill derives G9012 U2 for her visits
    wb = new_month(tmp_path, staff_rows=[(CLIN, "Nurse Example", "Non-clinical", "1234567893"), STAFF_ROWS[1]])
    visits = write_csv(tmp_path / "visits.csv", ("Visit Date", "Employee ID", "CIN", "Service", "Contact", "Minutes",
                                                 "HCPCS", "Modifier 1"),
                       [("11/3/2026", CLIN, A, "ECM service", "In person", "50", "", ""),
                        ("11/4/2026", CLIN, A, "ECM service", "Phone", "40", "", ""),
                        ("11/5/2026", CLIN, A, "ECM service", "In person", "20", "G9008", "U8")])  # typed: wrong
    assert "codes filled on 2" in run("fill", wb, "--entries", visits).output
    # the clerk corrects the Staff Type on the Staff sheet (in Excel; here with openpyxl)
    book = openpyxl.load_workbook(wb)
    ws = book[C.STAFF]
    for row in ws.iter_rows(min_row=2):
        if row[0].value == CLIN:
            row[2].value = "Clinical"
    book.save(wb)
    _, closed = close(wb)
    errs = {e["Row"]: e["Reason"] for e in exceptions(closed) if e["Rule"] == "R6"}
    assert set(errs) == {2, 3, 4}
    assert "--refresh-codes" in errs[2] and "code for Non-clinical staff" in errs[2]
    assert "--refresh-codes" not in errs[4]           # G9008 U8 is no staff type's code for this row

    r = run("fill", wb, "--refresh-codes")
    assert r.exit_code == 0, r.output
    assert "Refreshed the codes of 2 timesheet rows" in r.output and "(rows 2, 3)" in r.output
    ts = [t for t in read_workbook(wb).tables[C.TIMESHEET].rows if t["Date"]]
    assert [(t["HCPCS"], t["Modifier 1"], t["Modifier 2"]) for t in ts] == [
        ("G9008", "U1", None), ("G9008", "U1", "GQ"), ("G9008", "U8", None)]   # the typed code stays for the close
    _, closed = close(wb)
    got = {k: (l["Units"], l["Charge"]) for k, l in claim_lines(closed).items()}
    assert got == {(A, "G9008", "U1", ""): (1, 160), (A, "G9008", "U1", "GQ"): (1, 160)}   # 50 min, 40 min
    assert [(e["Row"], e["Rule"]) for e in exceptions(closed)] == [(4, "R6")]


def test_fill_wants_entries_or_refresh_codes(tmp_path):
    wb = new_month(tmp_path)
    assert run("fill", wb).exit_code == 2
    assert run("fill", wb, "--refresh-codes").output.startswith("Refreshed the codes of 0 timesheet rows")


SHIPPED_PROFILE = Path(__file__).parents[1] / "ecm_xl" / "profiles" / "chpiv-healthnet-ecm-ffs.toml"


# -- the vocabulary is data a reader extends --------------------------------------------------
def test_a_profile_extends_the_vocabulary(tmp_path):
    base = SHIPPED_PROFILE.read_text(encoding="utf-8")
    extra = textwrap.dedent('''
        [vocabulary.headers]
        "Date" = ["Fecha"]
        "Minutes" = ["Minutos"]
        [vocabulary.values.contact]
        "Phone/Telehealth" = ["Llamada"]
        [vocabulary.durations]
        hours = ["hora", "horas"]
        [vocabulary.dates]
        months = [["Enero"], ["Febrero"], ["Marzo"], ["Abril"], ["Mayo"], ["Junio"], ["Julio"], ["Agosto"],
                  ["Septiembre"], ["Octubre"], ["Noviembre"], ["Diciembre"]]
    ''')
    prof = tmp_path / "clinic.toml"
    prof.write_text(base + extra, encoding="utf-8")
    wb = new_month(tmp_path)
    visits = write_csv(tmp_path / "visits.csv", ("Fecha", "Employee ID", "CIN", "Service", "Contact", "Minutos"),
                       [("Noviembre 3, 2026", CLIN, A, "ECM service", "Llamada", "1.5 horas")])
    r = run("fill", wb, "--entries", visits, "--profile", prof)
    assert r.exit_code == 0, r.output
    (t,) = [t for t in read_workbook(wb).tables[C.TIMESHEET].rows if t["Date"]]
    assert (t["Date"], t["Contact"], t["Minutes"]) == (dt.date(2026, 11, 3), "Phone/Telehealth", 90)
    # the shipped words still work alongside the profile's
    p = load_profile(prof)
    assert p.contact("Video").name == "Phone/Telehealth" and p.contact("llamada").name == "Phone/Telehealth"


def test_one_word_for_two_headers_is_refused_in_one_line(tmp_path):
    from ecm_xl import ProfileError
    base = SHIPPED_PROFILE.read_text(encoding="utf-8")
    prof = tmp_path / "bad.toml"
    prof.write_text(base + '\n[vocabulary.headers]\n"Date" = ["When"]\n"Start" = ["When"]\n', encoding="utf-8")
    with pytest.raises(ProfileError, match="'When' is listed for both header 'Date' and 'Start'"):
        load_profile(prof)

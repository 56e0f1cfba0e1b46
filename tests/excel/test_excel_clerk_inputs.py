"""What clerks type, in Excel: durations in the Minutes column, codes filled for an earlier Staff Type.

Each test drives `ecm_xl.excel` through xlwings' remote engine on a payload
built from a real xlsx file, the way the Lite task pane hands a workbook over.
"""
import datetime as dt

from openpyxl import load_workbook

from ecm_xl import contract as C
from ecm_xl import excel
from ecm_xl.xlsx import read_workbook
from xl_apply import apply_actions
from xl_books import contract_workbook
from xl_payload import actions, make_book, payload_from_xlsx

CLOSE = dt.date(2026, 11, 30)
SETTINGS = {"BillingNPI": "1234567893", "TaxID": "123456789", "BillingMonth": dt.date(2026, 10, 1),
            "DefaultDiagnosis": "Z71.89"}
STAFF = [{"Staff ID": "C1", "Staff Name": "Nurse Example", "Staff Type": "Clinical"},
         {"Staff ID": "N1", "Staff Name": "Worker Example", "Staff Type": "Non-clinical"}]
MEMBERS = [{"Member ID": "91000001A", "Last Name": "Zyxwvutson", "ECM Enrollment Date": dt.date(2026, 9, 1),
            "Eligible From": dt.date(2026, 1, 1)}]


def visit(day, minutes, staff="C1", contact="In person", **cells):
    return {"Date": dt.date(2026, 10, day), "Staff ID": staff, "Member ID": "91000001A", "Service": "ECM service",
            "Contact": contact, "Minutes": minutes, **cells}


def close_in_excel(path):
    book = make_book(payload_from_xlsx(path))
    return excel.monthly_close(book, close_date=CLOSE, notify=False)


def test_minutes_typed_as_durations_bill_as_minutes(tmp_path):
    # 0:45 typed into a Minutes cell (a time value) and 1:30 past-midnight style: Excel hands both
    # over as date-times on its day 0; a plain 20 stays 20 minutes
    path = contract_workbook(tmp_path / "m.xlsx", settings=SETTINGS, staff=STAFF, members=MEMBERS,
                             timesheet=[visit(5, dt.time(0, 45)), visit(6, dt.time(1, 30)), visit(7, 20)])
    r = close_in_excel(path)
    (line,) = r.claim_lines
    # 45 + 90 + 20 = 155 min -> 3 units (not 0.03 + 0.06 + 20 -> 1)
    assert (line.minutes, line.units, line.source_rows) == (155, 3, (2, 3, 4))
    assert not [p for p in r.problems if p.severity == "Error"]


def test_a_bare_fraction_of_a_day_is_refused_not_billed_as_a_fraction_of_a_minute(tmp_path):
    # A client that hands an [h]:mm cell over as its number (0.03125 of a day) with no format to go by:
    # the close names it rather than bill 0.03 minutes
    path = contract_workbook(tmp_path / "m.xlsx", settings=SETTINGS, staff=STAFF, members=MEMBERS,
                             timesheet=[visit(5, 45 / 1440), visit(6, 30)])
    r = close_in_excel(path)
    (line,) = r.claim_lines
    assert (line.minutes, line.units, line.source_rows) == (30, 1, (3,))
    (p,) = [p for p in r.problems if p.severity == "Error"]
    assert (p.rule, p.row, p.column) == ("R11", 2, "Minutes")
    assert "If the cell shows 0:45, that is a duration: type the minutes (45)" in p.reason


def test_refresh_codes_updates_codes_filled_for_an_earlier_staff_type(tmp_path):
    # C1 was Non-clinical when Fill codes ran (G9012 U2 / U2 GQ); she is Clinical now. Row 4's code
    # was typed by hand and is no staff type's code for its row: it stays, and the close refuses it.
    rows = [visit(5, 50, HCPCS="G9012", **{"Modifier 1": "U2"}),
            visit(6, 40, contact="Phone/Telehealth", HCPCS="G9012", **{"Modifier 1": "U2", "Modifier 2": "GQ"}),
            visit(7, 20, HCPCS="G9008", **{"Modifier 1": "U8"}),
            visit(8, 30)]
    path = contract_workbook(tmp_path / "m.xlsx", settings=SETTINGS, staff=STAFF, members=MEMBERS, timesheet=rows)
    before = close_in_excel(path)
    r6 = {p.row: p.reason for p in before.problems if p.rule == "R6"}
    assert set(r6) == {2, 3, 4} and "Refresh codes" in r6[2] and "Refresh codes" not in r6[4]

    book = make_book(payload_from_xlsx(path))
    filled = excel.refresh_codes(book)
    assert filled == {2: ("G9008", "U1", ""), 3: ("G9008", "U1", "GQ"), 5: ("G9008", "U1", "")}
    acts = actions(book)
    alert = acts[-1]["args"][0]
    assert "Filled the codes of 1 timesheet row." in alert and "Refreshed 2 rows" in alert and "(rows 2-3)" in alert
    wb = load_workbook(path)
    apply_actions(wb, acts)
    wb.save(tmp_path / "refreshed.xlsx")
    ts = read_workbook(tmp_path / "refreshed.xlsx").tables[C.TIMESHEET].rows
    assert [(t["HCPCS"], t["Modifier 1"], t["Modifier 2"] or "") for t in ts] == [
        ("G9008", "U1", ""), ("G9008", "U1", "GQ"), ("G9008", "U8", ""), ("G9008", "U1", "")]
    after = close_in_excel(tmp_path / "refreshed.xlsx")
    # in person 50 + 30 = 80 min -> 2 units x $160; phone 40 -> 1 unit x $160; row 4 still refused (R6)
    assert {(l.modifier_2, l.units, l.charge) for l in after.claim_lines} == {("", 2, 320.0), ("GQ", 1, 160.0)}
    assert [(p.row, p.rule) for p in after.problems if p.severity == "Error"] == [(4, "R6")]


def test_fill_codes_alone_leaves_typed_codes_as_they_are(tmp_path):
    rows = [visit(5, 50, HCPCS="G9012", **{"Modifier 1": "U2"}), visit(8, 30)]
    path = contract_workbook(tmp_path / "m.xlsx", settings=SETTINGS, staff=STAFF, members=MEMBERS, timesheet=rows)
    book = make_book(payload_from_xlsx(path))
    assert excel.fill_timesheet(book) == {3: ("G9008", "U1", "")}

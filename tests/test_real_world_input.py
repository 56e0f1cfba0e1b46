"""What clinics' sheets actually hold, read the way a clerk meant it."""
import datetime as dt

import pandas as pd
import pytest

from ecm_xl import Table
from month import STAFF, billed_rows, close, errors, row

A = "91000001A"


@pytest.mark.parametrize("date", [
    46300,                                  # Excel serial for 10/5/2026
    46300.0,
    dt.datetime(2026, 10, 5, 0, 0),
    dt.date(2026, 10, 5),
    "2026-10-05",
    "2026-10-05 00:00:00",
    "10/5/2026",
    "10/05/26",
    " 10/5/2026 ",
])
def test_dates_as_clinics_type_them(date):
    r = close([row(date=date)])
    (line,) = r.claim_lines
    assert line.from_date == dt.date(2026, 10, 5)


@pytest.mark.parametrize("start,end", [
    (0.375, 0.4375),                        # day fractions: 9:00 and 10:30
    (dt.time(9, 0), dt.time(10, 30)),
    ("9:00 AM", "10:30 AM"),
    ("9:00am", "10:30 am"),
    ("09:00", "10:30:00"),
    (dt.datetime(2026, 10, 5, 9, 0), dt.datetime(2026, 10, 5, 10, 30)),
])
def test_times_as_clinics_type_them(start, end):
    r = close([row(minutes=None, Start=start, End=end)])
    (line,) = r.claim_lines
    assert (line.minutes, line.units) == (90, 2)


@pytest.mark.parametrize("minutes", ["45", " 45 ", "45 min", 45.0, "0:45", dt.time(0, 45)])
def test_minutes_typed_as_text_or_durations(minutes):
    r = close([row(minutes=minutes)])
    assert r.claim_lines[0].minutes == 45


def test_blank_rows_are_skipped_silently():
    r = close([{}, {"Date": None, "Staff ID": "  ", "Minutes": None}, row(), {"Notes": "left blank"}])
    assert billed_rows(r) == {4} and r.problems == [] and r.totals.rows_in == 1


def test_ids_typed_as_numbers_match_text_ids_and_leading_zeros_stay():
    staff = STAFF + [{"Staff ID": 123, "Staff Name": "Num", "Staff Type": "Clinical"},
                     {"Staff ID": "00123", "Staff Name": "Zero", "Staff Type": "Non-clinical"}]
    r = close([row(staff=123.0), row(staff="123", Start="13:00"), row(staff="00123", Start="16:00")], staff=staff)
    assert {(l.hcpcs, l.source_rows) for l in r.claim_lines} == {("G9008", (2, 3)), ("G9012", (4,))}


def test_labels_with_stray_spaces_and_case():
    r = close([row(service="  ecm  Service ", contact="PHONE / telehealth", staff=" C1 ")])
    (line,) = r.claim_lines
    assert (line.hcpcs, line.modifier_2) == ("G9008", "GQ")


@pytest.mark.parametrize("column,value", [
    ("Date", "13/45/2026"), ("Date", "yesterday"), ("Date", True), ("Start", "nine-ish"),
    ("End", "25:00"), ("Minutes", "an hour"), ("Date", 99999999),
])
def test_what_cant_be_understood_is_an_error_naming_row_and_column(column, value):
    cells = row(Start="9:00")
    cells[column] = value
    r = close([row(date="10/1/2026"), cells])
    (p,) = errors(r)
    assert (p.row, p.column, p.severity, p.sheet) == (3, column, "Error", "Timesheet")
    assert str(value).lower() in p.reason.lower()  # the cell as Excel shows it
    assert billed_rows(r) == {2}


def test_a_dataframe_and_a_table_with_its_own_first_row():
    df = pd.DataFrame([row(), row(staff="ZZ")])
    r = close(df)
    assert [p.row for p in errors(r)] == [3]
    r = close(Table([row(), row(staff="ZZ")], first_row=7))
    assert [p.row for p in errors(r)] == [8] and r.claim_lines[0].source_rows == (7,)


def test_headers_are_matched_ignoring_case_and_spacing():
    r = close([{"date": "10/5/2026", "STAFF ID": "C1", "member id": A, "Service": "ECM service",
                "contact": "In person", "minutes": 30}])
    assert billed_rows(r) == {2}


def test_an_ehr_export_handed_to_the_engine_with_its_own_headers_and_words():
    # a DataFrame straight from an EHR: its headers and values, read through the vocabulary
    df = pd.DataFrame([
        {"Visit Date": "Oct 5, 2026", "Employee ID": "C1", "CIN": A, "Service Type": "ECM",
         "Contact Type": "Video", "Duration": "1h 30m"},
        {"Visit Date": "6-Oct-2026", "Employee ID": "C1", "CIN": A, "Service Type": "ECM service",
         "Contact Type": "Phone", "Duration": "45 min"},
        {"Visit Date": "October 7, 2026", "Employee ID": "N1", "CIN": "91000002B", "Service Type": "Outreach",
         "Contact Type": "Bulk text", "Duration": "5"},
    ])
    r = close(df)
    (line,) = r.claim_lines
    # 90 + 45 = 135 min of clinical telehealth care -> 3 units; the bulk text is mass communication (R4)
    assert (line.hcpcs, line.modifier_2, line.minutes, line.units) == ("G9008", "GQ", 135, 3)
    (p,) = errors(r)
    assert (p.rule, p.row) == ("R4", 4)


def test_a_header_the_table_has_wins_over_another_systems_word_for_it():
    # "Minutes" is there: "Duration" is some other column and is not read as minutes
    r = close([{**row(minutes=30), "Duration": "2 hrs"}])
    assert r.claim_lines[0].minutes == 30


@pytest.mark.parametrize("fmt,duration", [
    ("[h]:mm", True), ("h:mm", True), ("[mm]", True), ("mm:ss", True), ("[h]:mm:ss", True), ("h:mm AM/PM", True),
    ("General", False), ("0", False), ("0.00", False), ("m/d/yyyy", False), ("mmm-yy", False),
    ("yyyy-mm-dd h:mm", False), ('0 "min"', False), ("@", False), (None, False),
])
def test_which_number_formats_hold_durations(fmt, duration):
    # the Excel layer turns a Minutes number into a duration only under a time format; a plain number is minutes
    from ecm_xl.values import is_duration_format
    assert is_duration_format(fmt) is duration

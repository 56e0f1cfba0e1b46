"""Every billing rule of SPEC §2, each shown billing and refusing, on the SPEC's examples."""
import datetime as dt

import pytest

from month import (MEMBERS, SETUP, STAFF, billed_rows, close, errors, lines_by_code, row, warnings)

A, B, C = "91000001A", "91000002B", "91000003C"


# -- R1 unit ------------------------------------------------------------------
def test_r1_one_hour_is_one_unit():
    r = close([row(minutes=60)])
    assert [l.units for l in r.claim_lines] == [1]


def test_r1_unit_length_comes_from_setup():
    r = close([row(minutes=60)], setup={**SETUP, "UnitMinutes": 30})
    assert [l.units for l in r.claim_lines] == [2]


def test_r1_refuses_a_unit_length_that_is_not_minutes():
    r = close([row(minutes=61)], setup={**SETUP, "UnitMinutes": "an hour"})
    (p,) = [p for p in r.problems if p.rule == "R1"]
    assert p.sheet == "Setup" and p.column == "UnitMinutes" and "60" in p.reason
    assert [l.units for l in r.claim_lines] == [2]  # the plan's 60 minutes


# -- R2 care time rounds once a month -------------------------------------------
@pytest.mark.parametrize("minutes,units", [([50, 20], 2), ([60], 1), ([61], 2), ([15, 15, 15, 15], 1), ([1], 1)])
def test_r2_sums_then_rounds_up_once(minutes, units):
    rows = [row(date=f"10/{i + 1}/2026", minutes=m) for i, m in enumerate(minutes)]
    r = close(rows)
    (line,) = r.claim_lines
    assert (line.minutes, line.units) == (sum(minutes), units)


def test_r2_team_care_sums_every_staff_members_time():
    r = close([row(staff="C1", minutes=40), row(staff="C2", minutes=40, Start="13:00")])
    (line,) = r.claim_lines
    assert (line.hcpcs, line.modifier_1, line.units, line.source_rows) == ("G9008", "U1", 2, (2, 3))


def test_r2_partial_hours_never_carry_into_another_month():
    setup = {k: v for k, v in SETUP.items() if k != "BillingMonth"}
    r = close([row(date="10/30/2026", minutes=30), row(date="11/2/2026", minutes=30)], setup=setup)
    assert sorted((l.from_date.month, l.units) for l in r.claim_lines) == [(10, 1), (11, 1)]
    assert len({l.claim_id for l in r.claim_lines}) == 2


def test_r2_groups_by_code_so_contact_and_staff_type_do_not_mix():
    r = close([row(minutes=30), row(minutes=30, contact="Phone/Telehealth", Start="14:00"),
               row(staff="N1", minutes=30)])
    assert sorted((l.hcpcs, l.modifier_1, l.modifier_2, l.units) for l in r.claim_lines) == [
        ("G9008", "U1", "", 1), ("G9008", "U1", "GQ", 1), ("G9012", "U2", "", 1)]


# -- R3 outreach ----------------------------------------------------------------
def test_r3_each_outreach_attempt_is_one_unit_whatever_its_minutes():
    rows = [row(member=B, service="Outreach attempt", minutes=m, date=f"10/{d}/2026")
            for d, m in ((1, 5), (2, 200), (3, 61))]
    r = close(rows)
    (line,) = r.claim_lines
    assert (line.hcpcs, line.modifier_1, line.units, line.minutes) == ("G9008", "U8", 3, 266)


def test_r3_outreach_minutes_never_add_to_care_time():
    r = close([row(service="Outreach attempt", member=B, minutes=50, date="10/2/2026"),
               row(service="ECM service", member=B, minutes=50, date="10/21/2026")])
    got = lines_by_code(r)
    assert got[(B, "G9008", "U8", "")].units == 1
    assert got[(B, "G9008", "U1", "")].units == 1 and got[(B, "G9008", "U1", "")].minutes == 50


def test_r3_refuses_outreach_on_or_after_enrollment():
    r = close([row(member=B, service="Outreach attempt", date="10/20/2026", minutes=10),
               row(member=B, service="Outreach attempt", date="10/19/2026", minutes=10)])
    (p,) = errors(r, "R3")
    assert p.row == 2 and "enrolled" in p.reason and "10/20/2026" in p.reason
    assert billed_rows(r) == {3}


def test_r3_refuses_care_dated_before_enrollment_and_keeps_it_out_of_the_months_minutes():
    # B enrolls 10/20: 45 min of care on 10/5 can't bill; 30 min on 10/21 is 1 unit alone,
    # not (45 + 30 = 75 min ->) 2 units
    r = close([row(member=B, date="10/5/2026", minutes=45), row(member=B, date="10/21/2026", minutes=30)])
    (p,) = errors(r, "R3")
    assert p.row == 2 and p.column == "Service" and "10/20/2026" in p.reason
    (line,) = r.claim_lines
    assert (line.minutes, line.units, line.source_rows) == (30, 1, (3,))
    assert (r.totals.minutes_billed, r.totals.minutes_not_billed) == (30, 45)


def test_r3_warns_when_a_member_has_no_enrollment_date_and_bills():
    members = [{**MEMBERS[0], "ECM Enrollment Date": None}]
    r = close([row(minutes=30)], members=members)
    (p,) = warnings(r, "R3")
    assert p.row == 2 and "no ECM Enrollment Date" in p.reason and billed_rows(r) == {2}


# -- R4 mass communication -------------------------------------------------------
def test_r4_refuses_mass_communication():
    r = close([row(member=B, service="Outreach attempt", contact="Mass communication", minutes=1)])
    (p,) = errors(r, "R4")
    assert p.column == "Contact" and "mass" in p.reason.lower()
    assert r.claim_lines == []


def test_r4_individual_text_or_email_counts_as_gq():
    r = close([row(member=B, service="Outreach attempt", contact="Text/Email", minutes=3)])
    (line,) = r.claim_lines
    assert (line.hcpcs, line.modifier_1, line.modifier_2, line.units) == ("G9008", "U8", "GQ", 1)


# -- R5 code follows staff type, service and contact (the flyer's table) -----------
FLYER = [  # staff, service, contact, HCPCS, Mod 1, Mod 2 — from the flyer via SPEC §2 R5
    ("C1", "ECM service", "In person", "G9008", "U1", ""),
    ("C1", "ECM service", "Phone/Telehealth", "G9008", "U1", "GQ"),
    ("C1", "ECM service", "Text/Email", "G9008", "U1", "GQ"),
    ("C1", "Outreach attempt", "In person", "G9008", "U8", ""),
    ("C1", "Outreach attempt", "Phone/Telehealth", "G9008", "U8", "GQ"),
    ("N1", "ECM service", "In person", "G9012", "U2", ""),
    ("N1", "ECM service", "Phone/Telehealth", "G9012", "U2", "GQ"),
    ("N1", "Outreach attempt", "In person", "G9012", "U8", ""),
    ("N1", "Outreach attempt", "Text/Email", "G9012", "U8", "GQ"),
]


@pytest.mark.parametrize("staff,service,contact,hcpcs,m1,m2", FLYER)
def test_r5_code_table(staff, service, contact, hcpcs, m1, m2):
    member = B if service == "Outreach attempt" else A
    r = close([row(staff=staff, member=member, service=service, contact=contact, minutes=20)])
    (line,) = r.claim_lines
    assert (line.hcpcs, line.modifier_1, line.modifier_2) == (hcpcs, m1, m2)


def test_r5_refuses_a_staff_member_without_a_type():
    staff = STAFF + [{"Staff ID": "X1", "Staff Name": "New Hire", "Staff Type": ""}]
    r = close([row(staff="X1")], staff=staff)
    assert [p.column for p in warnings(r, "R5")] == ["Staff Type"]
    (p,) = errors(r, "R5")
    assert p.row == 2 and "Staff Type" in p.reason and r.claim_lines == []


def test_r5_refuses_a_service_not_on_the_list():
    r = close([row(service="Lunch")])
    (p,) = errors(r, "R5")
    assert p.column == "Service" and "'Lunch'" in p.reason


# -- R6 a typed code must agree ----------------------------------------------------
def test_r6_bills_a_typed_code_that_agrees_even_with_stray_spaces_and_case():
    r = close([row(contact="Phone/Telehealth", HCPCS=" g9008", Modifier_1="u1 ", Modifier_2="GQ")])
    assert [(l.hcpcs, l.modifier_2) for l in r.claim_lines] == [("G9008", "GQ")]


def test_r6_fills_blank_code_cells_around_a_typed_one():
    r = close([row(contact="Phone/Telehealth", HCPCS="G9008")])
    assert [(l.hcpcs, l.modifier_1, l.modifier_2) for l in r.claim_lines] == [("G9008", "U1", "GQ")]


def test_r6_refuses_a_typed_code_for_the_wrong_staff_type():
    r = close([row(staff="C1", HCPCS="G9012", Modifier_1="U2")])
    (p,) = errors(r, "R6")
    assert p.column == "HCPCS" and "G9008 U1" in p.reason and r.claim_lines == []


def test_r6_refuses_gq_on_an_in_person_row():
    r = close([row(HCPCS="G9008", Modifier_1="U1", Modifier_2="GQ")])
    (p,) = errors(r, "R6")
    assert p.column == "Modifier 2"


def test_r6_refuses_a_place_of_service_that_is_not_a_code():
    r = close([row(Place_of_Service="Kitchen")])
    (p,) = errors(r, "R6")
    assert p.column == "Place of Service"


# -- R7 not reimbursable ---------------------------------------------------------
@pytest.mark.parametrize("activity", ["Administrative overhead", "Billing / claims submission",
                                      "covered under another contract"])
def test_r7_refuses_non_reimbursable_activities(activity):
    r = close([row(Activity=activity)])
    (p,) = errors(r, "R7")
    assert p.column == "Activity" and "not reimbursable" in p.reason and r.claim_lines == []


def test_r7_bills_reimbursable_activities_and_blank_ones():
    r = close([row(Activity="Care coordination"), row(Activity=None, Start="14:00")])
    assert billed_rows(r) == {2, 3}


def test_r7_uses_the_workbooks_activity_list():
    acts = [{"Activity": "Street medicine walk", "Billable": "Yes"}, {"Activity": "Staff meeting", "Billable": "No"}]
    r = close([row(Activity="Street medicine walk"), row(Activity="Staff meeting", Start="14:00")], activities=acts)
    assert billed_rows(r) == {2} and [p.row for p in errors(r, "R7")] == [3]


def test_r7_refuses_an_activity_it_cannot_judge():
    r = close([row(Activity="Stuff")])
    (p,) = errors(r, "R7")
    assert "not on the Activities list" in p.reason


# -- R8 eligibility ----------------------------------------------------------------
def test_r8_bills_only_inside_an_eligibility_span():
    r = close([row(member=C, date="10/10/2026", minutes=30), row(member=C, date="10/15/2026", minutes=30),
               row(member=C, date="10/20/2026", minutes=30)])
    assert billed_rows(r) == {2, 4}
    (p,) = errors(r, "R8")
    assert p.row == 3 and "not eligible on 10/15/2026" in p.reason and "10/20/2026 to open" in p.reason


def test_r8_refuses_a_member_with_no_eligibility():
    members = MEMBERS + [{"Member ID": "91000009Z", "Last Name": "Zed", "Eligible From": None}]
    r = close([row(member="91000009Z")], members=members)
    (p,) = errors(r, "R8")
    assert "no eligibility" in p.reason


# -- R9 billing period ----------------------------------------------------------------
def test_r9_refuses_rows_outside_the_billing_month():
    r = close([row(date="9/30/2026"), row(date="10/1/2026"), row(date="11/1/2026")])
    assert billed_rows(r) == {3}
    assert [p.row for p in errors(r, "R9")] == [2, 4]


def test_r9_without_a_billing_month_every_month_is_billed():
    setup = {k: v for k, v in SETUP.items() if k != "BillingMonth"}
    r = close([row(date="9/30/2026"), row(date="10/1/2026")], setup=setup)
    assert billed_rows(r) == {2, 3}


def test_r9_month_given_to_the_close_overrides_setup():
    r = close([row(date="9/30/2026"), row(date="10/1/2026")], billing_month="2026-09")
    assert billed_rows(r) == {2}


def test_r9_an_unreadable_billing_month_bills_nothing():
    r = close([row()], setup={**SETUP, "BillingMonth": "soon"})
    assert r.claim_lines == [] and errors(r, "R9")


# -- R10 unknown references ------------------------------------------------------------
def test_r10_refuses_unknown_staff_and_members():
    r = close([row(staff="ZZ"), row(member="00000000X", Start="15:00"), row(Start="16:00")])
    assert billed_rows(r) == {4}
    assert {(p.row, p.column) for p in errors(r, "R10")} == {(2, "Staff ID"), (3, "Member ID")}


# -- R11 time must be sane ----------------------------------------------------------------
@pytest.mark.parametrize("minutes", [0, -5, 1441, "abc", None])
def test_r11_refuses_minutes_out_of_range_or_unreadable(minutes):
    r = close([row(minutes=minutes)])
    (p,) = errors(r, "R11")
    assert p.column == "Minutes" and r.claim_lines == []


def test_r11_minutes_from_start_and_end():
    r = close([row(minutes=None, Start="9:00 AM", End="10:30 AM")])
    (line,) = r.claim_lines
    assert (line.minutes, line.units) == (90, 2)


def test_r11_refuses_end_before_start():
    r = close([row(minutes=None, Start="10:30", End="9:00")])
    (p,) = errors(r, "R11")
    assert p.column == "End" and "End 9:00 AM is not after Start 10:30 AM" in p.reason and "PM" in p.reason


def test_r11_refuses_overlapping_time_for_one_staff_member():
    r = close([row(Start="9:00", minutes=60), row(member=C, Start="9:30", minutes=30),
               row(Start="10:00", minutes=30, date="10/5/2026")])
    assert {p.row for p in errors(r, "R11")} == {2, 3}
    assert billed_rows(r) == {4}  # 10:00 touches 9:00-10:00, doesn't overlap


def test_r11_different_staff_may_see_a_member_at_the_same_time():
    r = close([row(staff="C1", Start="9:00"), row(staff="N1", Start="9:00")])
    assert billed_rows(r) == {2, 3}


def test_r11_refuses_a_day_of_more_than_24_hours():
    r = close([row(minutes=800), row(member=C, minutes=700)])
    assert {p.row for p in errors(r, "R11")} == {2, 3}


def test_r11_refuses_minutes_that_disagree_with_start_and_end():
    # 45 typed, 9:00 to 10:00 is 60: more than a minute apart -> not billed until corrected
    r = close([row(minutes=45, Start="9:00", End="10:00"), row(minutes=60, Start="13:00", End="14:01", date="10/6/2026")])
    (p,) = errors(r, "R11")
    assert (p.row, p.column) == (2, "Minutes") and "45" in p.reason and "60" in p.reason
    assert billed_rows(r) == {3}                  # 60 vs 61: within a minute, bills the Minutes
    assert r.claim_lines[0].minutes == 60 and not warnings(r, "R11")


# -- R12 duplicates ---------------------------------------------------------------------
def test_r12_bills_the_first_and_refuses_the_copy():
    r = close([row(Start="9:00"), row(Start="9:00")])
    (p,) = errors(r, "R12")
    assert p.row == 3 and "row 2" in p.reason
    assert billed_rows(r) == {2} and not errors(r, "R11")


def test_r12_a_different_start_is_not_a_duplicate():
    r = close([row(Start="9:00"), row(Start="11:00")])
    assert billed_rows(r) == {2, 3}


# -- R13 timely filing -------------------------------------------------------------------
ENROLLED_2025 = [{**MEMBERS[0], "ECM Enrollment Date": dt.date(2025, 12, 1)}]   # January care is after enrollment (R3)


def test_r13_late_service_is_billed_with_a_warning():
    r = close([row(date="1/15/2026")], members=ENROLLED_2025, setup={**SETUP, "BillingMonth": "2026-01"},
              close_date=dt.date(2026, 8, 1))
    (p,) = warnings(r, "R13")
    assert billed_rows(r) == {2} and "182 days" in p.reason


def test_r13_inside_the_filing_limit_no_warning():
    r = close([row(date="1/15/2026")], members=ENROLLED_2025, setup={**SETUP, "BillingMonth": "2026-01"},
              close_date=dt.date(2026, 7, 30))
    assert not warnings(r, "R13") and billed_rows(r) == {2}


def test_r13_filing_limit_from_setup():
    r = close([row(date="10/5/2026")], setup={**SETUP, "FilingLimitDays": 20})
    assert warnings(r, "R13")


# -- R14 nothing lost ---------------------------------------------------------------------
def test_r14_every_row_is_billed_or_an_error_and_minutes_reconcile():
    rows = [row(minutes=50), row(minutes=20, Start="15:00"), row(staff="ZZ", minutes=30),
            row(contact="Mass communication", member=B, service="Outreach attempt", minutes=7), {}, {"Notes": "x"}]
    r = close(rows)
    t = r.totals
    refused = {p.row for p in errors(r)}
    assert billed_rows(r) | refused == {2, 3, 4, 5} and not billed_rows(r) & refused
    assert (t.rows_in, t.rows_billed, t.rows_not_billed) == (4, 2, 2)
    assert (t.minutes_in, t.minutes_billed, t.minutes_not_billed) == (107, 70, 37)
    assert sum(s.units for s in r.summary) == sum(l.units for l in r.claim_lines) == t.units == 2


# -- R15 approval ----------------------------------------------------------------------------
def test_r15_with_approval_required_only_approved_rows_bill():
    setup = {**SETUP, "ApprovalRequired": "Yes"}
    r = close([row(Approved="Yes"), row(Approved="", Start="14:00"), row(Approved="No", Start="16:00")], setup=setup)
    assert billed_rows(r) == {2}
    assert [p.row for p in errors(r, "R15")] == [3, 4]


def test_r15_without_approval_required_unapproved_rows_bill():
    r = close([row(Approved=None)], setup={**SETUP, "ApprovalRequired": "No"})
    assert billed_rows(r) == {2}


# -- claim lines (SPEC §4) ------------------------------------------------------------------
def test_claim_id_is_stable_unique_and_fits_the_837p():
    r1 = close([row(), row(member=C, Start="14:00")])
    r2 = close([row(member=C, Start="14:00"), row()])
    ids = {l.member_id: l.claim_id for l in r1.claim_lines}
    assert ids == {l.member_id: l.claim_id for l in r2.claim_lines}
    assert len(set(ids.values())) == 2 and all(len(i) <= 20 and i.isalnum() for i in ids.values())
    r3 = close([row()], setup={**SETUP, "BillingNPI": "1245319599"})
    assert r3.claim_lines[0].claim_id != ids[A]


def test_place_of_service_takes_the_place_with_most_minutes_and_warns_with_the_other_rows():
    # home (12): 20 + 25 = 45 min, office (11): 30 min -> one line at 12, 75 min -> 2 units
    r = close([row(minutes=20, Place_of_Service="12"), row(minutes=30, Place_of_Service="11", Start="13:00"),
               row(minutes=25, Place_of_Service=12, Start="15:00")])
    (line,) = r.claim_lines
    assert (line.place_of_service, line.units) == ("12", 2)
    (p,) = warnings(r, "R2")
    assert (p.row, p.column, p.severity) == (3, "Place of Service", "Warning")
    assert "row 3 names another place" in p.reason and "12" in p.reason


def test_one_place_of_service_gives_no_warning():
    r = close([row(minutes=20, Place_of_Service="12"), row(minutes=30, Start="13:00", Place_of_Service="12")])
    assert r.claim_lines[0].place_of_service == "12" and not warnings(r)


def test_place_of_service_defaults_by_contact():
    r = close([row(), row(contact="Phone/Telehealth", Start="14:00")],
              setup={**SETUP, "DefaultPlaceOfService": "12"})
    assert {l.modifier_2: l.place_of_service for l in r.claim_lines} == {"": "12", "GQ": "10"}


def test_rate_and_charge_come_from_the_workbooks_code_table():
    codes = [{"HCPCS": "G9008", "Modifier 1": "U1", "Modifier 2": "", "Rate": "123.45"},
             {"HCPCS": "G9008", "Modifier 1": "U1", "Modifier 2": "GQ", "Rate": None}]
    r = close([row(minutes=90), row(contact="Phone/Telehealth", Start="14:00")], codes=codes)
    got = {l.modifier_2: (l.units, l.rate, l.charge) for l in r.claim_lines}
    assert got == {"": (2, 123.45, 246.90), "GQ": (1, None, None)}
    (p,) = [p for p in warnings(r) if "No rate" in p.reason]
    assert "G9008 U1 GQ" in p.reason
    assert r.totals.charge == 246.90


def test_diagnosis_from_member_else_setup_default():
    r = close([row(member=A), row(member=B, service="Outreach attempt", Start="14:00")])
    assert {l.member_id: l.diagnosis for l in r.claim_lines} == {A: "Z59.00", B: "Z71.89"}


def test_summary_matches_claim_lines():
    r = close([row(minutes=50), row(minutes=20, Start="15:00"), row(staff="N1", member=C, minutes=45)])
    assert [(s.member_id, s.hcpcs, s.minutes, s.units, s.charge) for s in r.summary] == \
        [(l.member_id, l.hcpcs, l.minutes, l.units, l.charge) for l in r.claim_lines]
    assert r.summary[0].member_name == "Alpha, Ann" and r.summary[0].hours == round(70 / 60, 2)


def test_r10_roster_rows_without_an_id_are_flagged_not_silently_dropped():
    staff = STAFF + [{"Staff ID": None, "Staff Name": "Nameless", "Staff Type": "Clinical"}, {}]
    members = MEMBERS + [{"Member ID": "", "Last Name": "Idless"}]
    r = close([row()], staff=staff, members=members)
    got = {(p.sheet, p.row, p.column) for p in warnings(r, "R10")}
    assert got == {("Staff", len(STAFF) + 2, "Staff ID"), ("Members", len(MEMBERS) + 2, "Member ID")}
    assert billed_rows(r) == {2}


def test_r13_refuses_a_filing_limit_that_is_not_days():
    r = close([row(date="1/15/2026")], members=ENROLLED_2025,
              setup={**SETUP, "BillingMonth": "2026-01", "FilingLimitDays": "six months"},
              close_date=dt.date(2026, 7, 30))
    (p,) = [p for p in r.problems if p.sheet == "Setup"]
    assert (p.rule, p.column) == ("R13", "FilingLimitDays") and "180" in p.reason
    assert [q.sheet for q in warnings(r, "R13")] == ["Setup"]   # the plan's 180 days: the row isn't late
    assert billed_rows(r) == {2}

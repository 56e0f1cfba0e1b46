"""R2 and R14 over random timesheets: rounding once per group, and nothing lost."""
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from month import SETUP, billed_rows, close, errors

STAFF_IDS = ["C1", "C2", "N1", "N2", "ZZ"]            # ZZ is not on the Staff sheet
MEMBER_IDS = ["91000001A", "91000002B", "91000003C", "404"]
SERVICES = ["ECM service", "Outreach attempt", "ecm SERVICE", "Lunch"]
CONTACTS = ["In person", "Phone/Telehealth", "Text/Email", "Mass communication"]
ACTIVITIES = [None, "Care coordination", "Administrative overhead", "Health promotion / education"]


@st.composite
def timesheets(draw):
    n = draw(st.integers(min_value=0, max_value=40))
    rows = []
    for _ in range(n):
        minutes = draw(st.one_of(st.integers(min_value=1, max_value=240), st.sampled_from([0, -10, 1500])))
        r = {
            "Date": f"{draw(st.sampled_from([9, 10, 10, 10, 11]))}/{draw(st.integers(1, 28))}/2026",
            "Staff ID": draw(st.sampled_from(STAFF_IDS)),
            "Member ID": draw(st.sampled_from(MEMBER_IDS)),
            "Service": draw(st.sampled_from(SERVICES)),
            "Contact": draw(st.sampled_from(CONTACTS)),
            "Activity": draw(st.sampled_from(ACTIVITIES)),
            "Minutes": draw(st.sampled_from([minutes, str(minutes)])),
            "Start": draw(st.one_of(st.none(), st.sampled_from(["8:00", "9:00", "9:30", "13:00", "15:15"]))),
        }
        rows.append(r)
        if rows and draw(st.integers(0, 9)) == 0:  # sometimes a copy of an earlier row
            rows.append(dict(draw(st.sampled_from(rows))))
        if draw(st.integers(0, 14)) == 0:          # and sometimes a blank row
            rows.append({})
    month = draw(st.sampled_from([None, "2026-10"]))
    return rows, month


def _minutes(cell):
    return float(cell)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(timesheets())
def test_r14_nothing_is_lost(case):
    rows, month = case
    setup = dict(SETUP, BillingMonth=month)
    r = close(rows, setup=setup)
    t = r.totals
    in_rows = {2 + i for i, row in enumerate(rows) if row}
    refused = {p.row for p in errors(r) if p.sheet == "Timesheet"}
    billed = billed_rows(r)

    # every non-blank row is billed xor shown as an Error; blank rows are neither
    assert billed | refused == in_rows
    assert not billed & refused
    # no row is in two groups
    sources = [s for line in r.claim_lines for s in line.source_rows]
    assert len(sources) == len(set(sources))
    # minutes billed + not billed = minutes in; units agree between Summary and Claim
    assert t.rows_in == len(in_rows) and t.rows_billed + t.rows_not_billed == t.rows_in
    assert math.isclose(t.minutes_billed + t.minutes_not_billed, t.minutes_in)
    good_minutes = sum(_minutes(row["Minutes"]) for i, row in enumerate(rows)
                       if row and 0 < _minutes(row["Minutes"]) <= 1440)
    assert math.isclose(t.minutes_in, good_minutes)
    assert sum(s.units for s in r.summary) == sum(l.units for l in r.claim_lines) == t.units
    assert math.isclose(t.minutes_billed, sum(l.minutes for l in r.claim_lines))


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(timesheets())
def test_r2_rounds_once_per_member_month_and_code(case):
    rows, month = case
    r = close(rows, setup=dict(SETUP, BillingMonth=month))
    by_row = {2 + i: row for i, row in enumerate(rows)}
    for line in r.claim_lines:
        src = [by_row[s] for s in line.source_rows]
        months = {tuple(row["Date"].split("/")[0:1]) for row in src}
        assert len(months) == 1, "a group never spans two months"
        assert {row["Member ID"] for row in src} == {line.member_id}
        minutes = sum(_minutes(row["Minutes"]) for row in src)
        if line.modifier_1 == "U8":   # outreach: one unit per attempt
            assert line.units == len(src)
        else:                          # care: round up once, at the end
            assert line.units == math.ceil(minutes / 60)
            assert (line.units - 1) * 60 < minutes <= line.units * 60
    summary = {(s.month, s.member_id, s.hcpcs, s.modifier_1, s.modifier_2): s.units for s in r.summary}
    claims = {(l.from_date.replace(day=1), l.member_id, l.hcpcs, l.modifier_1, l.modifier_2): l.units
              for l in r.claim_lines}
    assert summary == claims

"""The demo month: realistic, stable, and touching every billing rule of SPEC §2."""
from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter

import pytest

from ecm_xl import api
from ecm_xl import contract as C
from ecm_xl.demo import DEMO_CLOSE_DATE, make_month
from ecm_xl.values import npi_is_valid
from ecm_xl.xlsx import read_workbook


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return api.demo(tmp_path_factory.mktemp("demo") / "d")


def test_same_seed_same_month_other_seed_other_month():
    assert make_month() == make_month()
    assert make_month(7).entries != make_month().entries


def test_month_looks_like_a_clinic():
    m = make_month()
    ids = {r["Member ID"] for r in m.members}
    assert 38 <= len(ids) <= 45
    assert all(re.fullmatch(r"9\d{7}[A-Z]", i) for i in ids)
    types = Counter(s["Staff Type"] for s in m.staff)
    assert types["Clinical"] >= 2 and types["Non-clinical"] >= 2
    assert all(npi_is_valid(s["NPI"]) for s in m.staff if s["NPI"])
    assert npi_is_valid(m.settings["BillingNPI"])
    assert 300 <= len(m.entries) <= 700
    spans = Counter(r["Member ID"] for r in m.members)
    assert max(spans.values()) == 2                                  # one member with two spans
    assert any(r.get("Eligible Through") for r in m.members)
    enrolled = [r["ECM Enrollment Date"] for r in m.members if "Last Name" in r]
    assert any(d is None for d in enrolled)                         # still in outreach
    assert any(d is not None and d.month == 10 and d.year == 2026 for d in enrolled)   # enrolls this month
    # typed like clinics type: text dates of several shapes, minutes as text, 12-hour times
    assert any("min" in str(e["Minutes"]) for e in m.entries)
    assert any(re.fullmatch(r"\d{4}-\d\d-\d\d", e["Date"]) for e in m.entries)
    assert any(str(e["Start"]).endswith(("AM", "PM")) for e in m.entries)


def test_the_demo_closes_every_rule(demo):
    res = demo.close.result
    t = res.totals
    rules = Counter((p.rule, p.severity) for p in res.problems)
    errors = {r for r, s in rules if s == "Error"}
    # what the issue lists: outreach after enrollment, an ineligible member, a mass communication,
    # admin time, a duplicate, an overlap, a hand-typed wrong code; plus the rest a month brings
    assert {"R3", "R4", "R5", "R6", "R7", "R8", "R9", "R10", "R11", "R12", "R15"} <= errors
    # care dated before enrollment is refused (R3) and stays out of the month's care minutes
    planted = make_month().planted
    r3 = [p for p in res.problems if p.rule == "R3" and "billable only from enrollment" in p.reason]
    assert len(r3) == 1 and r3[0].severity == "Error" and r3[0].minutes == 50
    assert all(r3[0].row not in l.source_rows for l in res.claim_lines)
    assert ("R2", "Warning") in rules and "R5" in planted            # two places on one line; a contact no one knows
    reasons = " ".join(p.reason for p in res.problems)
    assert "overlaps row" in reasons and "Same date, staff, member" in reasons
    # R1/R2: care units are the month's minutes rounded up once per code group
    care = [l for l in res.claim_lines if l.modifier_1 in ("U1", "U2")]
    outreach = [l for l in res.claim_lines if l.modifier_1 == "U8"]
    assert care and outreach
    assert all(l.units == math.ceil(l.minutes / 60 - 1e-9) for l in care)
    assert any(l.minutes % 60 for l in care)                       # some rounding really happened
    # R3: one unit per outreach attempt
    assert all(l.units == len(l.source_rows) for l in outreach)
    # R14: nothing lost
    assert t.rows_billed + t.rows_not_billed == t.rows_in
    assert t.minutes_billed + t.minutes_not_billed == pytest.approx(t.minutes_in)
    assert sum(s.units for s in res.summary) == t.units
    # R13 does not fire on the demo's close date, and does once the filing limit has passed
    assert not any(p.rule == "R13" for p in res.problems)
    late = api.close_workbook(demo.workbook, demo.close.out, close_date=dt.date(2027, 6, 1)).result
    billed = {r for l in late.claim_lines for r in l.source_rows}
    assert billed <= {p.row for p in late.problems if p.rule == "R13" and p.severity == "Warning"}
    assert late.totals.units == t.units                             # a warning: still billed


def test_the_demo_files(demo):
    closed = read_workbook(demo.close.out)
    assert len([r for r in closed.tables[C.CLAIM].rows if r["Claim ID"]]) == demo.close.result.totals.claim_lines
    filled = read_workbook(demo.workbook)
    ts = [r for r in filled.tables[C.TIMESHEET].rows if r["Date"] or r["Staff ID"]]
    assert len(ts) == len(make_month().entries) == len(demo.fill.rows)
    assert sum(1 for r in ts if r["HCPCS"]) >= len(ts) - 15         # blank codes were derived (R5)
    assert demo.exports.get("csv") and demo.exports.get("x12"), demo.export_messages
    assert demo.close.result.totals == api.close_workbook(demo.close.out, demo.close.out.replace(".closed", ".again"),
                                                          close_date=DEMO_CLOSE_DATE).result.totals


def test_demo_text_says_where_the_files_are(demo):
    text = demo.text()
    assert text.startswith("Closed October 2026: ")
    for path in (demo.entries, demo.workbook, demo.close.out):
        assert path in text

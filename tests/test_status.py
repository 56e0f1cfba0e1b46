"""What is left to do per claim (ecm_xl.status, pure): statuses, days, the filing limit, next steps."""
from __future__ import annotations

import datetime as dt

import pytest

from ecm_xl import status as S
from ecm_xl.data import Table

AS_OF = dt.date(2026, 11, 20)
LIMIT = 180


def claim(cid="C1", member="M1", lines=((1, "G9008", "U1", None, 2, 320.0, "4-6"),), month=dt.date(2026, 10, 5)):
    return [{"Claim ID": cid, "Line": float(n), "Member ID": member, "From Date": month, "HCPCS": code,
             "Modifier 1": m1, "Modifier 2": m2, "Units": float(u), "Charge": charge, "Source Rows": rows}
            for n, code, m1, m2, u, charge, rows in lines]


TWO_LINES = ((1, "G9008", "U1", None, 2, 320.0, "4-6"), (2, "G9012", "U2", "GQ", 1, 95.0, "9, 12"))


def sent(cid="C1", when=dt.datetime(2026, 11, 5, 10, 0), status="sent", frequency="1", note=None, file="oct.837"):
    return {"Claim ID": cid, "Frequency": frequency, "Sent": when, "Status": status, "Note": note, "File": file}


def remit(cid="C1", status="denied", paid=0.0, line=0, group=None, code=None, remarks=None, meaning=None,
          posted=dt.datetime(2026, 11, 18, 9, 0), check="EFT1"):
    return {"Claim ID": cid, "Claim Status": status, "Paid": paid, "Line": float(line),
            "Adjustment Group": group, "Adjustment Code": code, "Remark Codes": remarks, "Meaning": meaning,
            "Posted": posted, "Check or EFT": check, "Payer Claim Number": "PCN1"}


MEMBERS = Table([{"Member ID": "M0"}, {"Member ID": "M1"}, {"Member ID": "M2"}, {"Member ID": "M1"}], 2)


def one(claims, subs=(), rems=(), members=MEMBERS, as_of=AS_OF, limit=LIMIT):
    rows = S.claim_status(claims, subs, rems, members, filing_limit_days=limit, as_of=as_of)
    assert len(rows) == 1
    return rows[0]


def test_filing_deadline_counts_from_the_last_day_of_the_month_of_service():
    # Oct 31 + 180 days: Nov 30 (30), Dec 31 (61), Jan 31 (92), Feb 28 (120), Mar 31 (151), Apr 29 (180)
    assert S.filing_deadline(dt.date(2026, 10, 1), 180) == dt.date(2027, 4, 29)
    # Feb 28 + 180: Mar 31 (31), Apr 30 (61), May 31 (92), Jun 30 (122), Jul 31 (153), Aug 27 (180)
    assert S.filing_deadline(dt.date(2026, 2, 1), 180) == dt.date(2026, 8, 27)


def test_a_claim_never_sent_is_to_send_with_its_days_left():
    r = one(claim())
    assert (r.status, r.next_step, r.sent, r.days_since_sent) == (S.NOT_SENT, S.SEND, None, None)
    assert (r.month, r.charge, r.filing_deadline) == (dt.date(2026, 10, 1), 320.0, dt.date(2027, 4, 29))
    assert r.days_left == (dt.date(2027, 4, 29) - AS_OF).days == 160


def test_a_claim_never_sent_past_the_limit_says_so():
    r = one(claim(month=dt.date(2026, 3, 3)))     # Mar 31 + 180 = Sep 27, 2026: 54 days before Nov 20
    assert r.days_left == -54 and r.next_step == S.SEND and "54 days ago" in r.why


def test_a_sent_claim_waits_then_is_resent_when_no_answer_comes():
    r = one(claim(), [sent()])
    assert (r.status, r.next_step, r.sent, r.days_since_sent) == (S.WAITING, S.WAIT, dt.date(2026, 11, 5), 15)
    assert "oct.837" in r.why
    late = one(claim(), [sent(when=dt.datetime(2026, 10, 1, 9, 0))], as_of=dt.date(2026, 11, 20))
    assert (late.status, late.next_step, late.days_since_sent) == (S.WAITING, S.RESEND, 50)
    assert "--resend" in late.why


def test_the_newest_submission_wins():
    held = one(claim(), [sent(), sent(when=dt.datetime(2026, 11, 10), status="held",
                                      note="no payer claim number yet")])
    assert (held.status, held.next_step, held.why) == (S.HELD, S.SUPPLY, "no payer claim number yet")
    void = one(claim(), [sent(), sent(when=dt.datetime(2026, 11, 10), frequency="8")])
    assert (void.status, void.next_step) == (S.VOIDED, S.NOTHING)


def test_paid_is_done_and_sums_the_claim_rows_only():
    r = one(claim(), [sent()], [remit(status="paid", paid=320.0), remit(status="paid", paid=320.0, line=1)])
    assert (r.status, r.next_step, r.paid) == (S.PAID, S.NOTHING, 320.0)


def test_a_wrong_modifier_points_at_the_timesheet_rows_of_that_line():
    rems = [remit(status="paid in part", paid=320.0),
            remit(status="paid in part", paid=320.0, line=1),
            remit(status="paid in part", paid=0.0, line=2, group="CO", code="4", meaning="CO-4 (...): wrong")]
    r = one(claim(lines=TWO_LINES), [sent()], rems)
    assert (r.status, r.next_step) == (S.PAID_IN_PART, S.FIX)
    assert r.rows_to_fix == "Timesheet rows 9, 12 (HCPCS, Modifier 1, Modifier 2, Service, Contact)"
    assert r.why == "CO-4 (...): wrong"


def test_a_claim_level_coding_denial_points_at_every_line():
    r = one(claim(lines=TWO_LINES), [sent()], [remit(group="CO", code="4", meaning="m")])
    assert r.rows_to_fix == "Timesheet rows 4-6, 9, 12 (HCPCS, Modifier 1, Modifier 2, Service, Contact)"


def test_eligibility_points_at_every_span_of_the_member_on_members():
    r = one(claim(), [sent()], [remit(group="CO", code="27", meaning="m")])
    # M1 is the 2nd and 4th Members row; the table's first row is Excel row 2
    assert (r.status, r.next_step) == (S.DENIED, S.FIX)
    assert r.rows_to_fix == "Members rows 3, 5 (Member ID, Eligible From, Eligible Through, ECM Enrollment Date)"


def test_missing_diagnosis_is_read_from_the_remark_code():
    r = one(claim(member="M2"), [sent()], [remit(group="CO", code="16", remarks="M76", meaning="m")])
    assert (r.next_step, r.rows_to_fix) == (S.FIX, "Members row 4 (Diagnosis Code)")


def test_missing_information_without_a_known_remark_is_appealed():
    r = one(claim(), [sent()], [remit(group="CO", code="16", remarks="N999", meaning="CO-16 m")])
    assert (r.next_step, r.rows_to_fix) == (S.APPEAL, "")


@pytest.mark.parametrize("code, step, words", [
    ("29", S.APPEAL, "proof of when it was first sent"),
    ("18", S.NOTHING, "duplicate"),
    ("96", S.APPEAL, "CO-96"),
])
def test_denials_the_workbook_cannot_fix(code, step, words):
    r = one(claim(), [sent()], [remit(group="CO", code=code, meaning=f"CO-{code} meaning")])
    assert r.next_step == step and words in r.why and r.rows_to_fix == ""


def test_patient_responsibility_alone_is_not_a_denial_reason():
    rems = [remit(status="paid in part", paid=300.0, group="PR", code="3", meaning="PR-3 copay"),
            remit(status="paid in part", paid=300.0, group="CO", code="45", meaning="CO-45 fee")]
    r = one(claim(), [sent()], rems)
    assert (r.status, r.next_step) == (S.PAID_IN_PART, S.NOTHING)
    assert "contracted rate" in r.why


def test_a_fixable_denial_past_the_filing_limit_is_appealed():
    r = one(claim(month=dt.date(2026, 3, 3)), [sent(when=dt.datetime(2026, 4, 1))],
            [remit(group="CO", code="4", meaning="m", posted=dt.datetime(2026, 5, 1))])
    assert r.next_step == S.APPEAL and "past the filing limit by 54 days" in r.why
    assert r.rows_to_fix.startswith("Timesheet rows 4-6")


def test_a_reversal_undoes_the_payment():
    rems = [remit(status="paid", paid=320.0, posted=dt.datetime(2026, 11, 10)),
            remit(status="reversed", paid=-320.0, posted=dt.datetime(2026, 11, 18))]
    r = one(claim(), [sent()], rems)
    assert (r.status, r.paid, r.next_step) == (S.REVERSED, 0.0, S.WAIT)


def test_a_replacement_sent_after_the_denial_is_waiting_again():
    rems = [remit(group="CO", code="4", meaning="m", posted=dt.datetime(2026, 11, 10))]
    subs = [sent(when=dt.datetime(2026, 11, 1)), sent(when=dt.datetime(2026, 11, 15), frequency="7")]
    r = one(claim(), subs, rems)
    assert (r.status, r.next_step, r.sent, r.days_since_sent) == (S.WAITING, S.WAIT, dt.date(2026, 11, 15), 5)


def test_claims_keep_the_claim_table_order_and_cells_fit_the_headers():
    from ecm_xl import contract as C
    rows = S.claim_status(claim("B") + claim("A", member="M2"), [], [], MEMBERS, filing_limit_days=LIMIT,
                          as_of=AS_OF)
    assert [r.claim_id for r in rows] == ["B", "A"]
    headers, cells = S.status_table(rows)
    assert headers == C.STATUS_HEADERS and all(len(c) == len(headers) for c in cells)
    assert dict(zip(headers, cells[1]))["Member ID"] == "M2"


def _print_of(lines):
    """The fingerprint i10-send's export records, made from the same content by hand."""
    from types import SimpleNamespace
    from ecm_xl.submissions import fingerprint
    return fingerprint([SimpleNamespace(member_id=l["Member ID"], hcpcs=l["HCPCS"], modifier_1=l["Modifier 1"] or "",
                                        modifier_2=l["Modifier 2"] or "", units=l["Units"], charge=l["Charge"],
                                        from_date=l["From Date"], to_date=l["From Date"], place_of_service="11",
                                        diagnosis="Z71.89") for l in lines])


def test_a_claim_changed_since_it_was_sent_goes_as_a_replacement():
    lines = claim()
    for l in lines:
        l.update({"To Date": l["From Date"], "Place of Service": "11", "Diagnosis Code": "Z71.89"})
    same = dict(sent(), Fingerprint=_print_of(lines))
    assert one(lines, [same]).next_step == S.WAIT
    denied = one(lines, [dict(sent(), Fingerprint="0123456789ABCDEF")],
                 [remit(group="CO", code="4", meaning="CO-4 m")])
    assert (denied.status, denied.next_step, denied.rows_to_fix) == (S.DENIED, S.REPLACE, "")
    assert denied.why.startswith("changed since it was sent on 11/5/2026: export the month")


def test_a_claim_no_longer_billed_is_listed_until_its_void_is_sent():
    row = dict(sent(cid="GONE"), **{"Member ID": "M1", "Month": dt.date(2026, 10, 1), "Charge": 60.0})
    (r,) = S.claim_status([], [row], [], MEMBERS, filing_limit_days=LIMIT, as_of=AS_OF)
    assert (r.claim_id, r.status, r.next_step, r.charge) == ("GONE", S.NOT_BILLED, S.VOID, 60.0)
    void = dict(row, Sent=dt.datetime(2026, 11, 10), Frequency="8")
    (r,) = S.claim_status([], [row, void], [], MEMBERS, filing_limit_days=LIMIT, as_of=AS_OF)
    assert (r.status, r.next_step, r.sent) == (S.VOIDED, S.NOTHING, dt.date(2026, 11, 10))

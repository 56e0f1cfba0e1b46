"""A month through the whole billing cycle on real files (issue 10's "done when").

close -> export (originals) -> export again (nothing twice) -> the plan's 835 (built here,
accepted by pyx12: pays one claim, denies one CO-4, pays one in part, names one not ours)
-> remit -> add time to the paid member's month -> close -> export: that claim goes as a
replacement (7) with the 835's payer claim number, unchanged ones do not go. Then a
reversal and a void. Every 837P passes pyx12 (x12check); every step through the CLI.
"""
from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pyx12.params
import pyx12.x12n_document
import x12check as X
from click.testing import CliRunner
from x12check import claims, validate

from era835 import Adj, Era, Svc
from ecm_xl import api
from ecm_xl import contract as C
from ecm_xl.cli import main
from ecm_xl.xlsx import read_workbook, write_tables

SETUP = {k: v for k, v in X.SETUP.items() if k != "BillingMonth"}
NOT_OURS = "E2610ZZZZZZZZZZZZ"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def table(path, name) -> list[dict]:
    rows = read_workbook(path, required=(), tables=(name,)).tables[name].rows
    return [r for r in rows if r.get("Claim ID")]


def claim_of(path, member) -> str:
    return next(r["Claim ID"] for r in table(path, C.CLAIM) if r["Member ID"] == member)


def lines_of(path, member) -> list:
    return [(r["HCPCS"], r["Modifier 1"], r["Modifier 2"], r["Units"], r["Charge"])
            for r in table(path, C.CLAIM) if r["Member ID"] == member]


def pyx12_accepts_835(text: str) -> bool:
    return pyx12.x12n_document.x12n_document(param=pyx12.params.params(), src_file=io.StringIO(text),
                                             fd_997=None, fd_html=None)


def accepted_837(path) -> list:
    text = Path(path).read_text(encoding="ascii")
    verdict = validate(text)
    assert verdict.accepted, str(verdict)
    return claims(text)


def export(wb, out, tmp_path, created, *more):
    return run("export", wb, "--format", "x12", "-o", out, "--close-date", X.CLOSE_DATE, "--created", created,
               "--ledger", tmp_path / "ledger.sqlite", *more)


def status_of(wb, as_of) -> dict:
    r = run("status", wb, "--as-of", as_of)
    assert r.exit_code == 0, r.output
    return {x["Claim ID"]: x for x in table(wb, C.STATUS)}


def test_a_month_through_the_whole_cycle(tmp_path):
    # -- the month, closed ---------------------------------------------------------------
    wb = tmp_path / "October.xlsx"
    api.new_workbook(wb, month="2026-10", staff=X.STAFF, members=X.MEMBERS, settings=SETUP)
    api.fill_workbook(wb, X.TIMESHEET)
    assert run("close", wb, "--in-place", "--close-date", X.CLOSE_DATE).exit_code == 0
    a, c, d = (claim_of(wb, m) for m in ("91000001A", "91000003C", "91000004D"))
    # by hand from x12check.TIMESHEET at the profile's example rates:
    # A: G9008 U1 50+20 min -> 2 units x $160; G9012 U2 GQ 45 min -> 1 x $95      = $415
    # C: G9008 U1 90+30 min -> 2 units x $160                                      = $320
    # D: G9012 U2 GQ 15 min -> 1 x $95; G9012 U2 120 min -> 2 x $95                = $285
    assert lines_of(wb, "91000001A") == [("G9008", "U1", None, 2, 320), ("G9012", "U2", "GQ", 1, 95)]
    assert lines_of(wb, "91000003C") == [("G9008", "U1", None, 2, 320)]
    assert sorted(lines_of(wb, "91000004D"), key=str) == [("G9012", "U2", "GQ", 1, 95), ("G9012", "U2", None, 2, 190)]
    ids = list(dict.fromkeys(r["Claim ID"] for r in table(wb, C.CLAIM)))
    assert len(ids) == 5

    # -- export: originals; export again: nothing twice ------------------------------------
    r = export(wb, tmp_path / "oct.837", tmp_path, "2026-11-05T09:30")
    assert r.exit_code == 0, r.output
    assert [(x.pcn, x.frequency) for x in accepted_837(tmp_path / "oct.837")] == [(i, "1") for i in ids]
    sent = table(wb, C.SUBMISSIONS)
    assert len(sent) == 5
    r = export(wb, tmp_path / "oct-again.837", tmp_path, "2026-11-06T09:30")
    assert r.exit_code == 0 and not (tmp_path / "oct-again.837").exists()
    assert len(table(wb, C.SUBMISSIONS)) == 5
    waiting = status_of(wb, "2026-11-20")
    assert {s["Status"] for s in waiting.values()} == {"waiting"}
    assert {s["Days Since Sent"] for s in waiting.values()} == {15}

    # -- the plan's 835 ------------------------------------------------------------------
    era = Era(check="EFT20261204", paid_on=dt.date(2026, 12, 4))
    era.claim(a, "1", billed=415, paid=415, payer_claim="HN-A-001", member_id="91000001A",
              lines=[Svc("G9008", ("U1",), 320, 320, 2), Svc("G9012", ("U2", "GQ"), 95, 95, 1)])
    era.claim(d, "4", billed=285, paid=0, payer_claim="HN-D-004", member_id="91000004D",
              adjustments=[Adj("CO", "4", 285)],
              lines=[Svc("G9012", ("U2", "GQ"), 95, 0, 1), Svc("G9012", ("U2",), 190, 0, 2)])
    # C: the plan pays one unit of two: $160 of $320, CO-151 on the line
    era.claim(c, "1", billed=320, paid=160, payer_claim="HN-C-003", member_id="91000003C",
              lines=[Svc("G9008", ("U1",), 320, 160, 1, original_units=2, adjustments=(Adj("CO", "151", 160),))])
    era.claim(NOT_OURS, "1", billed=60, paid=60, payer_claim="HN-Z-999", member_id="99999999Z",
              lines=[Svc("G9008", ("U8",), 60, 60, 1)])
    text = era.text()
    assert pyx12_accepts_835(text)
    assert "BPR*I*635*" in text                  # 415 + 0 + 160 + 60
    (tmp_path / "dec.835").write_text(text)

    r = run("remit", wb, "--era", tmp_path / "dec.835", "--as-of", "2026-12-05")
    assert r.exit_code == 0, r.output
    assert "4 claims: 1 paid, 1 paid in part, 1 denied, 1 not ours; $575.00 paid on your claims" in r.output
    assert f"Claim ID {NOT_OURS}, payer claim number HN-Z-999" in r.output
    posted = table(wb, C.REMITTANCE)
    assert {(x["Claim ID"], x["Claim Status"]) for x in posted} == {
        (a, "paid"), (d, "denied"), (c, "paid in part"), (NOT_OURS, "not ours")}
    after = status_of(wb, "2026-12-05")
    assert (after[a]["Status"], after[a]["Next Step"], after[a]["Paid"]) == ("paid", "none", 415)
    assert (after[d]["Status"], after[d]["Next Step"]) == ("denied", "fix and replace")
    # D's rows: 10/15 and 10/16 are Timesheet rows 11 and 12 (the table starts at row 2)
    assert after[d]["Rows to Fix"] == "Timesheet rows 11-12 (HCPCS, Modifier 1, Modifier 2, Service, Contact)"
    assert (after[c]["Status"], after[c]["Next Step"]) == ("paid in part", "fix and replace")
    assert after[c]["Rows to Fix"] == "Timesheet rows 9-10 (Minutes, Start, End)"
    other = [i for i in ids if i not in (a, c, d)]
    assert {after[i]["Status"] for i in other} == {"waiting"}

    # -- more time for the paid member; close; export: one replacement -------------------
    api.fill_workbook(wb, [X.row("10/29/2026", "C1", "91000001A", minutes=60)])
    assert run("close", wb, "--in-place", "--close-date", X.CLOSE_DATE).exit_code == 0
    assert len(table(wb, C.SUBMISSIONS)) == 5 and len(table(wb, C.REMITTANCE)) == len(posted)  # kept by the close
    assert lines_of(wb, "91000001A")[0] == ("G9008", "U1", None, 3, 480)    # 130 min -> 3 units
    changed = status_of(wb, "2026-12-06")
    assert (changed[a]["Status"], changed[a]["Next Step"]) == ("paid", "send the replacement")
    assert changed[c]["Next Step"] == "fix and replace"                     # unchanged since sent
    r = export(wb, tmp_path / "dec.837", tmp_path, "2026-12-06T10:00")
    assert r.exit_code == 0, r.output
    (replacement,) = accepted_837(tmp_path / "dec.837")
    assert (replacement.pcn, replacement.frequency, replacement.payer_claim, replacement.total) == \
        (a, "7", "HN-A-001", "575")
    later = status_of(wb, "2026-12-10")
    assert (later[a]["Status"], later[a]["Next Step"], later[a]["Sent"]) == ("waiting", "wait", dt.date(2026, 12, 6))
    assert later[d]["Status"] == "denied"

    # -- a reversal undoes the payment ---------------------------------------------------
    rev = Era(check="EFT20261211", paid_on=dt.date(2026, 12, 11), control=2)
    rev.claim(a, "22", billed=-415, paid=-415, payer_claim="HN-A-001", member_id="91000001A",
              lines=[Svc("G9008", ("U1",), -320, -320, -2), Svc("G9012", ("U2", "GQ"), -95, -95, -1)])
    assert pyx12_accepts_835(rev.text())
    (tmp_path / "rev.835").write_text(rev.text())
    r = run("remit", wb, "--era", tmp_path / "rev.835", "--as-of", "2026-12-12")
    assert r.exit_code == 0 and "1 reversed; $-415.00 paid on your claims" in r.output
    reversed_ = status_of(wb, "2026-12-12")[a]
    assert (reversed_["Status"], reversed_["Paid"], reversed_["Next Step"]) == ("reversed", 0, "wait")

    # -- a void: member E's time was not billable after all -------------------------------
    e = claim_of(wb, "91000005E")
    headers = read_workbook(wb, required=(), tables=(C.TIMESHEET,)).headers[C.TIMESHEET]
    keep = [[x.get(h) for h in headers] for x in read_workbook(wb, required=(), tables=(C.TIMESHEET,))
            .tables[C.TIMESHEET].rows if x.get("Member ID") and x.get("Member ID") != "91000005E"]
    write_tables(wb, wb, {C.TIMESHEET: (headers, keep)})
    assert run("close", wb, "--in-place", "--close-date", X.CLOSE_DATE).exit_code == 0
    gone = status_of(wb, "2026-12-12")
    assert (gone[e]["Status"], gone[e]["Next Step"]) == ("no longer billed", "send the void")
    r = export(wb, tmp_path / "void.837", tmp_path, "2026-12-13T08:00", "--payer-claim", f"{e}=HN-E-005")
    assert r.exit_code == 0, r.output
    (void,) = accepted_837(tmp_path / "void.837")
    assert (void.pcn, void.frequency, void.payer_claim) == (e, "8", "HN-E-005")
    final = status_of(wb, "2026-12-14")
    # E is no longer on the Claim sheet; the Status sheet still lists it, from the record
    assert (final[e]["Status"], final[e]["Next Step"], final[e]["Sent"]) == ("voided", "none", dt.date(2026, 12, 13))
    assert [x["Frequency"] for x in table(wb, C.SUBMISSIONS) if x["Claim ID"] == e][-1] == 8

"""Sending a month (SPEC §5): the export follows the Submissions record and adds to it.

Real workbooks made through the template, the real CLI (CliRunner), real
pyx12 on every 837P, real processes for the race and the kill -9.
"""
from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import x12check as X
from click.testing import CliRunner
from x12check import claims, segments, validate

from ecm_xl import api
from ecm_xl import contract as C
from ecm_xl import submissions as S
from ecm_xl.cli import main
from ecm_xl.exports import ExportError, send_workbook
from ecm_xl.exports.ledger import last_number
from ecm_xl.xlsx import read_workbook, write_tables

SETUP = {k: v for k, v in X.SETUP.items() if k != "BillingMonth"}
ROOT = Path(__file__).resolve().parent.parent
CLAIM_A = None   # filled by month(): member 91000001A's claim


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def month_workbook(path, *, timesheet=None, month="2026-10", setup=None, members=None) -> Path:
    """A clinic's month made the way a clinic makes it: new, fill, close in place."""
    path = Path(path)
    api.new_workbook(path, month=month, staff=X.STAFF, members=X.MEMBERS if members is None else members,
                     settings=SETUP if setup is None else setup)
    api.fill_workbook(path, X.TIMESHEET if timesheet is None else timesheet)
    api.close_workbook(path, in_place=True, close_date=X.CLOSE_DATE)
    return path


def record(path) -> list[dict]:
    rows = read_workbook(path, required=(), tables=(C.SUBMISSIONS,)).tables[C.SUBMISSIONS].rows
    return [r for r in rows if r.get("Claim ID")]


def claim_ids(path) -> list[str]:
    rows = read_workbook(path, required=(), tables=(C.CLAIM,)).tables[C.CLAIM].rows
    return list(dict.fromkeys(r["Claim ID"] for r in rows if r.get("Claim ID")))


def member_claim(path, member_id) -> str:
    rows = read_workbook(path, required=(), tables=(C.CLAIM,)).tables[C.CLAIM].rows
    return next(r["Claim ID"] for r in rows if r.get("Member ID") == member_id)


def export(wb, out, *more, created="2026-11-05T09:30"):
    return run("export", wb, "--format", "x12", "-o", out, "--close-date", X.CLOSE_DATE, "--created", created, *more)


def accepted(path) -> str:
    text = Path(path).read_text(encoding="ascii")
    verdict = validate(text)
    assert verdict.accepted, str(verdict)
    return text


def add_remittance(path, rows):
    """Rows on the workbook's Remittance table (the template has it), as the 835 posting writes them."""
    headers = ("Claim ID", "Payer Claim Number", "Claim Status", "Billed", "Paid")
    write_tables(path, path, {C.REMITTANCE: (headers, [list(r) for r in rows])})


def drop_member_rows(path, member_id):
    """The Timesheet without a member's rows (as if they were deleted), then closed again."""
    wb = read_workbook(path, required=(), tables=(C.TIMESHEET,))
    headers = wb.headers[C.TIMESHEET]
    keep = [[r.get(h) for h in headers] for r in wb.tables[C.TIMESHEET].rows
            if r.get("Member ID") and r.get("Member ID") != member_id]
    write_tables(path, path, {C.TIMESHEET: (headers, keep)})
    api.close_workbook(path, in_place=True, close_date=X.CLOSE_DATE)


# ---------------------------------------------------------------------------
# The record and the frequencies
# ---------------------------------------------------------------------------
def test_originals_then_again_sends_nothing_twice(tmp_path):
    wb = month_workbook(tmp_path / "October.xlsx")
    ids = claim_ids(wb)
    assert len(ids) == 5
    r = export(wb, tmp_path / "a.837")
    assert r.exit_code == 0, r.output + r.stderr
    assert "Sent 5 claims (5 originals)" in r.output and "interchange 000000001" in r.output
    text = accepted(tmp_path / "a.837")
    assert [c.frequency for c in claims(text)] == ["1"] * 5
    rows = record(wb)
    assert [r["Claim ID"] for r in rows] == ids
    assert {(r["Frequency"], r["File"], r["Interchange Control Number"], r["Status"]) for r in rows} == \
        {(1, "a.837", "000000001", "sent")}
    assert all(r["Sent"] == dt.datetime(2026, 11, 5, 9, 30) for r in rows)
    first = next(r for r in rows if r["Member ID"] == "91000001A")
    # 50 + 20 min G9008 U1 -> 2 units at $160; 45 min G9012 U2 GQ by phone -> 1 unit at $95 (the profile's rates)
    assert (first["Units"], first["Charge"]) == (3, 415)
    assert first["Lines"].startswith("G9008:U1 x2 $320.00 2026-10-01/2026-10-08 POS 11 DX Z59.00; G9012:U2:GQ x1")

    again = export(wb, tmp_path / "b.837", created="2026-11-06T10:00")
    assert again.exit_code == 0
    assert not (tmp_path / "b.837").exists()
    assert "Nothing to send from October.xlsx" in again.output
    assert ("Not sent again, unchanged since sent 11/05/2026 09:30 in a.837 (interchange 000000001): 5 claims"
            in again.output) and "--resend" in again.output
    assert len(record(wb)) == 5                      # nothing recorded twice

    resent = export(wb, tmp_path / "c.837", "--resend", created="2026-11-07T08:00")
    assert resent.exit_code == 0 and "Sent 5 claims (5 originals)" in resent.output
    assert [c.frequency for c in claims(accepted(tmp_path / "c.837"))] == ["1"] * 5
    assert len(record(wb)) == 10 and record(wb)[-1]["Interchange Control Number"] == "000000002"


def test_a_changed_claim_goes_as_a_replacement_with_the_payer_claim_number(tmp_path):
    wb = month_workbook(tmp_path / "October.xlsx")
    assert export(wb, tmp_path / "a.837").exit_code == 0
    claim = member_claim(wb, "91000003C")
    # More time for member 3 after the claims went out: 90 + 30 + 45 = 165 min -> 3 units instead of 2.
    api.fill_workbook(wb, [X.row("10/31/2026", "C2", "91000003C", minutes=45)])
    api.close_workbook(wb, in_place=True, close_date=X.CLOSE_DATE)

    held = export(wb, tmp_path / "b.837", created="2026-12-01T08:00")
    assert held.exit_code == 1
    assert not (tmp_path / "b.837").exists()
    assert f"Held back: {claim}: held back: sent 11/05/2026 09:30 in a.837 (interchange 000000001), it has " \
           "changed, so it goes as a replacement (7), which needs the payer's claim number" in held.output
    assert f"--payer-claim {claim}=NUMBER" in held.output

    r = export(wb, tmp_path / "b.837", "--payer-claim", f"{claim}=HN2026110001", created="2026-12-01T08:00")
    assert r.exit_code == 0, r.output + r.stderr
    assert "Sent 1 claims (1 replacement)" in r.output
    text = accepted(tmp_path / "b.837")
    (clm,) = claims(text)
    assert (clm.pcn, clm.frequency, clm.payer_claim, clm.total) == (claim, "7", "HN2026110001", "480")
    assert segments(text)[0][9] == "261201"                         # ISA09: the day the file is made
    last = record(wb)[-1]
    assert (last["Claim ID"], last["Frequency"], last["Payer Claim Number"], last["Units"]) == \
        (claim, 7, "HN2026110001", 3)
    assert last["Interchange Control Number"] == "000000002"


def test_the_payer_claim_number_comes_from_the_remittance_table(tmp_path):
    wb = month_workbook(tmp_path / "October.xlsx")
    assert export(wb, tmp_path / "a.837").exit_code == 0
    claim = member_claim(wb, "91000004D")
    add_remittance(wb, [(claim, "OLD111", "paid", 285, 285), (claim, "OLD111", "reversed", 285, -285),
                        (claim, "HN555", "paid", 285, 285), (claim, "HN999", "reversed", 285, -285)])
    api.fill_workbook(wb, [X.row("10/17/2026", "N2", "91000004D", minutes=30)])
    api.close_workbook(wb, in_place=True, close_date=X.CLOSE_DATE)
    r = export(wb, tmp_path / "b.837", created="2026-12-01T08:00")
    assert r.exit_code == 0, r.output + r.stderr
    (clm,) = claims(accepted(tmp_path / "b.837"))
    assert (clm.frequency, clm.payer_claim) == ("7", "HN555")      # the newest number not reversed


def test_a_claim_no_longer_billed_is_voided(tmp_path):
    wb = month_workbook(tmp_path / "October.xlsx")
    assert export(wb, tmp_path / "a.837").exit_code == 0
    claim = member_claim(wb, "91000005E")
    sent_lines = next(r["Lines"] for r in record(wb) if r["Claim ID"] == claim)
    drop_member_rows(wb, "91000005E")
    assert claim not in claim_ids(wb)
    r = export(wb, tmp_path / "void.837", "--payer-claim", f"{claim}=HN77", created="2026-12-02T08:00")
    assert r.exit_code == 0, r.output + r.stderr
    assert "Sent 1 claims (1 void)" in r.output and "4 claims" in r.output   # the others: unchanged
    (clm,) = claims(accepted(tmp_path / "void.837"))
    # the void repeats what was sent: one G9008 U8 outreach unit at $60 on 10/20
    assert (clm.pcn, clm.frequency, clm.payer_claim, clm.total) == (claim, "8", "HN77", "60")
    assert [(l.hcpcs, l.modifiers, l.units, l.dates) for l in clm.lines] == \
        [("G9008", ("U8",), "1", "20261020-20261020")]
    last = record(wb)[-1]
    assert (last["Claim ID"], last["Frequency"], last["Lines"]) == (claim, 8, sent_lines)
    # Voided: the next export has nothing to do for it.
    again = export(wb, tmp_path / "again.837", created="2026-12-03T08:00")
    assert again.exit_code == 0 and not (tmp_path / "again.837").exists()


def test_a_void_without_a_payer_claim_number_is_held(tmp_path):
    wb = month_workbook(tmp_path / "October.xlsx")
    assert export(wb, tmp_path / "a.837").exit_code == 0
    drop_member_rows(wb, "91000005E")
    claim = next(r["Claim ID"] for r in record(wb) if r["Member ID"] == "91000005E")
    # member 1 changes too and has a number: the replacement goes, the void is held
    api.fill_workbook(wb, [X.row("10/29/2026", "C1", "91000001A", minutes=60)])
    api.close_workbook(wb, in_place=True, close_date=X.CLOSE_DATE)
    other = member_claim(wb, "91000001A")
    r = export(wb, tmp_path / "b.837", "--payer-claim", f"{other}=HN1", created="2026-12-02T08:00")
    assert r.exit_code == 1
    assert f"Held back: {claim}: held back: sent 11/05/2026 09:30 in a.837 (interchange 000000001), it is no " \
           f"longer billed, so it goes as a void (8)" in r.output and f"--payer-claim {claim}=NUMBER" in r.output
    assert [(c.pcn, c.frequency) for c in claims(accepted(tmp_path / "b.837"))] == [(other, "7")]
    held = [r for r in record(wb) if r["Claim ID"] == claim][-1]
    assert (held["Status"], held["Frequency"], held["File"]) == ("held", 8, None)


def test_the_record_survives_close_and_re_close(tmp_path):
    wb = month_workbook(tmp_path / "October.xlsx")
    assert export(wb, tmp_path / "a.837").exit_code == 0
    before = record(wb)
    copy = tmp_path / "copy.xlsx"
    assert run("close", wb, "-o", copy, "--close-date", X.CLOSE_DATE).exit_code == 0
    assert record(copy) == before
    assert run("close", copy, "--in-place", "--close-date", X.CLOSE_DATE).exit_code == 0
    assert record(copy) == before
    r = export(copy, tmp_path / "b.837")
    assert "Nothing to send" in r.output


def test_csv_invoice_follows_and_adds_to_the_record(tmp_path):
    wb = month_workbook(tmp_path / "October.xlsx")
    r = run("export", wb, "--format", "csv", "--invoice", "-o", tmp_path / "inv.csv", "--close-date", X.CLOSE_DATE,
            "--created", "2026-11-05")
    assert r.exit_code == 0, r.output + r.stderr
    lines = (tmp_path / "inv.csv").read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].endswith(",Frequency,Payer Claim Number") and len(lines) == 10
    assert all(line.endswith(",1,") for line in lines[1:])
    rows = record(wb)
    assert len(rows) == 5 and {(r["File"], r["Interchange Control Number"]) for r in rows} == {("inv.csv", None)}
    # the 837P afterwards: already sent (as the invoice)
    assert "Nothing to send" in export(wb, tmp_path / "a.837").output
    # a plain CSV is not recorded
    assert run("export", wb, "--format", "csv", "-o", tmp_path / "plain.csv").exit_code == 0
    assert len(record(wb)) == 5


# ---------------------------------------------------------------------------
# Control numbers and dates
# ---------------------------------------------------------------------------
def test_control_numbers_never_repeat_across_workbooks_of_one_submitter(tmp_path):
    oct_ = month_workbook(tmp_path / "October.xlsx")
    nov = month_workbook(tmp_path / "November.xlsx", month="2026-11",
                         timesheet=[X.row("11/3/2026", "C1", "91000001A", minutes=60)])
    assert export(oct_, tmp_path / "oct.837").exit_code == 0
    assert export(nov, tmp_path / "nov.837", created="2026-12-02T08:00").exit_code == 0
    isa13 = [segments((tmp_path / n).read_text())[0][13] for n in ("oct.837", "nov.837")]
    assert isa13 == ["000000001", "000000002"]
    gs06 = [segments((tmp_path / n).read_text())[1][6] for n in ("oct.837", "nov.837")]
    assert gs06 == ["1", "2"]
    assert last_number("VCP001") == 2
    # A number used before is refused, by the ledger and by the workbook's own record.
    r = export(oct_, tmp_path / "x.837", "--resend", "--control-number", "2")
    assert r.exit_code == 2 and "control number 2 has been used already by submitter VCP001" in r.stderr
    assert not (tmp_path / "x.837").exists()


def test_the_workbook_record_keeps_numbers_unique_with_a_new_ledger(tmp_path, monkeypatch):
    wb = month_workbook(tmp_path / "October.xlsx")
    assert export(wb, tmp_path / "a.837").exit_code == 0
    assert export(wb, tmp_path / "b.837", "--resend").exit_code == 0
    # Another machine (a fresh ledger) exports the same workbook: the record's numbers still count.
    r = export(wb, tmp_path / "c.837", "--resend", "--ledger", tmp_path / "elsewhere.sqlite")
    assert r.exit_code == 0
    assert segments((tmp_path / "c.837").read_text())[0][13] == "000000003"


def test_created_dates_the_envelope_and_defaults_to_now(tmp_path):
    wb = month_workbook(tmp_path / "October.xlsx")
    r = run("export", wb, "--format", "x12", "-o", tmp_path / "a.837", "--close-date", X.CLOSE_DATE)
    assert r.exit_code == 0
    segs = segments(accepted(tmp_path / "a.837"))
    today = dt.date.today()
    assert segs[0][9] == f"{today:%y%m%d}" and segs[1][4] == f"{today:%Y%m%d}" and segs[3][4] == f"{today:%Y%m%d}"
    assert run("export", wb, "--format", "x12", "-o", tmp_path / "b.837", "--created", "tomorrow").exit_code == 2


def test_same_record_and_created_give_the_same_file(tmp_path):
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    one = month_workbook(tmp_path / "one" / "October.xlsx")
    two = tmp_path / "two" / "October.xlsx"
    two.write_bytes(one.read_bytes())
    assert export(one, tmp_path / "one" / "a.837", "--ledger", tmp_path / "l1").exit_code == 0
    assert export(two, tmp_path / "two" / "a.837", "--ledger", tmp_path / "l2").exit_code == 0
    assert (tmp_path / "one" / "a.837").read_bytes() == (tmp_path / "two" / "a.837").read_bytes()


# ---------------------------------------------------------------------------
# Two at once, and a crash
# ---------------------------------------------------------------------------
def _export_in_process(args):
    wb, out, ledger, barrier = args
    os.environ["ECM_XL_LEDGER"] = ledger
    barrier.wait()
    try:
        r = send_workbook(wb, "x12", out, close_date=X.CLOSE_DATE, created="2026-11-05T09:30")
        return r.path, r.claims
    except ExportError as exc:
        return "error", str(exc)


def test_two_exports_racing_on_one_workbook_leave_a_consistent_record(tmp_path):
    wb = month_workbook(tmp_path / "October.xlsx")
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(2)
        jobs = [(str(wb), str(tmp_path / f"{n}.837"), os.environ["ECM_XL_LEDGER"], barrier) for n in ("p", "q")]
        with ctx.Pool(2) as pool:
            results = pool.map(_export_in_process, jobs)
    written = [r for r in results if r[0] not in (None, "error")]
    # One of them sent the five claims; the other waited, then found them sent.
    assert sorted(r[1] for r in results) == [0, 5], results
    assert len(written) == 1
    rows = record(wb)
    assert sorted(r["Claim ID"] for r in rows) == sorted(claim_ids(wb))
    assert {r["File"] for r in rows} == {Path(written[0][0]).name}
    assert len(claims(accepted(written[0][0]))) == 5
    assert sorted(p.name for p in tmp_path.glob("*.837")) == [Path(written[0][0]).name]


KILLER = """
import sys, datetime as dt
sys.path.insert(0, {tests!r})
from ecm_xl.exports import send_workbook
import x12check as X
send_workbook({wb!r}, "x12", {out!r}, close_date=X.CLOSE_DATE, created="2026-11-05T09:30")
"""


@pytest.mark.parametrize("step, finished", [("file-written", False), ("record-written", False),
                                            ("committed", True), ("record-in-place", True)])
def test_a_killed_export_leaves_no_half_record(tmp_path, step, finished):
    wb = month_workbook(tmp_path / "October.xlsx")
    before = wb.read_bytes()
    out = tmp_path / "a.837"
    env = {**os.environ, "ECM_XL_TEST_STOP_AT": step}
    code = KILLER.format(tests=str(ROOT / "tests"), wb=str(wb), out=str(out))
    p = subprocess.run([sys.executable, "-c", code], check=False, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == -9, p.stderr                              # killed, as kill -9 would
    # Right after the kill: either nothing happened yet, or (past the commit point) the
    # workbook changed only together with the file being finished on the next run.
    if step != "record-in-place":
        assert wb.read_bytes() == before and not out.exists()
    # The next export first puts things right and says so, then decides from the record.
    r = export(wb, tmp_path / "b.837")
    assert r.exit_code == 0, r.output + r.stderr
    assert "interrupted" in r.output
    rows = record(wb)
    if finished:
        assert out.exists() and len(claims(accepted(out))) == 5
        assert {r["File"] for r in rows} == {"a.837"} and len(rows) == 5
        assert "Nothing to send" in r.output and not (tmp_path / "b.837").exists()
    else:
        assert not out.exists()
        assert {r["File"] for r in rows} == {"b.837"} and len(rows) == 5
    assert not list(tmp_path.glob(".*.sending")) and not list(tmp_path.glob(".*journal"))


def test_status_in_place_first_puts_right_an_export_killed_half_way(tmp_path):
    """status (and remit) write the workbook in place: an export killed after writing its
    journal is finished or undone first, so its record can't be lost under them."""
    wb = month_workbook(tmp_path / "October.xlsx")
    out = tmp_path / "a.837"
    env = {**os.environ, "ECM_XL_TEST_STOP_AT": "committed"}
    code = KILLER.format(tests=str(ROOT / "tests"), wb=str(wb), out=str(out))
    p = subprocess.run([sys.executable, "-c", code], check=False, env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == -9, p.stderr
    r = run("status", wb, "--as-of", "2026-11-20")
    assert r.exit_code == 0, r.output
    assert "interrupted" in r.output.splitlines()[0]
    assert out.exists() and {x["File"] for x in record(wb)} == {"a.837"} and len(record(wb)) == 5
    assert not list(tmp_path.glob(".*journal"))
    assert len(read_workbook(wb, required=()).tables[C.STATUS].rows) >= 5


HOLDER = """
import pathlib, sys, time
from ecm_xl.exports.record import workbook_lock
with workbook_lock({wb!r}):
    pathlib.Path({held!r}).write_text("held")
    time.sleep(1.5)
    pathlib.Path({released!r}).write_text("released")
"""


def test_remit_in_place_waits_for_an_export_holding_the_workbook(tmp_path):
    from era835 import Era, Svc
    wb = month_workbook(tmp_path / "October.xlsx")
    held, released = tmp_path / "held", tmp_path / "released"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER.format(wb=str(wb), held=str(held), released=str(released))])
    try:
        for _ in range(600):
            if held.exists() or holder.poll() is not None:
                break
            time.sleep(0.1)
        assert held.exists(), "the lock holder did not start"
        cid = claim_ids(wb)[0]
        era = Era(check="EFT1", paid_on=dt.date(2026, 12, 4))
        era.claim(cid, "1", billed=160, paid=160, payer_claim="P1", member_id="91000001A", lines=[Svc("G9008", ("U1",), 160, 160, 1)])
        (tmp_path / "dec.835").write_text(era.text())
        r = run("remit", wb, "--era", tmp_path / "dec.835", "--as-of", "2026-12-05")
        finished_after_release = released.exists()      # looked at as soon as remit returns
    finally:
        holder.wait(60)
    assert r.exit_code == 0, r.output
    assert finished_after_release                        # it waited for the export's lock
    posted = read_workbook(wb, required=()).tables[C.REMITTANCE].rows
    assert any(x.get("Claim ID") == cid and x.get("Paid") == 160 for x in posted)
    assert len(record(wb)) == 0            # nothing was sent here; the record is as it was


# ---------------------------------------------------------------------------
# The pure decision (what excel.py and Lite call)
# ---------------------------------------------------------------------------
def _lines():
    return X.close().claim_lines


def test_fingerprint_follows_what_is_billed_only():
    lines = [l for l in _lines() if l.member_id == "91000001A"]
    same = S.fingerprint(lines)
    assert S.fingerprint([l._replace(member_name="Someone Else", source_rows=(99,)) for l in lines]) == same
    assert S.fingerprint([lines[0]._replace(units=lines[0].units + 1)] + lines[1:]) != same
    assert S.fingerprint([lines[0]._replace(diagnosis="Z71.89")] + lines[1:]) != same
    assert len(same) == 16


def test_lines_text_reads_back():
    lines = _lines()
    text = S.lines_text(lines[:2])
    back = S.parse_lines(text)
    assert [(b["hcpcs"], b["modifier_1"], b["modifier_2"], b["units"], b["charge"], b["from_date"])
            for b in back] == [(l.hcpcs, l.modifier_1, l.modifier_2, l.units, l.charge, l.from_date)
                               for l in lines[:2]]
    assert S.parse_lines("typed by hand") is None


def test_plan_claims_by_hand():
    lines = _lines()
    by_id = S.claims_by_id(lines)
    a, b, c = list(by_id)[:3]
    when = dt.datetime(2026, 11, 5, 9, 30)
    history = S.read_history([
        S.sent_row(a, by_id[a], frequency="1", file="x.837", control_number="000000004", sent=when).row(),
        S.sent_row(b, by_id[b][:1], frequency="1", file="x.837", control_number="000000004", sent=when).row(),
    ])
    members = X.close().members
    plan = {d.claim_id: d for d in S.plan_claims({a: by_id[a], b: by_id[b]}, history, {b: "P1"}, members=members)}
    assert (plan[a].action, plan[a].frequency) == ("unchanged", "")
    assert "11/05/2026 09:30 in x.837 (interchange 000000004)" in plan[a].message
    assert (plan[b].action, plan[b].frequency, plan[b].payer_claim) == ("replacement", "7", "P1")
    assert c not in plan
    # a dropped from the close: a void, held without a number
    plan = {d.claim_id: d for d in S.plan_claims({}, history, {}, members=members)}
    assert plan[a].action == "held" and plan[a].frequency == "8"
    # months: a claim of another month is never voided by this close
    assert S.plan_claims({}, history, {}, members=members, months={dt.date(2026, 11, 1)}) == []


# ---------------------------------------------------------------------------
# batch --format x12: not all or nothing, recorded in each closed copy
# ---------------------------------------------------------------------------
def _report(out):
    import csv
    with open(out / "batch_report.csv", encoding="utf-8-sig", newline="") as f:
        return {r["File"]: r for r in csv.DictReader(f)}


def test_batch_sends_the_ready_workbooks_and_names_the_others(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    month_workbook(inbox / "October.xlsx")
    month_workbook(inbox / "November.xlsx", month="2026-11",
                   timesheet=[X.row("11/3/2026", "C1", "91000001A", minutes=60)])
    month_workbook(inbox / "Broken.xlsx", members=X.MEMBERS[:1] + [dict(X.MEMBERS[1], **{"Diagnosis Code": "Z59"})],
                   setup={**SETUP, "DefaultDiagnosis": "Z59", "BillingNPI": X.another_npi()})   # another clinic
    out = tmp_path / "out"
    batch = ("batch", inbox, "-o", out, "--format", "x12", "--workers", "1", "--close-date", X.CLOSE_DATE,
             "--created", "2026-12-01T10:00")
    r = run(*batch)
    assert r.exit_code == 1, r.output
    report = _report(out)
    assert report["Broken.xlsx"]["Status"] == "not ready"
    assert "Broken.xlsx: Not ready for an 837P: claims" in report["Broken.xlsx"]["Message"]
    assert "a category with more specific codes under it" in report["Broken.xlsx"]["Message"]
    assert report["October.xlsx"]["Status"] == report["November.xlsx"]["Status"] == "ok"
    text = accepted(out / "claims.837")
    assert text.count("ST*837*") == 2 and len(claims(text)) == 6         # October's 5 and November's 1
    assert {r["File"] for r in record(out / "October.closed.xlsx")} == {"claims.837"}
    assert len(record(out / "October.closed.xlsx")) == 5 and len(record(out / "November.closed.xlsx")) == 1
    assert record(out / "Broken.closed.xlsx") == []
    assert not record(inbox / "October.xlsx")                              # inputs are never written

    # The same batch again into the same folder: the copies keep their record, nothing goes twice.
    first_837 = (out / "claims.837").read_bytes()
    again = run(*batch[:-1], "2026-12-02T10:00")
    assert (out / "claims.837").read_bytes() == first_837
    report = _report(out)
    assert "5 claims not sent again, unchanged since sent 12/01/2026 10:00 in claims.837 (interchange 000000001)" \
        in report["October.xlsx"]["Message"]
    assert len(record(out / "October.closed.xlsx")) == 5
    assert again.exit_code == 1 and report["Broken.xlsx"]["Status"] == "not ready"

    # More time in October: that claim goes as a replacement, which waits for the payer's number.
    api.fill_workbook(inbox / "October.xlsx", [X.row("10/31/2026", "C2", "91000003C", minutes=45)])
    run(*batch[:-1], "2026-12-03T10:00")
    report = _report(out)
    assert report["October.xlsx"]["Status"] == "held"
    assert "goes as a replacement (7), which needs the payer's claim number" in report["October.xlsx"]["Message"]


def test_batch_records_a_month_billed_from_two_workbooks_in_both_copies(tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    half = len(X.TIMESHEET) // 2
    month_workbook(inbox / "TeamA.xlsx", timesheet=X.TIMESHEET[:half])       # one clinic-month, two care teams
    month_workbook(inbox / "TeamB.xlsx", timesheet=X.TIMESHEET[half:])
    out = tmp_path / "out"
    batch = ("batch", inbox, "-o", out, "--format", "x12", "--workers", "1", "--close-date", X.CLOSE_DATE)
    r = run(*batch, "--created", "2026-12-01T10:00")
    assert r.exit_code == 0, r.output
    whole = month_workbook(tmp_path / "Whole.xlsx")                          # the same month in one workbook
    sent = claims(accepted(out / "claims.837"))
    assert sorted(c.pcn for c in sent) == sorted(claim_ids(whole))          # each claim once
    a, b = record(out / "TeamA.closed.xlsx"), record(out / "TeamB.closed.xlsx")
    assert a == b and sorted(r["Claim ID"] for r in a) == sorted(claim_ids(whole))
    again = run(*batch, "--created", "2026-12-02T10:00")
    assert again.exit_code == 0
    assert record(out / "TeamA.closed.xlsx") == a and claims((out / "claims.837").read_text()) == sent
    assert "not sent again, unchanged since sent 12/01/2026 10:00" in _report(out)["TeamA.xlsx"]["Message"]


def _without_record_table(path):
    """The workbook as one made before ecm-xl kept the Submissions record: that sheet and
    table are renamed away (every other part as it was)."""
    import re as _re
    import zipfile
    from fuzz_workbooks import replace_parts
    data = path.read_bytes()
    with zipfile.ZipFile(path) as z:
        changes = {}
        for name in z.namelist():
            text = z.read(name)
            if name == "xl/workbook.xml" or (name.startswith("xl/tables/") and b'displayName="Submissions"' in text):
                changes[name] = _re.sub(rb"\bSubmissions\b", b"SentBefore", text)
    path.write_bytes(replace_parts(data, changes))
    assert C.SUBMISSIONS not in read_workbook(path, required=()).headers


def test_a_workbook_without_the_record_table_gains_it_when_it_first_sends(tmp_path):
    wb = month_workbook(tmp_path / "October.xlsx")
    _without_record_table(wb)
    r = export(wb, tmp_path / "a.837")
    assert r.exit_code == 0, r.output + r.stderr
    assert len(claims(accepted(tmp_path / "a.837"))) == 5
    assert {x["File"] for x in record(wb)} == {"a.837"} and len(record(wb)) == 5
    r = export(wb, tmp_path / "b.837")                      # and follows it from then on
    assert r.exit_code == 0 and "Nothing to send" in r.output and not (tmp_path / "b.837").exists()

"""Reading a plan's 835 (pyx12), the code list, and matching payments to claims (pure)."""
from __future__ import annotations

import csv
import datetime as dt
import io
from importlib import resources

import pyx12.params
import pyx12.x12n_document
import pytest

from era835 import Adj, Era, Svc
from ecm_xl.remittance import EraError, meaning, parse_era, read_era, remark_meaning
from ecm_xl.remittance.codes import UNKNOWN
from ecm_xl.remittance.posting import (DENIED, NOT_OURS, PAID, PAID_IN_PART, REVERSED, claim_status, match_lines,
                                       merge_rows, post)
from ecm_xl import contract as C

PAID_ON = dt.date(2026, 12, 4)


def sample() -> Era:
    """Four answers, amounts by hand: A paid 320 of 320; B denied 95 (CO-4); C paid 60 of 100
    (one line CO-151); D a reversal of A's 320."""
    e = Era(check="EFT12345", paid_on=PAID_ON)
    e.claim("CLAIMA", "1", billed=320, paid=320, payer_claim="PCN-A",
            lines=[Svc("G9008", ("U1",), 320, 320, 2, date=dt.date(2026, 10, 5))])
    e.claim("CLAIMB", "4", billed=95, paid=0, payer_claim="PCN-B", adjustments=[Adj("CO", "4", 95)],
            lines=[Svc("G9012", ("U2", "GQ"), 95, 0, 1, remarks=("M20",))], moa=("MA130",))
    e.claim("CLAIMC", "1", billed=100, paid=60, payer_claim="PCN-C",
            lines=[Svc("G9012", ("U8", "GQ"), 60, 60, 2), Svc("G9012", ("U8",), 40, 0, 1,
                                                             adjustments=(Adj("CO", "151", 40),))])
    e.claim("CLAIMA", "22", billed=-320, paid=-320, payer_claim="PCN-A",
            lines=[Svc("G9008", ("U1",), -320, -320, -2)])
    return e


def pyx12_accepts(text: str) -> bool:
    """pyx12's own verdict, called directly (no ecm-xl code in between)."""
    return pyx12.x12n_document.x12n_document(param=pyx12.params.params(), src_file=io.StringIO(text),
                                             fd_997=None, fd_html=None)


# ---------------------------------------------------------------------------
# the 835 builder and pyx12
# ---------------------------------------------------------------------------
def test_the_test_835_is_accepted_by_pyx12_and_balances():
    e = sample()
    assert pyx12_accepts(e.text())
    # hand check: BPR02 is the sum of CLP04: 320 + 0 + 60 - 320 = 60
    assert "BPR*I*60*C*CHK" in e.text()


def test_pyx12_refuses_a_bad_code_and_so_do_we():
    bad = sample().text().replace("CLP*CLAIMB*4*", "CLP*CLAIMB*Q*")
    assert not pyx12_accepts(bad)
    with pytest.raises(EraError) as e:
        parse_era(bad, "bad.835")
    msg = str(e.value)
    assert msg.startswith("bad.835: is not a valid 835: line ")
    assert "CLP02 (Claim Status Code): not a valid code" in msg
    assert "\n" not in msg and "Q" not in msg.split("CLP02")[0]


def test_read_era_reads_every_field_we_post():
    era = parse_era(sample().text(), "dec.835")
    assert (era.file, era.check, era.payment_date, era.total, era.method) == ("dec.835", "EFT12345", PAID_ON,
                                                                             60.0, "CHK")
    a, b, c, rev = era.claims
    assert (a.claim_id, a.status, a.billed, a.paid, a.payer_claim) == ("CLAIMA", "1", 320.0, 320.0, "PCN-A")
    assert a.lines[0].hcpcs == "G9008" and a.lines[0].modifiers == ("U1",) and a.lines[0].units == 2
    assert a.lines[0].date == dt.date(2026, 10, 5)
    assert b.adjustments == (("CO", "4", 95.0, None),) and b.remarks == ("MA130",)
    assert b.lines[0].modifiers == ("U2", "GQ") and b.lines[0].remarks == ("M20",)
    # CAS after SVC belongs to the line (loop 2110), not to the claim
    assert c.adjustments == () and c.lines[1].adjustments == (("CO", "151", 40.0, None),)
    assert rev.status == "22" and rev.paid == -320.0 and rev.lines[0].units == -2


def test_the_plans_changed_units_are_matched_on_what_was_billed():
    e = Era()
    e.claim("X", "1", billed=320, paid=160, payer_claim="P",
            lines=[Svc("G9008", ("U1",), 320, 160, 1, original_units=2, adjustments=(Adj("CO", "151", 160),))])
    assert pyx12_accepts(e.text())
    svc = parse_era(e.text()).claims[0].lines[0]
    assert (svc.units, svc.paid_units) == (2, 1)


def test_st03_which_many_payers_send_is_tolerated():
    text = sample().text().replace("ST*835*0001~", "ST*835*0001*005010X221A1~")
    assert len(parse_era(text).claims) == 4


@pytest.mark.parametrize("content, words", [
    (b"", "does not start with an ISA segment"),
    (b"Claim ID,Paid\nX,1\n", "does not start with an ISA segment"),
    ("ISA*caf\u00e9".encode("utf-8"), "characters an 835 never has"),
])
def test_a_file_that_is_not_x12_is_one_line(tmp_path, content, words):
    p = tmp_path / "remit.835"
    p.write_bytes(content)
    with pytest.raises(EraError) as e:
        read_era(p)
    assert str(e.value).startswith("remit.835: ") and words in str(e.value)


def test_an_837_is_not_an_835(tmp_path):
    text = sample().text().replace("ST*835*0001", "ST*837*0001")
    with pytest.raises(EraError, match="is not an 835 remittance"):
        parse_era(text, "claims.837")


def test_a_cut_file_is_refused_without_patient_names():
    text = sample().text()
    cut = text[:text.index("CLP*CLAIMC")]
    with pytest.raises(EraError) as e:
        parse_era(cut, "cut.835")
    assert "cut.835: is not a valid 835" in str(e.value)
    assert "TESTPATIENT" not in str(e.value)


# ---------------------------------------------------------------------------
# the code list
# ---------------------------------------------------------------------------
def test_meanings_come_from_the_shipped_list():
    # SPEC §5's example, as the list words it
    assert meaning("CO", "4") == ("CO-4 (Contractual Obligations): The procedure code is inconsistent with the "
                                  "modifier used.")
    assert meaning("CO", "27") == "CO-27 (Contractual Obligations): Expenses incurred after coverage terminated."
    assert remark_meaning("M20") == "M20: Missing/incomplete/invalid HCPCS."
    assert meaning("PR", "9999") == f"PR-9999 (Patient Responsibility): {UNKNOWN}"


def test_every_code_names_its_source():
    text = resources.files("ecm_xl.remittance").joinpath("codes.csv").read_text(encoding="utf-8")
    assert "Compiled 2026-12-02" in text
    rows = list(csv.DictReader(ln for ln in text.splitlines() if not ln.startswith("#")))
    assert len(rows) > 250
    assert {r["source"] for r in rows} == {"edi-835-parser 1.8.0", "pyedi 1.1.0"}
    assert {r["list"] for r in rows} == {"group", "CARC", "RARC", "CLP02"}
    assert all(r["description"].strip() for r in rows)


# ---------------------------------------------------------------------------
# posting (pure)
# ---------------------------------------------------------------------------
def line(cid, n, hcpcs, m1, m2, units, rows="2"):
    return {"Claim ID": cid, "Line": float(n), "HCPCS": hcpcs, "Modifier 1": m1, "Modifier 2": m2,
            "Units": float(units), "Source Rows": rows}


CLAIMS = [line("CLAIMA", 1, "G9008", "U1", None, 2), line("CLAIMB", 1, "G9012", "U2", "GQ", 1),
          line("CLAIMC", 1, "G9012", "U8", "GQ", 2), line("CLAIMC", 2, "G9012", "U8", None, 1)]


def test_claim_status_from_clp02_and_amounts():
    a, b, c, rev = parse_era(sample().text()).claims
    assert [claim_status(x) for x in (a, b, c, rev)] == [PAID, DENIED, PAID_IN_PART, REVERSED]


def test_lines_match_by_code_modifiers_and_units():
    c = parse_era(sample().text()).claims[2]
    assert match_lines(c, CLAIMS[2:]) == [CLAIMS[2], CLAIMS[3]]
    assert match_lines(c, list(reversed(CLAIMS[2:]))) == [CLAIMS[2], CLAIMS[3]]
    # a code we never billed matches nothing
    assert match_lines(c, [line("CLAIMC", 1, "G9008", "U1", None, 2)]) == [None, None]


def test_post_splits_claims_across_workbooks_and_reports_what_is_not_ours():
    e = sample()
    e.claim("SOMEONEELSE", "1", billed=50, paid=50, payer_claim="PCN-Z",
            lines=[Svc("G9008", ("U1",), 50, 50, 1)])
    posted = dt.datetime(2026, 12, 5, 8, 0)
    r = post(parse_era(e.text(), "dec.835"), {"a.xlsx": CLAIMS[:2], "b.xlsx": CLAIMS[2:]}, posted)
    assert r.claims == {"a.xlsx": ["CLAIMA", "CLAIMB"], "b.xlsx": ["CLAIMC"]}
    assert [n.claim_id for n in r.not_ours] == ["SOMEONEELSE"]
    assert r.statuses == {PAID: 1, DENIED: 1, PAID_IN_PART: 1, REVERSED: 1, NOT_OURS: 1}
    assert r.paid == 60.0                      # 320 + 0 + 60 - 320: the reversal undoes A's payment
    rows = [dict(zip(C.REMITTANCE_HEADERS, x)) for x in r.rows["a.xlsx"]]
    # A: claim row + line row; B: claim row (CO-4) + line row (M20); A reversed: claim row + line row
    assert [(x["Claim ID"], x["Claim Status"], x["Line"], x["Paid"]) for x in rows] == [
        ("CLAIMA", PAID, 0, 320.0), ("CLAIMA", PAID, 1, 320.0),
        ("CLAIMB", DENIED, 0, 0.0), ("CLAIMB", DENIED, 1, 0.0),
        ("CLAIMA", REVERSED, 0, -320.0), ("CLAIMA", REVERSED, 1, -320.0)]
    b = rows[2]
    assert (b["Adjustment Group"], b["Adjustment Code"], b["Adjustment Amount"], b["Remark Codes"]) == \
        ("CO", "4", 95.0, "MA130")
    assert b["Meaning"].startswith("CO-4 (Contractual Obligations): The procedure code is inconsistent")
    assert (b["Payer Claim Number"], b["ERA File"], b["Payment Date"], b["Check or EFT"], b["Posted"]) == \
        ("PCN-B", "dec.835", PAID_ON, "EFT12345", posted)
    z = [dict(zip(C.REMITTANCE_HEADERS, x)) for x in r.rows[None]]
    assert z[0]["Claim Status"] == NOT_OURS and z[0]["Paid"] == 50.0 and "not yours" in z[0]["Meaning"]


def test_a_claim_split_past_50_lines_matches_its_parts():
    e = Era()
    e.claim("CLAIMA-2", "1", billed=320, paid=320, payer_claim="P2", lines=[Svc("G9008", ("U1",), 320, 320, 2)])
    r = post(parse_era(e.text()), {"a.xlsx": CLAIMS[:1]}, dt.datetime(2026, 12, 5))
    assert r.claims == {"a.xlsx": ["CLAIMA"]} and not r.not_ours
    assert r.rows["a.xlsx"][1][C.REMITTANCE_HEADERS.index("Line")] == 1


def test_posting_the_same_payment_again_replaces_its_rows():
    era = parse_era(sample().text(), "dec.835")
    first = post(era, {"a": CLAIMS}, dt.datetime(2026, 12, 5)).rows["a"]
    old = [dict(zip(C.REMITTANCE_HEADERS, x)) for x in first]
    other = dict(old[0], **{"Check or EFT": "CHK1", "Claim ID": "OLDER"})
    rows, replaced = merge_rows(old + [other], first, {"EFT12345"})
    assert replaced == len(first)
    assert len(rows) == len(first) + 1 and rows[0][0] == "OLDER"


def test_the_wheel_takes_the_code_list():
    import tomllib
    from pathlib import Path
    config = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    assert "remittance/*.csv" in config["tool"]["setuptools"]["package-data"]["ecm_xl"]
    assert any(d.startswith("pyx12") for d in config["project"]["dependencies"])

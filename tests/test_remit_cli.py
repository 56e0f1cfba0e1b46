"""`ecm-xl remit` and `ecm-xl status` on real workbooks, through click's CliRunner."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

from _xlsx_fixtures import build_workbook, members
from cli_workbooks import CLOSE_DATE, MEMBERS, sha256, small_workbook, table_values
from era835 import Adj, Era, Svc
from ecm_xl import api
from ecm_xl import contract as C
from ecm_xl.cli import main
from ecm_xl.xlsx import read_workbook

pytestmark = pytest.mark.filterwarnings("ignore:Data Validation extension:UserWarning")

AS_OF = "2026-12-05"
# small_workbook's month at the profile's example rates (G9008 U1 $160, G9012 U2 GQ $95, G9012 U8 GQ $30):
# member A: G9008 U1 70 min -> 2 units $320 (Timesheet rows 2, 4) and G9012 U2 GQ 20 min -> 1 unit $95 (row 3);
# member B: two outreach attempts G9012 U8 GQ -> 2 units $60 (rows 5-6).


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def claim_ids(path) -> dict:
    return {r[2]: r[0] for r in table_values(path, C.CLAIM)}     # member -> Claim ID


@pytest.fixture(scope="module")
def closed_month(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("remit")
    p = small_workbook(d / "October.xlsx")
    return Path(api.close_workbook(p, close_date=CLOSE_DATE).out)


@pytest.fixture
def closed(closed_month, tmp_path) -> Path:
    p = tmp_path / "October.closed.xlsx"
    p.write_bytes(closed_month.read_bytes())
    return p


def december_835(ids, path, *, check="EFT555") -> Path:
    """A pays $320 of $415 (line 2 denied CO-4, RARC M20); B denied CO-27; one claim not ours."""
    a, b = ids["91000001A"], ids["91000002B"]
    e = Era(check=check, paid_on=dt.date(2026, 12, 4))
    e.claim(a, "1", billed=415, paid=320, payer_claim="PAYER-A1", member_id="91000001A",
            lines=[Svc("G9008", ("U1",), 320, 320, 2),
                   Svc("G9012", ("U2", "GQ"), 95, 0, 1, adjustments=(Adj("CO", "4", 95),), remarks=("M20",))])
    e.claim(b, "4", billed=60, paid=0, payer_claim="PAYER-B1", member_id="91000002B",
            adjustments=[Adj("CO", "27", 60)], lines=[Svc("G9012", ("U8", "GQ"), 60, 0, 2)])
    e.claim("E2610NOTOURS00001", "1", billed=160, paid=160, payer_claim="PAYER-Z9", member_id="99999999Z",
            lines=[Svc("G9008", ("U1",), 160, 160, 1)])
    path.write_text(e.text())
    return path


def rows(path, name):
    return [dict(zip(C.REMITTANCE_HEADERS if name == C.REMITTANCE else C.STATUS_HEADERS, r))
            for r in table_values(path, name)]


def test_help_shows_examples():
    for command in ("remit", "status"):
        r = run(command, "--help")
        assert r.exit_code == 0 and "Example:" in r.output and f"ecm-xl {command} October.closed.xlsx" in r.output


def test_remit_posts_in_place_and_prints_no_member_names(closed, tmp_path):
    ids = claim_ids(closed)
    era = december_835(ids, tmp_path / "dec.835")
    r = run("remit", closed, "--era", era, "--as-of", AS_OF)
    assert r.exit_code == 0, r.output
    for name in [m["Last Name"] for m in MEMBERS] + [m["First Name"] for m in MEMBERS] + ["TESTPATIENT"]:
        assert name not in r.output
    assert "3 claims: 1 paid in part, 1 denied, 1 not ours; $320.00 paid on your claims" in r.output
    assert "Claim ID E2610NOTOURS00001, payer claim number PAYER-Z9" in r.output
    posted = rows(closed, C.REMITTANCE)
    a = [x for x in posted if x["Claim ID"] == ids["91000001A"]]
    # claim row, line 1 paid, line 2 denied CO-4
    assert [(x["Line"], x["Billed"], x["Paid"], x["Adjustment Code"]) for x in a] == [
        (0, 415, 320, None), (1, 320, 320, None), (2, 95, 0, "4")]
    assert {x["Claim Status"] for x in a} == {"paid in part"} and {x["Payer Claim Number"] for x in a} == {"PAYER-A1"}
    assert (a[2]["HCPCS"], a[2]["Modifier 1"], a[2]["Modifier 2"], a[2]["Units"]) == ("G9012", "U2", "GQ", 1)
    assert a[2]["Meaning"] == ("CO-4 (Contractual Obligations): The procedure code is inconsistent with the "
                               "modifier used. M20: Missing/incomplete/invalid HCPCS.")
    b = [x for x in posted if x["Claim ID"] == ids["91000002B"]]
    assert b[0]["Claim Status"] == "denied" and (b[0]["Adjustment Group"], b[0]["Adjustment Code"]) == ("CO", "27")
    z = [x for x in posted if x["Claim ID"] == "E2610NOTOURS00001"]
    assert z[0]["Claim Status"] == "not ours" and z[0]["Paid"] == 160
    assert {x["ERA File"] for x in posted} == {"dec.835"} and {x["Check or EFT"] for x in posted} == {"EFT555"}
    assert {x["Payment Date"] for x in posted} == {dt.date(2026, 12, 4)}
    # the Status sheet is refreshed with it: both claims can be fixed in the workbook
    status = {x["Claim ID"]: x for x in rows(closed, C.STATUS)}
    sa, sb = status[ids["91000001A"]], status[ids["91000002B"]]
    assert (sa["Status"], sa["Next Step"], sa["Paid"]) == ("paid in part", "fix and replace", 320)
    assert sa["Rows to Fix"] == "Timesheet row 3 (HCPCS, Modifier 1, Modifier 2, Service, Contact)"
    assert (sb["Status"], sb["Next Step"]) == ("denied", "fix and replace")
    assert sb["Rows to Fix"] == "Members row 3 (Member ID, Eligible From, Eligible Through, ECM Enrollment Date)"
    # Oct 31 + 180 days = Apr 29, 2027: 145 days after Dec 5
    assert (sa["Filing Deadline"], sa["Days Left"], sa["As Of"]) == (dt.date(2027, 4, 29), 145, dt.date(2026, 12, 5))
    # the close's own tables are untouched
    assert len(table_values(closed, C.CLAIM)) == 3


def test_posting_the_same_835_twice_duplicates_nothing(closed, tmp_path):
    era = december_835(claim_ids(closed), tmp_path / "dec.835")
    assert run("remit", closed, "--era", era, "--as-of", AS_OF).exit_code == 0
    first = table_values(closed, C.REMITTANCE)
    r = run("remit", closed, "--era", era, "--as-of", AS_OF)
    assert r.exit_code == 0 and f"replaced {len(first)} rows" in r.output
    again = table_values(closed, C.REMITTANCE)
    strip = lambda rs: [x[:-1] for x in rs]  # noqa: E731  (Posted is the time of each run)
    assert strip(again) == strip(first)


def test_dash_o_writes_a_copy_and_leaves_the_workbook(closed, tmp_path):
    era = december_835(claim_ids(closed), tmp_path / "dec.835")
    before = sha256(closed)
    out = tmp_path / "posted.xlsx"
    r = run("remit", closed, "--era", era, "-o", out)
    assert r.exit_code == 0 and sha256(closed) == before
    assert len(table_values(out, C.REMITTANCE)) == 7        # A: 3 rows, B: 2, not ours: 2


def test_claims_are_matched_across_workbooks_and_an_unrelated_one_is_left_alone(closed_month, tmp_path):
    ids = claim_ids(closed_month)
    one, other = tmp_path / "one.xlsx", tmp_path / "other.xlsx"
    one.write_bytes(closed_month.read_bytes())
    # another clinic month: November, so its Claim IDs differ
    nov = small_workbook(tmp_path / "Nov.xlsx", month="2026-11",
                         entries=[("11/5/2026", "C1", "91000001A", "ECM service", "In person", "60")])
    other = Path(api.close_workbook(nov, tmp_path / "Nov.closed.xlsx", close_date=dt.date(2026, 12, 1)).out)
    before = sha256(other)
    e = Era(check="EFT9")
    e.claim(ids["91000002B"], "1", billed=60, paid=60, payer_claim="P-B",
            lines=[Svc("G9012", ("U8", "GQ"), 60, 60, 2)])
    (tmp_path / "x.835").write_text(e.text())
    r = run("remit", other, one, "--era", tmp_path / "x.835")
    assert r.exit_code == 0, r.output
    assert sha256(other) == before
    assert "Nov.closed.xlsx: none of its claims is in this 835; left as it was" in r.output
    assert "one.xlsx: 1 claim posted" in r.output
    assert [x["Claim Status"] for x in rows(one, C.REMITTANCE)] == ["paid", "paid"]


def test_a_bad_835_is_one_line_and_nothing_is_written(closed, tmp_path):
    era = december_835(claim_ids(closed), tmp_path / "dec.835")
    era.write_text(era.read_text().replace("CLP*E2610NOTOURS00001*1*", "CLP*E2610NOTOURS00001*X*"))
    before = sha256(closed)
    r = CliRunner().invoke(main, ["remit", str(closed), "--era", str(era)])
    assert r.exit_code == 2
    assert r.output.strip().count("\n") == 0
    assert r.output.startswith("ecm-xl: dec.835: is not a valid 835: line ")
    assert sha256(closed) == before


def test_dash_o_with_several_workbooks_is_refused(closed, tmp_path):
    era = december_835(claim_ids(closed), tmp_path / "dec.835")
    r = CliRunner().invoke(main, ["remit", str(closed), str(closed), "--era", str(era), "-o", str(tmp_path / "o.xlsx")])
    assert r.exit_code == 2 and "-o OUT works with one workbook" in r.output


def test_an_open_workbook_without_a_claim_table_is_one_line(tmp_path):
    p = tmp_path / "NoClaim.xlsx"
    from openpyxl import Workbook
    Workbook().save(p)
    era = tmp_path / "a.835"
    era.write_text(Era().claim("X", "1", billed=1, paid=1, payer_claim="P").text())
    r = CliRunner().invoke(main, ["remit", str(p), "--era", str(era)])
    assert r.exit_code == 2 and "NoClaim.xlsx: has no Claim table: close the month first" in r.output


def test_a_workbook_from_an_older_template_gains_the_sheets_and_keeps_every_other_part(tmp_path):
    src = build_workbook(tmp_path / "clinic.xlsm", xlsm=True)
    closed = Path(api.close_workbook(src, tmp_path / "clinic.closed.xlsm", close_date=CLOSE_DATE).out)
    wb = read_workbook(closed, required=())
    assert C.REMITTANCE not in wb.headers and C.STATUS not in wb.headers
    cid = next(r["Claim ID"] for r in wb.tables[C.CLAIM].rows if r["Claim ID"])
    e = Era(check="EFT1")
    e.claim(cid, "1", billed=1, paid=1, payer_claim="P1")
    (tmp_path / "a.835").write_text(e.text())
    before = members(closed)
    out = tmp_path / "posted.xlsm"
    r = run("remit", closed, "--era", tmp_path / "a.835", "-o", out)
    assert r.exit_code == 0, r.output
    after = members(out)
    wb2 = read_workbook(out, required=())
    assert wb2.headers[C.REMITTANCE] == C.REMITTANCE_HEADERS and wb2.headers[C.STATUS] == C.STATUS_HEADERS
    assert wb2.sheets[C.REMITTANCE] == C.REMITTANCE
    changed = {n for n in before if before[n] != after.get(n)}
    assert changed <= {"[Content_Types].xml", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/styles.xml"}
    assert "xl/vbaProject.bin" in after and after["xl/vbaProject.bin"] == before["xl/vbaProject.bin"]
    added = set(after) - set(before)
    assert len(added) == 6                      # two sheets, their rels, two tables
    # the dates read back as dates (the added sheet gives the column a date format)
    posted = rows(out, C.REMITTANCE)
    assert posted[0]["Payment Date"] == dt.date(2026, 12, 4) and posted[0]["Claim Status"] == "paid"


def test_a_workbook_with_the_added_sheets_opens_in_libreoffice(tmp_path):
    from libreoffice import convert, soffice_or_skip
    soffice_or_skip()
    src = build_workbook(tmp_path / "clinic.xlsx")
    closed = Path(api.close_workbook(src, tmp_path / "clinic.closed.xlsx", close_date=CLOSE_DATE).out)
    cid = next(r["Claim ID"] for r in read_workbook(closed, required=()).tables[C.CLAIM].rows if r["Claim ID"])
    (tmp_path / "a.835").write_text(Era(check="E1").claim(cid, "4", billed=1, paid=0, payer_claim="P",
                                                          adjustments=[Adj("CO", "4", 1)]).text())
    assert run("remit", closed, "--era", tmp_path / "a.835").exit_code == 0
    back = convert(closed, tmp_path / "lo", "xlsx")
    posted = [dict(zip(C.REMITTANCE_HEADERS, r)) for r in table_values(back, C.REMITTANCE)]
    assert posted[0]["Claim ID"] == cid and posted[0]["Adjustment Code"] == "4"
    assert posted[0]["Payment Date"] == dt.date(2026, 12, 4)


def test_status_prints_the_next_steps_and_writes_the_status_sheet(closed, tmp_path):
    ids = claim_ids(closed)
    r = run("status", closed, "--as-of", "2026-11-30", "--no-write")
    before = sha256(closed)
    assert r.exit_code == 0 and "2 claims: 2 not sent" in r.output
    assert f"{ids['91000001A']}: not sent, 150 days left to file; next: send" in r.output
    assert sha256(closed) == before
    era = december_835(ids, tmp_path / "dec.835")
    assert run("remit", closed, "--era", era, "--as-of", AS_OF).exit_code == 0
    r = run("status", closed, "--as-of", "2026-12-10")
    assert r.exit_code == 0
    assert f"{ids['91000002B']}: denied, 140 days left to file; next: fix and replace (Members row 3" in r.output
    for name in [m["Last Name"] for m in MEMBERS]:
        assert name not in r.output
    assert {x["As Of"] for x in rows(closed, C.STATUS)} == {dt.date(2026, 12, 10)}


def test_dash_o_replaces_only_an_earlier_copy_unless_forced(closed, tmp_path):
    era = december_835(claim_ids(closed), tmp_path / "dec.835")
    out = tmp_path / "posted.xlsx"
    assert run("remit", closed, "--era", era, "-o", out).exit_code == 0
    assert run("remit", closed, "--era", era, "-o", out).exit_code == 0      # its own earlier copy
    other = tmp_path / "other.xlsx"
    other.write_bytes(b"PK not ours")
    r = CliRunner().invoke(main, ["remit", str(closed), "--era", str(era), "-o", str(other)])
    assert r.exit_code == 2 and "other.xlsx: already exists" in r.output and other.read_bytes() == b"PK not ours"
    assert run("remit", closed, "--era", era, "-o", other, "--force").exit_code == 0


def test_provider_level_adjustments_are_named_not_dropped(closed, tmp_path):
    ids = claim_ids(closed)
    e = Era(check="EFT77")
    e.claim(ids["91000002B"], "1", billed=60, paid=60, payer_claim="P-B", lines=[Svc("G9012", ("U8", "GQ"), 60, 60, 2)])
    e.provider_adjustment("WO", "OVERPAY-2026-09", 25)
    assert "BPR*I*35*" in e.text()                 # 60 paid on the claim, less 25 recouped
    (tmp_path / "plb.835").write_text(e.text())
    r = run("remit", closed, "--era", tmp_path / "plb.835")
    assert r.exit_code == 0, r.output
    assert "1 provider-level adjustment (PLB WO) of $25.00, tied to no claim" in r.output

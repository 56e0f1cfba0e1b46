"""The claim-line CSV: the Claim sheet's columns, numbers that reconcile, no formulas."""
from __future__ import annotations

import csv
import datetime as dt
import io
import os
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecm_xl import contract as C
from ecm_xl.exports import claims_csv, export_results, export_text

from x12check import MEMBERS, SETUP, TIMESHEET, another_npi, close, row


def read(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline="")))


def write(results, **kw) -> str:
    buf = io.StringIO(newline="")
    claims_csv(results, buf, **kw)
    return buf.getvalue()


def test_columns_are_the_claim_sheet_headers():
    text = write([close()])
    assert next(csv.reader(io.StringIO(text))) == list(C.CLAIM_HEADERS)
    assert text.endswith("\r\n")


def test_every_line_reconciles_exactly():
    result = close()
    rows = read(write([result]))
    assert len(rows) == len(result.claim_lines) == 9
    for r, l in zip(rows, result.claim_lines):
        assert (r["Claim ID"], int(r["Line"]), r["Member ID"]) == (l.claim_id, l.line, l.member_id)
        assert int(r["Units"]) == l.units
        assert Decimal(r["Charge"]) == Decimal(str(l.charge)).quantize(Decimal("0.01"))
        assert Decimal(r["Rate"]) == Decimal(str(l.rate)).quantize(Decimal("0.01"))
        assert Decimal(r["Charge"]) == int(r["Units"]) * Decimal(r["Rate"])
        assert (r["HCPCS"], r["Modifier 1"], r["Modifier 2"]) == (l.hcpcs, l.modifier_1, l.modifier_2)
        assert (r["From Date"], r["To Date"]) == (l.from_date.isoformat(), l.to_date.isoformat())
        assert r["Date of Birth"] == l.birth_date.isoformat()
        assert float(r["Minutes"]) == l.minutes
        assert r["Place of Service"] == l.place_of_service
    assert sum(int(r["Units"]) for r in rows) == result.totals.units
    assert sum(Decimal(r["Charge"]) for r in rows) == Decimal(str(result.totals.charge)).quantize(Decimal("0.01"))


def test_team_care_line_reads_as_the_clinic_expects():
    rows = read(write([close()]))
    first = rows[0]
    # 50 + 20 minutes of clinical in-person care: 70 minutes, 2 units at $160.
    assert (first["HCPCS"], first["Modifier 1"], first["Minutes"], first["Units"], first["Charge"]) == \
        ("G9008", "U1", "70", "2", "320.00")
    assert first["Source Rows"] == "2-3"


def test_a_line_without_a_rate_has_blank_money():
    codes = [{"HCPCS": "G9008", "Modifier 1": "U1", "Modifier 2": "", "Rate": None}]
    rows = read(write([close(codes=codes)]))
    unpriced = [r for r in rows if (r["HCPCS"], r["Modifier 1"], r["Modifier 2"]) == ("G9008", "U1", "")]
    assert unpriced and all(r["Rate"] == "" and r["Charge"] == "" and r["Units"] for r in unpriced)


def test_source_file_column_for_several_workbooks():
    second = close(setup={**SETUP, "BillingNPI": another_npi()}, timesheet=TIMESHEET[:3])
    first = close()
    text = write([first, second], source=["north.xlsx", "south.xlsx"])
    rows = read(text)
    assert next(csv.reader(io.StringIO(text)))[0] == "Source File"
    assert [r["Source File"] for r in rows] == ["north.xlsx"] * 9 + ["south.xlsx"] * len(second.claim_lines)
    one = read(write(first, source="north.xlsx"))
    assert {r["Source File"] for r in one} == {"north.xlsx"}


def test_appending_without_a_header():
    buf = io.StringIO(newline="")
    claims_csv([close()], buf, source="a.xlsx")
    claims_csv([close()], buf, source="b.xlsx", header=False)
    rows = read(buf.getvalue())
    assert len(rows) == 18 and rows[9]["Source File"] == "b.xlsx"


def test_claim_lines_list_is_accepted():
    result = close()
    assert write(result.claim_lines) == write([result]) == write(result)


def test_formula_text_is_defused():
    members = [dict(m, **{"Last Name": "=HYPERLINK(\"http://x\",\"y\")", "First Name": "+1"})
               if m["Member ID"] == "91000001A" else m for m in MEMBERS]
    text = write([close(members=members)], source="@evil.xlsx")
    rows = read(text)
    bad = [r for r in rows if r["Member ID"] == "91000001A"]
    assert bad and all(r["Member Name"].startswith("'=HYPERLINK") for r in bad)
    assert all(r["Source File"] == "'@evil.xlsx" for r in rows)
    # Every text cell that starts like a formula carries the quote; numbers are left alone.
    for r in rows:
        for k, v in r.items():
            assert not v.startswith(("=", "+", "@")), (k, v)
            if v.startswith("-"):
                float(v)


@settings(max_examples=25, deadline=None)
@given(minutes=st.lists(st.integers(1, 300), min_size=1, max_size=30), days=st.data())
def test_random_months_reconcile(minutes, days):
    ids = [m["Member ID"] for m in MEMBERS]
    rows = [row(f"10/{days.draw(st.integers(1, 31))}/2026", days.draw(st.sampled_from(["C1", "N1"])),
                days.draw(st.sampled_from(ids)), contact=days.draw(st.sampled_from(["In person", "Text/Email"])),
                minutes=m) for m in minutes]
    result = close(timesheet=rows)
    got = read(write([result]))
    assert [(r["Claim ID"], int(r["Line"]), int(r["Units"]), Decimal(r["Charge"])) for r in got] == \
        [(l.claim_id, l.line, l.units, Decimal(str(l.charge)).quantize(Decimal("0.01"))) for l in result.claim_lines]


def test_export_results_csv_file(tmp_path):
    result = close()
    out = tmp_path / "october.csv"
    summary = export_results([result], "csv", out)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # a BOM, so Excel reads accented names as UTF-8
    rows = read(raw.decode("utf-8"))
    assert len(rows) == summary.lines == 9
    assert summary.units == sum(int(r["Units"]) for r in rows) == result.totals.units
    assert summary.charge == float(sum(Decimal(r["Charge"]) for r in rows))
    assert summary.claims == len({r["Claim ID"] for r in rows}) == 5
    assert "José" in raw.decode("utf-8-sig")
    assert os.listdir(tmp_path) == ["october.csv"]


def test_csv_takes_no_x12_options():
    with pytest.raises(TypeError):
        export_text([close()], "csv", control_number=3)


def test_csv_and_837p_agree(tmp_path):
    from x12check import claims
    result = close()
    x12 = export_text([result], "x12")
    rows = read(export_text([result], "csv"))
    by_claim = {}
    for r in rows:
        by_claim.setdefault(r["Claim ID"], []).append((int(r["Units"]), Decimal(r["Charge"])))
    for c in claims(x12):
        assert [(int(s.units), Decimal(s.charge)) for s in c.lines] == by_claim[c.pcn]
        assert Decimal(c.total) == sum(ch for _, ch in by_claim[c.pcn])


def test_unknown_dates_stay_blank():
    result = close()
    line = result.claim_lines[0]._replace(birth_date=None)
    rows = read(write([line]))
    assert rows[0]["Date of Birth"] == ""
    assert dt.date.fromisoformat(rows[0]["From Date"]) == line.from_date

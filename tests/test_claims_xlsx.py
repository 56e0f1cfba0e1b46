"""`ecm-xl export --format xlsx`: the claim lines for people, with identifiers that keep their zeros."""
from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl
import pytest
from click.testing import CliRunner

from ecm_xl import contract as C
from ecm_xl.cli import main

from cli_workbooks import CLOSE_DATE, MEMBERS, small_workbook

ZEROS = "000000123"   # a Member ID a spreadsheet would read as the number 123


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def closed(tmp_path_factory):
    d = tmp_path_factory.mktemp("xlsx")
    members = [dict(MEMBERS[0], **{"Member ID": ZEROS}), MEMBERS[1]]
    entries = [("10/5/2026", "C1", ZEROS, "ECM service", "In person", "50"),
               ("10/6/2026", "N1", ZEROS, "ECM service", "Phone/Telehealth", "20"),
               ("10/8/2026", "N1", "91000002B", "Outreach attempt", "Text/Email", "10")]
    book = small_workbook(d / "Oct.xlsx", members=members, entries=entries)
    assert run("close", book, "--close-date", CLOSE_DATE).exit_code == 0
    return d / "Oct.closed.xlsx"


@pytest.fixture(scope="module")
def exported(closed):
    out = closed.parent / "claims.xlsx"
    r = run("export", closed, "--format", "xlsx", "-o", out, "--close-date", CLOSE_DATE)
    assert r.exit_code == 0, r.output
    assert r.output.startswith("Exported 2 claims, 3 claim lines") and r.output.strip().endswith("claims.xlsx")
    csv_out = closed.parent / "claims.csv"
    assert run("export", closed, "--format", "csv", "-o", csv_out, "--close-date", CLOSE_DATE).exit_code == 0
    return out, csv_out


def sheet(path):
    ws = openpyxl.load_workbook(path).active
    rows = list(ws.iter_rows())
    return [c.value for c in rows[0]], rows[1:]


def test_identifiers_are_text_and_keep_their_zeros(exported):
    headers, rows = sheet(exported[0])
    assert headers == list(C.CLAIM_HEADERS)
    col = {h: i for i, h in enumerate(headers)}
    member = [r[col["Member ID"]] for r in rows]
    assert [c.value for c in member][:2] == [ZEROS, ZEROS]
    for r in rows:
        for h in ("Claim ID", "Member ID", "Place of Service", "HCPCS", "Billing NPI", "Tax ID"):
            assert r[col[h]].data_type == "s" and r[col[h]].number_format == "@", h
        assert len(r[col["Place of Service"]].value) == 2     # "02", "10", "11": two characters
    assert [r[col["Tax ID"]].value for r in rows] == ["123456789"] * 3


def test_dates_are_dates_and_money_is_currency(exported):
    headers, rows = sheet(exported[0])
    col = {h: i for i, h in enumerate(headers)}
    first = rows[0]
    assert first[col["From Date"]].value == dt.datetime(2026, 10, 5)
    assert first[col["Date of Birth"]].value == dt.datetime(1970, 1, 2)
    assert first[col["From Date"]].number_format == "m/d/yyyy"
    assert first[col["Charge"]].number_format == '"$"#,##0.00' and isinstance(first[col["Charge"]].value, (int, float))
    assert isinstance(first[col["Units"]].value, int)


def test_the_xlsx_holds_what_the_csv_holds(exported):
    """The same lines as the CSV a billing system imports, cell for cell (as text)."""
    headers, rows = sheet(exported[0])
    with open(exported[1], newline="", encoding="utf-8-sig") as f:
        table = list(csv.reader(f))
    assert table[0] == headers

    money = {headers.index("Rate"), headers.index("Charge")}

    def as_text(i, v):
        if isinstance(v, dt.datetime):
            return v.date().isoformat()
        if i in money and v is not None:
            return f"{v:.2f}"
        if isinstance(v, float) and v.is_integer():
            return str(int(v))
        return "" if v is None else str(v)
    got = [[as_text(i, c.value) for i, c in enumerate(r)] for r in rows]
    assert got == table[1:]


def test_a_formula_looking_name_stays_text(tmp_path):
    from ecm_xl.exports import claims_xlsx
    from x12check import close
    result = close()
    lines = [l._replace(member_name="=HYPERLINK(\"http://x\")") for l in result.claim_lines[:1]]
    ws = openpyxl.load_workbook(io.BytesIO(claims_xlsx(lines))).active
    cell = ws.cell(2, C.CLAIM_HEADERS.index("Member Name") + 1)
    assert cell.data_type == "s" and cell.value == "=HYPERLINK(\"http://x\")"


def test_xlsx_export_is_refused_under_a_csv_name(closed, tmp_path):
    r = run("export", closed, "--format", "xlsx", "-o", tmp_path / "claims.csv", "--close-date", CLOSE_DATE)
    assert r.exit_code == 2
    assert r.stderr.strip() == ("ecm-xl: claims.csv: can't be written: a workbook is named *.xlsx or *.xlsm, "
                                "so nothing was written")
    assert not (tmp_path / "claims.csv").exists()


def test_an_earlier_xlsx_export_is_replaced_anything_else_kept(closed, exported, tmp_path):
    again = run("export", closed, "--format", "xlsx", "-o", exported[0], "--close-date", CLOSE_DATE)
    assert again.exit_code == 0, again.output
    other = tmp_path / "budget.xlsx"
    other.write_bytes(closed.read_bytes())        # a workbook that is not a claim-lines export
    r = run("export", closed, "--format", "xlsx", "-o", other, "--close-date", CLOSE_DATE)
    assert r.exit_code == 2 and "already exists" in r.stderr
    assert other.read_bytes() == closed.read_bytes()

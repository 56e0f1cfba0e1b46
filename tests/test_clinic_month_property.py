"""R2 across workbooks, as a property: a month's rows split at random over 1-4 workbooks bill
exactly what one workbook of the same rows bills, through `ecm-xl batch` on real files.

Compared: every claim line of claims.csv (Claim ID, line, member, dates, place, code, units, rate,
charge, minutes, ...), except where each line's rows came from (Source File, Source Rows)."""
from __future__ import annotations

import csv
import tempfile
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecm_xl import api
from ecm_xl.cli import main

from cli_workbooks import CLOSE_DATE, MEMBERS, SETTINGS

STAFF = [
    {"Staff ID": "C1", "Staff Name": "Nurse One", "Staff Type": "Clinical", "NPI": ""},
    {"Staff ID": "C2", "Staff Name": "Nurse Two", "Staff Type": "Clinical", "NPI": ""},
    {"Staff ID": "N1", "Staff Name": "Worker One", "Staff Type": "Non-clinical", "NPI": ""},
    {"Staff ID": "N2", "Staff Name": "Worker Two", "Staff Type": "Non-clinical", "NPI": ""},
]
MEMBER_IDS = ["91000001A", "91000002B", "404"]          # 404 is on no roster
SOURCE = ("Source File", "Source Rows")

_BASE: dict = {}


def base_workbook() -> bytes:
    """A new October workbook with the rosters, made once."""
    if "bytes" not in _BASE:
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "base.xlsx"
            api.new_workbook(p, month="2026-10", staff=STAFF, members=MEMBERS, settings=SETTINGS)
            _BASE["bytes"] = p.read_bytes()
    return _BASE["bytes"]


@st.composite
def split_months(draw):
    n = draw(st.integers(min_value=1, max_value=14))
    rows = []
    for _ in range(n):
        rows.append({
            "Date": f"{draw(st.sampled_from([9, 10, 10, 10]))}/{draw(st.integers(1, 28))}/2026",
            "Staff ID": draw(st.sampled_from([s["Staff ID"] for s in STAFF])),
            "Member ID": draw(st.sampled_from(MEMBER_IDS)),
            "Service": draw(st.sampled_from(["ECM service", "ECM service", "Outreach attempt"])),
            "Contact": draw(st.sampled_from(["In person", "Phone/Telehealth", "Text/Email", "Mass communication"])),
            "Minutes": str(draw(st.sampled_from([5, 15, 20, 30, 30, 40, 45, 60, 61, 90]))),
        })
        if draw(st.integers(0, 7)) == 0:                       # now and then the same row twice
            rows.append(dict(rows[-1]))
    books = draw(st.integers(min_value=1, max_value=4))
    where = [draw(st.integers(0, books - 1)) for _ in rows]
    return rows, books, where


def claims(folder: Path, out: Path) -> list:
    r = CliRunner().invoke(main, ["batch", str(folder), "-o", str(out), "--workers", "1",
                                  "--close-date", CLOSE_DATE.isoformat()])
    assert r.exit_code == 0, r.output
    with open(out / "claims.csv", newline="", encoding="utf-8-sig") as f:
        return [{k: v for k, v in row.items() if k not in SOURCE} for row in csv.DictReader(f)]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(split_months())
def test_a_month_split_over_workbooks_bills_what_one_workbook_bills(month):
    rows, books, where = month
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        (d / "split").mkdir()
        (d / "one").mkdir()
        for k in range(books):
            p = d / "split" / f"team{k + 1}.xlsx"
            p.write_bytes(base_workbook())
            mine = [r for r, w in zip(rows, where) if w == k]
            if mine:
                api.fill_workbook(p, mine)
        whole = d / "one" / "October.xlsx"
        whole.write_bytes(base_workbook())
        api.fill_workbook(whole, [r for k in range(books) for r, w in zip(rows, where) if w == k])
        split, one = claims(d / "split", d / "out-split"), claims(d / "one", d / "out-one")
        assert split == one
        assert len({c["Claim ID"] for c in one}) == len({c["Member ID"] for c in one})   # one claim per member
        # and by hand: a care group's units are its minutes rounded up once, to 60-minute units
        for c in one:
            if c["Modifier 1"] in ("U1", "U2"):
                assert int(c["Units"]) == -(-int(float(c["Minutes"])) // 60)

"""The monthly close in Excel equals the headless close of the same workbook.

Every test drives `ecm_xl.excel` through xlwings' remote engine (the Book API
of xlwings Lite and xlwings Server) on payloads built from real xlsx files,
carries the returned actions out on the file with openpyxl, and reads back
what landed in the cells.
"""
import datetime as dt
import shutil
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings, strategies as st
from openpyxl import load_workbook

from ecm_xl import contract as C
from ecm_xl import api, demo, excel
from ecm_xl.tables import output_tables
from xl_apply import SUPPORTED
from xl_books import contract_workbook, fill_template, table_rows
from xl_close import excel_close, headless_close, norm, output_values
from xl_payload import actions, make_book, payload_from_xlsx

CLOSE = demo.DEMO_CLOSE_DATE


def month_book(path, m, *, template=None, **kw):
    rows = dict(settings=m.settings, staff=m.staff, members=m.members, timesheet=m.entries, **kw)
    if template is not None:
        return fill_template(template, path, **rows)
    return contract_workbook(path, **rows)


def assert_same_outputs(excel_file, headless_file):
    got, want = output_values(excel_file), output_values(headless_file)
    for name in C.OUTPUT_TABLES:
        assert got[name][0] == want[name][0], name
        assert len(got[name][1]) == len(want[name][1]), name
        for i, (a, b) in enumerate(zip(got[name][1], want[name][1])):
            assert a == b, f"{name} row {i + 2}"


@pytest.fixture(scope="module")
def demo_closed(tmp_path_factory):
    """The demo month as `ecm-xl demo` makes it (template, rosters, entries filled like a
    clinic does, then the headless close), and the same workbook closed in Excel."""
    tmp = tmp_path_factory.mktemp("demo")
    report = api.demo(tmp / "demo")
    result, acts, alerts = excel_close(report.workbook, tmp / "excel.xlsx", close_date=CLOSE)
    shutil.copyfile(report.close.out, tmp / "headless.xlsx")
    return result, report.close.result, acts, alerts, load_workbook(tmp / "excel.xlsx"), tmp


def test_demo_month_in_excel_equals_headless_close(demo_closed):
    result, want, acts, alerts, wb, tmp = demo_closed
    assert result.totals == want.totals
    assert result.totals.claim_lines > 50 and result.totals.errors > 5   # a month worth comparing
    assert_same_outputs(tmp / "excel.xlsx", tmp / "headless.xlsx")
    # what the user sees: the Summary sheet, and one line saying what happened
    assert wb.active.title == C.SUMMARY
    assert len(alerts) == 1 and "\n" not in alerts[0]
    assert f"{result.totals.claim_lines} claim lines" in alerts[0] and "October 2026" in alerts[0]
    assert {a["func"] for a in acts} <= SUPPORTED


def test_dates_land_as_dates_and_ids_as_text(demo_closed):
    wb = demo_closed[4]
    headers, rows = table_rows(wb, C.CLAIM)
    line = dict(zip(headers, rows[0]))
    assert isinstance(line["From Date"], dt.datetime) and isinstance(line["Date of Birth"], dt.datetime)
    assert isinstance(line["Billing NPI"], str) and isinstance(line["Tax ID"], str)
    assert isinstance(line["Place of Service"], str) and isinstance(line["Units"], int)
    ws = wb[C.CLAIM]
    assert ws.cell(2, headers.index("Charge") + 1).number_format == C.MONEY_FORMAT
    assert ws.cell(2, headers.index("Source Rows") + 1).number_format == "@"


def test_demo_month_with_formula_values_as_excel_sends_them(demo_closed, tmp_path):
    """The payload of the demo workbook after a spreadsheet application calculated it
    (helper columns hold values, as they do in Excel) gives the same close."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from libreoffice import recalculate, soffice_or_skip

    soffice_or_skip()
    result, want, _, _, _, tmp = demo_closed
    src = next(Path(tmp, "demo").glob("ECM_Timesheet_*[0-9].xlsx"))
    calculated = recalculate(src, tmp_path / "calculated.xlsx")
    payload = payload_from_xlsx(calculated)
    ts = next(s for s in payload["sheets"] if s["name"] == C.TIMESHEET)
    plan_code = ts["values"][0].index("Plan Code")
    assert any(str(r[plan_code]).startswith("G90") for r in ts["values"][1:])   # helper values are there
    again, _, _ = excel_close(src, tmp_path / "excel.xlsx", close_date=CLOSE, payload=payload)
    assert again.totals == want.totals
    assert_same_outputs(tmp_path / "excel.xlsx", tmp / "headless.xlsx")


@settings(max_examples=6, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), members=st.integers(30, 45), staff=st.integers(2, 6),
       planted=st.booleans(), month=st.sampled_from([dt.date(2026, 1, 1), dt.date(2026, 10, 1),
                                                      dt.date(2027, 3, 1)]))
def test_random_months_in_excel_equal_headless_close(tmp_path_factory, seed, members, staff, planted, month):
    tmp = tmp_path_factory.mktemp("random")
    m = demo.make_month(seed, month, members=members, staff=staff, planted=planted)
    src = month_book(tmp / "in.xlsx", m)
    close_date = dt.date(2027, 6, 30)   # late enough for some R13 warnings
    result, _, _ = excel_close(src, tmp / "excel.xlsx", close_date=close_date)
    want = headless_close(src, tmp / "headless.xlsx", close_date=close_date)
    assert result.totals == want.totals
    assert_same_outputs(tmp / "excel.xlsx", tmp / "headless.xlsx")


def close_actions(tmp_path, rows, name):
    m = demo.rows_for_size(rows)
    src = month_book(tmp_path / f"{name}.xlsx", m)
    book = make_book(payload_from_xlsx(src))
    result = excel.monthly_close(book, close_date=CLOSE)
    return result, actions(book)


def test_action_count_does_not_grow_with_rows(tmp_path):
    small, few = close_actions(tmp_path, 10, "small")
    big, many = close_actions(tmp_path, 2000, "big")
    assert big.totals.rows_in > 1900 and small.totals.rows_in <= 10
    assert big.totals.claim_lines > 10 * small.totals.claim_lines
    assert [a["func"] for a in few] == [a["func"] for a in many]
    # one write per output table, whatever the row count
    assert [a["func"] for a in many].count("setValues") == 3
    writes = {a["sheet_position"]: a["row_count"] for a in many if a["func"] == "setValues"}
    assert sorted(writes.values())[-1] == big.totals.claim_lines


def test_reads_one_range_per_table(tmp_path, monkeypatch):
    """Reads of cell values: one per input table and Lists table, one for Setup, one header per output."""
    from xlwings.pro import _xlremote

    counts = []
    for rows in (10, 2000):
        m = demo.rows_for_size(rows)
        src = month_book(tmp_path / f"r{rows}.xlsx", m)
        book = make_book(payload_from_xlsx(src))
        reads = []
        original = _xlremote.Range.raw_value.fget
        monkeypatch.setattr(_xlremote.Range, "raw_value",
                            property(lambda self: reads.append(self.address) or original(self),
                                     _xlremote.Range.raw_value.fset))
        excel.monthly_close(book, close_date=CLOSE)
        monkeypatch.undo()
        counts.append(len(reads))
    assert counts[0] == counts[1] == 3 + 2 + 1 + 3


def test_rows_left_from_a_longer_close_are_cleared(tmp_path):
    big = demo.make_month(7, members=30)
    src = month_book(tmp_path / "in.xlsx", big)
    first, _, _ = excel_close(src, tmp_path / "first.xlsx", close_date=CLOSE)
    # the next close of the same workbook has far fewer rows
    small = big._replace(entries=big.entries[:5])
    again = month_book(tmp_path / "again.xlsx", small,
                       outputs={name: rows for name, (_, rows) in output_tables(first).items()})
    before = {name: len(table_rows(again, name)[1]) for name in C.OUTPUT_TABLES}
    assert before[C.CLAIM] == first.totals.claim_lines > 20
    second, acts, _ = excel_close(again, tmp_path / "second.xlsx", close_date=CLOSE)
    assert second.totals.claim_lines < 5
    headless_close(again, tmp_path / "h.xlsx", close_date=CLOSE)
    assert_same_outputs(tmp_path / "second.xlsx", tmp_path / "h.xlsx")
    ws = load_workbook(tmp_path / "second.xlsx")[C.CLAIM]
    assert ws.tables[C.CLAIM].ref == f"A1:S{1 + second.totals.claim_lines}"
    leftover = [c.value for row in ws.iter_rows(min_row=2 + second.totals.claim_lines,
                                                max_row=1 + first.totals.claim_lines) for c in row]
    assert leftover and all(v is None for v in leftover)
    assert [a["func"] for a in acts].count("rangeClearContents") == 3


def test_a_month_with_nothing_to_bill_leaves_one_blank_row(tmp_path):
    m = demo.make_month(3, members=5, planted=False)
    src = month_book(tmp_path / "in.xlsx", m._replace(entries=[]))
    result, _, alerts = excel_close(src, tmp_path / "excel.xlsx", close_date=CLOSE)
    assert result.totals.claim_lines == 0
    headers, rows = table_rows(tmp_path / "excel.xlsx", C.CLAIM)
    assert len(rows) == 1 and all(v is None for v in rows[0])
    assert "0 claim lines" in alerts[0]


def test_typed_text_is_never_a_formula_and_ids_keep_their_zeros(tmp_path):
    m = demo.make_month(11, members=4, planted=False)
    members = [dict(r) for r in m.members]
    old_id = members[0]["Member ID"]
    for r in members:
        if r["Member ID"] == old_id:
            r["Member ID"], r["Last Name"] = "000123", '=HYPERLINK("http://x.invalid","click")'
    entries = [dict(e, **{"Member ID": "000123"}) if e["Member ID"] == old_id else e for e in m.entries]
    src = month_book(tmp_path / "in.xlsx", m._replace(members=members, entries=entries))
    result, acts, _ = excel_close(src, tmp_path / "excel.xlsx", close_date=CLOSE)
    assert any(l.member_id == "000123" for l in result.claim_lines)
    sent = [v for a in acts if a["func"] == "setValues" for row in a["values"] for v in row]
    assert not any(isinstance(v, str) and v.startswith("=") for v in sent)
    assert any(isinstance(v, str) and v.startswith("'=HYPERLINK") for v in sent)
    headers, rows = table_rows(tmp_path / "excel.xlsx", C.CLAIM)
    ids = [r[headers.index("Member ID")] for r in rows]
    assert "000123" in ids
    headless_close(src, tmp_path / "h.xlsx", close_date=CLOSE)
    assert_same_outputs(tmp_path / "excel.xlsx", tmp_path / "h.xlsx")


def test_a_table_found_anywhere_and_below_a_title_row(tmp_path):
    m = demo.make_month(5, members=30)
    src = month_book(tmp_path / "in.xlsx", m, timesheet_top=4)
    result, _, _ = excel_close(src, tmp_path / "excel.xlsx", close_date=CLOSE)
    want = headless_close(src, tmp_path / "h.xlsx", close_date=CLOSE)
    assert result.totals == want.totals
    rows_named = {p.row for p in result.problems if p.sheet == C.TIMESHEET}
    assert rows_named and min(rows_named) >= 5   # rows are named as Excel shows them


def test_a_missing_table_is_one_line_naming_the_workbook(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = C.STAFF
    wb.save(tmp_path / "broken.xlsx")
    book = make_book(payload_from_xlsx(tmp_path / "broken.xlsx"))
    with pytest.raises(excel.ExcelError) as e:
        excel.monthly_close(book, close_date=CLOSE)
    assert str(e.value) == ("broken.xlsx: the Staff sheet has no table named Staff "
                            "(select the data and use Insert > Table, named Staff)")
    assert actions(book) == []


def test_missing_required_column_is_named(tmp_path):
    m = demo.make_month(5, members=3, planted=False)
    src = month_book(tmp_path / "in.xlsx", m)
    payload = payload_from_xlsx(src)
    for sheet in payload["sheets"]:
        if sheet["name"] == C.TIMESHEET:
            j = sheet["values"][0].index("Minutes")
            sheet["values"][0][j] = "Mins"
    with pytest.raises(excel.ExcelError, match=r"^in.xlsx: the Timesheet table has no 'Minutes' column$"):
        excel.monthly_close(make_book(payload), close_date=CLOSE)


def test_setup_is_read_through_its_defined_names(tmp_path):
    m = demo.make_month(5, members=3, planted=False)
    src = month_book(tmp_path / "in.xlsx", m)
    setup, tables = excel.read_book(make_book(payload_from_xlsx(src)))
    assert set(setup) == set(C.SETTING_NAMES)
    assert norm(setup["BillingMonth"]) == m.settings["BillingMonth"]
    assert setup["BillingNPI"] == m.settings["BillingNPI"]
    assert set(tables) == {C.STAFF, C.MEMBERS, C.TIMESHEET, C.CODES, C.ACTIVITIES}
    assert tables[C.TIMESHEET].first_row == 2 and len(tables[C.TIMESHEET].rows) == len(m.entries)


def test_fill_action_count_does_not_grow_with_rows(tmp_path):
    funcs = []
    for rows in (10, 2000):
        m = demo.rows_for_size(rows)
        book = make_book(payload_from_xlsx(month_book(tmp_path / f"f{rows}.xlsx", m)))
        filled = excel.fill_timesheet(book)
        assert len(filled) > rows * 0.9
        funcs.append([a["func"] for a in actions(book)])
    assert funcs[0] == funcs[1] == ["setNumberFormat", "setValues", "alert"]


def _table_entry(payload, name):
    return next(t for s in payload["sheets"] for t in s["tables"] if t["name"] == name)


def test_an_input_totals_row_is_not_a_timesheet_row(tmp_path):
    m = demo.make_month(5, members=3, planted=False)
    plain = make_book(payload_from_xlsx(month_book(tmp_path / "plain.xlsx", m)))
    want = excel.monthly_close(plain, close_date=CLOSE, notify=False)
    totals_row = {"Date": "Total", "Staff ID": "", "Minutes": 999}
    payload = payload_from_xlsx(month_book(tmp_path / "totals.xlsx", m._replace(entries=m.entries + [totals_row])))
    _table_entry(payload, C.TIMESHEET)["show_totals"] = True   # Table Design > Total Row
    got = excel.monthly_close(make_book(payload), close_date=CLOSE, notify=False)
    assert got.totals == want.totals and got.problems == want.problems


def test_an_output_table_with_a_totals_row_is_refused_before_anything_is_written(tmp_path):
    m = demo.make_month(5, members=3, planted=False)
    payload = payload_from_xlsx(month_book(tmp_path / "in.xlsx", m))
    _table_entry(payload, C.EXCEPTIONS)["show_totals"] = True   # the last of the three written
    book = make_book(payload)
    with pytest.raises(excel.ExcelError, match=r"^in.xlsx: the Exceptions table has a totals row; turn it off "):
        excel.monthly_close(book, close_date=CLOSE)
    assert actions(book) == []


def test_blank_cells_sent_as_null_give_the_same_close(tmp_path):
    """Office.js clients send an empty cell as "", the VBA client as null."""
    m = demo.make_month(9, members=30)
    payload = payload_from_xlsx(month_book(tmp_path / "in.xlsx", m))
    office = make_book(payload)
    want = excel.monthly_close(office, close_date=CLOSE)
    vba = dict(payload, client="VBA")
    vba["sheets"] = [dict(s, values=[[None if v == "" else v for v in row] for row in s["values"]])
                     for s in payload["sheets"]]
    assert any(v is None for s in vba["sheets"] for row in s["values"] for v in row)
    book = make_book(vba)
    got = excel.monthly_close(book, close_date=CLOSE)
    assert got.totals == want.totals and got.problems == want.problems
    assert actions(book) == actions(office)


def test_a_book_without_its_codes_table_is_refused_not_priced_from_the_profile(tmp_path):
    m = demo.make_month(5, members=3, planted=False)
    src = month_book(tmp_path / "in.xlsx", m, lists=False)
    book = make_book(payload_from_xlsx(src))
    with pytest.raises(excel.ExcelError, match=r"^in.xlsx: the Lists sheet has no table named Codes; it holds "
                                               r"your contract rates, and without it nothing is priced\."):
        excel.monthly_close(book, close_date=CLOSE)
    assert actions(book) == []

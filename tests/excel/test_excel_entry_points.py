"""The ways Excel calls in: Lite and Server scripts and functions, the add-in's main(), the fill."""
import asyncio
import datetime as dt
import importlib
import os
import subprocess
import sys

import pytest
import xlwings as xw
from openpyxl import load_workbook
from xlwings.server import custom_functions_call, custom_scripts_call

import ecm_xl.addin
import ecm_xl.excel
import ecm_xl.lite
from ecm_xl import contract as C
from ecm_xl import demo, engine, excel, load_profile
from ecm_xl.xlsx import read_workbook
from xl_apply import apply_actions
from xl_books import contract_workbook
from xl_close import excel_close, output_values
from xl_payload import actions, make_book, payload_from_xlsx


@pytest.fixture(scope="module")
def month_file(tmp_path_factory):
    m = demo.make_month(21, members=30)
    path = tmp_path_factory.mktemp("month") / "month.xlsx"
    return contract_workbook(path, settings=m.settings, staff=m.staff, members=m.members, timesheet=m.entries)


@pytest.fixture(scope="module")
def month_payload(month_file):
    return payload_from_xlsx(month_file)


def same_close_as_direct_call(book, payload):
    """The actions a script queued equal those of excel.monthly_close on a fresh book."""
    direct = make_book(payload)
    excel.monthly_close(direct, close_date=dt.date.today())
    assert actions(book) == actions(direct)
    assert [a["func"] for a in actions(book)].count("setValues") == 3


# -- xlwings Lite / Server scripts --------------------------------------------------
def test_lite_monthly_close_script(month_payload):
    book = make_book(month_payload)
    ret = asyncio.run(custom_scripts_call(ecm_xl.lite, "monthly_close", typehint_to_value={xw.Book: book}))
    assert ret is book
    same_close_as_direct_call(book, month_payload)


def test_lite_fill_script_fills_blank_codes(month_payload, month_file, tmp_path):
    book = make_book(month_payload)
    asyncio.run(custom_scripts_call(ecm_xl.lite, "fill_timesheet", typehint_to_value={xw.Book: book}))
    wb = read_workbook(month_file)
    want = engine.fill_codes(wb.tables[C.TIMESHEET], wb.tables[C.STAFF], load_profile())
    assert want   # the month has rows with blank codes
    acts = actions(book)
    assert [a["func"] for a in acts].count("setValues") == 1
    assert acts[-1]["func"] == "alert" and f"{len(want)} timesheet rows" in acts[-1]["args"][0]
    filled = tmp_path / "filled.xlsx"
    xl = load_workbook(month_file)
    apply_actions(xl, acts)
    xl.save(filled)
    after = read_workbook(filled).tables[C.TIMESHEET]
    for i, r in enumerate(after.rows):
        row = after.first_row + i
        before = wb.tables[C.TIMESHEET].rows[i]
        codes = tuple(r.get(h) or "" for h in excel.CODE_HEADERS)
        if row in want:
            assert codes == want[row], row
        else:   # typed codes and rows no code fits are left as they were
            assert codes == tuple(before.get(h) or "" for h in excel.CODE_HEADERS), row
    # filling derives what the close derives anyway: billing does not change
    close_date = dt.date(2026, 11, 30)
    a, _, _ = excel_close(month_file, tmp_path / "a.xlsx", close_date=close_date)
    b, _, _ = excel_close(filled, tmp_path / "b.xlsx", close_date=close_date)
    assert a.totals == b.totals
    assert output_values(tmp_path / "a.xlsx") == output_values(tmp_path / "b.xlsx")


def test_lite_script_reports_an_unusable_workbook_in_one_line(tmp_path):
    from openpyxl import Workbook

    Workbook().save(tmp_path / "empty.xlsx")
    book = make_book(payload_from_xlsx(tmp_path / "empty.xlsx"))
    asyncio.run(custom_scripts_call(ecm_xl.lite, "monthly_close", typehint_to_value={xw.Book: book}))
    acts = actions(book)
    assert [a["func"] for a in acts] == ["alert"]
    assert acts[0]["args"][0] == "empty.xlsx: has no Staff sheet and no table named Staff"


# -- worksheet functions --------------------------------------------------------------
def call(module, name, *args):
    data = {"client": "Office.js", "version": xw.__version__, "runtime": "1.4", "func_name": name,
            "args": [[[a]] for a in args], "caller_address": "[month.xlsx]Timesheet!U2",
            "culture_info_name": "en-US", "date_format": "m/d/yyyy", "session_id": "test"}
    return asyncio.run(custom_functions_call(data, module))


@pytest.mark.parametrize("module", [ecm_xl.lite, ecm_xl.excel], ids=["lite", "excel"])
@pytest.mark.parametrize("staff_type, service, contact, want", [
    # SPEC §2 R5, the flyer's table
    ("Clinical", "ECM service", "In person", "G9008 U1"),
    ("Clinical", "ECM service", "Phone/Telehealth", "G9008 U1 GQ"),
    ("Clinical", "Outreach attempt", "Text/Email", "G9008 U8 GQ"),
    ("Non-clinical", "ECM service", "In person", "G9012 U2"),
    ("non-clinical", "ecm service", "phone/telehealth", "G9012 U2 GQ"),
    ("Non-clinical", "Outreach attempt", "In person", "G9012 U8"),
    ("Clinical", "ECM service", "Mass communication", ""),   # R4: never billable
    ("Clinical", "Lunch", "In person", ""),
    (None, "ECM service", "In person", ""),
])
def test_ecm_code(module, staff_type, service, contact, want):
    assert call(module, "ECM_CODE", staff_type, service, contact) == [[want]]


@pytest.mark.parametrize("module", [ecm_xl.lite, ecm_xl.excel], ids=["lite", "excel"])
@pytest.mark.parametrize("args, want", [
    ((60,), 1), ((61,), 2), ((70,), 2), ((1,), 1), ((0,), 0), ((None,), ""),
    ((90, 15), 6), (("45 min",), 1), (("1:30",), 2),
])
def test_ecm_units(module, args, want):
    assert call(module, "ECM_UNITS", *args) == [[want]]


def test_ecm_units_says_what_is_wrong():
    (value,), = call(ecm_xl.excel, "ECM_UNITS", "lots")
    assert "not a number of minutes" in value


# -- the classic add-in ---------------------------------------------------------------
def test_classic_main_closes_the_calling_book(month_payload, monkeypatch):
    book = make_book(month_payload)
    monkeypatch.setattr(xw.Book, "_mock_caller", book, raising=False)
    assert xw.Book.caller().impl is book.impl   # caller() wraps the same remote book
    ecm_xl.addin.main()
    same_close_as_direct_call(book, month_payload)


def test_classic_main_reports_an_unusable_workbook_in_one_line(tmp_path, monkeypatch):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.title = "Staff"
    wb.save(tmp_path / "Clinic.xlsx")
    book = make_book(payload_from_xlsx(tmp_path / "Clinic.xlsx"))
    monkeypatch.setattr(xw.Book, "_mock_caller", book, raising=False)
    ecm_xl.addin.main()
    assert [(a["func"], a["args"][0]) for a in actions(book)] == [
        ("alert", "Clinic.xlsx: the Staff sheet has no table named Staff "
                  "(select the data and use Insert > Table, named Staff)")]


# -- what Lite can import ---------------------------------------------------------------
def test_lite_imports_nothing_pyodide_lacks():
    """ecm_xl.lite loads the pure core and the Excel layer only: no compiled reader, no
    openpyxl, no process pool (asyncio's concurrent.futures is stdlib and fine)."""
    code = ("import sys, ecm_xl.lite; "
            "bad = {'python_calamine', 'multiprocessing', 'concurrent.futures.process', 'openpyxl'}; "
            "ours = {m for m in sys.modules if m.startswith('ecm_xl.')}; "
            "print(sorted(bad & set(sys.modules)), sorted(ours))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("XLWINGS_")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    bad, ours = out.stdout.strip().split("] [")
    assert bad == "["
    from ecm_xl.lite_bundle import lite_modules   # what `ecm-xl init --lite` packs into main.py
    assert {m.strip("'[] ").split(".", 1)[1] for m in ours.split(",")} <= set(lite_modules())


def test_lite_module_registers_its_scripts_and_functions():
    mod = importlib.reload(ecm_xl.lite)
    assert hasattr(mod.monthly_close, "__xlscript__") and hasattr(mod.fill_timesheet, "__xlscript__")
    assert hasattr(mod.ECM_CODE, "__xlfunc__") and hasattr(mod.ECM_UNITS, "__xlfunc__")


def test_xlwings_is_pinned_to_the_version_the_payloads_carry():
    """Remote payloads must carry the server's exact xlwings version; Lite's requirements name it too."""
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    deps = tomllib.loads((root / "pyproject.toml").read_text())["project"]["dependencies"]
    pins = [d for d in deps if d.replace(" ", "").startswith("xlwings")]
    assert pins == [f"xlwings=={xw.__version__}"]
    assert f"xlwings=={xw.__version__}" in ecm_xl.lite.__doc__
    assert f"xlwings=={xw.__version__}" in (root / "docs" / "excel.md").read_text()

"""The template's structure, read back with openpyxl: SPEC §3 is the interface.

The committed `templates/ECM_Timesheet.xlsx` must equal a fresh build (so it
can never drift from the builder, the contract or the profile), and every
sheet, table, header, defined name, validation and format the SPEC and the
issue ask for must be there, over the right ranges.
"""
from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import column_index_from_string, get_column_letter, range_boundaries

from ecm_xl import contract as C
from ecm_xl import template as T
from ecm_xl.data import Table as RowsTable
from ecm_xl.loader import read_activities, read_rates
from ecm_xl.profile import load_profile
from ecm_xl.rules import RULES

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "templates" / "ECM_Timesheet.xlsx"
LAST_TIMESHEET_ROW = 5001
# Functions the helper formulas may use: old-Excel and LibreOffice alike (no XLOOKUP, LET, dynamic arrays).
ALLOWED = {"IF", "IFERROR", "INDEX", "MATCH", "AND", "OR", "SUMIFS", "SUM", "TRIM"}


def describe(path) -> dict:
    """Everything structural in a workbook, as plain data that compares with ==."""
    wb = openpyxl.load_workbook(path)
    out = {"sheets": wb.sheetnames, "names": {n: d.attr_text for n, d in wb.defined_names.items()},
           "fullCalcOnLoad": wb.calculation.fullCalcOnLoad}
    for ws in wb.worksheets:
        cells = {c.coordinate: (c.value if not isinstance(c.value, dt.datetime) else c.value.isoformat(),
                                c.number_format)
                 for row in ws.iter_rows() for c in row if c.value is not None or c.number_format != "General"}
        out[ws.title] = {
            "cells": cells,
            "tables": {t.name: (t.ref, [(c.name, c.calculatedColumnFormula.attr_text
                                          if c.calculatedColumnFormula is not None else None)
                                         for c in t.tableColumns]) for t in ws.tables.values()},
            "validations": sorted((str(v.sqref), v.type, v.operator, v.formula1, v.formula2, v.prompt, v.error)
                                  for v in ws.data_validations.dataValidation),
            "conditional": sorted((str(cf.sqref), tuple(tuple(r.formula) for r in cf.rules))
                                  for cf in ws.conditional_formatting),
            "freeze": ws.freeze_panes,
            "widths": {k: d.width for k, d in ws.column_dimensions.items()},
            "merged": sorted(str(m) for m in ws.merged_cells.ranges),
            "charts": len(ws._charts),
        }
    return out


@pytest.fixture(scope="module")
def wb():
    return openpyxl.load_workbook(TEMPLATE)


@pytest.fixture(scope="module")
def profile():
    return load_profile()


def _table(wb, name):
    for ws in wb.worksheets:
        if name in ws.tables:
            return ws, ws.tables[name]
    raise AssertionError(f"no table {name}")


def _headers(table):
    return tuple(c.name for c in table.tableColumns)


def _column(ws, table, header) -> str:
    first_col = range_boundaries(table.ref)[0]
    return get_column_letter(first_col + _headers(table).index(header))


def _table_values(wb, ref: str) -> list:
    """The values of a structured reference like Services[Service]."""
    m = re.fullmatch(r"(\w+)\[([^\]]+)\]", ref)
    ws, table = _table(wb, m[1])
    col = _column(ws, table, m[2])
    _, r0, _, r1 = range_boundaries(table.ref)
    return [ws[f"{col}{r}"].value for r in range(r0 + 1, r1 + 1)]


def _validation(ws, cell: str):
    found = [v for v in ws.data_validations.dataValidation if cell in v.sqref]
    assert len(found) == 1, f"{ws.title}!{cell}: {len(found)} validations"
    return found[0]


# -- drift -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def fresh_bytes():
    return T.template_bytes()


def test_committed_template_equals_a_fresh_build(tmp_path, fresh_bytes):
    fresh = tmp_path / "fresh.xlsx"
    fresh.write_bytes(fresh_bytes)
    assert describe(TEMPLATE) == describe(fresh), \
        "templates/ECM_Timesheet.xlsx is stale: run python scripts/build_template.py"


def test_template_path_names_the_committed_file():
    assert T.template_path() == TEMPLATE and TEMPLATE.is_file()


def test_build_is_deterministic_and_atomic(tmp_path, fresh_bytes):
    target = tmp_path / "a.xlsx"
    target.write_bytes(b"an older template")
    assert T.build_template(target).read_bytes() == fresh_bytes
    assert [p.name for p in tmp_path.iterdir()] == ["a.xlsx"]   # replaced in place, no temp file left


def test_script_writes_the_template(tmp_path, fresh_bytes):
    out = tmp_path / "t.xlsx"
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_template.py"), "--out", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == fresh_bytes
    bad = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_template.py"), "--profile", "no-such-plan",
                          "--out", str(tmp_path / "x.xlsx")], capture_output=True, text=True)
    assert bad.returncode == 2 and "no-such-plan" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "x.xlsx").exists()
    (tmp_path / "a-file").write_text("")
    stuck = subprocess.run([sys.executable, str(ROOT / "scripts" / "build_template.py"),
                            "--out", str(tmp_path / "a-file" / "t.xlsx")], capture_output=True, text=True)
    assert stuck.returncode == 1 and "can't write the template" in stuck.stderr and "Traceback" not in stuck.stderr


# -- SPEC §3: sheets and tables ------------------------------------------------------
def test_sheets(wb):
    assert wb.sheetnames == [C.INSTRUCTIONS, C.SETUP, C.STAFF, C.MEMBERS, C.TIMESHEET, C.SUMMARY, C.CLAIM,
                             C.EXCEPTIONS, C.SUBMISSIONS, C.REMITTANCE, C.STATUS, C.LISTS]


@pytest.mark.parametrize("name, headers", [
    (C.STAFF, C.STAFF_HEADERS), (C.MEMBERS, C.MEMBER_HEADERS),
    (C.TIMESHEET, C.TIMESHEET_HEADERS + T.HELPER_HEADERS),
    (C.SUMMARY, C.SUMMARY_HEADERS), (C.CLAIM, C.CLAIM_HEADERS), (C.EXCEPTIONS, C.EXCEPTION_HEADERS),
    (C.SUBMISSIONS, C.SUBMISSION_HEADERS),
])
def test_sheet_tables_have_the_contract_headers_in_row_1(wb, name, headers):
    ws, table = _table(wb, name)
    assert ws.title == name
    assert _headers(table) == headers
    assert table.ref == f"A1:{get_column_letter(len(headers))}2"        # header + one blank row
    assert tuple(c.value for c in ws[1][:len(headers)]) == headers
    assert ws.freeze_panes is not None and ws.freeze_panes.endswith("2")
    for col in range(1, len(headers) + 1):
        assert ws.column_dimensions[get_column_letter(col)].width >= 5


def test_helper_headers_do_not_reuse_input_headers():
    assert not set(T.HELPER_HEADERS) & set(C.TIMESHEET_HEADERS)


def test_lists_tables(wb, profile):
    ws, codes = _table(wb, C.CODES)
    assert ws.title == C.LISTS
    assert _headers(codes)[:len(C.CODE_HEADERS)] == C.CODE_HEADERS
    ws, acts = _table(wb, C.ACTIVITIES)
    assert ws.title == C.LISTS and _headers(acts) == C.ACTIVITY_HEADERS
    lists = wb[C.LISTS]
    for name in ("Contacts", "Services", "StaffTypes", "PlacesOfService", "YesNo", "SexCodes"):
        assert name in lists.tables


def _rows(wb, name) -> RowsTable:
    ws, table = _table(wb, name)
    _, r0, _, r1 = range_boundaries(table.ref)
    headers = _headers(table)
    c0 = range_boundaries(table.ref)[0]
    rows = [{h: ws.cell(r, c0 + i).value for i, h in enumerate(headers)} for r in range(r0 + 1, r1 + 1)]
    return RowsTable(rows, r0 + 1)


def test_engine_reads_the_profile_rates_and_billable_flags_from_the_lists(wb, profile):
    rates, problems = read_rates(_rows(wb, C.CODES), profile)
    assert problems == [] and rates == {c.key: c.rate for c in profile.codes}
    acts, problems = read_activities(_rows(wb, C.ACTIVITIES), profile)
    assert problems == []
    assert {name: billable for name, billable, _ in acts.values()} == {a.name: a.billable for a in profile.activities}
    assert any(not a.billable for a in profile.activities)


# -- named ranges and drop-downs -------------------------------------------------------
def test_every_setting_is_one_named_labelled_validated_cell(wb, profile):
    ws = wb[C.SETUP]
    cells = T.setup_cells()
    assert list(cells) == list(C.SETTING_NAMES)
    for s in C.SETTINGS:
        dn = wb.defined_names[s.name]
        assert dn.attr_text == cells[s.name] and dn.localSheetId is None
        sheet, addr = dn.attr_text.split("!")
        assert sheet == C.SETUP
        cell = ws[addr.replace("$", "")]
        assert ws.cell(cell.row, 1).value == s.label
        assert ws.cell(cell.row, 3).value.startswith(s.help)
        dv = _validation(ws, cell.coordinate)
        assert dv.showInputMessage and dv.prompt
        kind = {"npi": "custom", "taxid": "custom", "month": "date", "int": "whole", "yesno": "list",
                "pos": "list", "dx": "textLength", "text": None}[s.kind]
        assert dv.type == kind, s.name
        if s.kind in ("npi", "taxid"):
            assert ("=10" if s.kind == "npi" else "=9") in dv.formula1
            assert cell.number_format == "@"
    value = lambda name: ws[cells[name].split("!")[1].replace("$", "")].value  # noqa: E731
    assert value("UnitMinutes") == profile.unit_minutes == 60
    assert value("FilingLimitDays") == profile.filing_limit_days == 180
    assert value("ApprovalRequired") == "No"
    assert value("DefaultPlaceOfService") == "11"
    assert ws[cells["ProviderZip"].split("!")[1].replace("$", "")].number_format == "@"
    assert ws[cells["BillingMonth"].split("!")[1].replace("$", "")].is_date


def test_named_lists_hold_the_profile_values(wb, profile):
    names = {n: d.attr_text for n, d in wb.defined_names.items()}
    expect = {
        "ServiceList": list(profile.services),
        "ContactList": [c.name for c in profile.contacts],
        "ActivityList": [a.name for a in profile.activities],
        "StaffTypeList": list(profile.staff_types),
        "PlaceOfServiceList": sorted(profile.places_of_service),
        "HCPCSList": sorted({c.hcpcs for c in profile.codes}),
        "Modifier1List": sorted({c.modifier_1 for c in profile.codes if c.modifier_1}),
        "Modifier2List": sorted({c.modifier_2 for c in profile.codes if c.modifier_2}),
        "YesNoList": ["Yes", "No"],
    }
    for name, values in expect.items():
        got = _table_values(wb, names[name])
        assert (sorted(got) if name.startswith(("HCPCS", "Modifier", "PlaceOf")) else got) == values, name
    assert names["StaffIDList"] == "Staff[Staff ID]" and names["MemberIDList"] == "Members[Member ID]"
    assert set(_table_values(wb, names["SexList"])) >= {"F", "M", "U"}


# Every coded column SPEC §3 names -> the list it must offer.
CODED = {
    C.TIMESHEET: {"Staff ID": "StaffIDList", "Member ID": "MemberIDList", "Service": "ServiceList",
                  "Contact": "ContactList", "Activity": "ActivityList", "Place of Service": "PlaceOfServiceList",
                  "HCPCS": "HCPCSList", "Modifier 1": "Modifier1List", "Modifier 2": "Modifier2List",
                  "Approved": "YesNoList"},
    C.STAFF: {"Staff Type": "StaffTypeList"},
    C.MEMBERS: {"Sex": "SexList"},
}


@pytest.mark.parametrize("table_name", list(CODED))
def test_drop_downs_guard_every_coded_column(wb, table_name):
    ws, table = _table(wb, table_name)
    for header, name in CODED[table_name].items():
        col = _column(ws, table, header)
        dv = _validation(ws, f"{col}2")
        assert dv.type == "list" and dv.formula1 == name, header
        assert dv.showErrorMessage and dv.error and dv.showInputMessage and dv.prompt
        assert dv.errorStyle == "stop"
        if table_name == C.TIMESHEET:
            assert f"{col}2:{col}{LAST_TIMESHEET_ROW}" in str(dv.sqref).split()


def test_timesheet_dates_times_and_minutes_are_validated_and_formatted(wb):
    ws, table = _table(wb, C.TIMESHEET)
    kinds = {"Date": ("date", C.DATE_FORMAT), "Start": ("time", "h:mm AM/PM"), "End": ("time", "h:mm AM/PM"),
             "Minutes": ("decimal", "0")}
    for header, (kind, fmt) in kinds.items():
        col = _column(ws, table, header)
        dv = _validation(ws, f"{col}{LAST_TIMESHEET_ROW}")
        assert dv.type == kind and dv.showErrorMessage and dv.prompt
        for r in (2, 3, LAST_TIMESHEET_ROW):
            assert ws[f"{col}{r}"].number_format == fmt, f"{header} row {r}"
    minutes = _validation(ws, f"{_column(ws, table, 'Minutes')}2")
    assert float(minutes.formula1) > 0 and float(minutes.formula2) == 1440
    for header in ("Staff ID", "Member ID", "Place of Service"):
        assert ws[f"{_column(ws, table, header)}{LAST_TIMESHEET_ROW}"].number_format == "@"


def test_members_dates_are_validated(wb):
    ws, table = _table(wb, C.MEMBERS)
    for header in ("Date of Birth", "ECM Enrollment Date", "Eligible From", "Eligible Through"):
        col = _column(ws, table, header)
        assert _validation(ws, f"{col}2").type == "date"
        assert ws[f"{col}2"].number_format == C.DATE_FORMAT


# -- helper columns -----------------------------------------------------------------------
def test_helper_columns_are_calculated_columns_with_their_formula_in_the_row(wb):
    ws, table = _table(wb, C.TIMESHEET)
    calc = {c.name: c.calculatedColumnFormula for c in table.tableColumns}
    for header in C.TIMESHEET_HEADERS:
        assert calc[header] is None
    for header in T.HELPER_HEADERS:
        formula = calc[header].attr_text
        assert ws[f"{_column(ws, table, header)}2"].value == "=" + formula
        assert "[#This Row]" in formula


def test_every_formula_avoids_functions_libreoffice_or_old_excel_lack(wb):
    formulas = []
    for ws in wb.worksheets:
        formulas += [c.value for row in ws.iter_rows() for c in row
                     if isinstance(c.value, str) and c.value.startswith("=")]
    assert len(formulas) > 20
    for f in formulas:
        assert "_xlfn" not in f and "@" not in f, f        # no new-Excel-only functions, no implicit intersection
        used = set(re.findall(r"([A-Za-z][A-Za-z0-9._]*)\(", f))
        assert used <= ALLOWED, (used - ALLOWED, f)


def test_mismatching_code_row_is_highlighted(wb):
    ws, table = _table(wb, C.TIMESHEET)
    check = _column(ws, table, T.CODE_CHECK)
    rules = [(str(cf.sqref), r.formula) for cf in ws.conditional_formatting for r in cf.rules]
    assert (f"A2:{check}{LAST_TIMESHEET_ROW}", [f'${check}2="{T.CHECK_DIFFERS}"']) in rules


# -- output tables, chart -----------------------------------------------------------------------
@pytest.mark.parametrize("name", [C.SUMMARY, C.CLAIM, C.EXCEPTIONS, C.SUBMISSIONS, C.REMITTANCE, C.STATUS])
def test_output_row_2_carries_each_columns_number_format(wb, name):
    ws, table = _table(wb, name)
    for i, header in enumerate({**C.OUTPUT_TABLES, **C.RECORD_TABLES, **C.CYCLE_TABLES}[name], start=1):
        cell = ws.cell(2, i)
        assert cell.value is None
        assert cell.number_format == C.NUMBER_FORMATS[name].get(header, "General"), header
        assert cell.has_style, header          # a writer copies this style onto every row


def test_summary_has_units_and_charge_by_code_block_and_chart(wb, profile):
    ws = wb[C.SUMMARY]
    c0, r0 = T.SUMMARY_BLOCK_COLUMN, T.SUMMARY_BLOCK_ROW
    assert c0 >= len(C.SUMMARY_HEADERS) + 2        # at least one empty column after the table
    assert r0 >= 2                                  # row 1 repeats on every printed page: nothing of the block in it
    assert all(ws.cell(1, c).value is None for c in range(c0, c0 + 3))
    assert ws.cell(r0, c0).value == "Units and charge by code"
    assert [ws.cell(r0 + 1, c0 + i).value for i in range(3)] == ["Code", "Units", "Charge"]
    first = r0 + 2
    labels = [ws.cell(first + i, c0).value for i in range(len(profile.codes))]
    assert labels == [c.label for c in profile.codes]
    for i, code in enumerate(profile.codes):
        units, charge = ws.cell(first + i, c0 + 1).value, ws.cell(first + i, c0 + 2).value
        assert units.startswith("=SUMIFS($I:$I,") and f'"{code.hcpcs}"' in units
        assert charge.startswith("=SUMIFS($J:$J,") and f'"{code.modifier_1}"' in charge
    total = first + len(profile.codes)
    # the Total sums the whole Units and Charge columns, so it is the Summary's (and the Claim's) total
    assert [ws.cell(total, c0 + i).value for i in range(3)] == ["Total", "=SUM($I:$I)", "=SUM($J:$J)"]
    assert ws.cell(total, c0 + 2).number_format == C.MONEY_FORMAT
    assert len(ws._charts) == 1
    assert wb.calculation.fullCalcOnLoad


# -- Instructions -----------------------------------------------------------------------------
def test_instructions_cover_every_rule_and_the_profile(wb, profile):
    text = "\n".join(str(c.value) for row in wb[C.INSTRUCTIONS].iter_rows() for c in row if c.value)
    for rule in RULES:
        for part in (rule.number, rule.title, rule.meaning, rule.fix):
            assert part in text
    for part in (profile.name, profile.version, profile.source, profile.rate_note):
        assert part in text
    for word in (C.SETUP, C.STAFF, C.MEMBERS, C.TIMESHEET, C.EXCEPTIONS, "Monthly Close", "ecm-xl close"):
        assert word in text


# -- no hard-coded codes: another profile gives another template ---------------------------------
def test_template_follows_the_profile(tmp_path, profile):
    codes = tuple(c._replace(hcpcs="T1016", rate=(c.rate or 0) + 1) if c.hcpcs == "G9012" else c
                  for c in profile.codes)
    other = profile._replace(codes=codes, unit_minutes=15, version="9.9",
                             activities=profile.activities + (profile.activities[0]._replace(name="Home repair",
                                                                                             billable=False),))
    # _replace keeps the old lookups: rebuild the code index, as profile_from_dict would
    other = other._replace(index={**other.index, "key": {c.key: c for c in codes},
                                  "slot": {(c.staff_type, c.service, c.contact_mode): c for c in codes}})
    wb = openpyxl.load_workbook(T.build_template(tmp_path / "other.xlsx", other))
    rates, _ = read_rates(_rows(wb, C.CODES), other)
    assert rates == {c.key: c.rate for c in other.codes}
    assert "T1016" in _table_values(wb, "HCPCSCodes[HCPCS]")
    assert "Home repair" in _table_values(wb, "Activities[Activity]")
    assert wb[C.SETUP][T.setup_cells()["UnitMinutes"].split("!")[1].replace("$", "")].value == 15
    labels = [wb[C.SUMMARY].cell(T.SUMMARY_BLOCK_ROW + 2 + i, T.SUMMARY_BLOCK_COLUMN).value
              for i in range(len(codes))]
    assert "T1016 U2 GQ" in labels

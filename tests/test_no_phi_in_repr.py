"""No member's name, birth date, address, diagnosis or note comes out of repr() or str() of
any public type of the package: `print(report)` in a notebook or a log line is safe.

Every public class of every ecm_xl module is walked. Records that carry member data are
built here by hand with recognisable values; every other NamedTuple is built with those
values in any field whose name says it holds them. A class that keeps object's repr
shows nothing of its data and passes by construction.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import inspect
import pkgutil
import re

import pytest

import ecm_xl
from ecm_xl import contract as C
from ecm_xl.data import (ClaimLine, CloseResult, Columns, EligibilitySpan, Entry, Member, Problem, Setup,
                         SummaryRow, Table, Totals)
from ecm_xl.profile import load_profile

LAST, FIRST, STREET, CITY, ZIP, NOTE, DX = ("Zebediah", "Quillon", "4417 Wisteria Lane", "Sprucewood",
                                            "92243-5521", "Zebediah relapsed again", "F31.9")
BORN = dt.date(1937, 4, 5)
PHI = (LAST, FIRST, "Wisteria", CITY, "92243", "relapsed", "F31", "1937")

TOTALS = Totals(1, 1, 0, 60, 60, 0, 1, 1, 1, 120.0, 0, 0)
SETUP = Setup(provider_name="Example Clinic", billing_npi="1234567893", tax_id="123456789",
              billing_month=dt.date(2026, 10, 1))
MEMBER = Member("91000001A", LAST, FIRST, BORN, "F", dt.date(2026, 1, 2), DX,
                (EligibilitySpan(dt.date(2026, 1, 1), None, 2),), 2, STREET, CITY, "CA", ZIP)
LINE = ClaimLine("E1A2B3", 1, "91000001A", f"{LAST}, {FIRST}", BORN, dt.date(2026, 10, 5), dt.date(2026, 10, 5),
                 "11", "G9008", "U1", "", 1, 120.0, 120.0, DX, "1234567893", "123456789", 60, (2,))
SUMMARY = SummaryRow(dt.date(2026, 10, 1), "91000001A", f"{LAST}, {FIRST}", "G9008", "U1", "", 60, 1.0, 1, 120.0)
ENTRY = Entry(2, dt.date(2026, 10, 5), "C1", "91000001A", "ECM service", "In person", "", None, None, 60, "11",
              "", "", "", True, NOTE)
ROW = {"Member ID": "91000001A", "Last Name": LAST, "First Name": FIRST, "Date of Birth": BORN,
       "Address": STREET, "City": CITY, "ZIP": ZIP, "Diagnosis Code": DX, "Notes": NOTE}
PROBLEM = Problem("R10", "Warning", C.MEMBERS, 2, "Date of Birth", f"Date of Birth '{BORN:%m/%d/%Y}x' is not a date.",
                  member_id="91000001A")
RESULT = CloseResult([SUMMARY], [LINE], [PROBLEM], TOTALS, SETUP, {"91000001A": MEMBER})


def _factories():
    from ecm_xl.batch import BatchItem, BatchReport
    from ecm_xl.clinic_month import ClinicMonth, Part, PartClose, Reading
    from ecm_xl.checks import Context
    from ecm_xl.demo import DemoMonth
    from ecm_xl.reports import CloseReport, DemoReport, FillReport
    from ecm_xl.xlsx.reader import WorkbookInput
    table = Table([dict(ROW)], 2)
    close = CloseReport("Oct.xlsx", "Oct.closed.xlsx", RESULT, 1.0)
    fill = FillReport("Oct.xlsx", "Oct.xlsx", [2], 1, ())
    return {
        Member: MEMBER, ClaimLine: LINE, SummaryRow: SUMMARY, Entry: ENTRY, Problem: PROBLEM,
        Table: table, Columns: Columns(list(ROW), [list(ROW.values())]), CloseResult: RESULT,
        CloseReport: close,
        DemoReport: DemoReport("demo", "Oct.xlsx", "entries.csv", close, fill, {"csv": "c.csv"}, {}),
        DemoMonth: DemoMonth(dt.date(2026, 10, 1), {}, [], [dict(ROW)], [dict(ROW)], {}),
        WorkbookInput: WorkbookInput("Oct.xlsx", {}, {C.MEMBERS: table}, {C.MEMBERS: tuple(ROW)}, {}),
        Context: Context(load_profile(), SETUP, {}, {"91000001A": MEMBER}, {}, 60, 180, dt.date(2026, 11, 30)),
        Part: Part("A.xlsx", table, table, table, {"BillingNPI": "1234567893"}),
        PartClose: PartClose("A.xlsx", RESULT),
        ClinicMonth: ClinicMonth(RESULT, [PartClose("A.xlsx", RESULT)], []),
        Reading: Reading(["A.xlsx"], [table], [table], [table], [SETUP], [[PROBLEM]], [({}, [])],
                         [({"91000001A": MEMBER}, [PROBLEM])], [{}], [[]], [{}], [[]], [{2: 60}]),
        BatchItem: BatchItem("Oct.xlsx", "ok", 1, 1, 120.0, 0, 0, "", "out/Oct.closed.xlsx"),
        BatchReport: BatchReport("out", [BatchItem("Oct.xlsx", "ok", 1, 1, 120.0, 0, 0, "", "o.xlsx")],
                                 "r.csv", "c.csv", None, "", 1.0),
    }


# A field named like one of these holds member data (a staff member's name does not).
PHI_FIELD = re.compile(r"(^|_)(last|first|member|patient|subscriber)_?name$|birth|dob|address|street|city"
                       r"|(^|_)zip|^notes$|^diagnos")
PHI_VALUE = {"birth": BORN, "dob": BORN}


def public_classes():
    seen = {}
    for mod in pkgutil.walk_packages(ecm_xl.__path__, "ecm_xl."):
        if mod.name.split(".")[-1].startswith("_") or mod.name in ("ecm_xl.addin", "ecm_xl.lite"):
            continue   # the add-in and Lite entry points import xlwings' Excel side
        module = importlib.import_module(mod.name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == mod.name and not name.startswith("_") and not issubclass(cls, BaseException):
                seen[f"{mod.name}.{name}"] = cls
    return seen


CLASSES = public_classes()


def _is_record(cls) -> bool:
    return (issubclass(cls, tuple) and hasattr(cls, "_fields")) or dataclasses.is_dataclass(cls)


def _fields(cls):
    return cls._fields if hasattr(cls, "_fields") else [f.name for f in dataclasses.fields(cls)]


def generic_instance(cls):
    """Each field named like member data holds a recognisable value; every other field None."""
    values = {}
    for f in _fields(cls):
        if PHI_FIELD.search(f):
            values[f] = next((v for k, v in PHI_VALUE.items() if k in f), f"{LAST} {FIRST} {STREET} {CITY} {ZIP}")
        else:
            values[f] = None
    return cls(**values)


def test_the_walk_finds_the_records_that_carry_member_data():
    names = {c.__name__ for c in CLASSES.values()}
    assert {"Member", "ClaimLine", "SummaryRow", "CloseResult", "CloseReport", "DemoReport", "Entry",
            "BatchReport", "BatchItem", "Problem", "Table", "Columns"} <= names


@pytest.mark.parametrize("qualname", sorted(CLASSES))
def test_repr_and_str_show_no_member_data(qualname):
    cls = CLASSES[qualname]
    factories = _factories()
    if cls in factories:
        obj = factories[cls]
    elif _is_record(cls):
        obj = generic_instance(cls)
    elif cls.__repr__ is object.__repr__ and cls.__str__ is object.__str__:
        return   # object's repr: the type and an address, nothing of the data
    else:
        pytest.fail(f"{qualname} has its own repr: add an instance with member data to _factories()")
    for text in (repr(obj), str(obj), repr([obj]), f"{obj}"):
        leaked = [p for p in PHI if p in text]
        assert not leaked, f"{qualname} shows {leaked}: {text[:300]}"


def test_masked_reprs_still_say_what_they_hold():
    """Hiding is not blanking: IDs, codes, counts and money stay readable for whoever debugs."""
    assert repr(MEMBER).startswith("Member(member_id='91000001A', last_name=<hidden>, first_name=<hidden>, "
                                   "birth_date=<hidden>, sex='F'")
    assert "claim_id='E1A2B3'" in repr(LINE) and "hcpcs='G9008'" in repr(LINE) and "charge=120.0" in repr(LINE)
    assert repr(RESULT).startswith("CloseResult(summary=<1 row>, claim_lines=<1 line>, problems=<1 problem>, totals=Totals(")
    assert "members=<1 member>" in repr(RESULT)
    assert repr(Table([ROW, ROW], 2)) == "Table(rows=<2 rows>, first_row=2)"
    # a blank field is shown as blank: nothing is hidden there
    assert "last_name=''" in repr(MEMBER._replace(last_name=""))
    # a problem about an ID shows its reason; one quoting a member's cell hides it
    ok = Problem("R10", "Error", C.TIMESHEET, 5, "Member ID", "Member ID 91000009Z is not on the Members sheet.")
    assert "Member ID 91000009Z is not on the Members sheet." in repr(ok)
    assert "reason=<hidden>" in repr(PROBLEM)

"""Workbooks for the CLI, API, batch and demo tests: built through the real template and xlsx layer."""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import zipfile
from pathlib import Path

from ecm_xl import api
from ecm_xl import contract as C
from ecm_xl.xlsx import read_workbook

CLOSE_DATE = dt.date(2026, 11, 30)

STAFF = [
    {"Staff ID": "C1", "Staff Name": "Nurse Example", "Staff Type": "Clinical", "NPI": "1234567893"},
    {"Staff ID": "N1", "Staff Name": "Worker Example", "Staff Type": "Non-clinical", "NPI": ""},
]
MEMBERS = [
    {"Member ID": "91000001A", "Last Name": "Zyxwvutson", "First Name": "Ann", "Date of Birth": "1/2/1970",
     "Sex": "F", "ECM Enrollment Date": "9/1/2026", "Eligible From": "1/1/2026", "Eligible Through": "",
     "Diagnosis Code": "Z59.00"},
    {"Member ID": "91000002B", "Last Name": "Qwertyberg", "First Name": "Ben", "Date of Birth": "5/6/1985",
     "Sex": "M", "ECM Enrollment Date": "10/20/2026", "Eligible From": "1/1/2026", "Eligible Through": "",
     "Diagnosis Code": ""},
]
SETTINGS = {"ProviderName": "Example Clinic", "BillingNPI": "1234567893", "TaxID": "123456789",
            "DefaultDiagnosis": "Z71.89"}
ENTRY_HEADERS = ("Date", "Staff ID", "Member ID", "Service", "Contact", "Minutes")
ENTRIES = [
    ("10/5/2026", "C1", "91000001A", "ECM service", "In person", "50"),
    ("10/6/2026", "N1", "91000001A", "ECM service", "Phone/Telehealth", "20"),
    ("10/7/2026", "C1", "91000001A", "ECM service", "In person", "20"),
    ("10/8/2026", "N1", "91000002B", "Outreach attempt", "Text/Email", "10"),
    ("10/9/2026", "N1", "91000002B", "Outreach attempt", "Phone/Telehealth", "5"),
    ("10/9/2026", "N1", "91000002B", "Outreach attempt", "Mass communication", "5"),
]


def sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def write_csv(path, headers, rows) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(headers)
        for r in rows:
            w.writerow([r.get(h, "") for h in headers] if isinstance(r, dict) else r)
    return Path(path)


def small_workbook(path, *, members=MEMBERS, entries=ENTRIES, month="2026-10") -> Path:
    """A template workbook with two staff, two members and a few entries, filled by the API."""
    path = Path(path)
    api.new_workbook(path, month=month, staff=STAFF, members=members, settings=SETTINGS)
    if entries:
        api.fill_workbook(path, [dict(zip(ENTRY_HEADERS, e)) for e in entries])
    return path


def table_values(path, name) -> list:
    """A table's rows as tuples of plain values, blank rows dropped."""
    wb = read_workbook(path, required=())
    rows = wb.tables[name].rows
    return [tuple(r.values()) for r in rows if any(v not in (None, "") for v in r.values())]


def output_tables(path) -> dict:
    return {name: table_values(path, name) for name in C.OUTPUT_TABLES}


def sheet_xml(path, sheet_name: str) -> str:
    """The raw XML of one worksheet, found through workbook.xml and its relationships."""
    import re
    with zipfile.ZipFile(path) as z:
        wb = z.read("xl/workbook.xml").decode()
        rels = z.read("xl/_rels/workbook.xml.rels").decode()
        rid = re.search(r'<sheet [^>]*name="%s"[^>]*r:id="([^"]+)"' % re.escape(sheet_name), wb).group(1)
        target = re.search(r'Id="%s"[^>]*Target="([^"]+)"' % rid, rels) or \
            re.search(r'Target="([^"]+)"[^>]*Id="%s"' % rid, rels)
        part = target.group(1).lstrip("/")
        part = part if part.startswith("xl/") else "xl/" + part
        return z.read(part).decode()


def ready_month(path) -> Path:
    """A closed month (in place) whose Setup and members are ready for an 837P (x12check's data)."""
    import x12check as X
    path = Path(path)
    api.new_workbook(path, month="2026-10", staff=X.STAFF, members=X.MEMBERS,
                     settings={k: v for k, v in X.SETUP.items() if k != "BillingMonth"})
    api.fill_workbook(path, X.TIMESHEET)
    api.close_workbook(path, in_place=True, close_date=X.CLOSE_DATE)
    return path

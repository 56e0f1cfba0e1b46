"""Small builders for engine tests: a clinic's month as plain rows."""
import datetime as dt

from ecm_xl import close_month

CLOSE_DATE = dt.date(2026, 11, 30)

STAFF = [
    {"Staff ID": "C1", "Staff Name": "Nurse One", "Staff Type": "Clinical", "NPI": "1234567893"},
    {"Staff ID": "C2", "Staff Name": "Nurse Two", "Staff Type": "Clinical", "NPI": ""},
    {"Staff ID": "N1", "Staff Name": "Worker One", "Staff Type": "Non-clinical", "NPI": ""},
    {"Staff ID": "N2", "Staff Name": "Worker Two", "Staff Type": "Non-clinical", "NPI": ""},
]

MEMBERS = [
    # enrolled before October, eligible all year
    {"Member ID": "91000001A", "Last Name": "Alpha", "First Name": "Ann", "Date of Birth": dt.date(1970, 1, 2),
     "Sex": "F", "ECM Enrollment Date": dt.date(2026, 9, 1), "Eligible From": dt.date(2026, 1, 1),
     "Eligible Through": None, "Diagnosis Code": "Z59.00"},
    # not yet enrolled: outreach only, enrolls on 10/20
    {"Member ID": "91000002B", "Last Name": "Bravo", "First Name": "Ben", "Date of Birth": dt.date(1985, 5, 6),
     "Sex": "M", "ECM Enrollment Date": dt.date(2026, 10, 20), "Eligible From": dt.date(2026, 1, 1),
     "Eligible Through": None, "Diagnosis Code": ""},
    # eligible in two spans with a gap from 10/11 to 10/19
    {"Member ID": "91000003C", "Last Name": "Charlie", "First Name": "Cy", "Date of Birth": dt.date(1990, 3, 4),
     "Sex": "M", "ECM Enrollment Date": dt.date(2026, 8, 1), "Eligible From": dt.date(2026, 8, 1),
     "Eligible Through": dt.date(2026, 10, 10), "Diagnosis Code": "Z71.89"},
    {"Member ID": "91000003C", "Eligible From": dt.date(2026, 10, 20), "Eligible Through": None},
]

SETUP = {"BillingNPI": "1234567893", "TaxID": "123456789", "BillingMonth": "2026-10",
         "DefaultDiagnosis": "Z71.89"}


def row(date="10/5/2026", staff="C1", member="91000001A", service="ECM service", contact="In person",
        minutes=60, **cells):
    """One timesheet row as a clinic types it; extra cells by header with spaces as underscores."""
    r = {"Date": date, "Staff ID": staff, "Member ID": member, "Service": service, "Contact": contact,
         "Minutes": minutes}
    for k, v in cells.items():
        r[k.replace("_", " ")] = v
    return r


def close(rows, staff=None, members=None, setup=None, **kw):
    kw.setdefault("close_date", CLOSE_DATE)
    return close_month(rows, STAFF if staff is None else staff, MEMBERS if members is None else members,
                       SETUP if setup is None else setup, **kw)


def errors(result, rule=None):
    return [p for p in result.problems if p.severity == "Error" and (rule is None or p.rule == rule)]


def warnings(result, rule=None):
    return [p for p in result.problems if p.severity == "Warning" and (rule is None or p.rule == rule)]


def lines_by_code(result):
    return {(l.member_id, l.hcpcs, l.modifier_1, l.modifier_2): l for l in result.claim_lines}


def billed_rows(result):
    return {r for l in result.claim_lines for r in l.source_rows}

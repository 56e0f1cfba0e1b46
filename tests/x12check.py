"""Validate X12 text with pyx12 (in process) and read an 837P back.

pyx12's `x12valid` script exits 1 even for a valid file, so the tests call
its Python API. A file passes only when pyx12 records no error at all (its
return value, which also covers ISA/IEA envelope errors that never reach the
999) AND the 999 it writes accepts every transaction set (IK5*A, AK9*A).
"""
from __future__ import annotations

import io
import logging
import re
from typing import NamedTuple

import pyx12.errors
import pyx12.params
import pyx12.x12n_document


class Verdict(NamedTuple):
    accepted: bool
    errors: list          # pyx12's error messages, with line numbers
    ack: str              # the 999 text

    def __str__(self):
        return ("accepted" if self.accepted else "rejected") + "".join("\n  " + e for e in self.errors) \
            + ("" if self.accepted else "\n999: " + self.ack.replace("\n", ""))


class _Errors(logging.Handler):
    def __init__(self):
        super().__init__(logging.ERROR)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def validate(text: str) -> Verdict:
    """pyx12's verdict on an X12 interchange given as text."""
    ack = io.StringIO()
    handler = _Errors()
    log = logging.getLogger("pyx12")
    log.addHandler(handler)
    try:
        ok = pyx12.x12n_document.x12n_document(param=pyx12.params.params(), src_file=io.StringIO(text),
                                               fd_997=ack, fd_html=None, fd_json=None)
    except (pyx12.errors.X12Error, pyx12.errors.EngineError) as exc:
        ok = False
        handler.messages.append(f"{type(exc).__name__}: {exc}")
    except Exception as exc:  # pyx12 fails to build a 999 for some broken input
        ok = False
        handler.messages.append(f"pyx12 could not finish: {type(exc).__name__}: {exc}")
    finally:
        log.removeHandler(handler)
    text999 = ack.getvalue()
    ik5 = re.findall(r"IK5\*(\w)", text999)
    ak9 = re.findall(r"AK9\*(\w)", text999)
    accepted = bool(ok) and bool(ak9) and set(ak9) == {"A"} and set(ik5) <= {"A"}
    return Verdict(accepted, handler.messages, text999)


# ---------------------------------------------------------------------------
# Reading our own 837P back
# ---------------------------------------------------------------------------
def segments(text: str) -> list[list[str]]:
    """Segments as element lists, separators taken from the ISA."""
    element, terminator = text[3], text[105]
    return [s.strip("\r\n").split(element) for s in text.split(terminator) if s.strip("\r\n")]


class Line(NamedTuple):
    hcpcs: str
    modifiers: tuple
    charge: str
    units: str
    place: str          # SV105, "" when the claim's
    pointer: str
    dates: str


class Claim(NamedTuple):
    pcn: str
    total: str
    place: str
    frequency: str
    payer_claim: str
    diagnoses: tuple
    member_id: str
    lines: list


def claims(text: str) -> list[Claim]:
    """Every CLM with its lines, in file order."""
    component = text[104]
    out, member, cur = [], None, None
    for seg in segments(text):
        tag = seg[0]
        if tag == "NM1" and seg[1] == "IL":
            member = seg[9]
        elif tag == "CLM":
            pos, _, freq = seg[5].split(component)
            cur = Claim(seg[1], seg[2], pos, freq, "", (), member, [])
            out.append(cur)
        elif tag == "REF" and seg[1] == "F8":
            out[-1] = cur = cur._replace(payer_claim=seg[2])
        elif tag == "HI":
            out[-1] = cur = cur._replace(diagnoses=tuple(c.split(component)[1] for c in seg[1:]))
        elif tag == "SV1":
            proc = seg[1].split(component)
            cur.lines.append(Line(proc[1], tuple(proc[2:]), seg[2], seg[4],
                                  seg[5] if len(seg) > 5 else "", seg[7] if len(seg) > 7 else "", ""))
        elif tag == "DTP" and seg[1] == "472":
            cur.lines[-1] = cur.lines[-1]._replace(dates=seg[3])
    return out


# ---------------------------------------------------------------------------
# A clinic's month, ready for an 837P (shared by the export tests)
# ---------------------------------------------------------------------------
import datetime as dt  # noqa: E402

from ecm_xl import close_month  # noqa: E402

CLOSE_DATE = dt.date(2026, 11, 5)

SETUP = {
    "ProviderName": "Valley Care Partners", "BillingNPI": "1234567893", "TaxID": "12-3456789",
    "HealthPlan": "Health Net (CHPIV)", "BillingMonth": "2026-10", "DefaultDiagnosis": "Z71.89",
    "ProviderAddress": "100 Main St", "ProviderCity": "El Centro", "ProviderState": "CA",
    "ProviderZip": "92243-1234", "ContactName": "Pat Biller", "ContactPhone": "(760) 555-0100",
    "SubmitterID": "VCP001", "ReceiverName": "Health Net", "ReceiverID": "HNCS",
    "PayerName": "Health Net Community Solutions", "PayerID": "95567",
}

STAFF = [
    {"Staff ID": "C1", "Staff Name": "Nurse One", "Staff Type": "Clinical"},
    {"Staff ID": "C2", "Staff Name": "Nurse Two", "Staff Type": "Clinical"},
    {"Staff ID": "N1", "Staff Name": "Worker One", "Staff Type": "Non-clinical"},
    {"Staff ID": "N2", "Staff Name": "Worker Two", "Staff Type": "Non-clinical"},
]


def member(mid, last, first, born, sex, enrolled, dx="", **more):
    m = {"Member ID": mid, "Last Name": last, "First Name": first, "Date of Birth": born, "Sex": sex,
         "ECM Enrollment Date": enrolled, "Eligible From": dt.date(2026, 1, 1), "Eligible Through": None,
         "Diagnosis Code": dx, "Address": "1 Elm St Apt 2", "City": "Brawley", "State": "CA", "ZIP": "92227"}
    m.update(more)
    return m


def luhn_npi_ok(npi: str) -> bool:
    """The NPI check digit, written out from the CMS standard (80840 prefix + Luhn)."""
    total = 0
    for i, ch in enumerate(reversed("80840" + npi)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d // 10 + d % 10
    return len(npi) == 10 and npi.isdigit() and total % 10 == 0


def another_npi(base: str = "198765432") -> str:
    return next(base + d for d in "0123456789" if luhn_npi_ok(base + d))


MEMBERS = [
    member("91000001A", "Alpha", "Ann", dt.date(1970, 1, 2), "F", dt.date(2026, 9, 1), "Z59.00"),
    member("91000002B", "Bravo", "Ben", dt.date(1985, 5, 6), "M", dt.date(2026, 10, 20)),
    member("91000003C", "Núñez", "José", dt.date(1990, 3, 4), "M", dt.date(2026, 8, 1), "Z71.89",
           Address="22 Oak Ave*Unit~3", City="Calexico", ZIP="922311234"),
    member("91000004D", "O'Brien-Smith", "Mary Jo", dt.date(1961, 12, 31), "", dt.date(2026, 7, 1), "F32.9"),
    member("91000005E", "Echo", "Eve", dt.date(2001, 6, 30), "F", None, ""),
]


def row(date, staff, mid, service="ECM service", contact="In person", minutes=60, **cells):
    r = {"Date": date, "Staff ID": staff, "Member ID": mid, "Service": service, "Contact": contact,
         "Minutes": minutes}
    r.update({k.replace("_", " "): v for k, v in cells.items()})
    return r


TIMESHEET = [
    row("10/1/2026", "C1", "91000001A", minutes=50),
    row("10/8/2026", "C2", "91000001A", minutes=20),                      # team care: 70 min -> 2 units
    row("10/9/2026", "N1", "91000001A", contact="Phone/Telehealth", minutes=45),
    row("10/3/2026", "N2", "91000002B", "Outreach attempt", "Phone/Telehealth", 10),
    row("10/6/2026", "N2", "91000002B", "Outreach attempt", "Text/Email", 5),
    row("10/7/2026", "C1", "91000002B", "Outreach attempt", "In person", 30),
    row("10/22/2026", "N1", "91000002B", minutes=61),                     # after enrolment: care
    row("10/2/2026", "C1", "91000003C", minutes=90, Place_of_Service="12"),
    row("10/30/2026", "C1", "91000003C", minutes=30),
    row("10/15/2026", "N1", "91000004D", contact="Text/Email", minutes=15),
    row("10/16/2026", "N1", "91000004D", contact="In person", minutes=120, Place_of_Service="27"),
    row("10/20/2026", "C2", "91000005E", "Outreach attempt", "In person", 40),
    row("10/21/2026", "C2", "91000005E", "Outreach attempt", "Mass communication", 5),  # never billed (R4)
]


def close(timesheet=None, setup=None, members=None, staff=None, **kw):
    kw.setdefault("close_date", CLOSE_DATE)
    return close_month(TIMESHEET if timesheet is None else timesheet, STAFF if staff is None else staff,
                       MEMBERS if members is None else members, SETUP if setup is None else setup, **kw)
